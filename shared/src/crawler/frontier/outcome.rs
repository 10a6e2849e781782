//! What reading a page came to, as the rules take it: the crawler's page stage produces
//! it, [`super::Frontier::apply_outcome`] applies it.

use crate::domain::run::{Counters, PageEntry};
use crate::error::StoreError;

/// What became of one page; `W` is what its reader still has to write, which the rules
/// never look at.
#[derive(Debug)]
pub enum Outcome<W> {
    /// Its content was read (and, once written, its records).
    Read {
        /// The updated index entry.
        entry: PageEntry,
        /// Records still to write.
        write: Option<W>,
        /// What reading and writing it counted.
        counts: ReadCounts,
        /// When the read started inside the minute of its edit stamp: the time (epoch
        /// seconds) the minute settles, after which a read holds every edit of the stamp.
        unsettled_until: Option<i64>,
        /// Markdown tags the parser did not know, by name.
        unknown_tags: std::collections::BTreeMap<String, u64>,
        /// Block types the renderer did not know, by name.
        unknown_block_types: std::collections::BTreeMap<String, u64>,
    },
    /// Not edited since its records were written.
    Unchanged(PageEntry),
    /// Gone, trashed or no longer shared.
    Gone(PageEntry),
    /// Its content could not be read; `incomplete` when the failure may hide pages.
    Failed {
        /// The index entry.
        entry: PageEntry,
        /// Whether the enumeration is incomplete because of it.
        incomplete: bool,
        /// The cause, as the summary counts failures (`pagesFailedByCause`).
        cause: &'static str,
        /// Why.
        reason: String,
    },
    /// Notion asked for a wait longer than the run sleeps in place: the page stays pending
    /// and the run continues after `retry_after`.
    Deferred {
        /// The index entry, unchanged.
        entry: PageEntry,
        /// Notion's `Retry-After`.
        retry_after: std::time::Duration,
    },
    /// Notion refused the token.
    Unauthorized,
    /// The plan's record limit stopped its write.
    RecordLimit(PageEntry),
    /// A store failed.
    Store(StoreError),
}

/// Counters a page outcome adds to the run's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadCounts {
    /// Records written.
    pub written: u64,
    /// Records unchanged.
    pub unchanged: u64,
    /// Stale chunks deleted.
    pub deleted: u64,
    /// Content requests.
    pub requests: u64,
    /// Blocks skipped.
    pub skipped: u64,
    /// Markdown fallbacks.
    pub fallbacks: u64,
    /// Attachments read.
    pub attachments_read: u64,
    /// Attachment bytes downloaded.
    pub attachment_bytes: u64,
    /// Attachments skipped, by reason.
    pub attachments_skipped: std::collections::BTreeMap<String, u64>,
}

impl ReadCounts {
    /// What these counts (one page read, with the tags and block types its readers did not
    /// know) add to the run's counters.
    pub fn as_counters(
        &self,
        unknown_tags: std::collections::BTreeMap<String, u64>,
        unknown_block_types: std::collections::BTreeMap<String, u64>,
    ) -> Counters {
        Counters {
            pages_read: 1,
            records_written: self.written,
            records_unchanged: self.unchanged,
            records_deleted: self.deleted,
            content_requests: self.requests,
            blocks_skipped: self.skipped,
            markdown_fallbacks: self.fallbacks,
            attachments_read: self.attachments_read,
            attachment_bytes: self.attachment_bytes,
            attachments_skipped_by_reason: self.attachments_skipped.clone(),
            unknown_tags,
            unknown_block_types,
            ..Counters::default()
        }
    }
}

/// Why applying a page's outcome halts the run.
#[derive(Debug)]
pub enum OutcomeHalt {
    /// Notion refused the token.
    Unauthorized,
    /// A store failed.
    Store(StoreError),
}
