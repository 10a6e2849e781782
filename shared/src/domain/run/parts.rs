//! The parts a [`super::Checkpoint`] is made of, which other types show too: where the
//! run stands, a data source's listing position, its counters, its progress.

use crate::domain::sync::Trigger;
use serde::{Deserialize, Serialize};

/// Where a run stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// In progress (possibly between invocations).
    #[default]
    Running,
    /// Finished, successfully or not.
    Done,
}

/// A data source whose rows are still being listed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceCursor {
    /// Data source id.
    pub id: String,
    /// Cursor of the next page of rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Start of the current `created_time` window (Notion caps one query at 10,000 rows;
    /// a capped window is followed by one starting at its last row's creation minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Creation time of the last row seen in the current window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_created: Option<String>,
    /// Only rows edited from this minute on (a targeted run's data source events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_since: Option<String>,
}

/// A database a run came across: what a row's path needs of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// The page holding it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// Counters of one run, summed over its invocations; a run's summary shows them all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Counters {
    /// Pages (and rows) confirmed alive.
    pub pages_seen: u64,
    /// Pages whose content was read.
    pub pages_read: u64,
    /// Pages not read because `last_edited_time` had not changed.
    pub pages_unchanged: u64,
    /// Pages skipped after an error on their content.
    pub pages_failed: u64,
    /// Those pages by cause (`notFound`, `refused`, `rateLimited`, `unavailable`, ...).
    pub pages_failed_by_cause: std::collections::BTreeMap<String, u64>,
    /// Records written.
    pub records_written: u64,
    /// Records whose text had not changed, so were not rewritten.
    pub records_unchanged: u64,
    /// Records deleted for pages that are gone.
    pub records_deleted: u64,
    /// Notion requests, retries included.
    pub notion_requests: u64,
    /// Requests made to read page content (markdown, holes, block walks).
    pub content_requests: u64,
    /// Retries.
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Blocks left out (unsupported, ai_block, unreadable subtrees).
    pub blocks_skipped: u64,
    /// Pages or subtrees read by block walk because markdown failed.
    pub markdown_fallbacks: u64,
    /// Markdown tags the parser did not know, by name (their text was kept).
    pub unknown_tags: std::collections::BTreeMap<String, u64>,
    /// Block types the block reader did not know, by name (their text and children were
    /// kept).
    pub unknown_block_types: std::collections::BTreeMap<String, u64>,
    /// Attachments whose text was read (SPEC §2.6).
    pub attachments_read: u64,
    /// Attachments not read, by reason (`tooLarge`, `budget`, `malformed`, `hostile`, ...).
    pub attachments_skipped_by_reason: std::collections::BTreeMap<String, u64>,
    /// Bytes of attachments downloaded.
    pub attachment_bytes: u64,
}

impl Counters {
    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &Counters) {
        let Counters {
            pages_seen,
            pages_read,
            pages_unchanged,
            pages_failed,
            records_written,
            records_unchanged,
            records_deleted,
            notion_requests,
            content_requests,
            retries,
            rate_limited,
            blocks_skipped,
            markdown_fallbacks,
            unknown_tags,
            pages_failed_by_cause,
            unknown_block_types,
            attachments_read,
            attachments_skipped_by_reason,
            attachment_bytes,
        } = other;
        self.attachments_read += attachments_read;
        self.attachment_bytes += attachment_bytes;
        for (reason, n) in attachments_skipped_by_reason {
            *self.attachments_skipped_by_reason.entry(reason.clone()).or_default() += n;
        }
        self.pages_seen += pages_seen;
        self.pages_read += pages_read;
        self.pages_unchanged += pages_unchanged;
        self.pages_failed += pages_failed;
        self.records_written += records_written;
        self.records_unchanged += records_unchanged;
        self.records_deleted += records_deleted;
        self.notion_requests += notion_requests;
        self.content_requests += content_requests;
        self.retries += retries;
        self.rate_limited += rate_limited;
        self.blocks_skipped += blocks_skipped;
        self.markdown_fallbacks += markdown_fallbacks;
        for (tag, n) in unknown_tags {
            *self.unknown_tags.entry(tag.clone()).or_default() += n;
        }
        for (kind, n) in unknown_block_types {
            *self.unknown_block_types.entry(kind.clone()).or_default() += n;
        }
        for (cause, n) in pages_failed_by_cause {
            *self.pages_failed_by_cause.entry(cause.clone()).or_default() += n;
        }
    }
}

/// What the integration shows while a run is active (`syncProgress`), refreshed with every
/// checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    /// The run.
    pub run_id: String,
    /// What started it.
    pub trigger: Trigger,
    /// RFC 3339.
    pub started_at: String,
    /// Pages found so far.
    pub pages_seen: u64,
    /// Pages read so far.
    pub pages_read: u64,
    /// Records written so far.
    pub records_written: u64,
}
