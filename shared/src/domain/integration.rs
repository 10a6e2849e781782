//! The Notion integration resource: its stored form, its API view, and the rules for
//! creating and updating it.

use super::fields::{ObjectReader, Patch};
use super::ids::{self, IdKind};
use super::schedule::SyncSchedule;
use crate::domain::fields::InputError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Longest `name`, in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest `description`, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
/// Largest `meta`, serialized.
pub const MAX_META_BYTES: usize = 16 * 1024;
/// Largest `expiresIn`: three months in milliseconds.
pub const MAX_EXPIRES_IN_MS: u64 = 7_776_000_000;
/// Longest Notion token accepted.
pub const MAX_TOKEN_CHARS: usize = 4096;
/// Longest `blueprintId`.
pub const MAX_BLUEPRINT_ID_CHARS: usize = 256;

/// The fields a client may send to create or update an integration.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "name",
    "description",
    "datasetId",
    "blueprintId",
    "token",
    "syncSchedule",
    "expiresIn",
    "meta",
];

/// Where the integration's last sync stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncStatus {
    /// Queued or running.
    Pending,
    /// The last run succeeded.
    Synced,
    /// The last run failed; `syncError` says why.
    Error,
}

/// A Notion integration as stored. The token itself is never here: only whether the
/// integration's secret holds one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    /// `notion_` + ULID.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The dataset syncs write into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    /// Opaque reference to a blueprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint_id: Option<String>,
    /// Whether Secrets Manager holds a token for this integration.
    #[serde(default)]
    pub has_token: bool,
    /// `@daily`, a cron expression, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_schedule: Option<String>,
    /// Record lifetime in milliseconds, or none for records that never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Client-defined metadata.
    #[serde(default, with = "crate::domain::fields::meta_text")]
    pub meta: Map<String, Value>,
    /// Where the last sync stands; none before the first one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_status: Option<SyncStatus>,
    /// One-sentence reason of the last failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_error: Option<String>,
    /// End of the last successful sync, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_at: Option<String>,
    /// Summary of the last run, as the crawler wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_summary: Option<Value>,
    /// The Notion workspace an OAuth connection reaches; none for a pasted token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<crate::domain::oauth::Workspace>,
    /// The active run's progress, written at its checkpoints and removed when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_progress: Option<crate::domain::run::SyncProgress>,
    /// Epoch seconds of the last accepted manual sync (for the cooldown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_manual_sync_at: Option<i64>,
    /// Epoch seconds since which a sync is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_since: Option<i64>,
    /// The pending run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_run_id: Option<String>,
    /// Whether the pending run is a targeted (webhook) run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_targeted: bool,
    /// A full sync asked for while a targeted run was pending: queued when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_sync_requested: Option<crate::domain::sync::Trigger>,
    /// Bumped by every configuration update, which is conditional on the version it read
    /// (0 for items written before versions existed).
    #[serde(default)]
    pub version: u64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl Integration {
    /// A new integration of `account_id` with every field empty, created at `now` (RFC 3339).
    pub fn new(id: String, account_id: &str, now: &str) -> Self {
        Self {
            id,
            account_id: account_id.to_string(),
            name: String::new(),
            description: String::new(),
            dataset_id: None,
            blueprint_id: None,
            has_token: false,
            sync_schedule: None,
            expires_in: None,
            meta: Map::new(),
            sync_status: None,
            sync_error: None,
            last_synced_at: None,
            last_sync_summary: None,
            sync_progress: None,
            workspace: None,
            last_manual_sync_at: None,
            pending_since: None,
            pending_run_id: None,
            pending_targeted: false,
            full_sync_requested: None,
            version: 0,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        }
    }

    /// The API view: the token masked as `********`, or null when none is stored.
    pub fn to_resource(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "datasetId": self.dataset_id,
            "blueprintId": self.blueprint_id,
            "token": if self.has_token { Some("********") } else { None },
            "syncSchedule": self.sync_schedule,
            "expiresIn": self.expires_in,
            "meta": self.meta,
            "syncStatus": self.sync_status,
            "syncError": self.sync_error,
            "lastSyncedAt": self.last_synced_at,
            "lastSyncSummary": self.last_sync_summary,
            "workspace": self.workspace,
            // Only while a run is active: a run that died leaves its last progress behind.
            "syncProgress": match self.sync_status {
                Some(SyncStatus::Pending) => self.sync_progress.as_ref(),
                _ => None,
            },
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        })
    }
}

/// A validated create or update request. Absent fields keep their value; cleared ones
/// return to their default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntegrationPatch {
    /// `name`; cleared means "".
    pub name: Patch<String>,
    /// `description`; cleared means "".
    pub description: Patch<String>,
    /// `datasetId`; `""` clears it. Existence is checked by the handler.
    pub dataset_id: Patch<String>,
    /// `blueprintId`; `""` clears it.
    pub blueprint_id: Patch<String>,
    /// `token`; `null` or `""` removes it.
    pub token: Patch<String>,
    /// `syncSchedule`; `null` or `""` removes it.
    pub sync_schedule: Patch<SyncSchedule>,
    /// `expiresIn` in ms; `null` means never expire.
    pub expires_in: Patch<u64>,
    /// `meta`; `null` means `{}`.
    pub meta: Patch<Map<String, Value>>,
}

impl IntegrationPatch {
    /// Reads and validates a request body.
    pub fn from_body(body: Map<String, Value>) -> Result<Self, InputError> {
        let mut r = ObjectReader::new(body, UPDATABLE_FIELDS)?;
        let name = r.string("name", MAX_NAME_CHARS, false);
        let description = r.string("description", MAX_DESCRIPTION_CHARS, false);
        let dataset_id = r.string("datasetId", 64, true);
        if let Some(id) = dataset_id.as_set() {
            if !ids::is_valid(IdKind::Dataset, id) {
                r.invalid("datasetId", "is not a dataset id (dataset_ followed by 26 characters)");
            }
        }
        let blueprint_id = r.string("blueprintId", MAX_BLUEPRINT_ID_CHARS, true);
        let token = r.string("token", MAX_TOKEN_CHARS, true);
        if let Some(t) = token.as_set() {
            if t.trim() != t || t.chars().any(char::is_control) {
                r.invalid("token", "must not contain whitespace at its ends or control characters");
            }
        }
        let sync_schedule = match r.string("syncSchedule", 256, true) {
            Patch::Set(text) => match SyncSchedule::parse(&text) {
                Ok(s) => Patch::Set(s),
                Err(reason) => {
                    r.invalid("syncSchedule", reason.0);
                    Patch::Absent
                }
            },
            other => other.map(|_| SyncSchedule::Hourly),
        };
        let expires_in = r.integer("expiresIn", 0, MAX_EXPIRES_IN_MS);
        let meta = r.object("meta", MAX_META_BYTES);
        r.finish()?;
        Ok(Self {
            name,
            description,
            dataset_id,
            blueprint_id,
            token,
            sync_schedule,
            expires_in,
            meta,
        })
    }

    /// The names of the fields this patch changes on `current` (API names, for the event
    /// log): a token sent counts as changed, and its value is never looked at.
    pub fn changed_fields(&self, current: &Integration) -> Vec<&'static str> {
        let mut after = current.clone();
        self.apply_to(&mut after);
        let mut fields = Vec::new();
        let mut note = |changed: bool, name: &'static str| {
            if changed {
                fields.push(name);
            }
        };
        note(after.name != current.name, "name");
        note(after.description != current.description, "description");
        note(after.dataset_id != current.dataset_id, "datasetId");
        note(after.blueprint_id != current.blueprint_id, "blueprintId");
        note(
            matches!(self.token, Patch::Set(_)) || (self.token == Patch::Clear && current.has_token),
            "token",
        );
        note(after.sync_schedule != current.sync_schedule, "syncSchedule");
        note(after.expires_in != current.expires_in, "expiresIn");
        note(after.meta != current.meta, "meta");
        fields
    }

    /// Applies every non-token field to `target`; the token is the caller's business.
    pub fn apply_to(&self, target: &mut Integration) {
        let text = |p: &Patch<String>, current: &mut String| match p {
            Patch::Absent => {}
            Patch::Clear => current.clear(),
            Patch::Set(v) => v.clone_into(current),
        };
        text(&self.name, &mut target.name);
        text(&self.description, &mut target.description);
        target.dataset_id = self.dataset_id.clone().apply(target.dataset_id.take());
        target.blueprint_id = self.blueprint_id.clone().apply(target.blueprint_id.take());
        target.sync_schedule = self
            .sync_schedule
            .clone()
            .map(|s| s.as_text().to_string())
            .apply(target.sync_schedule.take());
        target.expires_in = self.expires_in.clone().apply(target.expires_in);
        match &self.meta {
            Patch::Absent => {}
            Patch::Clear => target.meta.clear(),
            Patch::Set(m) => target.meta = m.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(v: Value) -> Result<IntegrationPatch, InputError> {
        IntegrationPatch::from_body(v.as_object().unwrap().clone())
    }

    fn invalid_fields(v: Value) -> Vec<String> {
        match patch(v) {
            Err(InputError::Invalid(d)) => d.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn full_body_is_read() {
        let p = patch(json!({
            "name": "Wiki", "description": "d", "datasetId": "dataset_01JD0000000000000000000000",
            "blueprintId": "bp", "token": "secret_x", "syncSchedule": "@daily",
            "expiresIn": 2592000000u64, "meta": {"team": "eng"}
        }))
        .unwrap();
        assert_eq!(p.name, Patch::Set("Wiki".into()));
        assert_eq!(p.sync_schedule, Patch::Set(SyncSchedule::Daily));
        assert_eq!(p.expires_in, Patch::Set(2_592_000_000));
        assert_eq!(p.token, Patch::Set("secret_x".into()));
    }

    #[test]
    fn changed_fields_name_what_differs_and_never_read_the_token() {
        let mut current = Integration::new("notion_1".into(), "account_1", "2026-01-01T00:00:00Z");
        current.name = "Wiki".into();
        let p = patch(json!({"name": "Wiki", "description": "new", "syncSchedule": "@daily"})).unwrap();
        assert_eq!(p.changed_fields(&current), ["description", "syncSchedule"]);
        let p = patch(json!({"token": "secret_x", "meta": {}})).unwrap();
        assert_eq!(p.changed_fields(&current), ["token"]);
        // Removing a token that is not there changes nothing; removing one that is does.
        let p = patch(json!({"token": null})).unwrap();
        assert!(p.changed_fields(&current).is_empty());
        current.has_token = true;
        assert_eq!(p.changed_fields(&current), ["token"]);
    }

    #[test]
    fn empty_strings_and_nulls_clear() {
        let p =
            patch(json!({"token": "", "syncSchedule": "", "datasetId": "", "expiresIn": null, "meta": null})).unwrap();
        assert_eq!(p.token, Patch::Clear);
        assert_eq!(p.sync_schedule, Patch::Clear);
        assert_eq!(p.dataset_id, Patch::Clear);
        assert_eq!(p.expires_in, Patch::Clear);
        assert_eq!(p.meta, Patch::Clear);
        assert_eq!(patch(json!({"token": null})).unwrap().token, Patch::Clear);
    }

    #[test]
    fn every_rule_is_enforced() {
        assert_eq!(invalid_fields(json!({"name": "x".repeat(257)})), ["name"]);
        assert!(patch(json!({"name": "é".repeat(256)})).is_ok());
        assert_eq!(
            invalid_fields(json!({"description": "x".repeat(4097)})),
            ["description"]
        );
        assert_eq!(invalid_fields(json!({"expiresIn": 7_776_000_001u64})), ["expiresIn"]);
        assert_eq!(invalid_fields(json!({"expiresIn": -1})), ["expiresIn"]);
        assert!(patch(json!({"expiresIn": 0})).is_ok());
        assert!(patch(json!({"expiresIn": 7_776_000_000u64})).is_ok());
        assert_eq!(invalid_fields(json!({"syncSchedule": "every day"})), ["syncSchedule"]);
        assert_eq!(invalid_fields(json!({"datasetId": "ds1"})), ["datasetId"]);
        assert_eq!(invalid_fields(json!({"meta": {"k": "v".repeat(16 * 1024)}})), ["meta"]);
        assert_eq!(invalid_fields(json!({"token": " secret "})), ["token"]);
        assert_eq!(
            invalid_fields(json!({"name": "x".repeat(300), "expiresIn": 1.5})),
            ["name", "expiresIn"]
        );
    }

    #[test]
    fn wrong_types_and_unknown_fields_are_bad_requests() {
        for body in [
            json!({"name": 5}),
            json!({"meta": []}),
            json!({"expiresIn": "10"}),
            json!({"id": "notion_x"}),
        ] {
            assert_eq!(patch(body.clone()).unwrap_err().code(), "BAD_REQUEST", "{body}");
        }
    }

    #[test]
    fn apply_keeps_absent_fields() {
        let mut i = Integration {
            name: "n".into(),
            description: "d".into(),
            dataset_id: Some("dataset_1".into()),
            has_token: true,
            sync_schedule: Some("@daily".into()),
            expires_in: Some(5),
            ..Integration::new("notion_1".into(), "a", "t")
        };
        patch(json!({"name": "m", "syncSchedule": null}))
            .unwrap()
            .apply_to(&mut i);
        assert_eq!(i.name, "m");
        assert_eq!(i.description, "d");
        assert_eq!(i.sync_schedule, None);
        assert_eq!(i.expires_in, Some(5));
        assert_eq!(i.to_resource()["token"], "********");
    }
}
