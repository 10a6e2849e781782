//! A run's [`Checkpoint`]: what it keeps between invocations. Its fields are private; it
//! changes only through the methods below, each of which keeps its invariants:
//! - a finished checkpoint does not change again;
//! - a data source or database is listed at most once per run (`known_sources`);
//! - search is done exactly when it has no cursor left to follow;
//! - a stopped run is incomplete, and keeps the first reason it stopped for;
//! - a listing shortfall keeps its first reason, and the check of known pages it calls for
//!   is queued at most once (again only after marks were lost);
//! - cursor restarts are bounded by the caller's cap;
//! - the token is refreshed at most once per run;
//! - counters only grow.
//!
//! The crawler's `Frontier` decides when each change happens; this type only refuses
//! changes that would break what a resumed run relies on.

use super::parts::{Container, Counters, RunState, SourceCursor, SyncProgress};
use crate::domain::sync::Trigger;
use crate::domain::webhook::Targets;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a run starts from (snapshot of the integration when its first invocation begins).
#[derive(Clone, Debug, Default)]
pub struct RunStart {
    /// The run.
    pub run_id: String,
    /// What started it.
    pub trigger: Trigger,
    /// Dataset it writes into.
    pub dataset_id: String,
    /// Record lifetime in ms.
    pub expires_in: Option<u64>,
    /// Secrets Manager version of the token.
    pub secret_version: Option<String>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Epoch seconds start time.
    pub started_epoch: i64,
    /// Send times of the previous run's last requests (the limiter's window).
    pub recent_requests: Vec<i64>,
    /// The Notion workspace the token reaches, when known (an OAuth grant's, or learned by
    /// an earlier run with the same token).
    pub workspace_id: Option<String>,
}

/// How one page of a data source's rows moves its listing on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceStep {
    /// More rows behind `cursor`; `last_created` is the last row's creation time.
    Next {
        /// Cursor of the next page.
        cursor: String,
        /// Creation time of the last row seen.
        last_created: Option<String>,
    },
    /// The window hit Notion's cap: a new query starts at `since`.
    Window {
        /// Start of the next `created_time` window.
        since: String,
    },
    /// Every row listed (or the data source is gone).
    Done,
}

/// The run's progress, one item per integration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The run.
    run_id: String,
    /// Running or done.
    state: RunState,
    /// What started the run.
    trigger: Trigger,
    /// Dataset the run writes into (fixed at the run's start).
    dataset_id: String,
    /// Record lifetime in ms at the run's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    /// Secrets Manager version of the token the run started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_version: Option<String>,
    /// RFC 3339 start time.
    started_at: String,
    /// Epoch seconds start time.
    started_epoch: i64,
    /// Next search cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    search_cursor: Option<String>,
    /// Search fully listed.
    #[serde(default)]
    search_done: bool,
    /// Databases found in content, not yet resolved to data sources.
    #[serde(default)]
    databases: Vec<String>,
    /// Data sources whose rows are still to be listed.
    #[serde(default)]
    sources: Vec<SourceCursor>,
    /// Data sources and databases already handled this run.
    #[serde(default)]
    known_sources: Vec<String>,
    /// Whether something stopped the enumeration from being complete (no deletions then).
    #[serde(default)]
    incomplete: bool,
    /// Whether this run already refreshed its OAuth token after a 401 (it does so once).
    #[serde(default)]
    token_refreshed: bool,
    /// Why a listing (search or a data source) fell short of the whole workspace: Notion's
    /// 10,000-result cap, or cursors that kept expiring. Known pages the listings did not
    /// return are then checked one by one before anything is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listing_shortfall: Option<String>,
    /// Whether the one-by-one check of known pages has been queued.
    #[serde(default)]
    verify_queued: bool,
    /// Listings restarted after Notion invalidated their cursor.
    #[serde(default)]
    cursor_restarts: u32,
    /// Whether the page index holds every run mark (seen, pending, done) as of this
    /// checkpoint. Marks alone are written only when an invocation hands over to the next;
    /// a run resumed from a checkpoint without them re-checks unseen pages before deleting.
    #[serde(default)]
    marks_flushed: bool,
    /// Why the run stopped early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stop_reason: Option<String>,
    /// Counters.
    #[serde(default)]
    counters: Counters,
    /// Invocations so far.
    #[serde(default)]
    invocations: u32,
    /// A targeted run's work (webhook events); none for a full run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    targets: Option<Targets>,
    /// Send times (epoch ms) of the Notion requests inside the rate limiter's window when
    /// the last invocation saved this checkpoint: the next invocation, of this run or the
    /// next one, starts its limiter from them instead of bursting or waiting a full window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recent_requests: Vec<i64>,
    /// The Notion workspace the token reaches (`GET /v1/users/me`), so that the
    /// integrations of one workspace back off together from its shared limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    /// Databases seen this run, by id: their titles and the pages holding them, for rows'
    /// paths.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    containers: BTreeMap<String, Container>,
}

impl Checkpoint {
    /// A run's first checkpoint: running, first invocation, nothing listed yet.
    pub fn start(start: RunStart) -> Self {
        Self {
            run_id: start.run_id,
            state: RunState::Running,
            trigger: start.trigger,
            dataset_id: start.dataset_id,
            expires_in: start.expires_in,
            secret_version: start.secret_version,
            started_at: start.started_at,
            started_epoch: start.started_epoch,
            invocations: 1,
            recent_requests: start.recent_requests,
            workspace_id: start.workspace_id,
            ..Self::default()
        }
    }

    /// Makes this a targeted run: search is not listed; the named data sources (rows edited
    /// since `targets.edited_since`) and databases are, once each.
    pub fn target(&mut self, targets: Targets, sources: Vec<String>, databases: Vec<String>) {
        self.live();
        self.search_done = true;
        self.search_cursor = None;
        for source in sources {
            self.add_source(&source, targets.edited_since.clone());
        }
        for database in databases {
            self.add_database(&database);
        }
        self.targets = Some(targets);
    }

    fn live(&self) {
        debug_assert!(
            self.state == RunState::Running,
            "run {} changed after it finished",
            self.run_id
        );
    }

    // ---- reading -----------------------------------------------------------------------

    /// The run.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
    /// Whether the run finished (successfully or not).
    pub fn is_done(&self) -> bool {
        self.state == RunState::Done
    }
    /// What started the run.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }
    /// The dataset the run writes into.
    pub fn dataset_id(&self) -> &str {
        &self.dataset_id
    }
    /// Record lifetime in ms at the run's start.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }
    /// Secrets Manager version of the token in use.
    pub fn secret_version(&self) -> Option<&str> {
        self.secret_version.as_deref()
    }
    /// RFC 3339 start time.
    pub fn started_at(&self) -> &str {
        &self.started_at
    }
    /// Epoch seconds start time.
    pub fn started_epoch(&self) -> i64 {
        self.started_epoch
    }
    /// The next search cursor (none: from the start, or done).
    pub fn search_cursor(&self) -> Option<&str> {
        self.search_cursor.as_deref()
    }
    /// Whether search is fully listed.
    pub fn search_done(&self) -> bool {
        self.search_done
    }
    /// Databases still to resolve to data sources.
    pub fn databases(&self) -> &[String] {
        &self.databases
    }
    /// Data sources whose rows are still to be listed.
    pub fn sources(&self) -> &[SourceCursor] {
        &self.sources
    }
    /// Whether a listing failed or something else made the enumeration incomplete.
    pub fn incomplete(&self) -> bool {
        self.incomplete
    }
    /// Whether the run may still refresh its token after a 401 (once per run).
    pub fn may_refresh_token(&self) -> bool {
        !self.token_refreshed
    }
    /// Why a listing fell short, if one did.
    pub fn listing_shortfall(&self) -> Option<&str> {
        self.listing_shortfall.as_deref()
    }
    /// Whether the one-by-one check of known pages is queued.
    pub fn verify_queued(&self) -> bool {
        self.verify_queued
    }
    /// Whether the stored index holds every run mark as of this checkpoint.
    pub fn marks_flushed(&self) -> bool {
        self.marks_flushed
    }
    /// Why the run stopped early, if it did.
    pub fn stop_reason(&self) -> Option<&str> {
        self.stop_reason.as_deref()
    }
    /// The counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// Invocations so far.
    pub fn invocations(&self) -> u32 {
        self.invocations
    }
    /// A targeted run's work.
    pub fn targets(&self) -> Option<&Targets> {
        self.targets.as_ref()
    }
    /// Send times of the last requests inside the limiter's window.
    pub fn recent_requests(&self) -> &[i64] {
        &self.recent_requests
    }

    /// The Notion workspace the token reaches, when known.
    pub fn workspace_id(&self) -> Option<&str> {
        self.workspace_id.as_deref()
    }
    /// A database this run came across.
    pub fn container(&self, id: &str) -> Option<&Container> {
        self.containers.get(id)
    }

    /// The run's progress as the integration shows it.
    pub fn progress(&self) -> SyncProgress {
        SyncProgress {
            run_id: self.run_id.clone(),
            trigger: self.trigger,
            started_at: self.started_at.clone(),
            pages_seen: self.counters.pages_seen,
            pages_read: self.counters.pages_read,
            records_written: self.counters.records_written,
        }
    }

    // ---- changing ----------------------------------------------------------------------

    /// One more invocation resumes the run.
    pub fn resumed(&mut self) {
        self.live();
        self.invocations += 1;
    }

    /// A resumed full run whose last invocation ended without saving its run marks: known
    /// pages not seen are checked one by one before anything is deleted. Returns whether it
    /// had to (a targeted run queues its targets again instead).
    pub fn check_lost_marks(&mut self) -> bool {
        if self.marks_flushed || self.targets.is_some() {
            return false;
        }
        self.marks_lost();
        true
    }

    /// The run marks since the last hand-over are lost: the check of known pages is due
    /// (again).
    fn marks_lost(&mut self) {
        self.live();
        self.verify_queued = false;
        self.fell_short("an interrupted invocation was resumed");
    }

    /// Whether the stored index now holds every run mark.
    pub fn set_marks_flushed(&mut self, flushed: bool) {
        self.marks_flushed = flushed;
    }

    /// Search answered a page; `next` is its cursor, none at the end.
    pub fn searched(&mut self, next: Option<String>) {
        self.live();
        debug_assert!(!self.search_done, "search listed after it was done");
        self.search_done = next.is_none();
        self.search_cursor = next;
    }

    /// Search is given up (it keeps failing): nothing more is listed from it.
    pub fn search_abandoned(&mut self) {
        self.live();
        self.search_done = true;
        self.search_cursor = None;
    }

    /// Notion invalidated a cursor: the listing (search, or the data source `source`)
    /// starts again from its beginning, unless `max` restarts were spent. Returns whether
    /// it restarts.
    pub fn restart_cursor(&mut self, source: Option<&str>, max: u32) -> bool {
        self.live();
        if self.cursor_restarts >= max {
            return false;
        }
        self.cursor_restarts += 1;
        match source {
            None => self.search_cursor = None,
            Some(id) => {
                if let Some(listed) = self.sources.iter_mut().find(|s| s.id == id) {
                    listed.cursor = None;
                }
            }
        }
        true
    }

    /// A database to resolve to its data sources, unless this run already has it.
    pub fn add_database(&mut self, id: &str) -> bool {
        self.live();
        if self.known_sources.iter().any(|k| k == id) {
            return false;
        }
        self.known_sources.push(id.to_string());
        self.databases.push(id.to_string());
        true
    }

    /// A data source to list (rows edited from `edited_since` on, if set), unless this run
    /// already has it.
    pub fn add_source(&mut self, id: &str, edited_since: Option<String>) -> bool {
        self.live();
        if self.known_sources.iter().any(|k| k == id) {
            return false;
        }
        self.known_sources.push(id.to_string());
        self.sources.push(SourceCursor {
            id: id.to_string(),
            edited_since,
            ..SourceCursor::default()
        });
        true
    }

    /// A database was resolved (or is gone): it is no longer to list.
    pub fn database_listed(&mut self, id: &str) {
        self.live();
        self.databases.retain(|d| d != id);
    }

    /// Moves the listing of data source `id` on by one answer.
    pub fn advance_source(&mut self, id: &str, step: SourceStep) {
        self.live();
        let Some(position) = self.sources.iter().position(|s| s.id == id) else {
            return;
        };
        match step {
            SourceStep::Next { cursor, last_created } => {
                let source = &mut self.sources[position];
                source.cursor = Some(cursor);
                source.last_created = last_created;
            }
            SourceStep::Window { since } => {
                let source = &mut self.sources[position];
                debug_assert!(
                    source.since.as_deref() != Some(since.as_str()),
                    "a window that does not advance"
                );
                source.cursor = None;
                source.since = Some(since);
                source.last_created = None;
            }
            SourceStep::Done => {
                self.sources.remove(position);
            }
        }
    }

    /// A listing returned less than the workspace holds (the first reason is kept).
    pub fn fell_short(&mut self, reason: &str) {
        self.live();
        if self.listing_shortfall.is_none() {
            self.listing_shortfall = Some(reason.to_string());
        }
    }

    /// The one-by-one check of known pages is queued.
    pub fn verification_queued(&mut self) {
        self.live();
        debug_assert!(self.listing_shortfall.is_some(), "a check queued without a shortfall");
        self.verify_queued = true;
    }

    /// Something hides pages from this run: it will delete nothing.
    pub fn mark_incomplete(&mut self) {
        self.live();
        self.incomplete = true;
    }

    /// Stops the run early: nothing new is listed or counted, nothing deleted. Returns
    /// whether this is the first stop (the first reason is kept).
    pub fn stop(&mut self, reason: String) -> bool {
        self.live();
        self.incomplete = true;
        if self.stop_reason.is_some() {
            return false;
        }
        self.stop_reason = Some(reason);
        true
    }

    /// Adds to the counters.
    pub fn count(&mut self, delta: &Counters) {
        self.live();
        self.counters.add(delta);
    }

    /// What the run learned of a database: its title (a listing's, newest wins) and the
    /// page holding it (the first known is kept).
    pub fn note_container(&mut self, id: &str, title: Option<String>, parent: Option<String>) {
        self.live();
        let known = self.containers.entry(id.to_string()).or_default();
        if let Some(title) = title.filter(|t| !t.is_empty()) {
            known.title = title;
        }
        if known.parent.is_none() {
            known.parent = parent;
        }
    }

    /// The limiter's window as the invocation leaves it.
    pub fn set_recent_requests(&mut self, recent: Vec<i64>) {
        self.recent_requests = recent;
    }

    /// Records the Notion workspace the token reaches (learned once per token).
    pub fn set_workspace_id(&mut self, id: String) {
        self.workspace_id = Some(id);
    }

    /// The token was refreshed into secret `version`; the run does not refresh again.
    pub fn token_refreshed(&mut self, version: String) {
        self.live();
        debug_assert!(!self.token_refreshed, "token refreshed twice in one run");
        self.token_refreshed = true;
        self.secret_version = Some(version);
    }

    /// A targeted run's work, to change as the run finds what it covers.
    pub fn targets_mut(&mut self) -> Option<&mut Targets> {
        self.live();
        self.targets.as_mut()
    }

    /// The run is over; the checkpoint does not change again.
    pub fn finish(&mut self) {
        self.state = RunState::Done;
    }
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
