//! Records: the text units bots answer from, one (or a few chunks) per Notion page.

use super::fields::{InputError, ObjectReader, Patch};
use super::integration::MAX_META_BYTES;
use super::time::rfc3339_from_epoch;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A record as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Stable id; for synced pages derived from (integration, page, chunk).
    pub id: String,
    /// The dataset holding the record.
    pub dataset_id: String,
    /// The record's Markdown text.
    pub text: String,
    /// Where the text came from (the Notion page URL).
    pub source: String,
    /// `notionPageId`, `title`, `lastEditedTime`, `integrationId`, `chunk`, `chunks`, ...
    #[serde(default, with = "crate::domain::fields::meta_text")]
    pub meta: Map<String, Value>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Epoch seconds after which the record is gone (DynamoDB TTL attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl Record {
    /// Whether the record has expired at `now` (epoch seconds). Expired records are never
    /// returned, even before DynamoDB's TTL sweeper deletes them.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// The API view.
    pub fn to_resource(&self) -> Value {
        let mut view = json!({
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "meta": self.meta,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        });
        if let Some(at) = self.expires_at.and_then(rfc3339_from_epoch) {
            view["expiresAt"] = Value::String(at);
        }
        view
    }
}

/// Largest `text` of a record written through the API, in bytes: a synced chunk's size,
/// well under DynamoDB's 400 KB item limit with room for `meta`.
pub const MAX_TEXT_BYTES: usize = 100_000;
/// Longest `source`, in characters.
pub const MAX_SOURCE_CHARS: usize = 2048;
/// The fields a record create or update may carry.
pub const RECORD_FIELDS: &[&str] = &["text", "source", "meta"];

/// A validated record create or update body: `{text, source?, meta?}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordPatch {
    /// `text`: required on create, never empty.
    pub text: Patch<String>,
    /// `source`: `null` or `""` clear it.
    pub source: Patch<String>,
    /// `meta`: `null` means `{}`.
    pub meta: Patch<Map<String, Value>>,
}

impl RecordPatch {
    /// Reads a body; `creating` makes `text` required.
    pub fn from_body(body: Map<String, Value>, creating: bool) -> Result<Self, InputError> {
        let mut r = ObjectReader::new(body, RECORD_FIELDS)?;
        let text = r.string("text", usize::MAX, false);
        match &text {
            Patch::Set(t) if t.trim().is_empty() => r.invalid("text", "must not be empty"),
            Patch::Set(t) if t.len() > MAX_TEXT_BYTES => r.invalid(
                "text",
                format!(
                    "must be at most {} KB (UTF-8); split longer text into several records",
                    MAX_TEXT_BYTES / 1000
                ),
            ),
            Patch::Clear => r.invalid("text", "must be a string, not null"),
            Patch::Absent if creating => r.invalid("text", "is required"),
            _ => {}
        }
        let source = r.string("source", MAX_SOURCE_CHARS, true);
        let meta = r.object("meta", MAX_META_BYTES);
        r.finish()?;
        Ok(Self { text, source, meta })
    }

    /// A new record of `dataset_id` from a create body, at `now` (RFC 3339).
    pub fn into_record(self, id: String, dataset_id: &str, now: &str) -> Record {
        Record {
            id,
            dataset_id: dataset_id.to_string(),
            text: self.text.apply(None).unwrap_or_default(),
            source: self.source.apply(None).unwrap_or_default(),
            meta: self.meta.apply(None).unwrap_or_default(),
            created_at: now.to_string(),
            updated_at: now.to_string(),
            expires_at: None,
        }
    }

    /// Whether the patch sets nothing.
    pub fn is_empty(&self) -> bool {
        !self.text.is_present() && !self.source.is_present() && !self.meta.is_present()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry() {
        let mut r = Record {
            id: "r".into(),
            dataset_id: "d".into(),
            text: "t".into(),
            source: "s".into(),
            meta: Map::new(),
            created_at: "c".into(),
            updated_at: "u".into(),
            expires_at: None,
        };
        assert!(!r.is_expired(i64::MAX));
        assert!(r.to_resource().get("expiresAt").is_none());
        r.expires_at = Some(100);
        assert!(r.is_expired(100));
        assert!(!r.is_expired(99));
        assert_eq!(r.to_resource()["expiresAt"], "1970-01-01T00:01:40Z");
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn fields(err: InputError) -> Vec<String> {
        match err {
            InputError::Invalid(d) | InputError::Malformed { details: d, .. } => {
                d.into_iter().map(|f| f.field).collect()
            }
        }
    }

    #[test]
    fn record_bodies_are_validated() {
        let p = RecordPatch::from_body(body(json!({"text": "hi", "meta": {"a": 1}})), true).unwrap();
        let r = p.into_record("record_1".into(), "dataset_1", "t");
        assert_eq!(
            (r.text.as_str(), r.source.as_str(), r.meta["a"].clone()),
            ("hi", "", json!(1))
        );
        assert_eq!(
            fields(RecordPatch::from_body(body(json!({})), true).unwrap_err()),
            ["text"]
        );
        assert!(RecordPatch::from_body(body(json!({})), false).unwrap().is_empty());
        assert_eq!(
            fields(RecordPatch::from_body(body(json!({"text": " "})), false).unwrap_err()),
            ["text"]
        );
        assert_eq!(
            fields(RecordPatch::from_body(body(json!({"text": null})), false).unwrap_err()),
            ["text"]
        );
        let long = "é".repeat(MAX_TEXT_BYTES / 2 + 1);
        assert_eq!(
            fields(RecordPatch::from_body(body(json!({"text": long})), true).unwrap_err()),
            ["text"]
        );
        assert!(RecordPatch::from_body(body(json!({"text": "x".repeat(MAX_TEXT_BYTES)})), true).is_ok());
        let err = RecordPatch::from_body(body(json!({"text": 3})), true).unwrap_err();
        assert_eq!(err.code(), "BAD_REQUEST");
        let err = RecordPatch::from_body(body(json!({"text": "x", "id": "mine"})), true).unwrap_err();
        assert_eq!(err.code(), "BAD_REQUEST");
        assert_eq!(
            fields(RecordPatch::from_body(body(json!({"source": "x".repeat(2049)})), false).unwrap_err()),
            ["source"]
        );
        assert_eq!(
            RecordPatch::from_body(body(json!({"source": ""})), false)
                .unwrap()
                .source,
            Patch::Clear
        );
    }
}
