//! One invocation's share of a run: the lane loop and the hand-over.
//!
//! Four lanes share one loop so Notion is never idle while DynamoDB works: listing
//! requests (one per cursor in flight: search, each database, each data source),
//! `concurrency` page reads, one write of every page read meanwhile, and a checkpoint every
//! `checkpoint_every` (index entries, then cursors and counters, and the lease renewed)
//! saved while reading goes on. What to list and read next, and when the run is complete,
//! is [`Frontier`]'s to say. At the deadline nothing new starts, what is in flight is
//! finished, and the run releases its lease and queues its own continuation; at the end,
//! after a complete enumeration only, the records of pages that are gone are deleted.

use super::adapters::{Crawler, RunResult, UNAUTHORIZED_ERROR};
use super::frontier::{Completion, Frontier, Listed, ListingRequest, OutcomeHalt};
use super::page::{place_in_meta, stored_path};
use super::page::{PageOutcome, PageWriter};
use super::records::{chunk_id, record_base_id, record_hash, with_path};
use crate::domain::integration::SyncStatus;
use crate::domain::run::{Checkpoint, PageEntry, Placement, RunSummary, SyncSummary};
use crate::domain::sync::SyncMessage;
use crate::domain::time::rfc3339;
use crate::domain::webhook::MAX_QUEUE_DELAY_SECS;
use crate::error::StoreError;
use crate::notion::api::NotionError;
use crate::notion::api::{NotionApi, Traffic};
use crate::ports::SyncOutcome;
use futures::stream::{FuturesUnordered, StreamExt};
use std::sync::Arc;
use tokio::time::Instant;

/// Pages read but not yet written, at most: reads pause while a slow write catches up.
const MAX_READ_AHEAD: usize = 256;

/// Pages a write waits for while reads are still coming.
const WRITE_BATCH: usize = 25;

/// Changed index entries written in the background once this many have accumulated.
const INDEX_BATCH: usize = 100;

/// Why a run's loop stopped early.
enum Halt {
    Unauthorized,
    Store(StoreError),
    Dropped(&'static str),
    /// Notion asked for a wait longer than the run sleeps in place.
    RateLimited(std::time::Duration),
}

impl From<OutcomeHalt> for Halt {
    fn from(h: OutcomeHalt) -> Self {
        match h {
            OutcomeHalt::Unauthorized => Self::Unauthorized,
            OutcomeHalt::Store(e) => Self::Store(e),
        }
    }
}

async fn list(notion: Arc<dyn NotionApi>, call: ListingRequest) -> Listed {
    match call {
        ListingRequest::Search(cursor) => Listed::Search(notion.search(cursor.as_deref()).await),
        ListingRequest::Database(id) => {
            let result = notion.database_data_sources(&id).await;
            Listed::Database(id, result)
        }
        ListingRequest::Source(source) => {
            let result = notion
                .query_data_source(
                    &source.id,
                    source.cursor.as_deref(),
                    source.since.as_deref(),
                    source.edited_since.as_deref(),
                )
                .await;
            Listed::Source(source, result)
        }
    }
}

/// Writes index entries, then saves the checkpoint taken with them (if any) and renews the
/// lease. `Ok(false)` when the run must stop: the lease was lost or the integration was
/// deleted.
async fn save_progress(
    crawler: &Crawler,
    msg: &SyncMessage,
    owner: String,
    entries: Vec<PageEntry>,
    cp: Option<(Checkpoint, Arc<dyn NotionApi>)>,
) -> Result<bool, StoreError> {
    if !entries.is_empty() {
        crawler.state.put_pages(&msg.integration_id, &entries).await?;
    }
    let Some((cp, notion)) = cp else { return Ok(true) };
    // At every checkpoint, the workspace's shared backoff is handed on and taken up.
    super::backoff::exchange(crawler, notion.as_ref(), cp.workspace_id(), &msg.integration_id).await;
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
    // Shown on the integration as `syncProgress`; also how a run learns its integration
    // was deleted.
    match crawler.state.report_progress(account, id, &cp.progress()).await {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Why a run that read nothing while pages failed is an error, if it is one: no page was
/// read or confirmed unchanged, and at least one failed (the records stay as they were).
fn nothing_read(counters: &crate::domain::run::Counters) -> Option<String> {
    if counters.pages_failed == 0 || counters.pages_read + counters.pages_unchanged > 0 {
        return None;
    }
    let causes: Vec<String> = counters
        .pages_failed_by_cause
        .iter()
        .map(|(cause, n)| format!("{n} {cause}"))
        .collect();
    Some(format!(
        "No page could be read: {} failed ({}); the records were left as they were.",
        counters.pages_failed,
        causes.join(", ")
    ))
}

/// One invocation of a run.
pub(super) struct Run<'a> {
    crawler: &'a Crawler,
    msg: &'a SyncMessage,
    owner: String,
    frontier: Frontier,
    notion: Arc<dyn NotionApi>,
    max_seconds: i64,
    /// Traffic already added to the checkpoint's counters.
    counted: Traffic,
}

impl<'a> Run<'a> {
    pub(super) fn new(
        crawler: &'a Crawler,
        msg: &'a SyncMessage,
        owner: String,
        frontier: Frontier,
        notion: Arc<dyn NotionApi>,
        max_seconds: i64,
    ) -> Self {
        Self {
            crawler,
            msg,
            owner,
            frontier,
            notion,
            max_seconds,
            counted: Traffic::default(),
        }
    }

    /// Adds the Notion traffic since the last call to the checkpoint's counters, and notes
    /// the limiter's window for the next invocation.
    fn sync_counters(&mut self) {
        let now = self.notion.traffic();
        self.frontier.add_traffic(
            now.requests - self.counted.requests,
            now.retries - self.counted.retries,
            now.rate_limited - self.counted.rate_limited,
            self.notion.recent_requests(self.crawler.clock.now().timestamp_millis()),
        );
        self.counted = now;
    }

    /// Writes changed index entries; with `marks`, also those whose run marks alone changed.
    async fn flush(&mut self, marks: bool) -> Result<(), StoreError> {
        let entries = self.frontier.take_changed(marks);
        if entries.is_empty() {
            return Ok(());
        }
        self.crawler.state.put_pages(&self.msg.integration_id, &entries).await
    }

    /// What a checkpoint saves, taken now: the index entries whose lasting fields changed
    /// since the last one, and the checkpoint itself (cursors, counters) as of this moment.
    /// Pages read or written after this stay pending in the saved state.
    fn progress_snapshot(&mut self) -> (Vec<PageEntry>, Checkpoint) {
        let entries = self.frontier.take_changed(false);
        self.sync_counters();
        (entries, self.frontier.checkpoint().clone())
    }

    /// Runs the run's work until it is done, a limit stops it, or `deadline` nears.
    pub(super) async fn execute(mut self, deadline: Instant) -> Result<RunResult, StoreError> {
        let msg = self.msg;
        let crawler = self.crawler;
        let concurrency = crawler.settings.concurrency.max(1);
        let writer = PageWriter {
            notion: self.notion.clone(),
            records: crawler.records.clone(),
            clock: crawler.clock.clone(),
            account_id: msg.account_id.clone(),
            integration_id: msg.integration_id.clone(),
            run_id: msg.run_id.clone(),
            dataset_id: self.frontier.checkpoint().dataset_id().to_string(),
            expires_in: self.frontier.checkpoint().expires_in(),
            block_walk_only: crawler.settings.block_walk_only,
            concurrency,
            index: self.frontier.is_targeted().then(|| crawler.state.clone()),
            attachments: super::attachments::reader_for(crawler, self.frontier.checkpoint()),
        };
        let mut listing = FuturesUnordered::new();
        let mut reads = FuturesUnordered::new();
        let mut writes = FuturesUnordered::new();
        let mut saving = FuturesUnordered::new();
        let mut ready: Vec<PageOutcome> = Vec::new();
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
                } else if crawler.now() - self.frontier.checkpoint().started_epoch() >= self.max_seconds {
                    self.frontier
                        .stop(format!("plan limit maxSyncSeconds ({} s) reached", self.max_seconds));
                    winding_down = true;
                }
            }
            self.frontier.check_page_limit();
            let launching = halt.is_none() && !winding_down;
            if launching && saving.is_empty() && last_checkpoint.elapsed() >= crawler.settings.checkpoint_every {
                let (entries, cp) = self.progress_snapshot();
                let notion = self.notion.clone();
                saving.push(save_progress(
                    crawler,
                    msg,
                    self.owner.clone(),
                    entries,
                    Some((cp, notion)),
                ));
                last_checkpoint = Instant::now();
            }
            while launching && listing.len() < concurrency {
                let Some(call) = self.frontier.next_listing() else {
                    break;
                };
                listing.push(list(self.notion.clone(), call));
                launched_any = true;
            }
            while launching && reads.len() < concurrency && ready.len() < MAX_READ_AHEAD {
                let Some(entry) = self.frontier.next_page() else { break };
                reads.push(writer.process(entry));
                launched_any = true;
            }
            // Writes gather a few pages (fewer, larger transactions), unless no more reads
            // are coming to fill them.
            if halt.is_none()
                && writes.is_empty()
                && !ready.is_empty()
                && (ready.len() >= WRITE_BATCH || reads.is_empty())
            {
                writes.push(writer.write(std::mem::take(&mut ready)));
            }
            // Entries of pages this run is done with are written as they accumulate, so the
            // checkpoint and the finish have little left to write.
            if launching && saving.is_empty() {
                let done = self.frontier.take_done_entries(INDEX_BATCH);
                if !done.is_empty() {
                    saving.push(save_progress(crawler, msg, self.owner.clone(), done, None));
                }
            }
            if listing.is_empty() && reads.is_empty() && writes.is_empty() && saving.is_empty() {
                // Known pages the listings missed are checked once the listings are done.
                if launching && self.frontier.queue_verification() {
                    continue;
                }
                break;
            }
            tokio::select! {
                Some(listed) = listing.next(), if !listing.is_empty() => {
                    match self.frontier.apply_listing(listed) {
                        Err(NotionError::Unauthorized) => {
                            halt.get_or_insert(Halt::Unauthorized);
                        }
                        Err(NotionError::RateLimited { retry_after, .. }) => {
                            halt.get_or_insert(Halt::RateLimited(retry_after));
                        }
                        _ => {}
                    }
                }
                Some(outcome) = reads.next(), if !reads.is_empty() => {
                    match &outcome {
                        PageOutcome::Unauthorized => {
                            halt.get_or_insert(Halt::Unauthorized);
                        }
                        PageOutcome::Deferred { retry_after, .. } => {
                            halt.get_or_insert(Halt::RateLimited(*retry_after));
                        }
                        _ => {}
                    }
                    ready.push(outcome);
                }
                Some(outcomes) = writes.next(), if !writes.is_empty() => {
                    for outcome in outcomes {
                        if let Err(h) = self.frontier.apply_outcome(outcome) {
                            halt = Some(h.into());
                        }
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
            Some(Halt::RateLimited(wait)) => return self.continue_after(wait).await,
            None => {}
        }
        if out_of_time && self.frontier.completion() == Completion::Pending {
            return self.continue_later().await;
        }
        self.finish(deadline).await
    }

    /// Notion refused the token. An OAuth-connected integration gets its token refreshed
    /// once per run and the run continues with it in a new invocation (pages not yet
    /// written stay pending); otherwise, or when that fails, the run ends in error.
    async fn unauthorized(mut self) -> Result<RunResult, StoreError> {
        self.flush(false).await?;
        self.sync_counters();
        let used = self.frontier.checkpoint().secret_version().map(str::to_string);
        if self.frontier.may_refresh_token() {
            if let Some(version) = self.crawler.refresh_token(self.msg, used.as_deref()).await? {
                self.frontier.token_refreshed(version);
                return self.continue_later().await;
            }
        }
        let cp = self.frontier.checkpoint().clone();
        self.crawler.fail(self.msg, cp, &self.owner, UNAUTHORIZED_ERROR).await
    }

    /// Rewrites a page's records with its new placement (path line, `meta.path`,
    /// `meta.parentId`, `meta.databaseTitle`); none when a record is missing (a user deleted
    /// it: it stays deleted until the page changes).
    async fn replace_placement(
        &mut self,
        mut entry: PageEntry,
        placement: Placement,
    ) -> Result<Option<PageEntry>, StoreError> {
        let Some(dataset) = entry.dataset_id.clone() else {
            return Ok(None);
        };
        let base = record_base_id(&self.msg.integration_id, &entry.page_id);
        let now = self.crawler.now();
        let mut records = Vec::new();
        for chunk in 0..entry.chunks as usize {
            match self
                .crawler
                .records
                .get_record(&dataset, &chunk_id(&base, chunk), now)
                .await?
            {
                Some(record) => records.push(record),
                None => return Ok(None),
            }
        }
        entry.path = placement.path;
        entry.database_title = placement.database_title;
        let mut text = String::new();
        for (i, record) in records.iter_mut().enumerate() {
            if i == 0 {
                record.text = with_path(&record.text, &entry.path);
            }
            place_in_meta(&mut record.meta, &entry);
            record.updated_at = rfc3339(self.crawler.clock.now());
            text.push_str(&record.text);
        }
        for record in &records {
            self.crawler
                .records
                .update_existing_record(&self.msg.account_id, record)
                .await?;
        }
        self.frontier.records_written(records.len() as u64);
        entry.text_hash = Some(record_hash(
            &text,
            entry.parent_id.as_deref(),
            entry.database_title.as_deref(),
        ));
        Ok(Some(entry))
    }

    async fn continue_later(self) -> Result<RunResult, StoreError> {
        self.continue_after(std::time::Duration::ZERO).await
    }

    /// Saves the checkpoint and queues the run's continuation, delivered after `wait` (a
    /// long `Retry-After`; at most SQS's 15 minutes: a longer one is waited out by the next
    /// invocation's limiter).
    async fn continue_after(mut self, wait: std::time::Duration) -> Result<RunResult, StoreError> {
        self.flush(true).await?;
        self.sync_counters();
        let (account, id) = (&self.msg.account_id, &self.msg.integration_id);
        let cp = self.frontier.checkpoint();
        super::backoff::hand_over(self.crawler, self.notion.as_ref(), cp.workspace_id(), id).await;
        match self
            .crawler
            .state
            .save_checkpoint(account, id, cp, &self.owner, None, 0)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(RunResult::Dropped("the run was taken over")),
            Err(e) => return Err(e),
        }
        // Between invocations the run is still active: it shows its progress so far, even
        // when this invocation ended before its first periodic checkpoint.
        match self.crawler.state.report_progress(account, id, &cp.progress()).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Ok(RunResult::Dropped("the integration was deleted")),
            Err(e) => return Err(e),
        }
        let delay = (wait.as_secs_f64().ceil() as u32).min(MAX_QUEUE_DELAY_SECS);
        if delay == 0 {
            self.crawler.queue.send(self.msg).await?;
        } else {
            self.crawler.queue.send_after(self.msg, delay).await?;
        }
        tracing::info!(integration = %id, run = %self.msg.run_id, invocations = cp.invocations(), delay, "sync continues in a new invocation");
        Ok(RunResult::Continued)
    }

    /// Deletes the records of pages that are gone (after a complete enumeration only),
    /// then writes the outcome on the integration and closes the run.
    async fn finish(mut self, deadline: Instant) -> Result<RunResult, StoreError> {
        self.flush(false).await?;
        let complete = self.frontier.completion() == Completion::Complete;
        for entry in self.frontier.gone_pages() {
            if Instant::now() >= deadline {
                return self.continue_later().await;
            }
            if let Some(dataset) = &entry.dataset_id {
                let base = record_base_id(&self.msg.integration_id, &entry.page_id);
                let ids = (0..entry.chunks as usize).map(|chunk| chunk_id(&base, chunk)).chain(
                    super::attachments::attachment_record_ids(&self.msg.integration_id, &entry),
                );
                for id in ids {
                    self.crawler
                        .records
                        .delete_record(&self.msg.account_id, dataset, &id)
                        .await?;
                    self.frontier.record_deleted();
                }
            }
            self.crawler
                .state
                .delete_pages(&self.msg.integration_id, std::slice::from_ref(&entry.page_id))
                .await?;
            self.frontier.forget(&entry.page_id);
        }
        // Pages whose ancestors were renamed or moved (a full run), or that a targeted run
        // read without holding their ancestors: their records get their path from what the
        // run knows and the stored index, without a Notion request.
        let mut placements = if complete {
            self.frontier.stale_placements()
        } else {
            Vec::new()
        };
        for entry in self.frontier.read_by_targeted_run() {
            let path = match &entry.parent_id {
                Some(parent) => stored_path(self.crawler.state.as_ref(), &self.msg.integration_id, parent).await?,
                None => Some(Vec::new()),
            };
            if let Some(path) = path.filter(|p| *p != entry.path) {
                let database_title = entry.database_title.clone();
                placements.push((entry, Placement { path, database_title }));
            }
        }
        for (entry, placement) in placements {
            if Instant::now() >= deadline {
                return self.continue_later().await;
            }
            if let Some(entry) = self.replace_placement(entry, placement).await? {
                self.frontier.rewritten(entry);
            }
        }
        self.flush(false).await?;
        if self.frontier.checkpoint().stop_reason().is_some() {
            // A targeted run a plan limit stopped: the next targeted run does the rest.
            let unfinished = self.frontier.unfinished_targets();
            if !unfinished.is_empty() {
                self.crawler
                    .webhooks
                    .return_work(&self.msg.integration_id, &unfinished)
                    .await?;
            }
        }
        if let Some(targets) = self.frontier.checkpoint().targets() {
            let follow_ups = targets.follow_ups.clone();
            self.crawler
                .queue_follow_up(&self.msg.account_id, &self.msg.integration_id, &follow_ups)
                .await;
        }
        self.sync_counters();
        self.frontier.mark_done();
        let finished = rfc3339(self.crawler.clock.now());
        let cp = self.frontier.checkpoint();
        // Complete means every page was read or confirmed unchanged, not only listed.
        let complete = complete && cp.counters().pages_failed == 0;
        let failure = nothing_read(cp.counters());
        let summary = RunSummary::of(cp, complete, &finished, self.crawler.now());
        let status = if failure.is_some() {
            SyncStatus::Error
        } else {
            SyncStatus::Synced
        };
        let outcome = SyncOutcome {
            status,
            last_synced_at: failure.is_none().then(|| finished.clone()),
            error: failure,
            summary: SyncSummary::Run(Box::new(summary)),
        };
        let (account, id) = (&self.msg.account_id, &self.msg.integration_id);
        let deferred = match self.crawler.record_outcome(self.msg, cp.dataset_id(), &outcome).await {
            Ok(deferred) => deferred,
            Err(StoreError::NotFound) => return Ok(RunResult::Dropped("the integration was deleted")),
            Err(e) => return Err(e),
        };
        match self
            .crawler
            .state
            .save_checkpoint(account, id, cp, &self.owner, None, 0)
            .await
        {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        // Only once the lease is released: a run queued now must not find it held.
        self.crawler.after_run(account, id, deferred).await;
        let summary = serde_json::to_string(&outcome.summary).unwrap_or_default();
        tracing::info!(integration = %id, run = %self.msg.run_id, status = ?outcome.status, summary, "sync finished");
        Ok(RunResult::Finished(outcome.status))
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
