//! The event log (SPEC §2.3): one entry per operation, kept for the account's retention
//! period and after the integration it names is deleted.
//!
//! An event never carries a token or secret: `integration.updated` names the fields that
//! changed, never their values, and sync events carry the run summary or the one-sentence
//! `syncError`, which the crawler writes without any token in it.

use super::ids::{self, IdKind};
use super::sync::Trigger;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Days an event is kept when `EVENT_LOG_RETENTION_DAYS` is not set.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// An integration was created.
    #[serde(rename = "integration.created")]
    IntegrationCreated,
    /// An integration's configuration changed.
    #[serde(rename = "integration.updated")]
    IntegrationUpdated,
    /// An integration was deleted.
    #[serde(rename = "integration.deleted")]
    IntegrationDeleted,
    /// A sync was queued (or coalesced into a pending one).
    #[serde(rename = "sync.requested")]
    SyncRequested,
    /// A sync ended successfully.
    #[serde(rename = "sync.completed")]
    SyncCompleted,
    /// A sync ended in error.
    #[serde(rename = "sync.failed")]
    SyncFailed,
    /// A webhook's first signed event arrived: Notion uses the verification token.
    #[serde(rename = "webhook.verified")]
    WebhookVerified,
    /// A dataset was deleted.
    #[serde(rename = "dataset.deleted")]
    DatasetDeleted,
}

impl EventType {
    /// Every type, in SPEC's order.
    pub const ALL: [EventType; 8] = [
        Self::IntegrationCreated,
        Self::IntegrationUpdated,
        Self::IntegrationDeleted,
        Self::SyncRequested,
        Self::SyncCompleted,
        Self::SyncFailed,
        Self::WebhookVerified,
        Self::DatasetDeleted,
    ];

    /// The wire name, such as `sync.completed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IntegrationCreated => "integration.created",
            Self::IntegrationUpdated => "integration.updated",
            Self::IntegrationDeleted => "integration.deleted",
            Self::SyncRequested => "sync.requested",
            Self::SyncCompleted => "sync.completed",
            Self::SyncFailed => "sync.failed",
            Self::WebhookVerified => "webhook.verified",
            Self::DatasetDeleted => "dataset.deleted",
        }
    }

    /// The type named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// One entry of an account's event log, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// `event_` + ULID, so the log sorts by time.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The integration concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion_integration_id: Option<String>,
    /// The dataset concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    /// One human sentence.
    pub message: String,
    /// Details by type (see SPEC §2.3), stored as JSON text.
    #[serde(with = "json_text")]
    pub data: Value,
    /// RFC 3339.
    pub created_at: String,
    /// When the store may drop the event (epoch seconds). Stored as `ttl`, the main
    /// table's TTL attribute: `expiresAt` there already means a record's expiry in the page
    /// index, which must not make DynamoDB drop index entries.
    #[serde(rename = "ttl")]
    pub expires_at: i64,
}

impl Event {
    /// A new event of `kind` at `now`, kept `retention_days`.
    pub fn new(
        account_id: &str,
        kind: EventType,
        message: impl Into<String>,
        data: Value,
        now: DateTime<Utc>,
        retention_days: u32,
    ) -> Self {
        Self {
            id: ids::new_id(IdKind::Event),
            account_id: account_id.to_string(),
            kind,
            notion_integration_id: None,
            dataset_id: None,
            message: message.into(),
            data,
            created_at: super::time::rfc3339(now),
            expires_at: now.timestamp() + i64::from(retention_days) * 86_400,
        }
    }

    /// The same event, about integration `id`.
    pub fn for_integration(mut self, id: &str) -> Self {
        self.notion_integration_id = Some(id.to_string());
        self
    }

    /// The same event, about dataset `id` (none leaves it unset).
    pub fn for_dataset(mut self, id: Option<&str>) -> Self {
        self.dataset_id = id.map(str::to_string);
        self
    }

    /// `sync.requested` with its trigger (`data.trigger`: SPEC's `manual`, `schedule`, `webhook`).
    pub fn sync_requested(
        account_id: &str,
        integration_id: &str,
        trigger: Trigger,
        coalesced: bool,
        now: DateTime<Utc>,
        retention_days: u32,
    ) -> Self {
        let name = match trigger {
            Trigger::Manual => "manual",
            Trigger::Scheduled => "schedule",
            Trigger::Webhook => "webhook",
        };
        let message = if coalesced {
            format!("A {name} sync was requested and joined the sync already pending.")
        } else {
            format!("A {name} sync was requested and queued.")
        };
        Self::new(
            account_id,
            EventType::SyncRequested,
            message,
            json!({"trigger": name, "coalesced": coalesced}),
            now,
            retention_days,
        )
        .for_integration(integration_id)
    }

    /// Whether the event is past its retention at `now` (epoch seconds): never listed, even
    /// before DynamoDB's TTL sweeper removes it.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at <= now
    }

    /// The API view: `{id, type, notionIntegrationId?, datasetId?, message, data,
    /// createdAt, updatedAt}`. Events never change: `updatedAt` is `createdAt`, there
    /// because ChatBotKit's SDKs require it on every event.
    pub fn to_resource(&self) -> Value {
        let mut out = json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "message": self.message,
            "data": self.data,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
        });
        if let Some(id) = &self.notion_integration_id {
            out["notionIntegrationId"] = json!(id);
        }
        if let Some(id) = &self.dataset_id {
            out["datasetId"] = json!(id);
        }
        out
    }
}

/// A resource's name for an event message: quoted, or `(unnamed)`.
pub fn quoted(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".into()
    } else {
        format!("\"{name}\"")
    }
}

/// Which events a listing keeps (`notionIntegrationId=`, `type=`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events about this integration.
    pub integration_id: Option<String>,
    /// Only events of this type.
    pub kind: Option<EventType>,
}

impl EventFilter {
    /// Whether `event` passes.
    pub fn keeps(&self, event: &Event) -> bool {
        self.integration_id
            .as_deref()
            .is_none_or(|id| event.notion_integration_id.as_deref() == Some(id))
            && self.kind.is_none_or(|k| k == event.kind)
    }
}

/// Stores `data` as JSON text: DynamoDB maps cannot hold every JSON value (empty strings
/// in sets, numbers beyond 38 digits), and nothing queries inside it.
mod json_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        let text = String::deserialize(deserializer)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn type_names_round_trip_and_match_serde() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        assert_eq!(EventType::parse("sync.started"), None);
    }

    #[test]
    fn resource_has_spec_fields_only() {
        let e = Event::new("account_1", EventType::DatasetDeleted, "Gone.", json!({}), at(1_000), 2)
            .for_dataset(Some("dataset_1"));
        assert_eq!(e.expires_at, 1_000 + 2 * 86_400);
        assert!(ids::is_valid(IdKind::Event, &e.id));
        let r = e.to_resource();
        assert_eq!(r["type"], "dataset.deleted");
        assert_eq!(r["datasetId"], "dataset_1");
        assert_eq!(r["createdAt"], "1970-01-01T00:16:40Z");
        assert!(r.get("notionIntegrationId").is_none());
        assert!(r.get("accountId").is_none() && r.get("expiresAt").is_none());
        assert!(!e.expired(1_000) && e.expired(1_000 + 2 * 86_400));
    }

    #[test]
    fn stored_form_round_trips() {
        let e = Event::sync_requested("account_1", "notion_1", Trigger::Manual, false, at(5), 90);
        let stored = serde_json::to_value(&e).unwrap();
        assert!(stored["data"].is_string());
        assert_eq!(serde_json::from_value::<Event>(stored).unwrap(), e);
        assert_eq!(e.data["trigger"], "manual");
    }

    #[test]
    fn filter_keeps_what_it_names() {
        let e = Event::sync_requested("a", "notion_1", Trigger::Scheduled, true, at(5), 90);
        assert!(EventFilter::default().keeps(&e));
        let by_id = |id: &str| EventFilter {
            integration_id: Some(id.into()),
            kind: None,
        };
        assert!(by_id("notion_1").keeps(&e));
        assert!(!by_id("notion_2").keeps(&e));
        let by_kind = |k| EventFilter {
            integration_id: None,
            kind: Some(k),
        };
        assert!(by_kind(EventType::SyncRequested).keeps(&e));
        assert!(!by_kind(EventType::SyncFailed).keeps(&e));
    }
}
