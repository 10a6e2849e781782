//! Records: the text units bots answer from, one (or a few chunks) per Notion page.

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
}
