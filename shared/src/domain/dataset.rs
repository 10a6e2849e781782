//! Datasets: named collections of records that integrations sync into.

use super::fields::{ObjectReader, Patch};
use super::integration::{MAX_DESCRIPTION_CHARS, MAX_META_BYTES, MAX_NAME_CHARS};
use crate::domain::fields::InputError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A dataset as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    /// `dataset_` + ULID.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Client-defined metadata.
    #[serde(default, with = "crate::domain::fields::meta_text")]
    pub meta: Map<String, Value>,
    /// Records currently in the dataset, kept by the writes that add and remove them.
    #[serde(default)]
    pub record_count: u64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl Dataset {
    /// The API view.
    pub fn to_resource(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "meta": self.meta,
            "recordCount": self.record_count,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        })
    }
}

/// A validated dataset update request: `{name?, description?, meta?}`; `null` clears a
/// field (`""` for the texts, `{}` for `meta`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetPatch {
    /// `name`.
    pub name: Patch<String>,
    /// `description`.
    pub description: Patch<String>,
    /// `meta`.
    pub meta: Patch<Map<String, Value>>,
}

impl DatasetPatch {
    /// Reads and validates an update body.
    pub fn from_body(body: Map<String, Value>) -> Result<Self, InputError> {
        let mut r = ObjectReader::new(body, DATASET_FIELDS)?;
        let name = r.string("name", MAX_NAME_CHARS, false);
        let description = r.string("description", MAX_DESCRIPTION_CHARS, false);
        let meta = r.object("meta", MAX_META_BYTES);
        r.finish()?;
        Ok(Self {
            name,
            description,
            meta,
        })
    }
}

/// A validated dataset create request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewDataset {
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Client-defined metadata.
    pub meta: Map<String, Value>,
}

/// The fields a dataset create request may carry.
pub const DATASET_FIELDS: &[&str] = &["name", "description", "meta"];

impl NewDataset {
    /// Reads and validates a create body: `{name?, description?, meta?}`.
    pub fn from_body(body: Map<String, Value>) -> Result<Self, InputError> {
        let DatasetPatch {
            name,
            description,
            meta,
        } = DatasetPatch::from_body(body)?;
        Ok(Self {
            name: name.apply(None).unwrap_or_default(),
            description: description.apply(None).unwrap_or_default(),
            meta: meta.apply(None).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_validates() {
        let d = NewDataset::from_body(json!({"name": "KB", "meta": {"a": 1}}).as_object().unwrap().clone()).unwrap();
        assert_eq!(d.name, "KB");
        assert_eq!(d.description, "");
        assert_eq!(d.meta["a"], 1);
        let err = NewDataset::from_body(json!({"name": "x".repeat(257)}).as_object().unwrap().clone()).unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
        let err = NewDataset::from_body(json!({"records": []}).as_object().unwrap().clone()).unwrap_err();
        assert_eq!(err.code(), "BAD_REQUEST");
    }
}
