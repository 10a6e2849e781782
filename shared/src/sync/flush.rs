//! Queueing the flush of an integration's pending webhook work: at most one on its way at
//! a time, delayed by the debounce, so a burst of events becomes one targeted run. The
//! webhook route queues it after the first event of a burst; the crawler after each run.

use crate::domain::webhook::WebhookFlush;
use crate::error::StoreError;
use crate::ports::{SyncQueue, WebhookStore};

/// Seconds after which a queued flush that never arrived (its sender crashed) no longer
/// holds back the next one, beyond the debounce itself.
const FLUSH_GRACE_SECS: i64 = 120;

/// Queues the flush of an integration's pending work unless one is already on its way.
pub async fn queue_flush(
    webhooks: &dyn WebhookStore,
    queue: &dyn SyncQueue,
    account_id: &str,
    integration_id: &str,
    delay_secs: u32,
    now: i64,
) -> Result<(), StoreError> {
    let stale_before = now - i64::from(delay_secs) - FLUSH_GRACE_SECS;
    if !webhooks.claim_flush(integration_id, now, stale_before).await? {
        return Ok(());
    }
    let message = WebhookFlush {
        account_id: account_id.to_string(),
        flush_integration_id: integration_id.to_string(),
        follow_up: Vec::new(),
    };
    if let Err(e) = queue.send_flush(&message, delay_secs).await {
        // Let the next event (or Notion's retry of this one) queue it.
        let _ = webhooks.release_flush(integration_id).await;
        return Err(e);
    }
    Ok(())
}
