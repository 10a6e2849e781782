//! What starts a run: the sync queue's message, its trigger, and what a fired schedule
//! hands the schedule trigger. The same queue carries the purge of a deleted dataset's
//! records ([`PurgeMessage`]), handled by the same function.

use serde::{Deserialize, Serialize};

/// Why a run was started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// `POST /integration/notion/{id}/sync`.
    #[default]
    Manual,
    /// The integration's schedule.
    Scheduled,
    /// Notion's webhook events: a targeted run of the pages they name.
    Webhook,
}

/// One message on the sync queue: run `run_id` of an integration (a new run, or the
/// continuation of one that checkpointed before its Lambda's deadline).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncMessage {
    /// The owning account.
    pub account_id: String,
    /// The integration to sync.
    pub integration_id: String,
    /// The run this message belongs to.
    pub run_id: String,
    /// What started the run.
    pub trigger: Trigger,
}

/// What a fired schedule hands the trigger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInput {
    /// The owning account.
    pub account_id: String,
    /// The integration to sync.
    pub integration_id: String,
}

/// The purge of a deleted dataset's records, queued by dataset delete and continued (the
/// same message again) until every record is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeMessage {
    /// The account that owned the dataset.
    pub account_id: String,
    /// The deleted dataset whose records go.
    pub purge_dataset_id: String,
}

/// Any message on the sync queue.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum QueueMessage {
    /// A dataset's records to purge (its `purgeDatasetId` tells it apart).
    Purge(PurgeMessage),
    /// An integration's webhook work is due (its `flushIntegrationId` tells it apart).
    Flush(crate::domain::webhook::WebhookFlush),
    /// A sync run or its continuation.
    Sync(SyncMessage),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_messages_are_told_apart_by_their_fields() {
        let sync = SyncMessage {
            account_id: "a".into(),
            integration_id: "notion_1".into(),
            run_id: "r".into(),
            trigger: Trigger::Scheduled,
        };
        let text = serde_json::to_string(&sync).unwrap();
        assert_eq!(
            serde_json::from_str::<QueueMessage>(&text).unwrap(),
            QueueMessage::Sync(sync)
        );
        let purge = PurgeMessage {
            account_id: "a".into(),
            purge_dataset_id: "dataset_1".into(),
        };
        let text = serde_json::to_string(&purge).unwrap();
        assert_eq!(text, r#"{"accountId":"a","purgeDatasetId":"dataset_1"}"#);
        assert_eq!(
            serde_json::from_str::<QueueMessage>(&text).unwrap(),
            QueueMessage::Purge(purge)
        );
        assert!(serde_json::from_str::<QueueMessage>(r#"{"accountId":"a"}"#).is_err());
    }
}
