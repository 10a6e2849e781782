//! Every DynamoDB key of the service, in one place.
//!
//! Main table (`pk`, `sk`):
//! | item        | pk                  | sk               |
//! |-------------|---------------------|------------------|
//! | API key     | `KEY#<sha256>`      | `KEY`            |
//! | account     | `ACCOUNT#<account>` | `ACCOUNT`        |
//! | integration | `ACCOUNT#<account>` | `NOTION#<id>`    |
//! | dataset     | `ACCOUNT#<account>` | `DATASET#<id>`   |
//! | sync run    | `ACCOUNT#<account>` | `SYNC#<integration>` |
//! | page index  | `SYNCIDX#<integration>` | `PAGE#<page id>` |
//! | event       | `ACCOUNT#<account>` | `EVENT#<id>`     |
//! | purge marker | `ACCOUNT#<account>` | `PURGE#<dataset>` |
//! | OAuth state | `OAUTH#<state>`     | `STATE`          |
//! | webhook     | `WEBHOOK#<integration>` | `WEBHOOK`    |
//! | webhook event id | `WEBHOOK#<integration>` | `EVENT#<event id>` |
//! | workspace backoff | `NOTIONWS#<workspace id>` | `BACKOFF` |
//!
//! The main table's TTL attribute is `ttl` (events, OAuth states, webhook event ids and
//! workspace backoffs carry it).
//!
//! Records table (`pk`, `sk`), GSI `byCreated` (`pk`, `created`), TTL on `expiresAt`:
//! | item   | pk                  | sk              | created                 |
//! |--------|---------------------|-----------------|-------------------------|
//! | record | `DATASET#<dataset>` | `RECORD#<id>`   | `<createdAt>#<id>`      |

use crate::domain::ids::{self, IdKind};

/// Partition key attribute of both tables.
pub const PK: &str = "pk";
/// Sort key attribute of both tables.
pub const SK: &str = "sk";
/// Sort key of the records table's `byCreated` index.
pub const CREATED: &str = "created";
/// The records table's index ordering a dataset's records by creation.
pub const BY_CREATED_INDEX: &str = "byCreated";
/// The records table's TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// The main table's TTL attribute (epoch seconds).
pub const MAIN_TTL_ATTRIBUTE: &str = "ttl";

/// Sort key of an account item.
pub const ACCOUNT_SK: &str = "ACCOUNT";
/// Sort key of an API key item.
pub const API_KEY_SK: &str = "KEY";
/// Sort key prefix of integrations.
pub const INTEGRATION_PREFIX: &str = "NOTION#";
/// Sort key prefix of datasets.
pub const DATASET_PREFIX: &str = "DATASET#";
/// Sort key prefix of events.
pub const EVENT_PREFIX: &str = "EVENT#";
/// Sort key prefix of records.
pub const RECORD_PREFIX: &str = "RECORD#";

/// Partition key of everything an account owns.
pub fn account_pk(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}")
}

/// Partition key of an API key, by its hash.
pub fn api_key_pk(key_hash: &str) -> String {
    format!("KEY#{key_hash}")
}

/// Sort key of an integration.
pub fn integration_sk(id: &str) -> String {
    format!("{INTEGRATION_PREFIX}{id}")
}

/// Sort key of a dataset.
pub fn dataset_sk(id: &str) -> String {
    format!("{DATASET_PREFIX}{id}")
}

/// Key of a pending OAuth authorization.
pub fn oauth_state_key(state: &str) -> (String, String) {
    (format!("OAUTH#{state}"), "STATE".to_string())
}

/// Sort key of a deleted dataset's purge marker.
pub fn purge_sk(dataset_id: &str) -> String {
    format!("PURGE#{dataset_id}")
}

/// Sort key of an event.
pub fn event_sk(id: &str) -> String {
    format!("{EVENT_PREFIX}{id}")
}

/// Sort key of an integration's sync checkpoint (under its account).
pub fn sync_sk(integration_id: &str) -> String {
    format!("SYNC#{integration_id}")
}

/// Partition key of an integration's page index.
pub fn sync_index_pk(integration_id: &str) -> String {
    format!("SYNCIDX#{integration_id}")
}

/// Sort key of a page in the index.
pub fn sync_page_sk(page_id: &str) -> String {
    format!("PAGE#{page_id}")
}

/// Partition key of a dataset's records.
pub fn records_pk(dataset_id: &str) -> String {
    format!("DATASET#{dataset_id}")
}

/// Sort key of a record.
pub fn record_sk(record_id: &str) -> String {
    format!("{RECORD_PREFIX}{record_id}")
}

/// `byCreated` sort key of a record.
pub fn record_created(created_at: &str, record_id: &str) -> String {
    format!("{created_at}#{record_id}")
}

/// The id in a sort key `<prefix><id>` of `kind`, if the key is well-formed.
pub fn id_from_sk<'a>(sk: &'a str, prefix: &str, kind: IdKind) -> Option<&'a str> {
    sk.strip_prefix(prefix).filter(|id| ids::is_valid(kind, id))
}

/// The record id in a `byCreated` key, if the key is well-formed.
pub fn record_id_from_created(created: &str) -> Option<&str> {
    created
        .rsplit_once('#')
        .map(|(_, id)| id)
        .filter(|id| ids::is_valid_record_id(id))
}

/// Key of an integration's webhook: its owner (the public route knows only the id), its
/// state and pending work.
pub fn webhook_key(integration_id: &str) -> (String, String) {
    (format!("WEBHOOK#{integration_id}"), "WEBHOOK".to_string())
}

/// Key of a webhook event id already handled (kept until its `ttl`).
pub fn webhook_event_key(integration_id: &str, event_id: &str) -> (String, String) {
    (format!("WEBHOOK#{integration_id}"), format!("EVENT#{event_id}"))
}

/// Key of a Notion workspace's shared backoff: until when every integration reaching it
/// holds its requests back (the per-workspace limit).
pub fn workspace_backoff_key(workspace_id: &str) -> (String, String) {
    (format!("NOTIONWS#{workspace_id}"), "BACKOFF".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let id = ids::new_id(IdKind::Integration);
        assert_eq!(
            id_from_sk(&integration_sk(&id), INTEGRATION_PREFIX, IdKind::Integration),
            Some(id.as_str())
        );
        assert_eq!(id_from_sk(&integration_sk(&id), DATASET_PREFIX, IdKind::Dataset), None);
        assert_eq!(
            id_from_sk("NOTION#bogus", INTEGRATION_PREFIX, IdKind::Integration),
            None
        );
        assert_eq!(
            record_id_from_created(&record_created("2025-01-01T00:00:00Z", "rec_1")),
            Some("rec_1")
        );
        assert_eq!(record_id_from_created("nohash"), None);
    }
}
