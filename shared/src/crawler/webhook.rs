//! Webhook work in the crawler (SPEC §2.2): the flush that turns an integration's pending
//! events into one targeted run, and what a targeted run takes at its start.
//!
//! A flush arrives `WEBHOOK_DEBOUNCE_SECS` after the first event of a burst. It asks for a
//! run like the schedule trigger does (same prerequisites, no cooldown). When a run is
//! already pending (a full sync, or a targeted run still busy) the work waits: the flush is
//! queued again after [`BUSY_RETRY_SECS`], and every run's end queues one at once, so events
//! arriving during a full run are processed right after it; the run's end also releases the
//! flag that retry holds, so an event after the run has its flush at the debounce.

use super::adapters::Crawler;
use crate::domain::event::{Event, EventType};
use crate::domain::run::Checkpoint;
use crate::domain::sync::Trigger;
use crate::domain::webhook::{minute_of, Targets, WebhookFlush, Work, MAX_QUEUE_DELAY_SECS, MAX_TARGET_KEYS};
use crate::error::StoreError;
use crate::ports::PreviousRun;
use crate::sync::flush::queue_flush;
use crate::sync::request::{RequestError, Requested, SyncRequests};
use serde_json::json;
use std::collections::BTreeMap;

/// Seconds before a flush that found a run pending tries again.
pub const BUSY_RETRY_SECS: u32 = 30;

/// What became of a flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushResult {
    /// Nothing was pending (an earlier run took it), or the integration is gone.
    Nothing,
    /// A targeted run was queued.
    Queued,
    /// A run is pending: the work waits for it to end.
    Waiting,
    /// The integration cannot sync (no dataset, token or capacity): the work was dropped.
    Refused,
}

impl Crawler {
    /// Sync requests (readiness, pending flag, queue) over the crawler's ports.
    fn sync_requests(&self) -> SyncRequests {
        SyncRequests {
            accounts: self.accounts.clone(),
            datasets: self.datasets.clone(),
            sync_state: self.state.clone(),
            queue: self.queue.clone(),
        }
    }

    /// Handles a flush of an integration's webhook work.
    pub async fn flush(&self, msg: &WebhookFlush) -> Result<FlushResult, StoreError> {
        let (account_id, id) = (&msg.account_id, &msg.flush_integration_id);
        if !msg.follow_up.is_empty() {
            // A follow-up read, due now that the pages' edit minutes have closed.
            let keys: Vec<String> = msg.follow_up.iter().map(|p| Work::Page(p.clone()).key()).collect();
            self.webhooks.return_work(id, &keys).await?;
        }
        // Events from here on queue their own flush.
        self.webhooks.release_flush(id).await?;
        let Some(webhook) = self.webhooks.get_webhook(id).await? else {
            return Ok(FlushResult::Nothing);
        };
        if webhook.pending.is_empty() || webhook.account_id != *account_id {
            return Ok(FlushResult::Nothing);
        }
        let Some(integration) = self.integrations.get_integration(account_id, id).await? else {
            return Ok(FlushResult::Nothing);
        };
        let requests = self.sync_requests();
        let now = self.clock.now();
        let account = match requests.check_ready(account_id, &integration).await {
            Ok(account) => account,
            Err(RequestError::Store(e)) => return Err(e),
            Err(RequestError::Refused(refusal)) => {
                // Nothing can act on these events; the next full sync after the cause is
                // fixed catches up.
                self.webhooks.take_work(id, &webhook.pending).await?;
                let reason = refusal.message();
                let event = self
                    .events
                    .event(
                        account_id,
                        EventType::SyncFailed,
                        format!("Webhook events were not synced: {reason}"),
                        json!({"error": reason, "trigger": "webhook", "events": webhook.pending.len()}),
                    )
                    .for_integration(id)
                    .for_dataset(integration.dataset_id.as_deref());
                self.events.record(event).await;
                return Ok(FlushResult::Refused);
            }
        };
        let requested = requests
            .enqueue(account_id, id, &account, Trigger::Webhook, now.timestamp())
            .await?;
        if requested == Requested::Coalesced {
            queue_flush(
                self.webhooks.as_ref(),
                self.queue.as_ref(),
                account_id,
                id,
                BUSY_RETRY_SECS,
                now.timestamp(),
            )
            .await?;
            return Ok(FlushResult::Waiting);
        }
        let mut event = Event::sync_requested(account_id, id, Trigger::Webhook, false, now, self.events.retention_days)
            .for_dataset(integration.dataset_id.as_deref());
        event.data["changes"] = json!(webhook.pending.len());
        self.events.record(event).await;
        Ok(FlushResult::Queued)
    }

    /// What follows a run's end (its lease released): the full sync a user or schedule asked
    /// for while this targeted run was pending, and the webhook work that arrived meanwhile.
    /// Failures are logged: the next request, event or flush picks the work up.
    pub(super) async fn after_run(&self, account_id: &str, id: &str, deferred: Option<Trigger>) {
        // A flush that found this run pending queued its retry for [`BUSY_RETRY_SECS`] and
        // holds the integration's flush flag until it arrives: events from now on must
        // queue their own flush at the debounce instead of waiting for that retry. (The
        // retry then finds nothing, or takes what is pending.)
        if let Err(e) = self.webhooks.release_flush(id).await {
            tracing::warn!(integration = %id, error = %e, "could not release the flush flag after a run");
        }
        if let Some(trigger) = deferred {
            if let Err(e) = self.queue_deferred(account_id, id, trigger).await {
                tracing::warn!(integration = %id, error = %e, "could not queue the full sync asked for during a targeted run");
            }
        }
        self.flush_pending_work(account_id, id).await;
    }

    async fn queue_deferred(&self, account_id: &str, id: &str, trigger: Trigger) -> Result<(), StoreError> {
        let Some(integration) = self.integrations.get_integration(account_id, id).await? else {
            return Ok(());
        };
        let requests = self.sync_requests();
        match requests.check_ready(account_id, &integration).await {
            Ok(account) => {
                let queued = requests.enqueue(account_id, id, &account, trigger, self.now()).await?;
                tracing::info!(integration = %id, ?trigger, ?queued, "full sync asked for during a targeted run queued");
                Ok(())
            }
            Err(RequestError::Store(e)) => Err(e),
            Err(RequestError::Refused(refusal)) => {
                tracing::info!(integration = %id, ?refusal, "the deferred full sync cannot run");
                Ok(())
            }
        }
    }

    /// Queues the follow-up read of the pages a targeted run read within their edit minute
    /// (SPEC §2.2): one flush naming them, delayed until the last of those minutes settles.
    /// A failure is logged: the pages stay unsettled in the index, so the next run reads
    /// them again anyway.
    pub(super) async fn queue_follow_up(&self, account_id: &str, id: &str, follow_ups: &BTreeMap<String, i64>) {
        let Some(last) = follow_ups.values().max() else {
            return;
        };
        let delay = (last - self.now()).clamp(0, i64::from(MAX_QUEUE_DELAY_SECS)) as u32;
        let message = WebhookFlush {
            account_id: account_id.to_string(),
            flush_integration_id: id.to_string(),
            follow_up: follow_ups.keys().cloned().collect(),
        };
        match self.queue.send_flush(&message, delay).await {
            Ok(()) => {
                tracing::info!(integration = %id, pages = follow_ups.len(), delay, "follow-up read queued for pages read within their edit minute")
            }
            Err(e) => {
                tracing::warn!(integration = %id, error = %e, "could not queue the follow-up read; the next run reads those pages again")
            }
        }
    }

    /// Queues a flush at once when webhook work is pending.
    async fn flush_pending_work(&self, account_id: &str, id: &str) {
        let pending = match self.webhooks.get_webhook(id).await {
            Ok(Some(w)) => !w.pending.is_empty(),
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(integration = %id, error = %e, "could not read pending webhook work");
                false
            }
        };
        if !pending {
            return;
        }
        let message = WebhookFlush {
            account_id: account_id.to_string(),
            flush_integration_id: id.to_string(),
            follow_up: Vec::new(),
        };
        if let Err(e) = self.queue.send_flush(&message, 0).await {
            tracing::warn!(integration = %id, error = %e, "could not queue the flush of pending webhook work");
        }
    }

    /// Gives a new targeted run its work: the pending keys as they are now (at most
    /// [`MAX_TARGET_KEYS`]), data sources and databases to list for rows edited since the
    /// previous run started. When the work overflowed into [`Work::Everything`] the run is a
    /// full sync and takes every key. Returns the keys taken, to remove from the pending set
    /// once the run's checkpoint holds them.
    pub(super) async fn target(
        &self,
        cp: &mut Checkpoint,
        integration_id: &str,
        previous: &PreviousRun,
    ) -> Result<Vec<String>, StoreError> {
        let mut pending = self
            .webhooks
            .get_webhook(integration_id)
            .await?
            .map(|w| w.pending)
            .unwrap_or_default();
        if pending.contains(&Work::Everything.key()) {
            tracing::info!(integration = %integration_id, keys = pending.len(), "webhook work overflowed: a full sync");
            return Ok(pending);
        }
        pending.sort();
        pending.truncate(MAX_TARGET_KEYS);
        let edited_since = previous.started_at.as_deref().and_then(minute_of);
        let (targets, sources, databases) = Targets::from_keys(pending, edited_since.clone());
        let keys = targets.keys.clone();
        tracing::info!(
            integration = %integration_id,
            pages = targets.pages.len() + targets.subtrees.len(),
            sources = sources.len() + databases.len(),
            "targeted run"
        );
        cp.target(targets, sources, databases);
        Ok(keys)
    }
}
