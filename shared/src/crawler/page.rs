//! Reading and writing one page: confirm a page found only in content, skip it when it has
//! not changed, read its content, turn it into records, and write a batch of pages'
//! records with as few DynamoDB round trips as possible. What each page came to is a
//! [`PageOutcome`], which [`super::frontier::Frontier::apply_outcome`] applies.

use super::content::{read_page, read_page_by_walk};
use super::frontier::{Outcome, ReadCounts};
use super::records::{chunk_id, compose_text, record_base_id, record_hash, split_chunks, MAX_CHUNK_BYTES};
use crate::domain::record::Record;
use crate::domain::run::{PageEntry, TruncatedProperty};
use crate::domain::time::{rfc3339, settles_at, Clock};
use crate::error::StoreError;
use crate::notion::api::NotionApi;
use crate::notion::api::NotionError;
use crate::notion::model::PageInfo;
use crate::ports::RecordStore;
use futures::stream::{self, StreamExt};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A page's records to write, produced while reading it and written by the batch.
#[derive(Debug, Default)]
pub struct PendingWrite {
    /// Chunks the dataset already holds: replaced, no counter changes.
    existing: Vec<Record>,
    /// New chunks: written in transactions shared with other pages.
    new: Vec<Record>,
    /// Chunk ids the page no longer has.
    stale: Vec<String>,
    /// Hash of the page's whole text.
    hash: String,
    /// The page's attachments as the index is to hold them once written.
    attachments: Option<Vec<crate::domain::run::AttachmentEntry>>,
    /// Chunks written.
    chunks: u32,
    /// The records' expiry.
    expires_at: Option<i64>,
}

/// What became of one page, with the records still to write.
pub type PageOutcome = Outcome<PendingWrite>;

/// What reading and writing pages needs, fixed for one invocation of a run.
pub struct PageWriter {
    /// The run's Notion session.
    pub notion: Arc<dyn NotionApi>,
    /// Records.
    pub records: Arc<dyn RecordStore>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// The owning account.
    pub account_id: String,
    /// The integration.
    pub integration_id: String,
    /// The run.
    pub run_id: String,
    /// Dataset the run writes into.
    pub dataset_id: String,
    /// Record lifetime in ms.
    pub expires_in: Option<u64>,
    /// Read every page by block walk.
    pub block_walk_only: bool,
    /// Replacements written at once.
    pub concurrency: usize,
    /// Where a targeted run reads each page's stored index entry (it does not load the
    /// whole index); none in a full run.
    pub index: Option<Arc<dyn crate::ports::SyncStateStore>>,
    /// Reads attachments' text; none when the stack does not.
    pub attachments: Option<Arc<super::attachments::AttachmentReader>>,
}

/// The titles from the top down to `from`, from the stored index; none unless every
/// ancestor up to the top is stored (a database, for one, is not).
pub(super) async fn stored_path(
    index: &dyn crate::ports::SyncStateStore,
    integration_id: &str,
    from: &str,
) -> Result<Option<Vec<String>>, crate::error::StoreError> {
    let mut path = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut current = Some(from.to_string());
    while let Some(id) = current.take() {
        if !seen.insert(id.clone()) || path.len() >= 64 {
            return Ok(None);
        }
        match index.load_page(integration_id, &id).await? {
            Some(e) => {
                path.push(e.title);
                current = e.parent_id;
            }
            None => return Ok(None),
        }
    }
    path.reverse();
    Ok(Some(path))
}

/// Where the page lives, in a record's `meta`: `path` (titles from the top down to its
/// parent), `parentId`, and for a row `databaseTitle`.
pub(super) fn place_in_meta(meta: &mut Map<String, Value>, entry: &PageEntry) {
    meta.insert("path".into(), json!(entry.path));
    match &entry.parent_id {
        Some(parent) => meta.insert("parentId".into(), json!(parent)),
        None => meta.remove("parentId"),
    };
    match &entry.database_title {
        Some(title) => meta.insert("databaseTitle".into(), json!(title)),
        None => meta.remove("databaseTitle"),
    };
}

fn failed(entry: PageEntry, incomplete: bool, e: NotionError) -> PageOutcome {
    if let NotionError::RateLimited { retry_after, .. } = e {
        // Not a failure of the page: the run hands over and reads it after the wait.
        return Outcome::Deferred { entry, retry_after };
    }
    Outcome::Failed {
        entry,
        incomplete,
        cause: e.cause(),
        reason: e.to_string(),
    }
}

impl PageWriter {
    /// Reads one page (confirming it first when it was found only in content) and prepares
    /// its records; nothing is written yet.
    pub async fn process(&self, mut entry: PageEntry) -> PageOutcome {
        if let Some(index) = &self.index {
            if entry.text_hash.is_none() && entry.dataset_id.is_none() {
                match index.load_page(&self.integration_id, &entry.page_id).await {
                    Ok(Some(stored)) => entry = entry.with_stored(stored),
                    Ok(None) => {}
                    Err(e) => return Outcome::Store(e),
                }
            }
        }
        if entry.seen_run.as_deref() != Some(self.run_id.as_str()) || entry.needs_properties {
            // Found only in content: confirm it is alive and learn its edit time. A row seen
            // only without its properties: read them (a retrieve returns every property).
            match self.notion.retrieve_page(&entry.page_id).await {
                Ok(v) => match PageInfo::from_json(&v) {
                    Some(info) if !info.in_trash => {
                        entry.apply_info(info);
                        entry.needs_properties = false;
                        entry.seen_run = Some(self.run_id.clone());
                    }
                    _ => return Outcome::Gone(entry),
                },
                Err(NotionError::NotFound(_)) | Err(NotionError::Invalid { .. }) => return Outcome::Gone(entry),
                Err(NotionError::Unauthorized) => return Outcome::Unauthorized,
                Err(e) => return failed(entry, true, e),
            }
        }
        let now = self.clock.now().timestamp();
        let expires_in_secs = self.expires_in.map(|ms| (ms / 1000) as i64);
        let expiry_due = match (entry.expires_at, expires_in_secs) {
            (Some(at), Some(life)) => at - now < life / 2,
            _ => false,
        };
        let same_target =
            entry.dataset_id.as_deref() == Some(self.dataset_id.as_str()) && entry.expires_in == self.expires_in;
        if entry.text_hash.is_some() && entry.synced_edited == entry.last_edited && same_target && !expiry_due {
            return Outcome::Unchanged(entry);
        }
        let read = if self.block_walk_only {
            read_page_by_walk(self.notion.as_ref(), &entry.page_id).await
        } else {
            read_page(self.notion.as_ref(), &entry.page_id).await
        };
        let content = match read {
            Ok(c) => c,
            Err(NotionError::Unauthorized) => return Outcome::Unauthorized,
            Err(e @ (NotionError::NotFound(_) | NotionError::Invalid { .. })) => return failed(entry, false, e),
            Err(e) => return failed(entry, true, e),
        };
        // Where it lives: as the run knew when handing it out (a full run). A targeted run
        // holds only the entries it touches: a page it has no path for yet (new, or back
        // from the trash) gets one from the stored index when its ancestors are there, and
        // the run settles the rest at its end ([`super::run`]).
        if let Some(placement) = entry.placement.clone() {
            entry.path = placement.path;
            entry.database_title = placement.database_title;
        } else if let (Some(index), Some(parent), true) = (&self.index, entry.parent_id.clone(), entry.path.is_empty())
        {
            match stored_path(index.as_ref(), &self.integration_id, &parent).await {
                Ok(Some(path)) => entry.path = path,
                Ok(None) => {}
                Err(e) => return Outcome::Store(e),
            }
        }
        let mut property_requests = 0;
        for property in entry.truncated_properties.clone() {
            match self.read_whole_property(&mut entry, &property).await {
                Ok(n) => property_requests += n,
                Err(NotionError::Unauthorized) => return Outcome::Unauthorized,
                Err(e @ (NotionError::NotFound(_) | NotionError::Invalid { .. })) => {
                    tracing::warn!(page = %entry.page_id, property = %property.name, error = %e, "property kept as the listing gave it");
                }
                Err(e) => return failed(entry, true, e),
            }
        }
        let text = compose_text(&entry.title, &entry.path, &entry.properties, &content.text);
        let hash = record_hash(&text, entry.parent_id.as_deref(), entry.database_title.as_deref());
        let chunks = split_chunks(&text, MAX_CHUNK_BYTES);
        let mut counts = ReadCounts {
            requests: content.requests + property_requests,
            skipped: content.skipped,
            fallbacks: content.fallbacks,
            ..ReadCounts::default()
        };
        let mut write = None;
        if entry.text_hash.as_deref() == Some(hash.as_str())
            && same_target
            && !expiry_due
            && entry.chunks as usize == chunks.len()
        {
            counts.unchanged = chunks.len() as u64;
        } else {
            write = Some(self.records_of(&entry, &chunks, hash, now, expires_in_secs));
        }
        // Its files: those the index holds stay as they are; new ones are read now.
        let context = super::attachments::FileContext {
            notion: self.notion.as_ref(),
            clock: self.clock.as_ref(),
            integration_id: &self.integration_id,
            dataset_id: &self.dataset_id,
            expires_in: self.expires_in,
            reader: self.attachments.as_deref(),
        };
        // A row's own files (its `files` properties) come with the answers about the row.
        let rows_known = entry.database_id.is_none() || entry.row_files.is_some();
        let mut found = content.files;
        found.extend(entry.row_files.take().unwrap_or_default());
        let files = context
            .read_attachments(&entry, &found, rows_known, !same_target || expiry_due)
            .await;
        counts.requests += files.requests;
        counts.attachments_read = files.read;
        counts.attachment_bytes = files.bytes;
        counts.attachments_skipped = files.skipped;
        let retry_files = files.retry;
        if files.records.is_empty() && files.stale.is_empty() {
            match write.as_mut() {
                Some(w) => w.attachments = Some(files.entries),
                None => entry.attachments = files.entries,
            }
        } else {
            // The page's own chunks may be unchanged: a write that keeps them as they are.
            let w = write.get_or_insert_with(|| PendingWrite {
                hash: entry.text_hash.clone().unwrap_or_default(),
                chunks: entry.chunks,
                expires_at: entry.expires_at,
                ..PendingWrite::default()
            });
            w.new.extend(files.records);
            w.stale.extend(files.stale);
            w.attachments = Some(files.entries);
        }
        entry.children = content.child_pages;
        entry.databases = content.child_databases;
        // A read that started before the edit minute closed may have missed an edit that
        // kept the stamp: the page is not settled, and the next run reads it again.
        let unsettled_until = entry.last_edited.as_deref().and_then(settles_at).filter(|at| now < *at);
        entry.synced_edited = if unsettled_until.is_some() || retry_files {
            None
        } else {
            entry.last_edited.clone()
        };
        Outcome::Read {
            entry,
            write,
            counts,
            unsettled_until,
            unknown_tags: content.unknown_tags,
            unknown_block_types: content.unknown_block_types,
        }
    }

    /// Reads a property the listing cut short through the property-item endpoint, and puts
    /// its whole value in the entry (its `Name: value` line and `meta.properties`). Returns
    /// the requests it took.
    async fn read_whole_property(
        &self,
        entry: &mut PageEntry,
        property: &TruncatedProperty,
    ) -> Result<u64, NotionError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut requests = 0;
        loop {
            requests += 1;
            let page = self
                .notion
                .property_items(&entry.page_id, &property.id, cursor.as_deref())
                .await?;
            items.extend(page.results.iter().filter_map(|item| item.get(&property.kind).cloned()));
            match page.next_cursor {
                Some(next) if requests < 1_000 => cursor = Some(next),
                _ => break,
            }
        }
        let value = crate::notion::properties::read(&json!({"type": property.kind, property.kind.as_str(): items}));
        entry.property_values.insert(property.name.clone(), value.json());
        let prefix = format!("{}: ", property.name);
        entry.properties.retain(|line| !line.starts_with(&prefix));
        let text = value.text();
        if !text.is_empty() {
            entry.properties.push(format!("{prefix}{text}"));
            entry.properties.sort();
        }
        Ok(requests)
    }

    /// The records of a page's chunks: those the dataset already holds are replaced, the
    /// rest are new, and chunks the page no longer has are stale.
    fn records_of(
        &self,
        entry: &PageEntry,
        chunks: &[String],
        hash: String,
        now: i64,
        expires_in_secs: Option<i64>,
    ) -> PendingWrite {
        let now_text = rfc3339(self.clock.now());
        let expires_at = expires_in_secs.map(|life| now + life);
        let base = record_base_id(&self.integration_id, &entry.page_id);
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
            if !entry.property_values.is_empty() {
                meta.insert("properties".into(), Value::Object(entry.property_values.clone()));
            }
            if let Some(db) = &entry.database_id {
                meta.insert("databaseId".into(), json!(db));
            }
            if let Some(ds) = &entry.data_source_id {
                meta.insert("dataSourceId".into(), json!(ds));
            }
            place_in_meta(&mut meta, entry);
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
        pending
    }

    /// Writes the batch's records: replacements concurrently (they touch no counter), new
    /// records in shared transactions, stale chunks one by one. A page whose records could
    /// not all be written becomes `RecordLimit` or `Failed` and keeps its old index entry.
    pub async fn write(&self, mut outcomes: Vec<PageOutcome>) -> Vec<PageOutcome> {
        // Per outcome: the error that stopped its writes.
        let mut failed: Vec<Option<StoreError>> = outcomes.iter().map(|_| None).collect();
        let mut replacements: Vec<(usize, Record)> = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            if let Outcome::Read { write: Some(w), .. } = o {
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
            if let (Outcome::Read { write: Some(w), .. }, None) = (o, &failed[i]) {
                new.extend(w.new.iter().cloned());
                owners.extend(std::iter::repeat_n(i, w.new.len()));
            }
        }
        if let Err((done, e)) = self.records.put_new_records(&self.account_id, &new).await {
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
            let Outcome::Read {
                entry, write, counts, ..
            } = outcome
            else {
                continue;
            };
            let Some(w) = write.take() else { continue };
            if failed[i].is_none() {
                for stale in &w.stale {
                    if let Err(e) = self
                        .records
                        .delete_record(&self.account_id, &self.dataset_id, stale)
                        .await
                    {
                        failed[i] = Some(e);
                        break;
                    }
                    counts.deleted += 1;
                }
            }
            match failed[i].take() {
                None => {
                    counts.written = (w.existing.len() + w.new.len()) as u64;
                    entry.text_hash = Some(w.hash);
                    entry.chunks = w.chunks;
                    if let Some(attachments) = w.attachments {
                        entry.attachments = attachments;
                    }
                    entry.dataset_id = Some(self.dataset_id.clone());
                    entry.expires_at = w.expires_at;
                    entry.expires_in = self.expires_in;
                }
                Some(e) => {
                    let entry = std::mem::take(entry);
                    *outcome = match e {
                        StoreError::LimitExceeded(_) => Outcome::RecordLimit(entry),
                        StoreError::NotFound => Outcome::Failed {
                            entry,
                            incomplete: true,
                            cause: "datasetGone",
                            reason: "the dataset no longer exists".into(),
                        },
                        other => Outcome::Store(other),
                    };
                }
            }
        }
        outcomes
    }

    async fn replace(&self, owner: usize, record: Record) -> (usize, Result<(), StoreError>) {
        (
            owner,
            self.records.update_existing_record(&self.account_id, &record).await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_page_keeps_its_entry_says_why_and_whether_pages_may_hide_behind_it() {
        let entry = PageEntry {
            page_id: "p1".into(),
            ..PageEntry::default()
        };
        let exhausted = NotionError::Exhausted {
            attempts: 7,
            last: "503".into(),
        };
        match failed(entry.clone(), true, exhausted) {
            Outcome::Failed {
                entry: kept,
                incomplete,
                cause,
                reason,
            } => {
                assert_eq!(kept, entry);
                assert_eq!(cause, "unavailable");
                assert!(
                    incomplete,
                    "a page whose children are unknown keeps the run from deleting"
                );
                assert_eq!(reason, "Notion kept failing after 7 attempts (last: 503)");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            failed(entry, false, NotionError::NotFound(404)),
            Outcome::Failed {
                incomplete: false,
                cause: "notFound",
                ..
            }
        ));
    }
}
