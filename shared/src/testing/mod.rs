//! In-memory versions of every port and of Notion (feature `testing`), for the fast test
//! tier: handler and crawler logic tested in-process, with tokio's paused clock, and no
//! AWS emulator. The end-to-end tests against moto and the Notion emulator prove the real
//! adapters.

pub mod harness;
pub mod memory;
pub mod notion;

pub use memory::MemoryStore;
pub use notion::{MemoryNotion, MemoryPage, MemoryWorkspace};

use crate::domain::time::Clock;
use chrono::{DateTime, Utc};

/// A clock that follows tokio's (paused) clock from a fixed start, so a test that
/// advances tokio time moves the crawler's wall-clock time with it.
#[derive(Clone, Debug)]
pub struct TokioClock {
    start: DateTime<Utc>,
    at: tokio::time::Instant,
}

impl TokioClock {
    /// Starts at `start` now.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            start,
            at: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.at.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}
