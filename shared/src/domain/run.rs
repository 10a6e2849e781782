//! What a run keeps in DynamoDB so that it survives the Lambda deadline, a crash or a
//! redelivered message: its [`Checkpoint`] (with a lease, so two invocations never crawl
//! one integration at once) and one [`PageEntry`] per page it knows.

use super::sync::Trigger;
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

/// Counters of one run, summed over its invocations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Pages (and rows) confirmed alive.
    pub pages_seen: u64,
    /// Pages whose content was read.
    pub pages_read: u64,
    /// Pages not read because `last_edited_time` had not changed.
    pub pages_unchanged: u64,
    /// Pages skipped after an error on their content.
    pub pages_failed: u64,
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
    /// Enhanced markdown tags the parser did not know, by name (their text was kept).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub unknown_tags: std::collections::BTreeMap<String, u64>,
}

/// The run's progress, one item per integration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The run.
    pub run_id: String,
    /// Running or done.
    pub state: RunState,
    /// What started the run.
    pub trigger: Trigger,
    /// Dataset the run writes into (fixed at the run's start).
    pub dataset_id: String,
    /// Record lifetime in ms at the run's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Secrets Manager version of the token the run started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_version: Option<String>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Epoch seconds start time.
    pub started_epoch: i64,
    /// Next search cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_cursor: Option<String>,
    /// Search fully listed.
    #[serde(default)]
    pub search_done: bool,
    /// Databases found in content, not yet resolved to data sources.
    #[serde(default)]
    pub databases: Vec<String>,
    /// Data sources whose rows are still to be listed.
    #[serde(default)]
    pub sources: Vec<SourceCursor>,
    /// Data sources and databases already handled this run.
    #[serde(default)]
    pub known_sources: Vec<String>,
    /// Whether something stopped the enumeration from being complete (no deletions then).
    #[serde(default)]
    pub incomplete: bool,
    /// Whether this run already refreshed its OAuth token after a 401 (it does so once).
    #[serde(default)]
    pub token_refreshed: bool,
    /// Why a listing (search or a data source) fell short of the whole workspace: Notion's
    /// 10,000-result cap, or cursors that kept expiring. Known pages the listings did not
    /// return are then checked one by one before anything is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_shortfall: Option<String>,
    /// Whether the one-by-one check of known pages has been queued.
    #[serde(default)]
    pub verify_queued: bool,
    /// Listings restarted after Notion invalidated their cursor.
    #[serde(default)]
    pub cursor_restarts: u32,
    /// Whether the page index holds every run mark (seen, pending, done) as of this
    /// checkpoint. Marks alone are written only when an invocation hands over to the next;
    /// a run resumed from a checkpoint without them re-checks unseen pages before deleting.
    #[serde(default)]
    pub marks_flushed: bool,
    /// Why the run stopped early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// Counters.
    #[serde(default)]
    pub counters: Counters,
    /// Invocations so far.
    #[serde(default)]
    pub invocations: u32,
    /// A targeted run's work (webhook events); none for a full run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<crate::domain::webhook::Targets>,
    /// Send times (epoch ms) of the Notion requests inside the rate limiter's window when
    /// the last invocation saved this checkpoint: the next invocation, of this run or the
    /// next one, starts its limiter from them instead of bursting or waiting a full window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_requests: Vec<i64>,
}

/// What the index remembers of one page between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageEntry {
    /// Notion page id.
    pub page_id: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Page URL.
    #[serde(default)]
    pub url: String,
    /// For database rows: `Name: value` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
    /// For database rows: every property as a plain JSON value (`meta.properties`).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub property_values: serde_json::Map<String, serde_json::Value>,
    /// For database rows: the database (`meta.databaseId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<String>,
    /// For database rows: the data source (`meta.dataSourceId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_id: Option<String>,
    /// `last_edited_time` as last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_edited: Option<String>,
    /// Run that last confirmed the page alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_run: Option<String>,
    /// Run that still has to process the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_run: Option<String>,
    /// Run that processed the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_run: Option<String>,
    /// `last_edited_time` of the content the records hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_edited: Option<String>,
    /// SHA-256 of the record text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_hash: Option<String>,
    /// Records (chunks) written for the page.
    #[serde(default)]
    pub chunks: u32,
    /// Dataset holding those records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    /// Their `expiresAt`, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The `expiresIn` they were written with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Child pages found in the content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// Child databases found in the content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
}

impl PageEntry {
    /// This run's entry of a page completed with what the index stored of it (a targeted
    /// run loads entries one page at a time): the stored fields, overlaid with what this run
    /// learned from Notion when it did (a listing or retrieval), and this run's marks.
    pub fn with_stored(self, stored: PageEntry) -> PageEntry {
        let mut merged = stored;
        if self.last_edited.is_some() {
            merged.title = self.title;
            merged.url = self.url;
            merged.properties = self.properties;
            merged.property_values = self.property_values;
            merged.database_id = self.database_id;
            merged.data_source_id = self.data_source_id;
            merged.last_edited = self.last_edited;
        }
        merged.seen_run = self.seen_run;
        merged.pending_run = self.pending_run;
        merged.done_run = self.done_run;
        merged
    }
}

/// The summary of a finished run, stored on the integration as `lastSyncSummary`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// The run.
    pub run_id: String,
    /// What started it.
    pub trigger: Trigger,
    /// Whether the enumeration was complete (only then were gone pages deleted).
    pub complete: bool,
    /// Why the run stopped early, if it did.
    pub stop_reason: Option<String>,
    /// Why a listing fell short of the whole workspace, if one did.
    pub listing_shortfall: Option<String>,
    /// Pages (and rows) confirmed alive.
    pub pages_seen: u64,
    /// Pages whose content was read.
    pub pages_read: u64,
    /// Pages not read because they had not changed.
    pub pages_unchanged: u64,
    /// Pages skipped after an error on their content.
    pub pages_failed: u64,
    /// Records written.
    pub records_written: u64,
    /// Records not rewritten because their text had not changed.
    pub records_unchanged: u64,
    /// Records deleted.
    pub records_deleted: u64,
    /// Notion requests, retries included.
    pub notion_requests: u64,
    /// Content requests per page read, two decimals.
    pub content_requests_per_page_read: f64,
    /// Retries.
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Blocks left out.
    pub blocks_skipped: u64,
    /// Pages or subtrees read by block walk because markdown failed.
    pub markdown_fallbacks: u64,
    /// Enhanced markdown tags the parser did not know, by name (their text was kept).
    pub unknown_tags: std::collections::BTreeMap<String, u64>,
    /// Invocations the run took.
    pub invocations: u32,
    /// RFC 3339 start.
    pub started_at: String,
    /// RFC 3339 end.
    pub finished_at: String,
    /// Seconds from start to end.
    pub duration_seconds: i64,
}

impl RunSummary {
    /// The summary of the run `checkpoint` describes, ending at `finished_at` (`now`, epoch
    /// seconds).
    pub fn of(checkpoint: &Checkpoint, complete: bool, finished_at: &str, now: i64) -> Self {
        let c = &checkpoint.counters;
        let per_page = if c.pages_read > 0 {
            c.content_requests as f64 / c.pages_read as f64
        } else {
            0.0
        };
        Self {
            run_id: checkpoint.run_id.clone(),
            trigger: checkpoint.trigger,
            complete,
            stop_reason: checkpoint.stop_reason.clone(),
            listing_shortfall: checkpoint.listing_shortfall.clone(),
            pages_seen: c.pages_seen,
            pages_read: c.pages_read,
            pages_unchanged: c.pages_unchanged,
            pages_failed: c.pages_failed,
            records_written: c.records_written,
            records_unchanged: c.records_unchanged,
            records_deleted: c.records_deleted,
            notion_requests: c.notion_requests,
            content_requests_per_page_read: (per_page * 100.0).round() / 100.0,
            retries: c.retries,
            rate_limited: c.rate_limited,
            blocks_skipped: c.blocks_skipped,
            markdown_fallbacks: c.markdown_fallbacks,
            unknown_tags: c.unknown_tags.clone(),
            invocations: checkpoint.invocations,
            started_at: checkpoint.started_at.clone(),
            finished_at: finished_at.to_string(),
            duration_seconds: (now - checkpoint.started_epoch).max(0),
        }
    }
}

/// A scheduled sync that could not start (no dataset, no token, no record capacity).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRun {
    /// What would have started it.
    pub trigger: Trigger,
    /// Why it did not.
    pub skipped: String,
    /// When, RFC 3339.
    pub at: String,
}

/// What `lastSyncSummary` holds: a run's summary, or why a scheduled run was skipped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SyncSummary {
    /// A run that ran (successfully or not).
    Run(Box<RunSummary>),
    /// A run that could not start.
    Skipped(SkippedRun),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_serializes_every_field_under_its_api_name() {
        let cp = Checkpoint {
            run_id: "r1".into(),
            trigger: Trigger::Scheduled,
            started_at: "2026-01-01T00:00:00Z".into(),
            started_epoch: 100,
            invocations: 2,
            counters: Counters {
                pages_read: 3,
                content_requests: 10,
                ..Counters::default()
            },
            ..Checkpoint::default()
        };
        let json = serde_json::to_value(SyncSummary::Run(Box::new(RunSummary::of(&cp, true, "t", 130)))).unwrap();
        assert_eq!(json["trigger"], "scheduled");
        assert_eq!(json["contentRequestsPerPageRead"], 3.33);
        assert_eq!(json["durationSeconds"], 30);
        assert_eq!(json["stopReason"], serde_json::Value::Null);
        assert_eq!(json.as_object().unwrap().len(), 23);
        let skipped = SyncSummary::Skipped(SkippedRun {
            trigger: Trigger::Scheduled,
            skipped: "no token".into(),
            at: "t".into(),
        });
        assert_eq!(
            serde_json::to_value(skipped).unwrap(),
            serde_json::json!({"trigger": "scheduled", "skipped": "no token", "at": "t"})
        );
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

impl Checkpoint {
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
}
