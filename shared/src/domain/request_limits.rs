//! Notion's per-connection request limit as the crawler keeps it ("Request limits": "Each
//! connection has a fixed budget of requests per 60-second window ... The budget can be
//! spent at any pace within the window"), and the two paces a run spends it at. The limiter
//! that enforces it is [`crate::notion::limiter`].

use std::time::Duration;

/// Notion's per-connection limit as configured (`NOTION_MAX_RPS`, `NOTION_WINDOW_BUDGET`,
/// `NOTION_WINDOW_SECS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// Requests allowed in one window (at least 1).
    pub budget: u32,
    /// The window's length.
    pub window: Duration,
}

impl RequestLimits {
    /// `rps` requests per second on average: `rps × 60` per 60-second window.
    pub fn per_second(rps: u32) -> Self {
        Self::new(rps, None, 60)
    }

    /// The budget of `window_secs` seconds: `budget` when given, never more than `rps` per
    /// second on average.
    pub fn new(rps: u32, budget: Option<u32>, window_secs: u32) -> Self {
        let window_secs = window_secs.max(1);
        let average = rps.max(1).saturating_mul(window_secs);
        Self {
            budget: budget.unwrap_or(average).clamp(1, average),
            window: Duration::from_secs(window_secs as u64),
        }
    }

    /// What a run at `pace` may spend per window: all of it in a burst, 95% when sustained.
    pub fn for_pace(self, pace: Pace) -> Self {
        match pace {
            Pace::Burst => self,
            Pace::Sustained => Self {
                budget: (self.budget as u64 * 95 / 100).max(1) as u32,
                ..self
            },
        }
    }
}

/// How a run spends its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// All of it, at once if need be (a targeted run: a few requests, wanted now).
    Burst,
    /// 95% of it, evenly spaced (a full or incremental crawl).
    Sustained,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_never_above_the_average_rate_and_sustained_keeps_five_percent() {
        let limits = RequestLimits::new(3, None, 60);
        assert_eq!(limits.budget, 180);
        assert_eq!(RequestLimits::new(3, Some(100), 60).budget, 100);
        assert_eq!(
            RequestLimits::new(3, Some(1_000), 60).budget,
            180,
            "capped by NOTION_MAX_RPS"
        );
        assert_eq!(limits.for_pace(Pace::Sustained).budget, 171);
        assert_eq!(limits.for_pace(Pace::Burst), limits);
        assert_eq!(RequestLimits::new(0, Some(0), 0).for_pace(Pace::Sustained).budget, 1);
    }
}
