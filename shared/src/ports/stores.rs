//! The ports themselves: storage, secrets, queue, scheduler and Notion OAuth traits, and
//! the values they exchange.

use crate::domain::account::Account;
use crate::domain::dataset::{Dataset, DatasetPatch};
use crate::domain::event::{Event, EventFilter};
use crate::domain::integration::{Integration, IntegrationPatch};
use crate::domain::paging::ListQuery;
use crate::domain::record::{Record, RecordPatch};
use crate::error::StoreError;
use async_trait::async_trait;

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items, in the requested order.
    pub items: Vec<T>,
    /// Store position to continue after, when more items may follow.
    pub next: Option<String>,
}

/// Resolving API keys to accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The account id an API key hash belongs to.
    async fn account_id_for_key(&self, key_hash: &str) -> Result<Option<String>, StoreError>;
    /// An account by id.
    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError>;
}

/// Integration configuration storage.
#[async_trait]
pub trait IntegrationStore: Send + Sync {
    /// Stores a new integration; `LimitExceeded` when the plan's integration count is reached.
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError>;
    /// An integration of `account_id`, or none (also for another account's id).
    async fn get_integration(&self, account_id: &str, id: &str) -> Result<Option<Integration>, StoreError>;
    /// A page of the account's integrations.
    async fn list_integrations(&self, account_id: &str, query: &ListQuery) -> Result<Page<Integration>, StoreError>;
    /// Atomically applies the fields `patch` sets, plus `has_token` when given, if the
    /// integration is still at `version` (bumping it); `Conflict` when it is not, or is gone.
    async fn update_integration(
        &self,
        account_id: &str,
        id: &str,
        patch: &IntegrationPatch,
        has_token: Option<bool>,
        updated_at: &str,
        version: u64,
    ) -> Result<(), StoreError>;
    /// Deletes an integration; `NotFound` when it is already gone.
    async fn delete_integration(&self, account_id: &str, id: &str) -> Result<(), StoreError>;
    /// Records an OAuth connection: a token is stored, and `workspace` is what it reaches
    /// (bumping the version); `NotFound` when the integration is gone.
    async fn connect_workspace(
        &self,
        account_id: &str,
        id: &str,
        workspace: &crate::domain::oauth::Workspace,
        updated_at: &str,
    ) -> Result<(), StoreError>;
}

/// Dataset storage.
#[async_trait]
pub trait DatasetStore: Send + Sync {
    /// Stores a new dataset.
    async fn create_dataset(&self, dataset: &Dataset) -> Result<(), StoreError>;
    /// A dataset of `account_id`, or none.
    async fn get_dataset(&self, account_id: &str, id: &str) -> Result<Option<Dataset>, StoreError>;
    /// A page of the account's datasets.
    async fn list_datasets(&self, account_id: &str, query: &ListQuery) -> Result<Page<Dataset>, StoreError>;
    /// Applies the fields `patch` sets; `NotFound` when the dataset is gone.
    async fn update_dataset(
        &self,
        account_id: &str,
        id: &str,
        patch: &DatasetPatch,
        updated_at: &str,
    ) -> Result<(), StoreError>;
    /// Deletes a dataset and releases its records from the account's record count, and in
    /// the same write leaves a marker saying its records are still to be purged;
    /// `NotFound` when it is already gone. Returns how many records it held.
    async fn delete_dataset(&self, account_id: &str, id: &str) -> Result<u64, StoreError>;
    /// Whether a deleted dataset's records are still to be purged (its marker exists).
    async fn purge_pending(&self, account_id: &str, id: &str) -> Result<bool, StoreError>;
    /// Removes the purge marker once every record is gone; absent is fine.
    async fn finish_purge(&self, account_id: &str, id: &str) -> Result<(), StoreError>;
}

/// Record storage.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// A page of a dataset's unexpired records at `now` (epoch seconds).
    async fn list_records(&self, dataset_id: &str, query: &ListQuery, now: i64) -> Result<Page<Record>, StoreError>;
    /// A record, or none when missing or expired at `now`.
    async fn get_record(&self, dataset_id: &str, record_id: &str, now: i64) -> Result<Option<Record>, StoreError>;
    /// Writes a record, counting it against the dataset and account when it is new;
    /// `NotFound` when the dataset is gone, `LimitExceeded` when the account's plan has no
    /// record left. Returns whether the record was new.
    async fn put_record(&self, account_id: &str, record: &Record) -> Result<bool, StoreError>;
    /// Writes records that are expected to be new, in order, as [`put_record`] would (an
    /// existing one is updated, the plan's limit is exact), but in as few round trips as the
    /// store allows. Returns how many were written before an error, with the error.
    ///
    /// [`put_record`]: RecordStore::put_record
    async fn put_new_records(&self, account_id: &str, records: &[Record]) -> Result<(), (usize, StoreError)> {
        for (i, record) in records.iter().enumerate() {
            self.put_record(account_id, record).await.map_err(|e| (i, e))?;
        }
        Ok(())
    }
    /// Replaces a record expected to exist (no counter changes), or writes it as
    /// [`put_record`] does when it turns out not to.
    ///
    /// [`put_record`]: RecordStore::put_record
    async fn update_existing_record(&self, account_id: &str, record: &Record) -> Result<(), StoreError> {
        self.put_record(account_id, record).await.map(|_| ())
    }
    /// Applies the fields `patch` sets to a record that exists and has not expired at `now`;
    /// `NotFound` otherwise. Counts do not change.
    async fn update_record(
        &self,
        dataset_id: &str,
        record_id: &str,
        patch: &RecordPatch,
        updated_at: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Deletes a record, releasing it from the dataset's and account's counts; absent is fine.
    async fn delete_record(&self, account_id: &str, dataset_id: &str, record_id: &str) -> Result<(), StoreError>;
    /// Deletes up to `limit` records of a dataset that no longer exists (no counters: the
    /// dataset's delete released them); returns how many, and whether none is left.
    async fn purge_records(&self, dataset_id: &str, limit: usize) -> Result<(u64, bool), StoreError>;
}

/// The account's event log (SPEC §2.3).
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends an event (writing the same event again changes nothing).
    async fn append_event(&self, event: &Event) -> Result<(), StoreError>;
    /// Appends an event of an operation that already happened: a failure is logged, not
    /// returned, since the operation did succeed.
    async fn record(&self, event: &Event) {
        if let Err(e) = self.append_event(event).await {
            tracing::error!(
                error = %crate::error::error_chain(&e),
                event = event.kind.as_str(),
                integration = event.notion_integration_id.as_deref().unwrap_or(""),
                "could not write to the event log"
            );
        }
    }
    /// A page of the account's unexpired events at `now` (epoch seconds) that `filter` keeps.
    async fn list_events(
        &self,
        account_id: &str,
        query: &ListQuery,
        filter: &EventFilter,
        now: i64,
    ) -> Result<Page<Event>, StoreError>;
}

/// Pending OAuth authorizations (SPEC §2.5): single-use, expiring.
#[async_trait]
pub trait OAuthStates: Send + Sync {
    /// Stores a new state.
    async fn put_oauth_state(&self, state: &crate::domain::oauth::OAuthState) -> Result<(), StoreError>;
    /// Removes and returns a state, so it can be used once; none when unknown or used.
    async fn take_oauth_state(&self, state: &str) -> Result<Option<crate::domain::oauth::OAuthState>, StoreError>;
}

/// Why Notion's token endpoint gave no grant.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Notion answered with an error (`invalid_grant`, `invalid_client`, ...).
    #[error("Notion refused the token request ({status} {code})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Notion's error code.
        code: String,
    },
    /// Notion could not be reached or answered something unreadable.
    #[error("Notion's token endpoint failed: {0}")]
    Unavailable(String),
}

/// Notion's OAuth token endpoint, with our public connection's credentials.
#[async_trait]
pub trait NotionOAuth: Send + Sync {
    /// Exchanges an authorization code (`grant_type: authorization_code`).
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<crate::domain::oauth::TokenGrant, OAuthError>;
    /// Gets new tokens with a refresh token (`grant_type: refresh_token`).
    async fn refresh(&self, refresh_token: &str) -> Result<crate::domain::oauth::TokenGrant, OAuthError>;
}

/// Notion tokens, one secret per integration.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Creates or replaces the integration's token.
    async fn put_token(&self, account_id: &str, integration_id: &str, token: &str) -> Result<(), StoreError>;
    /// Deletes the integration's token at once (no recovery window); absent is fine.
    async fn delete_token(&self, integration_id: &str) -> Result<(), StoreError>;
    /// Stores a new version of an existing secret (refreshed OAuth tokens); `NotFound`
    /// when the secret is gone. Returns the new version's id.
    async fn rotate_token(&self, integration_id: &str, token: &str) -> Result<String, StoreError>;
    /// The integration's token and its version id: the current one, or `version` (what a
    /// running sync started with); none when absent.
    async fn get_token(
        &self,
        integration_id: &str,
        version: Option<&str>,
    ) -> Result<Option<(String, String)>, StoreError>;
}

/// What a new run takes over from the integration's previous run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreviousRun {
    /// Its [`Checkpoint::recent_requests`](crate::domain::run::Checkpoint), so the new
    /// run's rate limiter continues from them.
    pub recent_requests: Vec<i64>,
    /// When it started (RFC 3339): a targeted run lists rows edited since then.
    pub started_at: Option<String>,
    /// The Notion workspace its token reached, and that token's secret version: a run with
    /// the same token knows its workspace without asking Notion.
    pub workspace: Option<(String, Option<String>)>,
}

impl PreviousRun {
    /// What a new run takes over from `last`, the integration's previous run.
    pub fn of(last: &crate::domain::run::Checkpoint) -> Self {
        Self {
            recent_requests: last.recent_requests().to_vec(),
            started_at: Some(last.started_at().to_string()),
            workspace: last
                .workspace_id()
                .map(|id| (id.to_string(), last.secret_version().map(str::to_string))),
        }
    }
}

/// How acquiring a run's lease went.
#[derive(Clone, Debug, PartialEq)]
pub enum Acquired {
    /// The run was in progress and this invocation now holds its lease.
    Resumed(Box<crate::domain::run::Checkpoint>),
    /// The run has not started: build its checkpoint and call `start_run`. Carries what
    /// the new run takes over from the previous one.
    NotStarted(PreviousRun),
    /// Another invocation holds the lease (a duplicate delivery): drop this message.
    Busy,
    /// The run already finished (a late duplicate): drop this message.
    Finished,
}

/// How a run ended, for the integration's status fields.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncOutcome {
    /// `synced` or `error`.
    pub status: crate::domain::integration::SyncStatus,
    /// One-sentence reason when `error`.
    pub error: Option<String>,
    /// End time when the run succeeded.
    pub last_synced_at: Option<String>,
    /// The run summary.
    pub summary: crate::domain::run::SyncSummary,
}

/// Sync bookkeeping: the manual-sync cooldown, the pending flag that coalesces requests,
/// the run's checkpoint and lease, and the page index.
#[async_trait]
pub trait SyncStateStore: Send + Sync {
    /// Records a manual sync at `now` unless one was recorded after `cutoff`; false when
    /// the cooldown is still running.
    async fn claim_manual_sync(&self, account_id: &str, id: &str, now: i64, cutoff: i64) -> Result<bool, StoreError>;
    /// Marks the integration `pending` for `run_id` (a targeted run when `targeted`) unless
    /// a sync is already pending (and not older than `stale_before`); false when the request
    /// is coalesced into that one.
    async fn request_sync(
        &self,
        account_id: &str,
        id: &str,
        run_id: &str,
        now: i64,
        stale_before: i64,
        targeted: bool,
    ) -> Result<bool, StoreError>;
    /// Notes a full sync (started by `trigger`) asked for while a targeted run is pending,
    /// to be queued when it ends; false when no targeted run is pending.
    async fn defer_full_sync(
        &self,
        account_id: &str,
        id: &str,
        trigger: crate::domain::sync::Trigger,
    ) -> Result<bool, StoreError>;
    /// Undoes `request_sync` when the message could not be queued.
    async fn cancel_sync_request(&self, account_id: &str, id: &str, run_id: &str) -> Result<(), StoreError>;
    /// Takes the lease of `run_id` for `owner` until `lease_until`.
    async fn acquire_run(
        &self,
        account_id: &str,
        id: &str,
        run_id: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Acquired, StoreError>;
    /// Writes the first checkpoint of a run, holding its lease; false when another
    /// invocation started it first.
    async fn start_run(
        &self,
        account_id: &str,
        id: &str,
        checkpoint: &crate::domain::run::Checkpoint,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError>;
    /// Saves the checkpoint while holding the lease (renewing it to `lease_until`), or
    /// releasing it when `owner` is none. `Conflict` when the lease was lost.
    async fn save_checkpoint(
        &self,
        account_id: &str,
        id: &str,
        checkpoint: &crate::domain::run::Checkpoint,
        holder: &str,
        owner: Option<&str>,
        lease_until: i64,
    ) -> Result<(), StoreError>;
    /// Shows `progress` on the integration; `NotFound` when it was deleted.
    async fn report_progress(
        &self,
        account_id: &str,
        id: &str,
        progress: &crate::domain::run::SyncProgress,
    ) -> Result<(), StoreError>;
    /// Until when (epoch ms) the integrations of Notion workspace `workspace_id` hold
    /// their requests back, as the last of them to meet its per-workspace limit shared.
    async fn workspace_backoff(&self, workspace_id: &str) -> Result<Option<i64>, StoreError>;
    /// Shares that Notion asked the connections of `workspace_id` to wait until `until_ms`;
    /// a later time already shared stays.
    async fn share_workspace_backoff(&self, workspace_id: &str, until_ms: i64) -> Result<(), StoreError>;
    /// Takes the integration's token-refresh lock until `until` unless another holder's is
    /// still valid at `now`: one OAuth refresh at a time per integration. False when held.
    async fn claim_token_refresh(&self, account_id: &str, id: &str, now: i64, until: i64) -> Result<bool, StoreError>;
    /// Releases the token-refresh lock.
    async fn release_token_refresh(&self, account_id: &str, id: &str) -> Result<(), StoreError>;
    /// Writes the run's outcome on the integration (and removes its progress); `NotFound`
    /// when it was deleted. Returns the full sync deferred behind it, if any (now cleared).
    async fn finish_sync(
        &self,
        account_id: &str,
        id: &str,
        outcome: &SyncOutcome,
    ) -> Result<Option<crate::domain::sync::Trigger>, StoreError>;
    /// Every page the index knows for the integration.
    async fn load_pages(&self, id: &str) -> Result<Vec<crate::domain::run::PageEntry>, StoreError>;
    /// One page's index entry (a targeted run reads only the entries of the pages it
    /// touches); none when the index does not know it.
    async fn load_page(&self, id: &str, page_id: &str) -> Result<Option<crate::domain::run::PageEntry>, StoreError>;
    /// Creates or replaces index entries.
    async fn put_pages(&self, id: &str, pages: &[crate::domain::run::PageEntry]) -> Result<(), StoreError>;
    /// Removes index entries.
    async fn delete_pages(&self, id: &str, page_ids: &[String]) -> Result<(), StoreError>;
    /// Removes the checkpoint and the index of a deleted integration.
    async fn delete_sync_state(&self, account_id: &str, id: &str) -> Result<(), StoreError>;
}

/// The sync queue.
#[async_trait]
pub trait SyncQueue: Send + Sync {
    /// Queues a run (or its continuation).
    async fn send(&self, message: &crate::domain::sync::SyncMessage) -> Result<(), StoreError>;
    /// Queues a run's continuation, delivered after `delay_secs` (at most 900, SQS's limit):
    /// a run Notion asked to wait.
    async fn send_after(&self, message: &crate::domain::sync::SyncMessage, delay_secs: u32) -> Result<(), StoreError>;
    /// Queues the purge of a deleted dataset's records (or its continuation).
    async fn send_purge(&self, message: &crate::domain::sync::PurgeMessage) -> Result<(), StoreError>;
    /// Queues the flush of an integration's webhook work, delivered after `delay_secs`
    /// (at most 900, SQS's limit).
    async fn send_flush(
        &self,
        message: &crate::domain::webhook::WebhookFlush,
        delay_secs: u32,
    ) -> Result<(), StoreError>;
}

/// Where an integration's schedule lives (EventBridge Scheduler).
#[async_trait]
pub trait SyncScheduler: Send + Sync {
    /// Creates or replaces the integration's schedule.
    async fn put_schedule(
        &self,
        account_id: &str,
        integration_id: &str,
        schedule: &crate::domain::schedule::SyncSchedule,
    ) -> Result<(), StoreError>;
    /// Removes the integration's schedule; absent is fine.
    async fn delete_schedule(&self, integration_id: &str) -> Result<(), StoreError>;
}

/// Integrations' webhooks (SPEC §2.2): the id → account lookup of the public route, the
/// webhook's state, repeated-event detection and the work waiting for a targeted run.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Makes the integration's webhook known (idempotent: an existing one is kept).
    async fn register_webhook(&self, account_id: &str, integration_id: &str) -> Result<(), StoreError>;
    /// The webhook of an integration id, whoever owns it; none when unknown.
    async fn get_webhook(
        &self,
        integration_id: &str,
    ) -> Result<Option<crate::domain::webhook::WebhookState>, StoreError>;
    /// Removes the webhook of a deleted integration, with its pending work; absent is fine.
    async fn delete_webhook(&self, integration_id: &str) -> Result<(), StoreError>;
    /// Notes a handshake at `at` unless a signed event already used the stored token.
    async fn accept_handshake(
        &self,
        integration_id: &str,
        at: &str,
    ) -> Result<crate::domain::webhook::HandshakeOutcome, StoreError>;
    /// Whether an event id was already recorded for this integration.
    async fn event_seen(&self, integration_id: &str, event_id: &str) -> Result<bool, StoreError>;
    /// Remembers an event id until `expires_at` (epoch seconds); a conditional put, so a
    /// concurrent repeat finds it.
    async fn remember_event(&self, integration_id: &str, event_id: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Adds work keys to the pending set and notes a signed event at `at`; `NotFound` when
    /// the webhook is gone.
    async fn add_work(
        &self,
        integration_id: &str,
        keys: &[String],
        at: &str,
    ) -> Result<crate::domain::webhook::Recorded, StoreError>;
    /// Claims the queueing of a flush at `now`, unless one was queued after `stale_before`
    /// (a flush is on its way). True when the caller must queue it.
    async fn claim_flush(&self, integration_id: &str, now: i64, stale_before: i64) -> Result<bool, StoreError>;
    /// Releases the flush claim (the flush arrived, or could not be queued).
    async fn release_flush(&self, integration_id: &str) -> Result<(), StoreError>;
    /// Removes exactly these keys from the pending set (work added since stays).
    async fn take_work(&self, integration_id: &str, keys: &[String]) -> Result<(), StoreError>;
    /// Puts keys back in the pending set (a targeted run a plan limit stopped hands its
    /// unfinished work to the next one); absent webhook is fine.
    async fn return_work(&self, integration_id: &str, keys: &[String]) -> Result<(), StoreError>;
}

/// Webhook verification tokens, one secret per integration beside its Notion token.
#[async_trait]
pub trait WebhookTokens: Send + Sync {
    /// Creates or replaces the integration's verification token.
    async fn put_webhook_token(&self, account_id: &str, integration_id: &str, token: &str) -> Result<(), StoreError>;
    /// The integration's verification token; none when no handshake stored one.
    async fn get_webhook_token(&self, integration_id: &str) -> Result<Option<String>, StoreError>;
    /// Deletes it at once; absent is fine.
    async fn delete_webhook_token(&self, integration_id: &str) -> Result<(), StoreError>;
}
