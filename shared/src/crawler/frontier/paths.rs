//! Where each page lives: the titles from the top of the workspace down to its parent, from
//! what the run already knows (each page's `parent`, the page whose content holds it, the
//! databases it came across). No Notion request is ever made for it; a renamed page's
//! descendants get their new path at the next full sync from the titles its listings give.

use super::Frontier;
use crate::domain::run::{PageEntry, Placement};
use std::collections::HashSet;

/// Ancestors followed at most (a cycle or a corrupt index ends the walk, never the run).
const MAX_DEPTH: usize = 64;

/// Whether the page's records are in a dataset (only those carry a path to settle).
fn has_records(e: &PageEntry) -> bool {
    e.chunks > 0 && e.dataset_id.is_some()
}

impl Frontier {
    /// Notes that `child` stands in `parent`'s content, unless its own `parent` says where
    /// it lives. Returns whether that changed its entry.
    pub(super) fn lives_in(&mut self, child: &str, parent: &str) -> bool {
        match self.index.get_mut(child) {
            Some(e) if e.parent_id.is_none() && child != parent => {
                e.parent_id = Some(parent.to_string());
                true
            }
            _ => false,
        }
    }

    /// Where `page` lives as the run knows it now.
    pub fn placement_of(&self, page: &str) -> Placement {
        let mut path = Vec::new();
        let mut database_title = None;
        let mut visited = HashSet::from([page.to_string()]);
        let mut current = self.index.get(page).and_then(|e| e.parent_id.clone());
        while let Some(id) = current.take() {
            if !visited.insert(id.clone()) || path.len() >= MAX_DEPTH {
                break;
            }
            if let Some(e) = self.index.get(&id) {
                path.push(e.title.clone());
                current = e.parent_id.clone();
            } else if let Some(db) = self.cp.container(&id) {
                if path.is_empty() {
                    database_title = Some(db.title.clone()).filter(|t| !t.is_empty());
                }
                if !db.title.is_empty() {
                    path.push(db.title.clone());
                }
                current = db.parent.clone();
            }
        }
        path.reverse();
        Placement { path, database_title }
    }

    /// Where a page about to be read lives, in a full run. A targeted run (which loads only
    /// the entries it touches) writes the path its index entry holds, and settles it at its
    /// end from the stored index ([`super::super::run`]).
    pub(super) fn place(&self, entry: &mut PageEntry) {
        entry.placement = (!self.is_targeted()).then(|| self.placement_of(&entry.page_id));
    }

    /// The pages a targeted run read, to settle their paths from the stored index.
    pub fn read_by_targeted_run(&self) -> Vec<PageEntry> {
        if !self.is_targeted() {
            return Vec::new();
        }
        let mut read: Vec<PageEntry> = self
            .index
            .values()
            .filter(|e| e.done_in(&self.run) && has_records(e))
            .cloned()
            .collect();
        read.sort_by(|a, b| a.page_id.cmp(&b.page_id));
        read
    }

    /// After a complete full run (the whole index at hand): pages whose records hold a path
    /// that is no longer theirs (an ancestor renamed or moved; the page itself was not read,
    /// so only its records' context is rewritten), with their placement now.
    pub fn stale_placements(&self) -> Vec<(PageEntry, Placement)> {
        if self.is_targeted() {
            return Vec::new();
        }
        let mut stale: Vec<(PageEntry, Placement)> = self
            .index
            .values()
            .filter(|e| e.seen_in(&self.run) && has_records(e))
            .filter_map(|e| {
                let now = self.placement_of(&e.page_id);
                // An unresolved ancestor is one Notion no longer shares: the path ends where
                // the known ones do.
                (now.path != e.path || now.database_title != e.database_title).then(|| (e.clone(), now))
            })
            .collect();
        stale.sort_by(|a, b| a.0.page_id.cmp(&b.0.page_id));
        stale
    }

    /// An entry whose records were rewritten outside a read (their context refreshed).
    pub fn rewritten(&mut self, entry: PageEntry) {
        let before = self.index.get(&entry.page_id).cloned();
        self.changed(before, entry.clone());
        self.index.insert(entry.page_id.clone(), entry);
    }
}
