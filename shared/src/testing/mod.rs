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

/// Notion's token endpoint in memory: every code and refresh token is granted fresh tokens
/// for "Memory Workspace"; counts the grants.
#[derive(Debug, Default)]
pub struct MemoryOAuth {
    grants: std::sync::atomic::AtomicU32,
}

impl MemoryOAuth {
    /// Grants made so far.
    pub fn grants(&self) -> u32 {
        self.grants.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn grant(&self) -> crate::domain::oauth::TokenGrant {
        let n = self.grants.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        crate::domain::oauth::TokenGrant {
            access_token: format!("mem_access_{n}"),
            refresh_token: Some(format!("mem_refresh_{n}")),
            workspace_id: Some("memory-workspace".into()),
            workspace_name: Some("Memory Workspace".into()),
        }
    }
}

#[async_trait::async_trait]
impl crate::ports::NotionOAuth for MemoryOAuth {
    async fn exchange_code(
        &self,
        _code: &str,
        _redirect_uri: &str,
    ) -> Result<crate::domain::oauth::TokenGrant, crate::ports::OAuthError> {
        Ok(self.grant())
    }

    async fn refresh(
        &self,
        _refresh_token: &str,
    ) -> Result<crate::domain::oauth::TokenGrant, crate::ports::OAuthError> {
        Ok(self.grant())
    }
}
