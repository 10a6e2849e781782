//! Requesting a sync, for the sync route and the schedule trigger alike: the prerequisites
//! (a dataset that exists, a token, record capacity left), then the integration marked
//! `pending` and one message queued, unless a sync already pending absorbs the request.
//! A request that cannot be met is a typed [`Refusal`]; the HTTP route maps it to SPEC's
//! errors, the schedule trigger to `syncError`.

use crate::domain::account::Account;
use crate::domain::event::Event;
use crate::domain::integration::Integration;
use crate::domain::sync::{SyncMessage, Trigger};
use crate::error::{ConfigError, StoreError};
use crate::ports::{AccountStore, DatasetStore, EventWriter, Provide, SyncQueue, SyncStateStore};
use std::sync::Arc;

/// Seconds a `pending` sync may stay pending beyond the plan's run time before a new
/// request may replace it (its message was lost, or its run died for good).
const STALE_PENDING_GRACE_SECS: i64 = 900;

/// Why a sync cannot be requested now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The integration has no `datasetId`.
    NoDataset,
    /// Its dataset was deleted.
    DatasetGone,
    /// It has no Notion token.
    NoToken,
    /// The account's plan has no record left.
    NoRecordCapacity {
        /// The plan's limit.
        max_records: u64,
    },
    /// The account is gone.
    UnknownAccount,
    /// A manual sync ran less than the cooldown ago.
    Cooldown {
        /// Seconds until the next one is accepted.
        retry_after_secs: u64,
    },
}

impl Refusal {
    /// One sentence for the user.
    pub fn message(&self) -> String {
        match self {
            Self::NoDataset => "The integration has no dataset: set datasetId before syncing.".into(),
            Self::DatasetGone => "The integration's dataset no longer exists: set datasetId before syncing.".into(),
            Self::NoToken => "The integration has no Notion token: set token before syncing.".into(),
            Self::NoRecordCapacity { max_records } => format!(
                "Your plan's limit of {max_records} records is reached: delete records or datasets before syncing."
            ),
            Self::UnknownAccount => "The account no longer exists.".into(),
            Self::Cooldown { retry_after_secs } => {
                format!("A manual sync of this integration ran recently; try again in {retry_after_secs} seconds.")
            }
        }
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// It cannot be met now.
    #[error("sync refused: {0:?}")]
    Refused(Refusal),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of an accepted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requested {
    /// A run was queued.
    Queued,
    /// A sync already pending absorbs it.
    Coalesced,
}

/// The ports a sync request uses.
#[derive(Clone)]
pub struct SyncRequests {
    /// Accounts (plan and record count).
    pub accounts: Arc<dyn AccountStore>,
    /// Datasets.
    pub datasets: Arc<dyn DatasetStore>,
    /// The cooldown and pending flag.
    pub sync_state: Arc<dyn SyncStateStore>,
    /// The sync queue.
    pub queue: Arc<dyn SyncQueue>,
}

impl SyncRequests {
    /// The ports from `p`.
    pub fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            accounts: p.accounts(),
            datasets: p.datasets(),
            sync_state: p.sync_state(),
            queue: p.queue()?,
        })
    }

    /// The sync prerequisites: a dataset that exists, a token, and record capacity left.
    /// Returns the account (for its plan).
    pub async fn check_ready(&self, account_id: &str, integration: &Integration) -> Result<Account, RequestError> {
        let refuse = |r| Err(RequestError::Refused(r));
        let Some(dataset_id) = &integration.dataset_id else {
            return refuse(Refusal::NoDataset);
        };
        if self.datasets.get_dataset(account_id, dataset_id).await?.is_none() {
            return refuse(Refusal::DatasetGone);
        }
        if !integration.has_token {
            return refuse(Refusal::NoToken);
        }
        let Some(account) = self.accounts.get_account(account_id).await? else {
            return refuse(Refusal::UnknownAccount);
        };
        if account.records_used >= account.plan.max_records {
            return refuse(Refusal::NoRecordCapacity {
                max_records: account.plan.max_records,
            });
        }
        Ok(account)
    }

    /// Claims the manual-sync cooldown at `now` (epoch seconds), or says how long is left.
    pub async fn claim_cooldown(
        &self,
        account_id: &str,
        integration: &Integration,
        cooldown: i64,
        now: i64,
    ) -> Result<(), RequestError> {
        let refuse = |left: i64| {
            RequestError::Refused(Refusal::Cooldown {
                retry_after_secs: left.max(1) as u64,
            })
        };
        if let Some(last) = integration.last_manual_sync_at {
            if now - last < cooldown {
                return Err(refuse(cooldown - (now - last)));
            }
        }
        if !self
            .sync_state
            .claim_manual_sync(account_id, &integration.id, now, now - cooldown)
            .await?
        {
            // Another request claimed the cooldown between our read and our write.
            return Err(refuse(cooldown));
        }
        Ok(())
    }

    /// Marks the integration pending and queues a run, unless a sync is already pending.
    /// A full sync asked for while a targeted (webhook) run is pending is not absorbed by
    /// it: it is noted and queued when that run ends.
    pub async fn enqueue(
        &self,
        account_id: &str,
        id: &str,
        account: &Account,
        trigger: Trigger,
        now: i64,
    ) -> Result<Requested, StoreError> {
        let run_id = ulid::Ulid::generate().to_string();
        let stale_before = now - account.plan.max_sync_seconds as i64 - STALE_PENDING_GRACE_SECS;
        let targeted = trigger == Trigger::Webhook;
        // The pending run may end between the two writes: then ask again.
        let mut requested = false;
        for _ in 0..3 {
            if self
                .sync_state
                .request_sync(account_id, id, &run_id, now, stale_before, targeted)
                .await?
            {
                requested = true;
                break;
            }
            if targeted || self.sync_state.defer_full_sync(account_id, id, trigger).await? {
                break;
            }
        }
        if !requested {
            tracing::info!(integration = %id, ?trigger, "sync already pending; request coalesced");
            return Ok(Requested::Coalesced);
        }
        let message = SyncMessage {
            account_id: account_id.to_string(),
            integration_id: id.to_string(),
            run_id: run_id.clone(),
            trigger,
        };
        if let Err(e) = self.queue.send(&message).await {
            self.sync_state.cancel_sync_request(account_id, id, &run_id).await?;
            return Err(e);
        }
        tracing::info!(integration = %id, run = %run_id, ?trigger, "sync queued");
        Ok(Requested::Queued)
    }
}

/// Writes `sync.requested` for an accepted request.
pub async fn log_requested(events: &EventWriter, integration: &Integration, trigger: Trigger, requested: Requested) {
    let event = Event::sync_requested(
        &integration.account_id,
        &integration.id,
        trigger,
        requested == Requested::Coalesced,
        events.clock.now(),
        events.retention_days,
    )
    .for_dataset(integration.dataset_id.as_deref());
    events.record(event).await;
}
