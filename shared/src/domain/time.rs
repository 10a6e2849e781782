//! Timestamps: RFC 3339 UTC strings with second precision, as SPEC shows them, and the
//! wire format the API presents them in (`TIMESTAMP_FORMAT`).

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

/// Seconds a Notion clock may run ahead of ours, added to the minute an edit stamp covers
/// before a read counts as settled ([`settles_at`]).
pub const NOTION_CLOCK_SKEW_SECS: i64 = 10;

/// When a read of a page stamped `last_edited` (RFC 3339) stops being unsettled: the end of
/// the stamp's minute plus [`NOTION_CLOCK_SKEW_SECS`], epoch seconds.
///
/// Notion rounds `last_edited_time` down to the minute (changelog, "Last edited and created
/// time properties are now rounded to the nearest minute"): an edit made after a read but in
/// the same minute leaves the stamp as the read saw it. Only a read started after the minute
/// closed holds every edit its stamp stands for; an earlier one is read again by the next run
/// whatever the stamp says (SPEC §2). None when the stamp does not parse (nothing to wait for).
pub fn settles_at(last_edited: &str) -> Option<i64> {
    let edited = DateTime::parse_from_rfc3339(last_edited).ok()?.timestamp();
    Some(edited - edited.rem_euclid(60) + 60 + NOTION_CLOCK_SKEW_SECS)
}

/// How the API writes `createdAt`, `updatedAt` and `expiresAt` (`TIMESTAMP_FORMAT`).
/// Stored values are always RFC 3339; only answers change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimestampFormat {
    /// `"2025-11-22T15:30:00Z"`, the seed's format (the default).
    #[default]
    Rfc3339,
    /// Milliseconds since the epoch, as ChatBotKit's official SDKs type them. A listing's
    /// last page then also carries a cursor (past the end: the next page is empty), since
    /// the SDKs type `cursor` as a string.
    EpochMs,
}

/// The timestamp fields of a resource that [`TimestampFormat`] applies to;
/// `lastSyncedAt` stays RFC 3339 in both formats, as the SDKs type it.
pub const PRESENTED_TIMESTAMPS: [&str; 4] = ["createdAt", "updatedAt", "expiresAt", "lastEventAt"];

impl TimestampFormat {
    /// The format named `name` (`rfc3339` or `epoch_ms`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "rfc3339" => Some(Self::Rfc3339),
            "epoch_ms" => Some(Self::EpochMs),
            _ => None,
        }
    }

    /// Rewrites the top-level timestamps of one resource view (never inside `meta` or
    /// `data`, which hold the client's and the run's own fields).
    pub fn present(self, resource: &mut serde_json::Value) {
        if self == Self::Rfc3339 {
            return;
        }
        let Some(fields) = resource.as_object_mut() else { return };
        for name in PRESENTED_TIMESTAMPS {
            if let Some(value) = fields.get_mut(name) {
                let ms = value
                    .as_str()
                    .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                    .map(|t| t.timestamp_millis());
                if let Some(ms) = ms {
                    *value = serde_json::Value::from(ms);
                }
            }
        }
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
    fn an_edit_minute_settles_a_minute_and_the_skew_after_it_starts() {
        let start = DateTime::parse_from_rfc3339("2026-12-04T10:15:00Z")
            .unwrap()
            .timestamp();
        assert_eq!(settles_at("2026-12-04T10:15:00.000Z"), Some(start + 70));
        // A stamp that is not on the minute (older answers) still counts from its minute.
        assert_eq!(settles_at("2026-12-04T10:15:42.000Z"), Some(start + 70));
        assert_eq!(settles_at("2026-12-04T10:15:00+01:00"), Some(start - 3_600 + 70));
        assert_eq!(settles_at("yesterday"), None);
    }

    #[test]
    fn epoch_ms_rewrites_only_top_level_timestamps() {
        let mut v = serde_json::json!({
            "createdAt": "2025-11-22T15:30:00Z", "updatedAt": "2025-11-22T15:30:01Z",
            "expiresAt": "1970-01-01T00:01:40Z", "lastSyncedAt": "2025-11-22T15:30:00Z",
            "meta": {"createdAt": "2025-11-22T15:30:00Z"}
        });
        let original = v.clone();
        TimestampFormat::Rfc3339.present(&mut v);
        assert_eq!(v, original);
        TimestampFormat::EpochMs.present(&mut v);
        assert_eq!(v["createdAt"], 1_763_825_400_000i64);
        assert_eq!(v["updatedAt"], 1_763_825_401_000i64);
        assert_eq!(v["expiresAt"], 100_000);
        assert_eq!(v["lastSyncedAt"], "2025-11-22T15:30:00Z");
        assert_eq!(v["meta"]["createdAt"], "2025-11-22T15:30:00Z");
        assert_eq!(TimestampFormat::parse("epoch_ms"), Some(TimestampFormat::EpochMs));
        assert_eq!(TimestampFormat::parse("rfc3339"), Some(TimestampFormat::Rfc3339));
        assert_eq!(TimestampFormat::parse("unix"), None);
    }

    #[test]
    fn formats_like_the_spec() {
        let t = DateTime::parse_from_rfc3339("2025-11-22T15:30:00.123+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(t), "2025-11-22T15:30:00Z");
        assert_eq!(rfc3339_from_epoch(0).unwrap(), "1970-01-01T00:00:00Z");
    }
}
