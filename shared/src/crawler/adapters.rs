//! The crawler's adapters and settings, and the store-side steps every stage shares: ending
//! a run (its outcome, its event, the lease released) and refreshing an OAuth token after
//! a 401. [`super::engine`] starts runs, [`super::run`] drives one invocation.

use crate::domain::event::EventType;
use crate::domain::integration::SyncStatus;
use crate::domain::run::{Checkpoint, RunSummary, SyncSummary};
use crate::domain::sync::{SyncMessage, Trigger};
use crate::domain::time::{rfc3339, Clock};
use crate::error::{ConfigError, StoreError};
use crate::notion::api::NotionConnector;
use crate::notion::client::RetryPolicy;
use crate::ports::{
    AccountStore, DatasetStore, EventWriter, IntegrationStore, Provide, RecordStore, SyncOutcome, SyncQueue,
    SyncStateStore, TokenStore,
};
use std::sync::Arc;
use std::time::Duration;

/// How the crawler behaves.
#[derive(Clone, Debug)]
pub struct CrawlerSettings {
    /// `NOTION_API_URL`.
    pub notion_api_url: String,
    /// `NOTION_MAX_RPS`, `NOTION_WINDOW_BUDGET`, `NOTION_WINDOW_SECS`.
    pub limits: crate::notion::limiter::RequestLimits,
    /// `NOTION_VERSION`.
    pub notion_version: crate::domain::version::NotionVersion,
    /// Pages read at once (requests still obey `limits`).
    pub concurrency: usize,
    /// How long a lease lasts without renewal.
    pub lease: Duration,
    /// How often progress is saved.
    pub checkpoint_every: Duration,
    /// Notion retry policy.
    pub retry: RetryPolicy,
    /// Read every page by block walk, as common loaders do (for comparison in benchmarks).
    pub block_walk_only: bool,
    /// Read attachments' text (SPEC §2.6); none: files stay caption and name.
    pub attachments: Option<AttachmentSettings>,
}

/// How attachments are read.
#[derive(Clone, Debug)]
pub struct AttachmentSettings {
    /// `ATTACHMENT_*` limits and `ATTACHMENTS_EXTERNAL`.
    pub limits: crate::attachments::Limits,
    /// The binary the extraction sandbox starts (the function's own, or
    /// `ATTACHMENT_EXTRACTOR`).
    pub extractor: std::path::PathBuf,
    /// Hosted files over plain `http`: only where `NOTION_API_URL` is `http` (an emulator).
    pub hosted_http: bool,
}

impl Default for CrawlerSettings {
    fn default() -> Self {
        Self {
            notion_api_url: "https://api.notion.com".into(),
            limits: crate::notion::limiter::RequestLimits::per_second(3),
            notion_version: Default::default(),
            concurrency: 4,
            lease: Duration::from_secs(120),
            checkpoint_every: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            block_walk_only: false,
            attachments: None,
        }
    }
}

/// The adapters and settings a run needs.
#[derive(Clone)]
pub struct Crawler {
    /// Integration configuration.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Accounts (plan limits).
    pub accounts: Arc<dyn AccountStore>,
    /// Datasets.
    pub datasets: Arc<dyn DatasetStore>,
    /// Records.
    pub records: Arc<dyn RecordStore>,
    /// Tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Checkpoints, index, status.
    pub state: Arc<dyn SyncStateStore>,
    /// The event log (`sync.completed`, `sync.failed`), stamped by the clock below.
    pub events: EventWriter,
    /// The sync queue, for continuations.
    pub queue: Arc<dyn SyncQueue>,
    /// Integrations' webhooks: the work a targeted run takes.
    pub webhooks: Arc<dyn crate::ports::WebhookStore>,
    /// Opens the run's Notion session.
    pub notion: Arc<dyn NotionConnector>,
    /// Notion's token endpoint, to refresh an OAuth-connected integration's token after a
    /// 401; none when OAuth is not configured.
    pub oauth: Option<Arc<dyn crate::ports::NotionOAuth>>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub settings: CrawlerSettings,
    /// The client attachments are downloaded with: not Notion's (no token, no redirects).
    pub downloads: reqwest::Client,
}

/// What became of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunResult {
    /// The run ended with this status.
    Finished(SyncStatus),
    /// The run checkpointed and queued its continuation.
    Continued,
    /// Nothing to do: a duplicate, a finished run, or a deleted integration.
    Dropped(&'static str),
}

/// Message of `syncError` when Notion refuses the token.
pub const UNAUTHORIZED_ERROR: &str =
    "Notion rejected the token (401): re-authenticate and update the integration's token.";

impl Crawler {
    /// The crawler over the adapters it names from `p`, reaching Notion through `notion`.
    pub fn build(
        p: &impl Provide,
        notion: Arc<dyn NotionConnector>,
        settings: CrawlerSettings,
    ) -> Result<Self, ConfigError> {
        // The download client speaks TLS with the process's one provider (aws-lc-rs, the AWS
        // SDK's), installed here too for callers that did not (the fast tier's tests).
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Ok(Self {
            integrations: p.integrations(),
            accounts: p.accounts(),
            datasets: p.datasets(),
            records: p.records(),
            tokens: p.tokens(),
            state: p.sync_state(),
            events: p.events(),
            queue: p.queue()?,
            webhooks: p.webhooks(),
            notion,
            oauth: p.notion_oauth(),
            clock: p.clock(),
            settings,
            downloads: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(10))
                .user_agent(concat!("notion-integrations/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| ConfigError::Invalid("ATTACHMENTS_EXTERNAL", format!("the download client: {e}")))?,
        })
    }

    pub(super) fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// After a 401: for an OAuth-connected integration with a refresh token, gets new tokens
    /// (one refresh at a time per integration, through a lock on its item) and returns the
    /// secret version holding them; none when there is nothing to refresh or it failed.
    /// A run that used `used_version` and finds a newer one uses it without refreshing.
    pub(super) async fn refresh_token(
        &self,
        msg: &SyncMessage,
        used_version: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        use crate::domain::oauth::Credentials;
        let Some(oauth) = &self.oauth else { return Ok(None) };
        let (account, id) = (&msg.account_id, &msg.integration_id);
        let newer = |version: &str| Some(version) != used_version;
        let Some((secret, version)) = self.tokens.get_token(id, None).await? else {
            return Ok(None);
        };
        if newer(&version) {
            return Ok(Some(version));
        }
        let Some(refresh) = Credentials::decode(&secret).refresh_token else {
            return Ok(None);
        };
        let now = self.now();
        if !self.state.claim_token_refresh(account, id, now, now + 60).await? {
            // Another invocation is refreshing: wait for the version it stores.
            for _ in 0..30 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Some((_, version)) = self.tokens.get_token(id, None).await? {
                    if newer(&version) {
                        return Ok(Some(version));
                    }
                }
            }
            return Ok(None);
        }
        // Re-read under the lock: a refresh may have finished since the first read.
        let current = self.tokens.get_token(id, None).await?;
        let result = match current {
            Some((_, version)) if newer(&version) => Ok(Some(version)),
            Some(_) => match oauth.refresh(&refresh).await {
                Ok(grant) => self
                    .tokens
                    .rotate_token(id, &Credentials::granted(&grant).encode())
                    .await
                    .map(Some),
                Err(e) => {
                    tracing::warn!(integration = %id, error = %e, "the OAuth token refresh was refused");
                    Ok(None)
                }
            },
            None => Ok(None),
        };
        self.state.release_token_refresh(account, id).await?;
        match result {
            Ok(version) => {
                if version.is_some() {
                    tracing::info!(integration = %id, "OAuth token refreshed after a 401");
                }
                Ok(version)
            }
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`Self::refresh_token`], for the tests of its one-at-a-time rule.
    #[cfg(feature = "testing")]
    pub async fn refresh_token_for_tests(
        &self,
        msg: &SyncMessage,
        used_version: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        self.refresh_token(msg, used_version).await
    }

    /// Writes the run's outcome on the integration, then its `sync.completed` or
    /// `sync.failed` event (none when the integration is gone: `NotFound`). Returns the full
    /// sync deferred behind this run, if any (see [`Self::after_run`]).
    pub(super) async fn record_outcome(
        &self,
        msg: &SyncMessage,
        dataset_id: &str,
        outcome: &SyncOutcome,
    ) -> Result<Option<Trigger>, StoreError> {
        let deferred = self
            .state
            .finish_sync(&msg.account_id, &msg.integration_id, outcome)
            .await?;
        let summary = serde_json::to_value(&outcome.summary).unwrap_or_default();
        let (kind, message, data) = match &outcome.error {
            None => (
                EventType::SyncCompleted,
                format!(
                    "Sync finished: {} pages read, {} records written, {} deleted.",
                    summary["pagesRead"], summary["recordsWritten"], summary["recordsDeleted"]
                ),
                summary,
            ),
            Some(error) => (
                EventType::SyncFailed,
                format!("Sync failed: {error}"),
                serde_json::json!({"error": error, "summary": summary}),
            ),
        };
        let event = self
            .events
            .event(&msg.account_id, kind, message, data)
            .for_integration(&msg.integration_id)
            .for_dataset(Some(dataset_id).filter(|d| !d.is_empty()));
        self.events.record(event).await;
        Ok(deferred)
    }

    pub(super) async fn fail(
        &self,
        msg: &SyncMessage,
        mut cp: Checkpoint,
        owner: &str,
        error: &str,
    ) -> Result<RunResult, StoreError> {
        cp.finish();
        let outcome = SyncOutcome {
            status: SyncStatus::Error,
            error: Some(error.to_string()),
            last_synced_at: None,
            summary: SyncSummary::Run(Box::new(RunSummary::of(
                &cp,
                false,
                &rfc3339(self.clock.now()),
                self.now(),
            ))),
        };
        let deferred = match self.record_outcome(msg, cp.dataset_id(), &outcome).await {
            Ok(deferred) => deferred,
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        match self
            .state
            .save_checkpoint(&msg.account_id, &msg.integration_id, &cp, owner, None, 0)
            .await
        {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        // Only once the lease is released: a run queued now must not find it held.
        self.after_run(&msg.account_id, &msg.integration_id, deferred).await;
        tracing::warn!(integration = %msg.integration_id, run = %msg.run_id, error, "sync failed");
        Ok(RunResult::Finished(SyncStatus::Error))
    }
}
