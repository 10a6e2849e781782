//! Timestamps: RFC 3339 UTC strings with second precision, as SPEC shows them.

use chrono::{DateTime, SecondsFormat, Utc};

/// A source of the current time, so tests can pin it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Formats `t` the way every API timestamp is written: `2025-11-22T15:30:00Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Formats an epoch-seconds value as an API timestamp.
pub fn rfc3339_from_epoch(secs: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp(secs, 0).map(rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_spec() {
        let t = DateTime::parse_from_rfc3339("2025-11-22T15:30:00.123+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(t), "2025-11-22T15:30:00Z");
        assert_eq!(rfc3339_from_epoch(0).unwrap(), "1970-01-01T00:00:00Z");
    }
}
