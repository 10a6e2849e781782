//! The crawler's rules, with no I/O: what a run knows, what it reads next, and when it is
//! complete. [`Frontier`] owns the page index, the queue of pages to read, pages held back
//! while listings run, page-limit reservations, the listings in flight and every run mark;
//! the async loop in [`super::run`] only moves data between it, Notion and the stores.
//!
//! The invariants its tests check:
//! - a page is handed out for reading at most once per run;
//! - a run counts at most `maxPagesPerSync` pages;
//! - pages are deleted only after an enumeration that completed (every listing to its end,
//!   no failure, no stop, and pages the listings missed checked one by one when a listing
//!   fell short).
//!
//! A targeted run (webhook events, [`Checkpoint::targets`]) lists nothing but the data
//! sources it names; it reads the pages named, discovers children only below pages whose
//! subtree is named, and deletes only pages Notion confirmed gone during the run.

mod bookkeeping;
mod entry;
mod listing;
mod listings;
mod outcome;
mod paths;

pub use listings::{Listed, Listing, ListingRequest};
pub use outcome::{Outcome, OutcomeHalt, ReadCounts};

use crate::domain::run::{Checkpoint, Counters, PageEntry};
use crate::notion::model::PageInfo;
use std::collections::{HashMap, HashSet, VecDeque};

/// Whether the run is done, and whether it may delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Something is still to list, check or read.
    Pending,
    /// Nothing is left, but the enumeration was not complete: nothing may be deleted.
    Partial,
    /// Nothing is left and the enumeration was complete: pages not seen are gone.
    Complete,
}

/// Whether two index entries differ only in their run marks.
fn same_lasting_fields(a: &PageEntry, b: &PageEntry) -> bool {
    let strip = |e: &PageEntry| PageEntry {
        seen_run: None,
        pending_run: None,
        done_run: None,
        row_files: None,
        ..e.clone()
    };
    strip(a) == strip(b)
}

/// The run's state of knowledge: checkpoint, page index and queues.
#[derive(Debug)]
pub struct Frontier {
    run: String,
    cp: Checkpoint,
    index: HashMap<String, PageEntry>,
    queue: VecDeque<String>,
    /// Pages found only in content, held back while listings run: the listings may still
    /// return them (with their edit time), which saves a retrieve each.
    deferred: VecDeque<String>,
    /// Pages not yet seen this run that are being read: reserved against the page limit.
    reserved: HashSet<String>,
    in_flight: HashSet<Listing>,
    /// Index entries whose lasting fields changed: written at every checkpoint.
    dirty: HashMap<String, PageEntry>,
    /// Index entries whose run marks alone changed: written only when handing over to the
    /// next invocation (a finished run's marks are never needed again).
    marks: HashMap<String, PageEntry>,
    max_pages: u64,
}

impl Frontier {
    /// The frontier of the run `checkpoint` describes, over the index as stored; pages the
    /// run still had pending are queued again (in id order).
    pub fn new(checkpoint: Checkpoint, index: Vec<PageEntry>, max_pages: u64) -> Self {
        let run = checkpoint.run_id().to_string();
        let index: HashMap<String, PageEntry> = index.into_iter().map(|e| (e.page_id.clone(), e)).collect();
        let mut pending: Vec<&String> = index
            .values()
            .filter(|e| e.pending_in(&run))
            .map(|e| &e.page_id)
            .collect();
        pending.sort();
        let queue = pending.into_iter().cloned().collect();
        let mut frontier = Self {
            run,
            cp: checkpoint,
            index,
            queue,
            deferred: VecDeque::new(),
            reserved: HashSet::new(),
            in_flight: HashSet::new(),
            dirty: HashMap::new(),
            marks: HashMap::new(),
            max_pages,
        };
        frontier.seed_targets();
        frontier
    }

    /// Queues a targeted run's pages (again, after a resume: pages already done this run
    /// are skipped): those named, subtrees found so far, and the known rows of deleted
    /// data sources and databases.
    fn seed_targets(&mut self) {
        let Some(targets) = self.cp.targets() else { return };
        let mut seeds: Vec<String> = targets.pages.iter().chain(&targets.subtrees).cloned().collect();
        if !targets.rows_of.is_empty() {
            let mut rows: Vec<String> = self
                .index
                .values()
                .filter(|e| {
                    let of = |container: &Option<String>| {
                        container
                            .as_deref()
                            .is_some_and(|c| targets.rows_of.iter().any(|r| r == c))
                    };
                    of(&e.data_source_id) || of(&e.database_id)
                })
                .map(|e| e.page_id.clone())
                .collect();
            rows.sort();
            seeds.extend(rows);
        }
        for id in seeds {
            self.discovered(&id);
        }
    }

    /// A targeted run's work it did not finish (a plan limit stopped it), as pending keys
    /// for the next targeted run.
    pub fn unfinished_targets(&self) -> Vec<String> {
        use crate::domain::webhook::Work;
        let Some(targets) = self.cp.targets() else {
            return Vec::new();
        };
        let undone = |id: &String| !self.index.get(id).is_some_and(|e| e.done_in(&self.run));
        let mut keys: Vec<String> = targets
            .pages
            .iter()
            .filter(|id| undone(id) && !targets.expands(id))
            .map(|id| Work::Page(id.clone()).key())
            .collect();
        keys.extend(
            targets
                .subtrees
                .iter()
                .filter(|id| undone(id))
                .map(|id| Work::Subtree(id.clone()).key()),
        );
        keys.extend(self.cp.sources().iter().map(|s| Work::Source(s.id.clone()).key()));
        keys.extend(self.cp.databases().iter().map(|d| Work::Database(d.clone()).key()));
        keys
    }

    /// Whether this is a targeted run.
    pub fn is_targeted(&self) -> bool {
        self.cp.targets().is_some()
    }

    /// The checkpoint as it stands.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.cp
    }

    /// The index entry of a page.
    pub fn entry(&self, page_id: &str) -> Option<&PageEntry> {
        self.index.get(page_id)
    }

    /// Stops the run early (a plan limit): nothing new is listed or counted, and nothing
    /// will be deleted.
    pub fn stop(&mut self, reason: String) {
        let run = self.run.clone();
        if self.cp.stop(reason) {
            tracing::info!(run = %run, reason = self.cp.stop_reason(), "sync stops early");
        }
    }

    fn stop_at_page_limit(&mut self) {
        self.stop(format!("plan limit maxPagesPerSync ({}) reached", self.max_pages));
    }

    /// Stops the run when the page limit is reached while more pages may still come
    /// (a listing not done, or unseen pages queued).
    pub fn check_page_limit(&mut self) {
        if self.cp.counters().pages_seen < self.max_pages || self.cp.stop_reason().is_some() {
            return;
        }
        let run = &self.run;
        let index = &self.index;
        let unseen_queued = self
            .queue
            .iter()
            .chain(self.deferred.iter())
            .any(|id| index.get(id).is_some_and(|e| !e.seen_in(run)));
        if self.more_to_list() || unseen_queued {
            self.stop_at_page_limit();
        }
    }

    /// A page confirmed alive by search, a data source query or retrieval. `partial`: a row
    /// whose answer left out its properties (search on 2026-12-01): it keeps the properties
    /// it had and waits until the listings end, when its data source's query has most
    /// likely given them; if not, its reader retrieves it first.
    fn seen(&mut self, info: PageInfo, partial: bool) {
        let already = self.index.get(&info.id).is_some_and(|e| e.seen_in(&self.run));
        if !already && self.cp.counters().pages_seen >= self.max_pages {
            self.stop_at_page_limit();
            return;
        }
        let before = self.index.get(&info.id).cloned();
        let entry = self.index.entry(info.id.clone()).or_insert_with(|| PageEntry {
            page_id: info.id.clone(),
            ..PageEntry::default()
        });
        let full_this_run = entry.seen_in(&self.run) && !entry.needs_properties;
        if partial {
            entry.apply_title_only(info);
            entry.needs_properties = !full_this_run;
        } else {
            entry.apply_info(info);
            entry.needs_properties = false;
        }
        if !entry.seen_in(&self.run) {
            entry.seen_run = Some(self.run.clone());
            self.cp.count(&Counters {
                pages_seen: 1,
                ..Counters::default()
            });
        }
        let enqueue = !entry.done_in(&self.run) && !entry.pending_in(&self.run);
        if enqueue {
            entry.pending_run = Some(self.run.clone());
        }
        let snapshot = entry.clone();
        if enqueue && snapshot.needs_properties {
            self.deferred.push_back(snapshot.page_id.clone());
        } else if enqueue {
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
    pub fn discovered(&mut self, page_id: &str) {
        self.discovered_in(page_id, None);
    }

    /// A page mentioned in the content of `parent` (when given).
    fn discovered_in(&mut self, page_id: &str, parent: Option<&str>) {
        let before = self.index.get(page_id).cloned();
        self.index.entry(page_id.to_string()).or_insert_with(|| PageEntry {
            page_id: page_id.to_string(),
            ..PageEntry::default()
        });
        let moved = parent.is_some_and(|p| self.lives_in(page_id, p));
        let Some(entry) = self.index.get_mut(page_id) else {
            return;
        };
        if entry.done_in(&self.run) || entry.pending_in(&self.run) {
            if moved {
                let snapshot = entry.clone();
                self.changed(before, snapshot);
            }
            return;
        }
        entry.pending_run = Some(self.run.clone());
        let snapshot = entry.clone();
        self.queue.push_back(page_id.to_string());
        self.changed(before, snapshot);
    }

    /// Takes the index entries to write: those whose lasting fields changed, and with
    /// `marks` also those whose run marks alone changed. Notes in the checkpoint whether
    /// the stored index then holds every run mark.
    pub fn take_changed(&mut self, marks: bool) -> Vec<PageEntry> {
        let mut entries: Vec<PageEntry> = self.dirty.drain().map(|(_, e)| e).collect();
        if marks {
            entries.extend(self.marks.drain().map(|(_, e)| e));
            self.cp.set_marks_flushed(true);
        } else {
            self.cp.set_marks_flushed(self.marks.is_empty());
        }
        entries
    }

    /// Changed entries of pages this run is done with, once at least `at_least` have
    /// accumulated (pending ones would change again when read, and wait for the checkpoint).
    pub fn take_done_entries(&mut self, at_least: usize) -> Vec<PageEntry> {
        if self.dirty.len() < at_least {
            return Vec::new();
        }
        let done: Vec<String> = self
            .dirty
            .values()
            .filter(|e| !e.pending_in(&self.run))
            .map(|e| e.page_id.clone())
            .collect();
        if done.len() < at_least {
            return Vec::new();
        }
        done.iter().filter_map(|id| self.dirty.remove(id)).collect()
    }

    /// Whether any listing (search, a database, a data source) still has pages to list.
    pub fn more_to_list(&self) -> bool {
        !self.cp.search_done() || !self.cp.databases().is_empty() || !self.cp.sources().is_empty()
    }

    /// Whether a listing is running or has anything left to list.
    fn listing_ongoing(&self) -> bool {
        !self.in_flight.is_empty() || (self.cp.stop_reason().is_none() && self.more_to_list())
    }

    /// Whether known pages the listings missed still have to be queued for checking.
    fn verification_due(&self) -> bool {
        self.cp.targets().is_none()
            && self.cp.listing_shortfall().is_some()
            && !self.cp.verify_queued()
            && self.cp.stop_reason().is_none()
    }

    /// Whether the run is done, and whether it may delete pages it did not see.
    pub fn completion(&self) -> Completion {
        let work_left = !self.queue.is_empty()
            || !self.deferred.is_empty()
            || !self.in_flight.is_empty()
            || (self.cp.stop_reason().is_none() && self.more_to_list())
            || self.verification_due();
        if work_left {
            Completion::Pending
        } else if self.cp.incomplete() {
            Completion::Partial
        } else {
            Completion::Complete
        }
    }

    /// The next listing request, if listing is allowed and a listing has no request in
    /// flight: search first, then databases found in content, then data sources. Each
    /// cursor is followed in order; different databases and data sources go in parallel.
    pub fn next_listing(&mut self) -> Option<ListingRequest> {
        if self.cp.stop_reason().is_some() {
            return None;
        }
        if !self.cp.search_done() && self.in_flight.insert(Listing::Search) {
            return Some(ListingRequest::Search(self.cp.search_cursor().map(str::to_string)));
        }
        let in_flight = &mut self.in_flight;
        if let Some(db) = self
            .cp
            .databases()
            .iter()
            .rev()
            .find(|db| in_flight.insert(Listing::Database((*db).clone())))
        {
            return Some(ListingRequest::Database(db.clone()));
        }
        self.cp
            .sources()
            .iter()
            .find(|source| in_flight.insert(Listing::Source(source.id.clone())))
            .cloned()
            .map(ListingRequest::Source)
    }

    /// Once the listings are done and nothing is in flight: when a listing fell short,
    /// queues every known page not seen this run for retrieval (gone ones are then
    /// deleted). Returns whether it queued the check.
    pub fn queue_verification(&mut self) -> bool {
        if !self.verification_due() {
            return false;
        }
        self.cp.verification_queued();
        let mut unseen: Vec<String> = self
            .index
            .values()
            .filter(|e| !e.seen_in(&self.run))
            .map(|e| e.page_id.clone())
            .collect();
        unseen.sort();
        tracing::info!(run = %self.run, pages = unseen.len(), "checking known pages the listings missed");
        for id in unseen {
            self.discovered(&id);
        }
        true
    }

    /// The next queued page to read, if any. Pages found only in content wait until the
    /// listings end. Past a plan limit only pages already counted this run are read; an
    /// unseen page is read only while the page limit has room for it beside the ones
    /// reserved in flight (it is then reserved until its outcome is applied).
    pub fn next_page(&mut self) -> Option<PageEntry> {
        if !self.deferred.is_empty() && !self.listing_ongoing() {
            let deferred = std::mem::take(&mut self.deferred);
            self.queue.extend(deferred);
        }
        while let Some(id) = self.queue.pop_front() {
            let Some(entry) = self.index.get(&id) else { continue };
            if !entry.seen_in(&self.run) {
                if self.cp.stop_reason().is_some() {
                    continue;
                }
                if self.listing_ongoing() {
                    self.deferred.push_back(id);
                    continue;
                }
                if self.cp.counters().pages_seen + self.reserved.len() as u64 >= self.max_pages {
                    self.stop_at_page_limit();
                    continue;
                }
                self.reserved.insert(id.clone());
            }
            let mut out = entry.clone();
            self.place(&mut out);
            return Some(out);
        }
        None
    }

    /// Marks a processed page done and queues what its content points at (in a targeted
    /// run, only below a page whose subtree was named).
    fn after_processing(&mut self, entry: &mut PageEntry) {
        entry.finish_in(&self.run);
        if let Some(targets) = self.cp.targets_mut() {
            if !targets.expands(&entry.page_id) {
                return;
            }
            for child in &entry.children {
                targets.expand(child);
            }
            for db in &entry.databases {
                // A database brought in with a page: every row is new here.
                if !targets.whole_databases.contains(db) {
                    targets.whole_databases.push(db.clone());
                }
            }
        }
        for child in entry.children.clone() {
            self.discovered_in(&child, Some(&entry.page_id));
        }
        for db in entry.databases.clone() {
            self.cp.note_container(&db, None, Some(entry.page_id.clone()));
            self.cp.add_database(&db);
        }
    }

    /// A targeted run's page that Notion confirmed gone: its records go at the finish, and
    /// when its subtree was named, its known children are confirmed one by one too.
    fn confirmed_gone(&mut self, entry: &PageEntry) {
        let Some(targets) = self.cp.targets_mut() else { return };
        if !targets.gone.contains(&entry.page_id) {
            targets.gone.push(entry.page_id.clone());
        }
        if !targets.expands(&entry.page_id) {
            return;
        }
        for child in &entry.children {
            targets.expand(child);
        }
        for child in entry.children.clone() {
            self.discovered(&child);
        }
    }

    /// Applies one written page's outcome to the counters and the index, and queues what
    /// its content points at. `Err` when the run must halt (the page stays pending).
    pub fn apply_outcome<W>(&mut self, outcome: Outcome<W>) -> Result<(), OutcomeHalt> {
        let entry = match outcome {
            Outcome::Read {
                mut entry,
                counts,
                unsettled_until,
                unknown_tags,
                unknown_block_types,
                ..
            } => {
                self.cp.count(&counts.as_counters(unknown_tags, unknown_block_types));
                // A targeted run reads such a page once more after its minute closes.
                if let (Some(at), Some(targets)) = (unsettled_until, self.cp.targets_mut()) {
                    targets.follow_ups.insert(entry.page_id.clone(), at);
                }
                self.after_processing(&mut entry);
                entry
            }
            Outcome::Unchanged(mut entry) => {
                self.cp.count(&Counters {
                    pages_unchanged: 1,
                    ..Counters::default()
                });
                self.after_processing(&mut entry);
                entry
            }
            Outcome::Gone(mut entry) => {
                entry.finish_in(&self.run);
                self.confirmed_gone(&entry);
                entry
            }
            Outcome::Failed {
                mut entry,
                incomplete,
                cause,
                reason,
            } => {
                tracing::warn!(page = %entry.page_id, cause, reason, "page skipped");
                self.cp.count(&Counters {
                    pages_failed: 1,
                    pages_failed_by_cause: [(cause.to_string(), 1)].into(),
                    ..Counters::default()
                });
                if incomplete {
                    self.cp.mark_incomplete();
                }
                entry.finish_in(&self.run);
                entry
            }
            Outcome::RecordLimit(mut entry) => {
                // Nothing more can be written: stop reading.
                self.stop("plan limit maxRecords reached".into());
                self.queue.clear();
                entry.pending_run = None;
                entry
            }
            // Still this run's to read, in the invocation after the wait.
            Outcome::Deferred { entry, .. } => entry,
            Outcome::Unauthorized => return Err(OutcomeHalt::Unauthorized),
            Outcome::Store(e) => return Err(OutcomeHalt::Store(e)),
        };
        // Where it lives was only for its reader; the index keeps what its records hold.
        let mut entry = entry;
        entry.placement = None;
        // A listing may have confirmed the page while it was read: count it once.
        let counted = self.index.get(&entry.page_id).is_some_and(|e| e.seen_in(&self.run));
        if self.reserved.remove(&entry.page_id) && entry.seen_in(&self.run) && !counted {
            self.cp.count(&Counters {
                pages_seen: 1,
                ..Counters::default()
            });
        }
        let before = self.index.get(&entry.page_id).cloned();
        self.changed(before, entry.clone());
        self.index.insert(entry.page_id.clone(), entry);
        Ok(())
    }

    /// After a complete enumeration, the index entries of pages not seen this run: they
    /// are gone, trashed or no longer shared. Empty unless [`Frontier::completion`] is
    /// [`Completion::Complete`]. In a targeted run: the pages Notion confirmed gone.
    pub fn gone_pages(&self) -> Vec<PageEntry> {
        if let Some(targets) = self.cp.targets() {
            // Each one confirmed by Notion, whatever else the run did.
            let mut gone: Vec<PageEntry> = targets
                .gone
                .iter()
                .filter_map(|id| self.index.get(id))
                .filter(|e| !e.seen_in(&self.run))
                .cloned()
                .collect();
            gone.sort_by(|a, b| a.page_id.cmp(&b.page_id));
            return gone;
        }
        if self.completion() != Completion::Complete {
            return Vec::new();
        }
        let mut gone: Vec<PageEntry> = self.index.values().filter(|e| !e.seen_in(&self.run)).cloned().collect();
        gone.sort_by(|a, b| a.page_id.cmp(&b.page_id));
        gone
    }

    /// Forgets a page whose records were deleted.
    pub fn forget(&mut self, page_id: &str) {
        self.index.remove(page_id);
    }
}

#[cfg(test)]
mod rows_tests;
#[cfg(test)]
mod tests;
