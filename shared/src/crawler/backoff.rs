//! The per-workspace limit, shared. "A separate limit is shared across all of the
//! workspace's connections ... requests can be rate limited even when each individual
//! connection is within its per-connection limit. Retry-After for this limit can be longer
//! than a minute" ("Request limits"). So one integration meeting it is every integration of
//! that Notion workspace meeting it: the one that got the 429 writes until when Notion asked
//! to wait on an item keyed by the workspace, and each integration of the workspace reads it
//! when an invocation starts and at every checkpoint, and holds its requests back until then
//! (a wait longer than the invocation sleeps becomes a delayed continuation, as for its own
//! 429s).
//!
//! A pasted token's workspace is learned once, with `GET /v1/users/me` (`bot.workspace_id`),
//! and kept with the run's checkpoint for the next runs with the same token; an OAuth grant
//! names it.

use super::adapters::Crawler;
use crate::domain::run::Checkpoint;
use crate::error::StoreError;
use crate::notion::api::{NotionApi, NotionError};
use std::time::Duration;

/// Learns the Notion workspace `notion`'s token reaches, unless `cp` knows it. A failure is
/// logged and the run goes on without sharing (the next run asks again).
pub(super) async fn learn_workspace(notion: &dyn NotionApi, cp: &mut Checkpoint, integration: &str) {
    if cp.workspace_id().is_some() {
        return;
    }
    match notion.bot_workspace().await {
        Ok(Some(id)) => cp.set_workspace_id(id),
        Ok(None) => tracing::info!(integration, "Notion did not name the token's workspace"),
        // The run meets a refused token on its first real request and ends there.
        Err(NotionError::Unauthorized) => {}
        Err(e) => tracing::warn!(integration, cause = e.cause(), "could not learn the token's workspace"),
    }
}

/// Shares the per-workspace wait this session's 429s asked for (once per 429), then holds
/// the session's requests back for whatever wait the workspace's integrations shared. A
/// store failure is logged, never fatal: the limit is then only this integration's to keep.
pub(super) async fn exchange(crawler: &Crawler, notion: &dyn NotionApi, workspace: Option<&str>, integration: &str) {
    let Some(workspace) = workspace else { return };
    let result = match share(crawler, notion, workspace).await {
        Ok(()) => take_up(crawler, notion, workspace).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(integration, error = %e, "could not share the workspace's backoff");
    }
}

/// [`exchange`]'s first half alone, for an invocation handing over: what it met is shared;
/// there is nothing left for it to hold back.
pub(super) async fn hand_over(crawler: &Crawler, notion: &dyn NotionApi, workspace: Option<&str>, integration: &str) {
    let Some(workspace) = workspace else { return };
    if let Err(e) = share(crawler, notion, workspace).await {
        tracing::warn!(integration, error = %e, "could not share the workspace's backoff");
    }
}

async fn share(crawler: &Crawler, notion: &dyn NotionApi, workspace: &str) -> Result<(), StoreError> {
    if let Some(wait) = notion.take_workspace_wait() {
        let until = crawler.clock.now().timestamp_millis() + wait.as_millis() as i64;
        crawler.state.share_workspace_backoff(workspace, until).await?;
        tracing::warn!(
            workspace,
            wait_s = wait.as_secs(),
            "Notion's per-workspace limit met: every integration of the workspace holds back"
        );
    }
    Ok(())
}

async fn take_up(crawler: &Crawler, notion: &dyn NotionApi, workspace: &str) -> Result<(), StoreError> {
    let now_ms = crawler.clock.now().timestamp_millis();
    if let Some(until) = crawler.state.workspace_backoff(workspace).await? {
        if until > now_ms {
            notion.pause(Duration::from_millis((until - now_ms) as u64));
        }
    }
    Ok(())
}
