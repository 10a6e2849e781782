//! The crawler and one run's start: take the run's lease (a duplicate delivery finds it
//! held, or the run finished, and is dropped), or start the run with the configuration and
//! token version of now; then hand the run to [`super::run`].

use super::frontier::Frontier;
use super::run::Run;
use crate::domain::event::{Event, EventType};
use crate::domain::integration::SyncStatus;
use crate::domain::run::{Checkpoint, RunState, RunSummary, SyncSummary};
use crate::domain::sync::{SyncMessage, Trigger};
use crate::domain::time::{rfc3339, Clock};
use crate::error::{ConfigError, StoreError};
use crate::notion::api::NotionConnector;
use crate::notion::client::RetryPolicy;
use crate::ports::{
    AccountStore, Acquired, DatasetStore, EventLog, IntegrationStore, Provide, RecordStore, SyncOutcome, SyncQueue,
    SyncStateStore, TokenStore,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How the crawler behaves.
#[derive(Clone, Debug)]
pub struct CrawlerSettings {
    /// `NOTION_API_URL`.
    pub notion_api_url: String,
    /// `NOTION_MAX_RPS`.
    pub max_rps: u32,
    /// Pages read at once (requests still obey `max_rps`).
    pub concurrency: usize,
    /// How long a lease lasts without renewal.
    pub lease: Duration,
    /// How often progress is saved.
    pub checkpoint_every: Duration,
    /// Notion retry policy.
    pub retry: RetryPolicy,
    /// Read every page by block walk, as common loaders do (for comparison in benchmarks).
    pub block_walk_only: bool,
}

impl Default for CrawlerSettings {
    fn default() -> Self {
        Self {
            notion_api_url: "https://api.notion.com".into(),
            max_rps: 3,
            concurrency: 4,
            lease: Duration::from_secs(120),
            checkpoint_every: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            block_walk_only: false,
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
    /// The event log (`sync.completed`, `sync.failed`).
    pub events: Arc<dyn EventLog>,
    /// Days an event is kept.
    pub event_retention_days: u32,
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
        Ok(Self {
            integrations: p.integrations(),
            accounts: p.accounts(),
            datasets: p.datasets(),
            records: p.records(),
            tokens: p.tokens(),
            state: p.sync_state(),
            events: p.event_log(),
            event_retention_days: p.settings().event_retention_days,
            queue: p.queue()?,
            webhooks: p.webhooks(),
            notion,
            oauth: p.notion_oauth(),
            clock: p.clock(),
            settings,
        })
    }

    pub(super) fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Runs (or continues) the run of `msg` until it ends or `deadline` nears.
    pub async fn run(&self, msg: &SyncMessage, deadline: Instant) -> Result<RunResult, StoreError> {
        let owner = ulid::Ulid::generate().to_string();
        let now = self.now();
        let lease_until = now + self.settings.lease.as_secs() as i64;
        let cp = match self
            .state
            .acquire_run(
                &msg.account_id,
                &msg.integration_id,
                &msg.run_id,
                &owner,
                now,
                lease_until,
            )
            .await?
        {
            Acquired::Busy => return Ok(RunResult::Dropped("another invocation is running this sync")),
            Acquired::Finished => return Ok(RunResult::Dropped("this run already finished")),
            Acquired::Resumed(cp) => {
                let mut cp = *cp;
                // (A targeted run queues its targets again instead: see `Frontier::new`.)
                if !cp.marks_flushed && cp.targets.is_none() {
                    // The interrupted invocation's marks of pages seen since its last hand-over
                    // were not saved: check known pages one by one before deleting any.
                    cp.verify_queued = false;
                    cp.listing_shortfall
                        .get_or_insert_with(|| "an interrupted invocation was resumed".to_string());
                }
                cp
            }
            Acquired::NotStarted(previous) => match self.start(msg, &owner, lease_until, &previous).await? {
                Ok(mut cp) => {
                    cp.recent_requests = previous.recent_requests;
                    cp
                }
                Err(result) => return Ok(result),
            },
        };
        // A resumed run whose integration was deleted meanwhile stops without touching records.
        if self
            .integrations
            .get_integration(&msg.account_id, &msg.integration_id)
            .await?
            .is_none()
        {
            return Ok(RunResult::Dropped("the integration was deleted"));
        }
        let Some((secret, _)) = self
            .tokens
            .get_token(&msg.integration_id, cp.secret_version.as_deref())
            .await?
        else {
            return self
                .fail(
                    msg,
                    cp,
                    &owner,
                    "The Notion token was removed: set a token and sync again.",
                )
                .await;
        };
        let plan = self
            .accounts
            .get_account(&msg.account_id)
            .await?
            .map(|a| a.plan)
            .unwrap_or_default();
        let token = crate::domain::oauth::Credentials::decode(&secret).access_token;
        let notion = self
            .notion
            .connect(&token, &cp.recent_requests, self.clock.now().timestamp_millis());
        // A targeted run reads the entries of the pages it touches one by one, so its cost
        // does not grow with the workspace; only confirming a deleted container's rows
        // needs the whole index.
        let whole_index = cp.targets.as_ref().is_none_or(|t| !t.rows_of.is_empty());
        let index = if whole_index {
            self.state.load_pages(&msg.integration_id).await?
        } else {
            Vec::new()
        };
        let frontier = Frontier::new(cp, index, plan.max_pages_per_sync);
        let run = Run::new(self, msg, owner, frontier, notion, plan.max_sync_seconds as i64);
        run.execute(deadline).await
    }

    /// Starts a run: snapshot of dataset, expiry and token version. `Err` carries the
    /// result when there is nothing to run.
    async fn start(
        &self,
        msg: &SyncMessage,
        owner: &str,
        lease_until: i64,
        previous: &crate::ports::PreviousRun,
    ) -> Result<Result<Checkpoint, RunResult>, StoreError> {
        let Some(integration) = self
            .integrations
            .get_integration(&msg.account_id, &msg.integration_id)
            .await?
        else {
            return Ok(Err(RunResult::Dropped("the integration was deleted")));
        };
        let now = self.clock.now();
        let mut cp = Checkpoint {
            run_id: msg.run_id.clone(),
            state: RunState::Running,
            trigger: msg.trigger,
            dataset_id: integration.dataset_id.clone().unwrap_or_default(),
            expires_in: integration.expires_in,
            started_at: rfc3339(now),
            started_epoch: now.timestamp(),
            invocations: 1,
            ..Checkpoint::default()
        };
        let problem = match &integration.dataset_id {
            None => Some("The integration has no dataset: set datasetId and sync again."),
            Some(d) if self.datasets.get_dataset(&msg.account_id, d).await?.is_none() => {
                Some("The integration's dataset no longer exists: set datasetId and sync again.")
            }
            Some(_) => None,
        };
        let token = if problem.is_none() {
            self.tokens.get_token(&msg.integration_id, None).await?
        } else {
            None
        };
        let problem = problem.or(token
            .is_none()
            .then_some("The integration has no Notion token: set one and sync again."));
        cp.secret_version = token.map(|(_, version)| version);
        let taken = if msg.trigger == Trigger::Webhook {
            self.target(&mut cp, &msg.integration_id, previous).await?
        } else {
            Vec::new()
        };
        if !self
            .state
            .start_run(&msg.account_id, &msg.integration_id, &cp, owner, lease_until)
            .await?
        {
            return Ok(Err(RunResult::Dropped("another invocation started this run")));
        }
        // The run holds its work in its checkpoint now; events arriving from here on stay
        // pending for the next targeted run.
        self.webhooks.take_work(&msg.integration_id, &taken).await?;
        if let Some(problem) = problem {
            return self.fail(msg, cp, owner, problem).await.map(Err);
        }
        Ok(Ok(cp))
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
        let event = Event::new(
            &msg.account_id,
            kind,
            message,
            data,
            self.clock.now(),
            self.event_retention_days,
        )
        .for_integration(&msg.integration_id)
        .for_dataset(Some(dataset_id).filter(|d| !d.is_empty()));
        self.events.record(&event).await;
        Ok(deferred)
    }

    pub(super) async fn fail(
        &self,
        msg: &SyncMessage,
        mut cp: Checkpoint,
        owner: &str,
        error: &str,
    ) -> Result<RunResult, StoreError> {
        cp.state = RunState::Done;
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
        let deferred = match self.record_outcome(msg, &cp.dataset_id, &outcome).await {
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
