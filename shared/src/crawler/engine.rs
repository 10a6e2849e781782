//! One run's start: take the run's lease (a duplicate delivery finds it
//! held, or the run finished, and is dropped), or start the run with the configuration and
//! token version of now; then hand the run to [`super::run`].

use super::adapters::{Crawler, RunResult};
use super::frontier::Frontier;
use super::run::Run;
use crate::domain::run::{Checkpoint, RunStart};
use crate::domain::sync::{SyncMessage, Trigger};
use crate::domain::time::rfc3339;
use crate::error::StoreError;
use crate::notion::limiter::Pace;
use crate::ports::Acquired;
use tokio::time::Instant;

impl Crawler {
    /// Runs (or continues) the run of `msg` until it ends or `deadline` nears.
    pub async fn run(&self, msg: &SyncMessage, deadline: Instant) -> Result<RunResult, StoreError> {
        let owner = ulid::Ulid::generate().to_string();
        let now = self.now();
        let lease_until = now + self.settings.lease.as_secs() as i64;
        let mut cp = match self
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
                // The interrupted invocation's marks of pages seen since its last hand-over
                // may not have been saved: then known pages are checked one by one before
                // any is deleted. (A targeted run queues its targets again instead: see
                // `Frontier::new`.)
                cp.check_lost_marks();
                cp
            }
            Acquired::NotStarted(previous) => match self.start(msg, &owner, lease_until, &previous).await? {
                Ok(cp) => cp,
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
        let Some((secret, _)) = self.tokens.get_token(&msg.integration_id, cp.secret_version()).await? else {
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
        // A targeted run's few requests go out at once; a crawl keeps a margin and an even pace.
        let pace = if cp.targets().is_some() {
            Pace::Burst
        } else {
            Pace::Sustained
        };
        let notion = self
            .notion
            .connect(&token, pace, cp.recent_requests(), self.clock.now().timestamp_millis());
        if cp.invocations() <= 1 {
            super::backoff::learn_workspace(notion.as_ref(), &mut cp, &msg.integration_id).await;
        }
        super::backoff::exchange(self, notion.as_ref(), cp.workspace_id(), &msg.integration_id).await;
        // A targeted run reads the entries of the pages it touches one by one, so its cost
        // does not grow with the workspace; only confirming a deleted container's rows
        // needs the whole index.
        let whole_index = cp.targets().is_none_or(|t| !t.rows_of.is_empty());
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
        let secret_version = token.map(|(_, version)| version);
        // The workspace the token reaches: an OAuth grant's, or what the previous run with
        // the same token learned.
        let workspace_id = integration.workspace.as_ref().map(|w| w.id.clone()).or_else(|| {
            previous
                .workspace
                .as_ref()
                .filter(|(_, version)| *version == secret_version)
                .map(|(id, _)| id.clone())
        });
        let mut cp = Checkpoint::start(RunStart {
            run_id: msg.run_id.clone(),
            trigger: msg.trigger,
            dataset_id: integration.dataset_id.clone().unwrap_or_default(),
            expires_in: integration.expires_in,
            secret_version,
            started_at: rfc3339(now),
            started_epoch: now.timestamp(),
            recent_requests: previous.recent_requests.clone(),
            workspace_id,
        });
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
}

/// What a run's start decides, over the in-memory ports (feature `testing`, which the test
/// command enables).
#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::domain::account::Plan;
    use crate::domain::integration::SyncStatus;
    use crate::testing::harness::{manual_run, memory_crawler, small_workspace, INTEGRATION};
    use crate::testing::MemoryStore;
    use std::sync::Arc;
    use std::time::Duration;

    const TOKEN: &str = "secret_engine_tests";

    async fn setup() -> (Arc<MemoryStore>, Crawler) {
        memory_crawler(Plan::default(), TOKEN, &small_workspace(TOKEN, 1, 3)).await
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(600)
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_delivery_of_a_finished_run_is_dropped_and_writes_nothing() {
        let (store, crawler) = setup().await;
        assert_eq!(
            crawler.run(&manual_run("r1"), far()).await.unwrap(),
            RunResult::Finished(SyncStatus::Synced)
        );
        let records = store.state().records.clone();
        assert_eq!(records.len(), 1);
        assert_eq!(
            crawler.run(&manual_run("r1"), far()).await.unwrap(),
            RunResult::Dropped("this run already finished")
        );
        assert_eq!(store.state().records, records);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_of_a_deleted_integration_is_dropped() {
        let (store, crawler) = setup().await;
        store.state().integrations.remove(INTEGRATION);
        assert_eq!(
            crawler.run(&manual_run("r1"), far()).await.unwrap(),
            RunResult::Dropped("the integration was deleted")
        );
        assert!(store.state().records.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_without_a_dataset_ends_in_error_saying_so() {
        let (store, crawler) = setup().await;
        store.state().integrations.get_mut(INTEGRATION).unwrap().dataset_id = None;
        assert_eq!(
            crawler.run(&manual_run("r1"), far()).await.unwrap(),
            RunResult::Finished(SyncStatus::Error)
        );
        let integration = store.state().integrations[INTEGRATION].clone();
        assert_eq!(integration.sync_status, Some(SyncStatus::Error));
        assert!(
            integration
                .sync_error
                .as_deref()
                .unwrap_or_default()
                .contains("no dataset"),
            "{:?}",
            integration.sync_error
        );
        assert!(store.state().records.is_empty());
    }
}
