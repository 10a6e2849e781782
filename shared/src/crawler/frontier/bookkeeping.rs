//! What the run keeps besides pages: its Notion traffic, the records it deleted, whether
//! its token may still be refreshed, and its end.

use super::Frontier;
use crate::domain::run::Counters;

impl Frontier {
    /// Adds Notion traffic since the last call (requests, retries, 429s) to the run's
    /// counters, with the request times the limiter's next window starts from.
    pub fn add_traffic(&mut self, requests: u64, retries: u64, rate_limited: u64, recent_requests: Vec<i64>) {
        self.cp.count(&Counters {
            notion_requests: requests,
            retries,
            rate_limited,
            ..Counters::default()
        });
        self.cp.set_recent_requests(recent_requests);
    }

    /// Whether a 401 may be answered by refreshing the token: once per run, so a token
    /// Notion keeps refusing ends the run instead of looping.
    pub fn may_refresh_token(&self) -> bool {
        self.cp.may_refresh_token()
    }

    /// The token was refreshed into secret `version`: the run goes on with it, and does not
    /// refresh again.
    pub fn token_refreshed(&mut self, version: String) {
        self.cp.token_refreshed(version);
    }

    /// Records rewritten outside a page read (their context refreshed).
    pub fn records_written(&mut self, n: u64) {
        self.cp.count(&Counters {
            records_written: n,
            ..Counters::default()
        });
    }

    /// One record of a gone page was deleted.
    pub fn record_deleted(&mut self) {
        self.cp.count(&Counters {
            records_deleted: 1,
            ..Counters::default()
        });
    }

    /// The run is over: nothing more is read, listed or deleted.
    pub fn mark_done(&mut self) {
        self.cp.finish();
    }
}
