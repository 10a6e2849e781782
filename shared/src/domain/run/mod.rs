//! What a run keeps in DynamoDB so that it survives the Lambda deadline, a crash or a
//! redelivered message: its [`Checkpoint`] (with a lease, so two invocations never crawl
//! one integration at once) and one [`PageEntry`] per page it knows.

mod checkpoint;
mod parts;

pub use checkpoint::{Checkpoint, RunStart, SourceStep};
pub use parts::{Container, Counters, RunState, SourceCursor, SyncProgress};

use super::sync::Trigger;
use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
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
    /// This run saw the row only in an answer that left out its properties (search on
    /// 2026-12-01): they are to be read before its record is written (kept across
    /// invocations, so a resumed run still reads them).
    #[serde(default, skip_serializing_if = "is_false")]
    pub needs_properties: bool,
    /// The page or database it lives in (from its `parent`, or the page whose content
    /// holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The titles from the top of the workspace down to its parent, as its records hold
    /// them (`meta.path`, the `Path:` line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    /// For database rows: the database's title (`meta.databaseTitle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_title: Option<String>,
    /// For database rows: properties the listing cut short, read whole before writing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated_properties: Vec<TruncatedProperty>,
    /// Where the run found the page lives, handed to its reader with it (not stored: what
    /// the records hold is `path`).
    #[serde(skip)]
    pub placement: Option<Placement>,
    /// For database rows: the files of their `files` properties as the run's last answer
    /// about the row gave them (not stored: their URLs expire; none when no answer of this
    /// invocation carried the row's properties).
    #[serde(skip)]
    pub row_files: Option<Vec<crate::domain::file::FileRef>>,
    /// The files in the page whose text has records of their own (SPEC §2.6), or that were
    /// skipped for a reason that lasts (too large, malformed, encrypted, hostile).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentEntry>,
}

/// One file of a page as the index remembers it: never its URL, only what says whether it
/// changed (its identity's hash) and which records it has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentEntry {
    /// Its key in the page (the first 16 hex digits of its identity's SHA-256): its
    /// records' ids derive from (integration, page, key).
    pub key: String,
    /// Its file name.
    #[serde(default)]
    pub name: String,
    /// Records (chunks) written for it; 0 when it was skipped.
    #[serde(default)]
    pub chunks: u32,
    /// Why it was skipped, when it was (a reason that does not pass by itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// It is in a row's `files` property (not in the page's content).
    #[serde(default, skip_serializing_if = "is_false")]
    pub property: bool,
}

/// A row property the page object cut short (a relation over 25 pages says `has_more`; a
/// people list of exactly 25 may be longer): read whole through the property-item endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TruncatedProperty {
    /// The property's name.
    pub name: String,
    /// Its id (`GET /v1/pages/{page}/properties/{id}`).
    pub id: String,
    /// `relation` or `people`.
    pub kind: String,
}

/// Where a page lives: the titles from the top of the workspace down to its parent, and for
/// a row its database's title.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// Titles, top first.
    pub path: Vec<String>,
    /// For a row: its database's title.
    pub database_title: Option<String>,
}

impl PageEntry {
    /// This run's entry of a page completed with what the index stored of it (a targeted
    /// run loads entries one page at a time): the stored fields, overlaid with what this run
    /// learned from Notion when it did (a listing or retrieval), and this run's marks.
    pub fn with_stored(self, stored: PageEntry) -> PageEntry {
        let mut merged = stored;
        if self.last_edited.is_some() {
            if self.parent_id.is_some() {
                merged.parent_id = self.parent_id;
            }
            merged.title = self.title;
            merged.url = self.url;
            merged.properties = self.properties;
            merged.property_values = self.property_values;
            merged.truncated_properties = self.truncated_properties;
            merged.database_id = self.database_id;
            merged.data_source_id = self.data_source_id;
            merged.last_edited = self.last_edited;
        }
        if self.row_files.is_some() {
            merged.row_files = self.row_files;
        }
        merged.needs_properties = self.needs_properties;
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
    /// The run's counters, summed over its invocations.
    #[serde(flatten)]
    pub counters: Counters,
    /// Content requests per page read, two decimals.
    pub content_requests_per_page_read: f64,
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
        let c = checkpoint.counters();
        let per_page = if c.pages_read > 0 {
            c.content_requests as f64 / c.pages_read as f64
        } else {
            0.0
        };
        Self {
            run_id: checkpoint.run_id().to_string(),
            trigger: checkpoint.trigger(),
            complete,
            stop_reason: checkpoint.stop_reason().map(str::to_string),
            listing_shortfall: checkpoint.listing_shortfall().map(str::to_string),
            counters: c.clone(),
            content_requests_per_page_read: (per_page * 100.0).round() / 100.0,
            invocations: checkpoint.invocations(),
            started_at: checkpoint.started_at().to_string(),
            finished_at: finished_at.to_string(),
            duration_seconds: (now - checkpoint.started_epoch()).max(0),
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
        let mut cp = Checkpoint::start(RunStart {
            run_id: "r1".into(),
            trigger: Trigger::Scheduled,
            started_at: "2026-01-01T00:00:00Z".into(),
            started_epoch: 100,
            ..RunStart::default()
        });
        cp.resumed();
        cp.count(&Counters {
            pages_read: 3,
            content_requests: 10,
            ..Counters::default()
        });
        let summary = SyncSummary::Run(Box::new(RunSummary::of(&cp, true, "t", 130)));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["trigger"], "scheduled");
        assert_eq!(json["contentRequestsPerPageRead"], 3.33);
        assert_eq!(json["durationSeconds"], 30);
        assert_eq!(json["stopReason"], serde_json::Value::Null);
        assert_eq!(json["invocations"], 2);
        assert_eq!(json["contentRequests"], 10);
        assert_eq!(json["unknownTags"], serde_json::json!({}));
        assert_eq!(json["pagesFailedByCause"], serde_json::json!({}));
        assert_eq!(json["unknownBlockTypes"], serde_json::json!({}));
        assert_eq!(json["attachmentsRead"], 0);
        assert_eq!(json["attachmentBytes"], 0);
        assert_eq!(json["attachmentsSkippedByReason"], serde_json::json!({}));
        assert_eq!(json.as_object().unwrap().len(), 29);
        let back: SyncSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back, summary, "a stored summary reads back as written");
        // A summary stored before `contentRequests` existed still reads.
        let mut old = serde_json::to_value(&summary).unwrap();
        old.as_object_mut().unwrap().remove("contentRequests");
        assert!(matches!(
            serde_json::from_value::<SyncSummary>(old).unwrap(),
            SyncSummary::Run(_)
        ));
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
