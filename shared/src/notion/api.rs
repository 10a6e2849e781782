//! The Notion calls the crawler makes, as a trait: [`super::client::NotionClient`] makes
//! them over HTTP; the in-memory workspace of the `testing` feature answers them in-process.

use super::model::{DatabaseInfo, ListPage};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;

/// Why a Notion request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum NotionError {
    /// 401: the token is invalid or revoked.
    #[error("Notion rejected the token (401)")]
    Unauthorized,
    /// 404 (or 403 restricted): the object is missing or not shared with the integration.
    #[error("Notion object not found or not shared ({0})")]
    NotFound(u16),
    /// 400: Notion refused the request itself.
    #[error("Notion refused the request (400 {code}): {message}")]
    Invalid {
        /// Notion's error code (`validation_error`, ...).
        code: String,
        /// Notion's message.
        message: String,
    },
    /// 429 with a `Retry-After` longer than the client waits in place (the per-workspace
    /// limit's can exceed a minute, "Request limits"): the run checkpoints and continues
    /// in a new invocation once it has passed, instead of sleeping through it.
    #[error("Notion asked to wait {}s ({reason})", retry_after.as_secs())]
    RateLimited {
        /// Notion's `Retry-After`.
        retry_after: std::time::Duration,
        /// Which limit (`additional_data.rate_limit_reason`).
        reason: String,
    },
    /// Retries ran out on 429, 5xx, 529, timeouts or unreadable answers.
    #[error("Notion kept failing after {attempts} attempts (last: {last})")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

impl NotionError {
    /// The cause as a run summary counts it (`pagesFailedByCause`).
    pub fn cause(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::NotFound(_) => "notFound",
            Self::Invalid { .. } => "refused",
            Self::RateLimited { .. } => "rateLimited",
            Self::Exhausted { last, .. } if last.starts_with("429") => "rateLimited",
            Self::Exhausted { .. } => "unavailable",
        }
    }
}

/// What a session has sent so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Retries after a retryable failure.
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
}

/// One integration's Notion session (its token, rate limit and retry policy).
#[async_trait]
pub trait NotionApi: Send + Sync {
    /// `POST /v1/search`, one page of pages and data sources.
    async fn search(&self, cursor: Option<&str>) -> Result<ListPage, NotionError>;
    /// `POST /v1/data_sources/{id}/query`, one page of rows in creation order, from the
    /// creation minute `since` on when given, and only rows edited from the minute
    /// `edited_since` on when given.
    async fn query_data_source(
        &self,
        id: &str,
        cursor: Option<&str>,
        since: Option<&str>,
        edited_since: Option<&str>,
    ) -> Result<ListPage, NotionError>;
    /// `GET /v1/databases/{id}`: its title, the page holding it and its data sources.
    async fn database_data_sources(&self, id: &str) -> Result<DatabaseInfo, NotionError>;
    /// `GET /v1/pages/{id}`.
    async fn retrieve_page(&self, id: &str) -> Result<Value, NotionError>;
    /// `GET /v1/pages/{id}/markdown` (also takes block ids from `unknown_block_ids`).
    async fn page_markdown(&self, id: &str) -> Result<Value, NotionError>;
    /// `GET /v1/blocks/{id}`.
    async fn retrieve_block(&self, id: &str) -> Result<Value, NotionError>;
    /// `GET /v1/pages/{page}/properties/{property}`, one page of a paginated property's
    /// items ("Retrieve a page property item").
    async fn property_items(&self, page: &str, property: &str, cursor: Option<&str>) -> Result<ListPage, NotionError>;
    /// `GET /v1/blocks/{id}/children`, one page.
    async fn block_children(&self, id: &str, cursor: Option<&str>) -> Result<ListPage, NotionError>;
    /// `GET /v1/users/me` ("Retrieve your token's bot user"): the id of the workspace the
    /// token reaches (`bot.workspace_id`), none when the answer does not say.
    async fn bot_workspace(&self) -> Result<Option<String>, NotionError> {
        Ok(None)
    }
    /// Holds every request of the session back for `wait` (another integration of the same
    /// workspace met the per-workspace limit).
    fn pause(&self, _wait: std::time::Duration) {}
    /// How long the per-workspace limit still asks every connection of the workspace to
    /// wait, as this session's 429s said since the last call; none when none named that
    /// limit since.
    fn take_workspace_wait(&self) -> Option<std::time::Duration> {
        None
    }
    /// Requests, retries and 429s so far.
    fn traffic(&self) -> Traffic;
    /// Answer times (epoch ms) of the requests still inside the rate limiter's window.
    fn recent_requests(&self, now_ms: i64) -> Vec<i64>;
}

/// Opens a session for one run.
pub trait NotionConnector: Send + Sync {
    /// A session with `token` spending the request budget at `pace`, whose rate limiter
    /// continues from the answer times an earlier invocation handed over
    /// (`recent_requests`, epoch ms, as of `now_ms`).
    fn connect(
        &self,
        token: &str,
        pace: crate::notion::limiter::Pace,
        recent_requests: &[i64],
        now_ms: i64,
    ) -> Arc<dyn NotionApi>;
}
