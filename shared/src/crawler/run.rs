//! One sync run, resumable across invocations:
//! 1. take the run's lease (a duplicate delivery finds it held, or the run finished, and
//!    is dropped), or start the run with the configuration and token version of now;
//! 2. enumerate: search (paged), databases' data sources, their rows (paged), and child
//!    pages and databases found in content, since search misses pages;
//! 3. process each page once per run: skip it when `last_edited_time` has not changed,
//!    else read it (markdown, then block walk) and write its records unless their text is
//!    unchanged;
//! 4. after a complete enumeration only, delete the records of pages that are gone;
//! 5. write `syncStatus`, `lastSyncedAt`, `syncError` and the summary.
//!
//! Progress is checkpointed often; before the invocation's deadline the run releases its
//! lease and queues its own continuation. A crash leaves the message on the queue: its
//! redelivery resumes from the last checkpoint once the lease has expired.

use super::content::read_page;
use super::message::SyncMessage;
use super::records::{chunk_id, compose_text, record_base_id, split_chunks, text_hash, MAX_CHUNK_BYTES};
use super::state::{Checkpoint, PageEntry, RunState, SourceCursor};
use crate::domain::integration::SyncStatus;
use crate::domain::record::Record;
use crate::domain::time::{rfc3339, Clock};
use crate::error::StoreError;
use crate::notion::client::{NotionClient, NotionError, RetryPolicy};
use crate::notion::limiter::RateLimiter;
use crate::notion::model::{ListPage, PageInfo};
use crate::ports::{
    AccountStore, Acquired, DatasetStore, IntegrationStore, RecordStore, SyncOutcome, SyncQueue, SyncStateStore,
    TokenStore,
};
use futures::stream::{self, FuturesUnordered, StreamExt};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
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
    /// The sync queue, for continuations.
    pub queue: Arc<dyn SyncQueue>,
    /// HTTP client for Notion.
    pub http: reqwest::Client,
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

/// Whether two index entries differ only in their run marks.
fn same_lasting_fields(a: &PageEntry, b: &PageEntry) -> bool {
    let strip = |e: &PageEntry| PageEntry {
        seen_run: None,
        pending_run: None,
        done_run: None,
        ..e.clone()
    };
    strip(a) == strip(b)
}

/// How many times one run lists again after Notion invalidates a cursor.
const MAX_CURSOR_RESTARTS: u32 = 3;

/// Notion's answer to a cursor it no longer accepts (400 `validation_error`,
/// "start_cursor provided is invalid").
fn is_expired_cursor(e: &NotionError) -> bool {
    matches!(e, NotionError::Invalid { code, message } if code == "validation_error" && message.contains("start_cursor"))
}

/// Message of `syncError` when Notion refuses the token.
pub const UNAUTHORIZED_ERROR: &str =
    "Notion rejected the token (401): re-authenticate and update the integration's token.";

/// A page's records to write, produced while reading it and written by the batch.
#[derive(Debug, Default)]
struct PendingWrite {
    /// Chunks the dataset already holds: replaced, no counter changes.
    existing: Vec<Record>,
    /// New chunks: written in transactions shared with other pages.
    new: Vec<Record>,
    /// Chunk ids the page no longer has.
    stale: Vec<String>,
    /// Hash of the page's whole text.
    hash: String,
    /// Chunks written.
    chunks: u32,
    /// The records' expiry.
    expires_at: Option<i64>,
}

/// Why a run's loop stopped early.
enum Halt {
    Unauthorized,
    Store(StoreError),
    Dropped(&'static str),
}

/// One listing request.
enum Listing {
    Search(Option<String>),
    Database(String),
    Source(SourceCursor),
}

/// A listing request's answer.
enum Listed {
    Search(Result<ListPage, NotionError>),
    Database(String, Result<Vec<String>, NotionError>),
    Source(SourceCursor, Result<ListPage, NotionError>),
}

async fn list(client: NotionClient, call: Listing) -> Listed {
    match call {
        Listing::Search(cursor) => Listed::Search(client.search(cursor.as_deref()).await),
        Listing::Database(id) => {
            let result = client.database_data_sources(&id).await;
            Listed::Database(id, result)
        }
        Listing::Source(source) => {
            let result = client
                .query_data_source(&source.id, source.cursor.as_deref(), source.since.as_deref())
                .await;
            Listed::Source(source, result)
        }
    }
}

/// Writes index entries, then saves the checkpoint taken with them by `progress_snapshot`
/// (if any) and renews the lease. `Ok(false)` when the run must stop: the lease was lost
/// or the integration was deleted.
async fn save_progress(
    crawler: &Crawler,
    msg: &SyncMessage,
    owner: String,
    entries: Vec<PageEntry>,
    cp: Option<Checkpoint>,
) -> Result<bool, StoreError> {
    if !entries.is_empty() {
        crawler.state.put_pages(&msg.integration_id, &entries).await?;
    }
    let Some(cp) = cp else { return Ok(true) };
    let lease_until = crawler.now() + crawler.settings.lease.as_secs() as i64;
    let (account, id) = (&msg.account_id, &msg.integration_id);
    match crawler
        .state
        .save_checkpoint(account, id, &cp, &owner, Some(&owner), lease_until)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Ok(false),
        Err(e) => return Err(e),
    }
    Ok(crawler.integrations.get_integration(account, id).await?.is_some())
}

/// Pages read but not yet written, at most: reads pause while a slow write catches up.
const MAX_READ_AHEAD: usize = 256;

/// Pages a write waits for while reads are still coming.
const WRITE_BATCH: usize = 25;

/// Changed index entries written in the background once this many have accumulated.
const INDEX_BATCH: usize = 100;

enum PageOutcome {
    Read {
        entry: PageEntry,
        write: Option<PendingWrite>,
        written: u64,
        unchanged: u64,
        deleted: u64,
        requests: u64,
        skipped: u64,
        fallbacks: u64,
    },
    Unchanged(PageEntry),
    Gone(PageEntry),
    Failed {
        entry: PageEntry,
        incomplete: bool,
        reason: String,
    },
    Unauthorized,
    RecordLimit(PageEntry),
    Store(StoreError),
}

struct Run<'a> {
    crawler: &'a Crawler,
    msg: &'a SyncMessage,
    owner: String,
    cp: Checkpoint,
    client: NotionClient,
    index: HashMap<String, PageEntry>,
    queue: VecDeque<String>,
    /// Index entries whose lasting fields changed: written at every checkpoint.
    dirty: HashMap<String, PageEntry>,
    /// Index entries whose run marks alone changed: written only when handing over to the
    /// next invocation (a finished run's marks are never needed again).
    marks: HashMap<String, PageEntry>,
    max_pages: u64,
    max_seconds: i64,
    /// Listing requests in flight: `search`, `database:{id}`, `source:{id}`.
    listing_in_flight: HashSet<String>,
    /// Pages found only in content, held back while listings run: the listings may still
    /// return them (with their edit time), which saves a retrieve each.
    deferred: VecDeque<String>,
    requests_at_start: u64,
    retries_at_start: u64,
    limited_at_start: u64,
}

impl Crawler {
    fn now(&self) -> i64 {
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
                if !cp.marks_flushed {
                    // The interrupted invocation's marks of pages seen since its last hand-over
                    // were not saved: check known pages one by one before deleting any.
                    cp.verify_queued = false;
                    cp.listing_shortfall
                        .get_or_insert_with(|| "an interrupted invocation was resumed".to_string());
                }
                cp
            }
            Acquired::NotStarted(recent_requests) => match self.start(msg, &owner, lease_until).await? {
                Ok(mut cp) => {
                    cp.recent_requests = recent_requests;
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
        let Some((token, _)) = self
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
        let client = NotionClient::new(
            self.http.clone(),
            &self.settings.notion_api_url,
            &token,
            self.settings.max_rps,
            self.settings.retry,
        )
        .with_limiter(RateLimiter::resuming(
            self.settings.max_rps,
            &cp.recent_requests,
            self.clock.now().timestamp_millis(),
        ));
        let index: HashMap<String, PageEntry> = self
            .state
            .load_pages(&msg.integration_id)
            .await?
            .into_iter()
            .map(|e| (e.page_id.clone(), e))
            .collect();
        let mut pending: Vec<&PageEntry> = index
            .values()
            .filter(|e| e.pending_run.as_deref() == Some(msg.run_id.as_str()))
            .collect();
        pending.sort_by(|a, b| a.page_id.cmp(&b.page_id));
        let queue = pending.iter().map(|e| e.page_id.clone()).collect();
        let run = Run {
            crawler: self,
            msg,
            owner,
            cp,
            client,
            index,
            queue,
            dirty: HashMap::new(),
            marks: HashMap::new(),
            max_pages: plan.max_pages_per_sync,
            max_seconds: plan.max_sync_seconds as i64,
            listing_in_flight: HashSet::new(),
            deferred: VecDeque::new(),
            requests_at_start: 0,
            retries_at_start: 0,
            limited_at_start: 0,
        };
        run.execute(deadline).await
    }

    /// Starts a run: snapshot of dataset, expiry and token version. `Err` carries the
    /// result when there is nothing to run.
    async fn start(
        &self,
        msg: &SyncMessage,
        owner: &str,
        lease_until: i64,
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
            trigger: serde_json::to_value(msg.trigger)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
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
        if !self
            .state
            .start_run(&msg.account_id, &msg.integration_id, &cp, owner, lease_until)
            .await?
        {
            return Ok(Err(RunResult::Dropped("another invocation started this run")));
        }
        if let Some(problem) = problem {
            return self.fail(msg, cp, owner, problem).await.map(Err);
        }
        Ok(Ok(cp))
    }

    async fn fail(
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
            summary: summary(&cp, false, &rfc3339(self.clock.now()), self.now()),
        };
        match self
            .state
            .finish_sync(&msg.account_id, &msg.integration_id, &outcome)
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        match self
            .state
            .save_checkpoint(&msg.account_id, &msg.integration_id, &cp, owner, None, 0)
            .await
        {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        tracing::warn!(integration = %msg.integration_id, run = %msg.run_id, error, "sync failed");
        Ok(RunResult::Finished(SyncStatus::Error))
    }
}

fn summary(cp: &Checkpoint, complete: bool, finished_at: &str, now: i64) -> Value {
    let c = &cp.counters;
    let per_page = if c.pages_read > 0 {
        c.content_requests as f64 / c.pages_read as f64
    } else {
        0.0
    };
    json!({
        "runId": cp.run_id,
        "trigger": cp.trigger,
        "complete": complete,
        "stopReason": cp.stop_reason,
        "listingShortfall": cp.listing_shortfall,
        "pagesSeen": c.pages_seen,
        "pagesRead": c.pages_read,
        "pagesUnchanged": c.pages_unchanged,
        "pagesFailed": c.pages_failed,
        "recordsWritten": c.records_written,
        "recordsUnchanged": c.records_unchanged,
        "recordsDeleted": c.records_deleted,
        "notionRequests": c.notion_requests,
        "contentRequestsPerPageRead": (per_page * 100.0).round() / 100.0,
        "retries": c.retries,
        "rateLimited": c.rate_limited,
        "blocksSkipped": c.blocks_skipped,
        "markdownFallbacks": c.markdown_fallbacks,
        "invocations": cp.invocations,
        "startedAt": cp.started_at,
        "finishedAt": finished_at,
        "durationSeconds": (now - cp.started_epoch).max(0),
    })
}

impl Run<'_> {
    fn run_id(&self) -> &str {
        &self.msg.run_id
    }

    fn stop(&mut self, reason: String) {
        self.cp.incomplete = true;
        if self.cp.stop_reason.is_none() {
            tracing::info!(integration = %self.msg.integration_id, reason, "sync stops early");
            self.cp.stop_reason = Some(reason);
        }
    }

    /// A page confirmed alive by search, a data source query or retrieval.
    fn seen(&mut self, info: PageInfo) {
        let run = self.msg.run_id.clone();
        let already = self
            .index
            .get(&info.id)
            .is_some_and(|e| e.seen_run.as_deref() == Some(run.as_str()));
        if !already && self.cp.counters.pages_seen >= self.max_pages {
            self.stop(format!("plan limit maxPagesPerSync ({}) reached", self.max_pages));
            return;
        }
        let before = self.index.get(&info.id).cloned();
        let entry = self.index.entry(info.id.clone()).or_insert_with(|| PageEntry {
            page_id: info.id.clone(),
            ..PageEntry::default()
        });
        entry.title = info.title;
        entry.url = info.url;
        entry.properties = info.property_lines;
        entry.last_edited = Some(info.last_edited_time);
        if entry.seen_run.as_deref() != Some(run.as_str()) {
            entry.seen_run = Some(run.clone());
            self.cp.counters.pages_seen += 1;
        }
        let enqueue =
            entry.done_run.as_deref() != Some(run.as_str()) && entry.pending_run.as_deref() != Some(run.as_str());
        if enqueue {
            entry.pending_run = Some(run);
        }
        let snapshot = entry.clone();
        if enqueue {
            self.queue.push_back(snapshot.page_id.clone());
        }
        self.changed(before, snapshot);
    }

    /// Notes an index entry to write: at the next checkpoint when a lasting field changed,
    /// at the next hand-over when only run marks did.
    fn changed(&mut self, before: Option<PageEntry>, after: PageEntry) {
        let id = after.page_id.clone();
        let marks_only = !self.dirty.contains_key(&id) && before.is_some_and(|b| same_lasting_fields(&b, &after));
        if marks_only {
            self.marks.insert(id, after);
        } else {
            self.marks.remove(&id);
            self.dirty.insert(id, after);
        }
    }

    /// A page mentioned in content: processed this run unless it already is.
    fn discovered(&mut self, page_id: &str) {
        let run = self.msg.run_id.clone();
        let before = self.index.get(page_id).cloned();
        let entry = self.index.entry(page_id.to_string()).or_insert_with(|| PageEntry {
            page_id: page_id.to_string(),
            ..PageEntry::default()
        });
        if entry.done_run.as_deref() == Some(run.as_str()) || entry.pending_run.as_deref() == Some(run.as_str()) {
            return;
        }
        entry.pending_run = Some(run);
        let snapshot = entry.clone();
        self.queue.push_back(page_id.to_string());
        self.changed(before, snapshot);
    }

    fn add_database(&mut self, id: &str) {
        if !self.cp.known_sources.iter().any(|k| k == id) {
            self.cp.known_sources.push(id.to_string());
            self.cp.databases.push(id.to_string());
        }
    }

    fn add_source(&mut self, id: &str) {
        if !self.cp.known_sources.iter().any(|k| k == id) {
            self.cp.known_sources.push(id.to_string());
            self.cp.sources.push(SourceCursor {
                id: id.to_string(),
                ..SourceCursor::default()
            });
        }
    }

    fn sync_counters(&mut self) {
        let stats = &self.client.stats;
        let requests = stats.requests.load(Ordering::Relaxed);
        let retries = stats.retries.load(Ordering::Relaxed);
        let limited = stats.rate_limited.load(Ordering::Relaxed);
        self.cp.counters.notion_requests += requests - self.requests_at_start;
        self.cp.counters.retries += retries - self.retries_at_start;
        self.cp.counters.rate_limited += limited - self.limited_at_start;
        self.requests_at_start = requests;
        self.retries_at_start = retries;
        self.limited_at_start = limited;
        self.cp.recent_requests = self.client.recent_requests(self.crawler.clock.now().timestamp_millis());
    }

    /// Writes changed index entries; with `marks`, also those whose run marks alone changed.
    async fn flush(&mut self, marks: bool) -> Result<(), StoreError> {
        let entries = self.take_changed(marks);
        if entries.is_empty() {
            return Ok(());
        }
        self.crawler.state.put_pages(&self.msg.integration_id, &entries).await
    }

    /// Takes the index entries to write (see [`Run::flush`]) and notes in the checkpoint
    /// whether they hold every run mark.
    fn take_changed(&mut self, marks: bool) -> Vec<PageEntry> {
        let mut entries: Vec<PageEntry> = self.dirty.drain().map(|(_, e)| e).collect();
        if marks {
            entries.extend(self.marks.drain().map(|(_, e)| e));
            self.cp.marks_flushed = true;
        } else {
            self.cp.marks_flushed = self.marks.is_empty();
        }
        entries
    }

    /// What a checkpoint saves, taken now: the index entries whose lasting fields changed
    /// since the last one, and the checkpoint itself (cursors, counters) as of this moment.
    /// Pages read or written after this stay pending in the saved state.
    fn progress_snapshot(&mut self) -> (Vec<PageEntry>, Checkpoint) {
        let entries = self.take_changed(false);
        self.sync_counters();
        (entries, self.cp.clone())
    }

    /// Whether any listing (search, a database, a data source) still has pages to list.
    fn more_to_list(&self) -> bool {
        !self.cp.search_done || !self.cp.databases.is_empty() || !self.cp.sources.is_empty()
    }

    /// Whether anything is left to list or read.
    fn has_work(&self) -> bool {
        !self.queue.is_empty()
            || !self.deferred.is_empty()
            || (self.cp.stop_reason.is_none()
                && (self.more_to_list() || (self.cp.listing_shortfall.is_some() && !self.cp.verify_queued)))
    }

    /// Runs the run's work until it is done, a limit stops it, or `deadline` nears. Four
    /// lanes share one loop so Notion is never idle while DynamoDB works: listing requests
    /// (one per cursor in flight: search, each database, each data source);
    /// `concurrency` page reads; one write of every page read meanwhile; and a checkpoint
    /// every `checkpoint_every` (index entries, then cursors and counters, and the lease
    /// renewed) saved while reading goes on. At the deadline nothing new starts, what is in
    /// flight is finished, and the run continues in a new invocation.
    async fn execute(mut self, deadline: Instant) -> Result<RunResult, StoreError> {
        let msg = self.msg;
        let crawler = self.crawler;
        let ctx = PageContext {
            crawler,
            client: self.client.clone(),
            account_id: &msg.account_id,
            integration_id: &msg.integration_id,
            run_id: &msg.run_id,
            dataset_id: self.cp.dataset_id.clone(),
            expires_in: self.cp.expires_in,
            block_walk_only: crawler.settings.block_walk_only,
            concurrency: crawler.settings.concurrency.max(1),
        };
        let mut listing = FuturesUnordered::new();
        let mut reads = FuturesUnordered::new();
        let mut writes = FuturesUnordered::new();
        let mut saving = FuturesUnordered::new();
        let mut ready: Vec<PageOutcome> = Vec::new();
        // Pages not yet seen this run that are being read: reserved against the page limit.
        let mut reserved: HashSet<String> = HashSet::new();
        let mut halt: Option<Halt> = None;
        let mut winding_down = false;
        let mut out_of_time = false;
        let mut launched_any = false;
        let mut last_checkpoint = Instant::now();
        loop {
            if halt.is_none() && !winding_down {
                // Every invocation starts something, so a run always progresses even when
                // its start-up alone used the invocation's budget.
                if Instant::now() >= deadline && launched_any {
                    winding_down = true;
                    out_of_time = true;
                } else if crawler.now() - self.cp.started_epoch >= self.max_seconds {
                    self.stop(format!("plan limit maxSyncSeconds ({} s) reached", self.max_seconds));
                    winding_down = true;
                }
            }
            if self.cp.counters.pages_seen >= self.max_pages && self.cp.stop_reason.is_none() {
                let run = self.run_id().to_string();
                let more_to_list = self.more_to_list();
                let unseen_queued = self.queue.iter().chain(self.deferred.iter()).any(|id| {
                    self.index
                        .get(id)
                        .is_some_and(|e| e.seen_run.as_deref() != Some(run.as_str()))
                });
                if more_to_list || unseen_queued {
                    self.stop(format!("plan limit maxPagesPerSync ({}) reached", self.max_pages));
                }
            }
            let launching = halt.is_none() && !winding_down;
            if launching && saving.is_empty() && last_checkpoint.elapsed() >= crawler.settings.checkpoint_every {
                let (entries, cp) = self.progress_snapshot();
                saving.push(save_progress(crawler, msg, self.owner.clone(), entries, Some(cp)));
                last_checkpoint = Instant::now();
            }
            while launching && listing.len() < ctx.concurrency {
                let Some(call) = self.next_listing() else { break };
                listing.push(list(self.client.clone(), call));
                launched_any = true;
            }
            if !self.deferred.is_empty() && !self.listing_ongoing() {
                let deferred = std::mem::take(&mut self.deferred);
                self.queue.extend(deferred);
            }
            while launching && reads.len() < ctx.concurrency && ready.len() < MAX_READ_AHEAD {
                let Some(entry) = self.next_page(&reserved) else { break };
                if entry.seen_run.as_deref() != Some(msg.run_id.as_str()) {
                    reserved.insert(entry.page_id.clone());
                }
                reads.push(ctx.process(entry));
                launched_any = true;
            }
            // Writes gather a few pages (fewer, larger transactions), unless no more reads
            // are coming to fill them.
            if halt.is_none()
                && writes.is_empty()
                && !ready.is_empty()
                && (ready.len() >= WRITE_BATCH || reads.is_empty())
            {
                writes.push(ctx.write(std::mem::take(&mut ready)));
            }
            // Entries of pages this run is done with are written as they accumulate, so the
            // checkpoint and the finish have little left to write (pending ones would change
            // again when read, and wait for the checkpoint).
            if launching && saving.is_empty() && self.dirty.len() >= INDEX_BATCH {
                let done: Vec<String> = self
                    .dirty
                    .values()
                    .filter(|e| e.pending_run.as_deref() != Some(msg.run_id.as_str()))
                    .map(|e| e.page_id.clone())
                    .collect();
                if done.len() >= INDEX_BATCH {
                    let entries: Vec<PageEntry> = done.iter().filter_map(|id| self.dirty.remove(id)).collect();
                    saving.push(save_progress(crawler, msg, self.owner.clone(), entries, None));
                }
            }
            if listing.is_empty() && reads.is_empty() && writes.is_empty() && saving.is_empty() {
                // Known pages the listings missed are checked once the listings are done.
                if launching
                    && self.cp.listing_shortfall.is_some()
                    && !self.cp.verify_queued
                    && self.cp.stop_reason.is_none()
                {
                    self.verify_unseen();
                    continue;
                }
                break;
            }
            tokio::select! {
                Some(listed) = listing.next(), if !listing.is_empty() => {
                    match self.apply_listing(listed) {
                        Ok(()) => {}
                        Err(NotionError::Unauthorized) => {
                            halt.get_or_insert(Halt::Unauthorized);
                        }
                        Err(e) => {
                            tracing::warn!(integration = %msg.integration_id, error = %e, "listing failed");
                            self.cp.incomplete = true;
                        }
                    }
                }
                Some(outcome) = reads.next(), if !reads.is_empty() => {
                    if matches!(outcome, PageOutcome::Unauthorized) {
                        halt.get_or_insert(Halt::Unauthorized);
                    }
                    ready.push(outcome);
                }
                Some(outcomes) = writes.next(), if !writes.is_empty() => {
                    if let Err(h) = self.apply(outcomes, &mut reserved) {
                        halt.get_or_insert(h);
                    }
                }
                Some(saved) = saving.next(), if !saving.is_empty() => {
                    match saved {
                        Ok(true) => {}
                        Ok(false) => {
                            halt.get_or_insert(Halt::Dropped("the integration was deleted or the run taken over"));
                        }
                        Err(e) => {
                            halt.get_or_insert(Halt::Store(e));
                        }
                    }
                }
            }
        }
        // Pages read but not written (after a halt) stay pending: read again later.
        match halt {
            Some(Halt::Unauthorized) => return self.unauthorized().await,
            Some(Halt::Store(e)) => return Err(e),
            Some(Halt::Dropped(reason)) => return Ok(RunResult::Dropped(reason)),
            None => {}
        }
        if out_of_time && self.has_work() {
            return self.continue_later().await;
        }
        self.finish(deadline).await
    }

    /// The next listing request, if listing is allowed and a listing has no request in
    /// flight: search first, then databases found in content, then data sources. Each
    /// cursor is followed in order; different databases and data sources go in parallel.
    fn next_listing(&mut self) -> Option<Listing> {
        if self.cp.stop_reason.is_some() {
            return None;
        }
        if !self.cp.search_done && self.listing_in_flight.insert("search".into()) {
            return Some(Listing::Search(self.cp.search_cursor.clone()));
        }
        let in_flight = &mut self.listing_in_flight;
        if let Some(db) = self
            .cp
            .databases
            .iter()
            .rev()
            .find(|db| in_flight.insert(format!("database:{db}")))
        {
            return Some(Listing::Database(db.clone()));
        }
        self.cp
            .sources
            .iter()
            .find(|source| in_flight.insert(format!("source:{}", source.id)))
            .cloned()
            .map(Listing::Source)
    }

    /// Whether a listing is running or has anything left to list.
    fn listing_ongoing(&self) -> bool {
        !self.listing_in_flight.is_empty() || (self.cp.stop_reason.is_none() && self.more_to_list())
    }

    /// Applies a listing answer. `Err` carries an error the run must act on.
    fn apply_listing(&mut self, listed: Listed) -> Result<(), NotionError> {
        match listed {
            Listed::Search(result) => {
                self.listing_in_flight.remove("search");
                self.apply_search(result)
            }
            Listed::Database(id, result) => {
                self.listing_in_flight.remove(&format!("database:{id}"));
                self.cp.databases.retain(|d| *d != id);
                self.apply_database(result)
            }
            Listed::Source(source, result) => {
                self.listing_in_flight.remove(&format!("source:{}", source.id));
                self.apply_source(source, result)
            }
        }
    }

    fn apply_database(&mut self, result: Result<Vec<String>, NotionError>) -> Result<(), NotionError> {
        match result {
            Ok(sources) => {
                for s in sources {
                    self.add_source(&s);
                }
                Ok(())
            }
            Err(NotionError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn apply_search(&mut self, result: Result<ListPage, NotionError>) -> Result<(), NotionError> {
        match result {
            Ok(page) => {
                for result in &page.results {
                    match result.get("object").and_then(Value::as_str) {
                        Some("page") => {
                            if let Some(info) = PageInfo::from_json(result).filter(|p| !p.in_trash) {
                                self.seen(info);
                            }
                        }
                        Some("data_source") => {
                            if let Some(id) = result.get("id").and_then(Value::as_str) {
                                self.add_source(id);
                            }
                        }
                        _ => {}
                    }
                }
                self.cp.search_cursor = page.next_cursor;
                self.cp.search_done = self.cp.search_cursor.is_none();
                if page.capped {
                    self.listing_fell_short("Notion's search stopped at its 10,000-result limit");
                }
                Ok(())
            }
            Err(e @ NotionError::Unauthorized) => Err(e),
            Err(e) if is_expired_cursor(&e) && self.cp.cursor_restarts < MAX_CURSOR_RESTARTS => {
                // Notion invalidated the cursor (it does after a while): list again from the
                // start; pages already seen this run are not read twice.
                self.cp.cursor_restarts += 1;
                tracing::warn!(integration = %self.msg.integration_id, "search cursor expired; listing again from the start");
                self.cp.search_cursor = None;
                Ok(())
            }
            Err(e) => {
                // Cursors that keep expiring, or a persistent failure: the listing is short.
                tracing::warn!(integration = %self.msg.integration_id, error = %e, "search failed");
                self.cp.search_done = true;
                self.cp.search_cursor = None;
                self.listing_fell_short(&format!("Notion's search failed ({e})"));
                Ok(())
            }
        }
    }

    /// A listing returned less than the workspace holds. Known pages it did not return are
    /// checked one by one once the listings are done, so deletions stay exact.
    fn listing_fell_short(&mut self, reason: &str) {
        tracing::warn!(integration = %self.msg.integration_id, reason, "listing fell short; known pages will be checked one by one");
        if self.cp.listing_shortfall.is_none() {
            self.cp.listing_shortfall = Some(reason.to_string());
        }
    }

    /// Queues every known page not seen this run for retrieval (gone ones are then deleted).
    fn verify_unseen(&mut self) {
        self.cp.verify_queued = true;
        let run = self.run_id().to_string();
        let unseen: Vec<String> = self
            .index
            .values()
            .filter(|e| e.seen_run.as_deref() != Some(run.as_str()))
            .map(|e| e.page_id.clone())
            .collect();
        tracing::info!(integration = %self.msg.integration_id, pages = unseen.len(), "checking known pages the listings missed");
        for id in unseen {
            self.discovered(&id);
        }
    }

    fn apply_source(&mut self, source: SourceCursor, result: Result<ListPage, NotionError>) -> Result<(), NotionError> {
        match result {
            Ok(page) => {
                let mut last_created = source.last_created.clone();
                for row in &page.results {
                    if let Some(created) = row.get("created_time").and_then(Value::as_str) {
                        last_created = Some(created.to_string());
                    }
                    if let Some(info) = PageInfo::from_json(row).filter(|p| !p.in_trash) {
                        self.seen(info);
                    }
                }
                // A capped window continues as a new query from its last row's creation minute
                // (rows of that minute are seen twice, harmlessly), unless it cannot advance.
                let next_window = match (page.capped, &last_created) {
                    (true, Some(last)) if source.since.as_deref() != Some(last.as_str()) => Some(last.clone()),
                    (true, _) => {
                        self.listing_fell_short(
                            "a data source holds over 10,000 rows created in one minute, past Notion's per-query limit",
                        );
                        None
                    }
                    _ => None,
                };
                let position = self.cp.sources.iter().position(|s| s.id == source.id);
                match (page.next_cursor, next_window, position.map(|i| &mut self.cp.sources[i])) {
                    (Some(next), _, Some(first)) => {
                        first.cursor = Some(next);
                        first.last_created = last_created;
                    }
                    (None, Some(since), Some(first)) => {
                        tracing::info!(integration = %self.msg.integration_id, source = %source.id, since, "data source capped; reading the next created_time window");
                        first.cursor = None;
                        first.since = Some(since);
                        first.last_created = None;
                    }
                    _ => self.cp.sources.retain(|s| s.id != source.id),
                }
                Ok(())
            }
            Err(NotionError::NotFound(_)) => {
                self.cp.sources.retain(|s| s.id != source.id);
                Ok(())
            }
            Err(e) if is_expired_cursor(&e) && self.cp.cursor_restarts < MAX_CURSOR_RESTARTS => {
                self.cp.cursor_restarts += 1;
                tracing::warn!(integration = %self.msg.integration_id, source = %source.id, "data source cursor expired; listing it again from the start");
                if let Some(listed) = self.cp.sources.iter_mut().find(|s| s.id == source.id) {
                    listed.cursor = None;
                }
                Ok(())
            }
            Err(e) if is_expired_cursor(&e) => {
                self.cp.sources.retain(|s| s.id != source.id);
                self.listing_fell_short(&format!("a data source listing failed ({e})"));
                Ok(())
            }
            Err(e) => {
                self.cp.sources.retain(|s| s.id != source.id);
                Err(e)
            }
        }
    }

    /// The next queued page to read, if any. Past a plan limit only pages already counted
    /// this run are read; an unseen page is read only while the page limit has room for it
    /// beside the `reserved` ones in flight.
    fn next_page(&mut self, reserved: &HashSet<String>) -> Option<PageEntry> {
        let run = self.run_id().to_string();
        while let Some(id) = self.queue.pop_front() {
            let Some(entry) = self.index.get(&id) else { continue };
            if entry.seen_run.as_deref() != Some(run.as_str()) {
                if self.cp.stop_reason.is_some() {
                    continue;
                }
                if self.listing_ongoing() {
                    self.deferred.push_back(id);
                    continue;
                }
                if self.cp.counters.pages_seen + reserved.len() as u64 >= self.max_pages {
                    self.stop(format!("plan limit maxPagesPerSync ({}) reached", self.max_pages));
                    continue;
                }
            }
            return Some(entry.clone());
        }
        None
    }

    /// Applies written pages to the counters and the index, and queues what their content
    /// points at. `Err` when the step must halt.
    fn apply(&mut self, outcomes: Vec<PageOutcome>, reserved: &mut HashSet<String>) -> Result<(), Halt> {
        let run = self.run_id().to_string();
        let mut halt = None;
        for outcome in outcomes {
            let entry = match outcome {
                PageOutcome::Read {
                    mut entry,
                    write: _,
                    written,
                    unchanged,
                    deleted,
                    requests,
                    skipped,
                    fallbacks,
                } => {
                    let c = &mut self.cp.counters;
                    c.pages_read += 1;
                    c.records_written += written;
                    c.records_unchanged += unchanged;
                    c.records_deleted += deleted;
                    c.content_requests += requests;
                    c.blocks_skipped += skipped;
                    c.markdown_fallbacks += fallbacks;
                    self.after_processing(&mut entry);
                    entry
                }
                PageOutcome::Unchanged(mut entry) => {
                    self.cp.counters.pages_unchanged += 1;
                    self.after_processing(&mut entry);
                    entry
                }
                PageOutcome::Gone(mut entry) => {
                    entry.pending_run = None;
                    entry.done_run = Some(run.clone());
                    entry
                }
                PageOutcome::Failed {
                    mut entry,
                    incomplete,
                    reason,
                } => {
                    tracing::warn!(page = %entry.page_id, reason, "page skipped");
                    self.cp.counters.pages_failed += 1;
                    if incomplete {
                        self.cp.incomplete = true;
                    }
                    entry.pending_run = None;
                    entry.done_run = Some(run.clone());
                    entry
                }
                PageOutcome::RecordLimit(mut entry) => {
                    // Nothing more can be written: stop reading.
                    self.stop("plan limit maxRecords reached".into());
                    self.queue.clear();
                    entry.pending_run = None;
                    entry
                }
                PageOutcome::Unauthorized => {
                    halt.get_or_insert(Halt::Unauthorized);
                    continue;
                }
                PageOutcome::Store(e) => {
                    halt = Some(Halt::Store(e));
                    continue;
                }
            };
            // A listing may have confirmed the page while it was read: count it once.
            let counted = self
                .index
                .get(&entry.page_id)
                .is_some_and(|e| e.seen_run.as_deref() == Some(run.as_str()));
            if reserved.remove(&entry.page_id) && entry.seen_run.as_deref() == Some(run.as_str()) && !counted {
                self.cp.counters.pages_seen += 1;
            }
            let before = self.index.get(&entry.page_id).cloned();
            self.changed(before, entry.clone());
            self.index.insert(entry.page_id.clone(), entry);
        }
        halt.map_or(Ok(()), Err)
    }

    /// Marks a processed page done and queues what its content points at.
    fn after_processing(&mut self, entry: &mut PageEntry) {
        let run = self.run_id().to_string();
        entry.pending_run = None;
        entry.done_run = Some(run);
        for child in entry.children.clone() {
            self.discovered(&child);
        }
        for db in entry.databases.clone() {
            self.add_database(&db);
        }
    }

    async fn unauthorized(mut self) -> Result<RunResult, StoreError> {
        self.flush(false).await?;
        self.sync_counters();
        let cp = self.cp.clone();
        self.crawler.fail(self.msg, cp, &self.owner, UNAUTHORIZED_ERROR).await
    }

    async fn continue_later(mut self) -> Result<RunResult, StoreError> {
        self.flush(true).await?;
        self.sync_counters();
        let (account, id) = (&self.msg.account_id, &self.msg.integration_id);
        match self
            .crawler
            .state
            .save_checkpoint(account, id, &self.cp, &self.owner, None, 0)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(RunResult::Dropped("the run was taken over")),
            Err(e) => return Err(e),
        }
        self.crawler.queue.send(self.msg).await?;
        tracing::info!(integration = %id, run = %self.msg.run_id, invocations = self.cp.invocations, "sync continues in a new invocation");
        Ok(RunResult::Continued)
    }

    async fn finish(mut self, deadline: Instant) -> Result<RunResult, StoreError> {
        self.flush(false).await?;
        let complete = !self.cp.incomplete
            && self.cp.stop_reason.is_none()
            && self.cp.search_done
            && self.cp.sources.is_empty()
            && self.cp.databases.is_empty()
            && self.queue.is_empty();
        if complete {
            let run = self.run_id().to_string();
            let gone: Vec<PageEntry> = self
                .index
                .values()
                .filter(|e| e.seen_run.as_deref() != Some(run.as_str()))
                .cloned()
                .collect();
            for entry in gone {
                if Instant::now() >= deadline {
                    return self.continue_later().await;
                }
                if let Some(dataset) = &entry.dataset_id {
                    let base = record_base_id(&self.msg.integration_id, &entry.page_id);
                    for chunk in 0..entry.chunks as usize {
                        self.crawler
                            .records
                            .delete_record(&self.msg.account_id, dataset, &chunk_id(&base, chunk))
                            .await?;
                        self.cp.counters.records_deleted += 1;
                    }
                }
                self.crawler
                    .state
                    .delete_pages(&self.msg.integration_id, std::slice::from_ref(&entry.page_id))
                    .await?;
                self.index.remove(&entry.page_id);
            }
        }
        self.sync_counters();
        self.cp.state = RunState::Done;
        let finished = rfc3339(self.crawler.clock.now());
        let outcome = SyncOutcome {
            status: SyncStatus::Synced,
            error: None,
            last_synced_at: Some(finished.clone()),
            summary: summary(&self.cp, complete, &finished, self.crawler.now()),
        };
        let (account, id) = (&self.msg.account_id, &self.msg.integration_id);
        match self.crawler.state.finish_sync(account, id, &outcome).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Ok(RunResult::Dropped("the integration was deleted")),
            Err(e) => return Err(e),
        }
        match self
            .crawler
            .state
            .save_checkpoint(account, id, &self.cp, &self.owner, None, 0)
            .await
        {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        tracing::info!(integration = %id, run = %self.msg.run_id, summary = %outcome.summary, "sync finished");
        Ok(RunResult::Finished(SyncStatus::Synced))
    }
}

struct PageContext<'a> {
    crawler: &'a Crawler,
    client: NotionClient,
    account_id: &'a str,
    integration_id: &'a str,
    run_id: &'a str,
    dataset_id: String,
    expires_in: Option<u64>,
    block_walk_only: bool,
    concurrency: usize,
}

impl PageContext<'_> {
    /// Writes the batch's records: replacements concurrently (they touch no counter), new
    /// records in shared transactions, stale chunks one by one. A page whose records could
    /// not all be written becomes `RecordLimit` or `Failed` and keeps its old index entry.
    async fn write(&self, outcomes: Vec<PageOutcome>) -> Vec<PageOutcome> {
        let mut outcomes: Vec<PageOutcome> = outcomes;
        // Per outcome: the error that stopped its writes.
        let mut failed: Vec<Option<StoreError>> = outcomes.iter().map(|_| None).collect();
        let mut replacements: Vec<(usize, Record)> = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            if let PageOutcome::Read { write: Some(w), .. } = o {
                replacements.extend(w.existing.iter().map(|r| (i, r.clone())));
            }
        }
        let results: Vec<(usize, Result<(), StoreError>)> =
            stream::iter(replacements.into_iter().map(|(i, r)| self.replace(i, r)))
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        for (i, result) in results {
            if let Err(e) = result {
                failed[i].get_or_insert(e);
            }
        }
        let mut new: Vec<Record> = Vec::new();
        let mut owners: Vec<usize> = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            if let (PageOutcome::Read { write: Some(w), .. }, None) = (o, &failed[i]) {
                new.extend(w.new.iter().cloned());
                owners.extend(std::iter::repeat_n(i, w.new.len()));
            }
        }
        if let Err((done, e)) = self.crawler.records.put_new_records(self.account_id, &new).await {
            // Records are written in order: the page holding the failed one and every later
            // page with new records did not get all of theirs.
            let first = owners[done];
            failed[first].get_or_insert(e);
            for &owner in &owners[done..] {
                if failed[owner].is_none() {
                    failed[owner] = Some(StoreError::LimitExceeded("records"));
                }
            }
        }
        for (i, outcome) in outcomes.iter_mut().enumerate() {
            let PageOutcome::Read {
                entry,
                write,
                written,
                deleted,
                ..
            } = outcome
            else {
                continue;
            };
            let Some(w) = write.take() else { continue };
            if failed[i].is_none() {
                for stale in &w.stale {
                    if let Err(e) = self
                        .crawler
                        .records
                        .delete_record(self.account_id, &self.dataset_id, stale)
                        .await
                    {
                        failed[i] = Some(e);
                        break;
                    }
                    *deleted += 1;
                }
            }
            match failed[i].take() {
                None => {
                    *written = (w.existing.len() + w.new.len()) as u64;
                    entry.text_hash = Some(w.hash);
                    entry.chunks = w.chunks;
                    entry.dataset_id = Some(self.dataset_id.clone());
                    entry.expires_at = w.expires_at;
                    entry.expires_in = self.expires_in;
                }
                Some(e) => {
                    let entry = std::mem::take(entry);
                    *outcome = match e {
                        StoreError::LimitExceeded(_) => PageOutcome::RecordLimit(entry),
                        StoreError::NotFound => PageOutcome::Failed {
                            entry,
                            incomplete: true,
                            reason: "the dataset no longer exists".into(),
                        },
                        other => PageOutcome::Store(other),
                    };
                }
            }
        }
        outcomes
    }

    async fn replace(&self, owner: usize, record: Record) -> (usize, Result<(), StoreError>) {
        (
            owner,
            self.crawler
                .records
                .update_existing_record(self.account_id, &record)
                .await,
        )
    }

    async fn process(&self, mut entry: PageEntry) -> PageOutcome {
        if entry.seen_run.as_deref() != Some(self.run_id) {
            // Found only in content: confirm it is alive and learn its edit time.
            match self.client.retrieve_page(&entry.page_id).await {
                Ok(v) => match PageInfo::from_json(&v) {
                    Some(info) if !info.in_trash => {
                        entry.title = info.title;
                        entry.url = info.url;
                        entry.properties = info.property_lines;
                        entry.last_edited = Some(info.last_edited_time);
                        entry.seen_run = Some(self.run_id.to_string());
                    }
                    _ => return PageOutcome::Gone(entry),
                },
                Err(NotionError::NotFound(_)) | Err(NotionError::Invalid { .. }) => return PageOutcome::Gone(entry),
                Err(NotionError::Unauthorized) => return PageOutcome::Unauthorized,
                Err(e) => {
                    return PageOutcome::Failed {
                        entry,
                        incomplete: true,
                        reason: e.to_string(),
                    }
                }
            }
        }
        let now = self.crawler.now();
        let expires_in_secs = self.expires_in.map(|ms| (ms / 1000) as i64);
        let expiry_due = match (entry.expires_at, expires_in_secs) {
            (Some(at), Some(life)) => at - now < life / 2,
            _ => false,
        };
        let same_target =
            entry.dataset_id.as_deref() == Some(self.dataset_id.as_str()) && entry.expires_in == self.expires_in;
        if entry.text_hash.is_some() && entry.synced_edited == entry.last_edited && same_target && !expiry_due {
            return PageOutcome::Unchanged(entry);
        }
        let read = if self.block_walk_only {
            crate::crawler::content::read_page_by_walk(&self.client, &entry.page_id).await
        } else {
            read_page(&self.client, &entry.page_id).await
        };
        let content = match read {
            Ok(c) => c,
            Err(NotionError::Unauthorized) => return PageOutcome::Unauthorized,
            Err(e @ (NotionError::NotFound(_) | NotionError::Invalid { .. })) => {
                return PageOutcome::Failed {
                    entry,
                    incomplete: false,
                    reason: e.to_string(),
                }
            }
            Err(e) => {
                return PageOutcome::Failed {
                    entry,
                    incomplete: true,
                    reason: e.to_string(),
                }
            }
        };
        let text = compose_text(&entry.title, &entry.properties, &content.text);
        let hash = text_hash(&text);
        let chunks = split_chunks(&text, MAX_CHUNK_BYTES);
        let base = record_base_id(self.integration_id, &entry.page_id);
        let mut unchanged = 0;
        let mut write = None;
        if entry.text_hash.as_deref() == Some(hash.as_str())
            && same_target
            && !expiry_due
            && entry.chunks as usize == chunks.len()
        {
            unchanged = chunks.len() as u64;
        } else {
            let now_text = rfc3339(self.crawler.clock.now());
            let expires_at = expires_in_secs.map(|life| now + life);
            // Chunks this dataset already holds are replaced; the rest are new.
            let held = if entry.dataset_id.as_deref() == Some(self.dataset_id.as_str()) {
                entry.chunks as usize
            } else {
                0
            };
            let mut pending = PendingWrite {
                hash,
                chunks: chunks.len() as u32,
                expires_at,
                ..PendingWrite::default()
            };
            for (i, chunk) in chunks.iter().enumerate() {
                let mut meta = Map::new();
                meta.insert("notionPageId".into(), json!(entry.page_id));
                meta.insert("title".into(), json!(entry.title));
                meta.insert("lastEditedTime".into(), json!(entry.last_edited));
                meta.insert("integrationId".into(), json!(self.integration_id));
                if chunks.len() > 1 {
                    meta.insert("chunk".into(), json!(i + 1));
                    meta.insert("chunks".into(), json!(chunks.len()));
                }
                let record = Record {
                    id: chunk_id(&base, i),
                    dataset_id: self.dataset_id.clone(),
                    text: chunk.clone(),
                    source: entry.url.clone(),
                    meta,
                    created_at: now_text.clone(),
                    updated_at: now_text.clone(),
                    expires_at,
                };
                if i < held {
                    pending.existing.push(record);
                } else {
                    pending.new.push(record);
                }
            }
            pending.stale = (chunks.len()..held).map(|i| chunk_id(&base, i)).collect();
            write = Some(pending);
        }
        entry.children = content.child_pages;
        entry.databases = content.child_databases;
        entry.synced_edited = entry.last_edited.clone();
        PageOutcome::Read {
            entry,
            write,
            written: 0,
            unchanged,
            deleted: 0,
            requests: content.requests,
            skipped: content.skipped,
            fallbacks: content.fallbacks,
        }
    }
}
