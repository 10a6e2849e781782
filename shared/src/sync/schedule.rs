//! The schedule trigger: what EventBridge Scheduler invokes with `{accountId, integrationId}`.
//! It takes the manual sync's path minus the cooldown: a sync already pending absorbs it,
//! and a sync that cannot run (no dataset, no token, no record capacity) is recorded as
//! `syncStatus: error` with the reason, since no client is there to receive a 409 or 403.

use super::request::{log_requested, RequestError, Requested, SyncRequests};
use crate::domain::event::EventType;
use crate::domain::integration::SyncStatus;
use crate::domain::run::{SkippedRun, SyncSummary};
use crate::domain::sync::ScheduleInput;
use crate::domain::sync::Trigger;
use crate::error::{ConfigError, StoreError};
use crate::ports::{EventWriter, IntegrationStore, Provide, SyncOutcome, SyncScheduler};
use serde_json::{json, Value};
use std::sync::Arc;

/// What the schedule trigger uses.
pub struct ScheduleTrigger {
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Schedules, to remove one left behind by a deleted integration.
    pub scheduler: Arc<dyn SyncScheduler>,
    /// The sync request.
    pub requests: SyncRequests,
    /// The event log.
    pub events: EventWriter,
}

impl ScheduleTrigger {
    /// Its adapters from `p`.
    pub fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            integrations: p.integrations(),
            scheduler: p.schedule_removal(),
            requests: SyncRequests::build(p)?,
            events: p.events(),
        })
    }

    /// Handles one fired schedule; an error makes Scheduler retry.
    pub async fn trigger(&self, input: &ScheduleInput) -> Result<Value, StoreError> {
        let Some(integration) = self
            .integrations
            .get_integration(&input.account_id, &input.integration_id)
            .await?
        else {
            // The integration is gone but its schedule was left behind: remove it.
            self.scheduler.delete_schedule(&input.integration_id).await?;
            return Ok(json!({"result": "integration deleted; schedule removed"}));
        };
        let now = self.events.clock.now();
        let requests = &self.requests;
        let account = match requests.check_ready(&input.account_id, &integration).await {
            Ok(account) => account,
            Err(RequestError::Store(e)) => return Err(e),
            Err(RequestError::Refused(refusal)) => {
                let reason = refusal.message();
                let outcome = SyncOutcome {
                    status: SyncStatus::Error,
                    error: Some(format!("Scheduled sync skipped: {reason}")),
                    last_synced_at: None,
                    summary: SyncSummary::Skipped(SkippedRun {
                        trigger: Trigger::Scheduled,
                        skipped: reason.clone(),
                        at: crate::domain::time::rfc3339(now),
                    }),
                };
                return match requests
                    .sync_state
                    .finish_sync(&input.account_id, &input.integration_id, &outcome)
                    .await
                {
                    Ok(_) => {
                        let error = outcome.error.unwrap_or_default();
                        let event = self
                            .events
                            .event(
                                &input.account_id,
                                EventType::SyncFailed,
                                error.clone(),
                                json!({"error": error, "trigger": "schedule"}),
                            )
                            .for_integration(&input.integration_id)
                            .for_dataset(integration.dataset_id.as_deref());
                        self.events.record(event).await;
                        Ok(json!({"result": "skipped", "reason": reason}))
                    }
                    Err(StoreError::NotFound) => Ok(json!({"result": "skipped", "reason": reason})),
                    Err(e) => Err(e),
                };
            }
        };
        let queued = requests
            .enqueue(
                &input.account_id,
                &input.integration_id,
                &account,
                Trigger::Scheduled,
                now.timestamp(),
            )
            .await?;
        log_requested(&self.events, &integration, Trigger::Scheduled, queued).await;
        Ok(json!({"result": match queued {
            Requested::Queued => "queued",
            Requested::Coalesced => "coalesced into the pending sync",
        }}))
    }
}
