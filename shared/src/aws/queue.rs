//! The sync queue on SQS.

use crate::crawler::message::SyncMessage;
use crate::error::StoreError;
use crate::ports::SyncQueue;
use async_trait::async_trait;
use aws_sdk_sqs::Client;

/// SQS-backed [`SyncQueue`].
#[derive(Clone, Debug)]
pub struct SqsSyncQueue {
    client: Client,
    queue_url: String,
}

impl SqsSyncQueue {
    /// A queue adapter for `queue_url`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl SyncQueue for SqsSyncQueue {
    async fn send(&self, message: &SyncMessage) -> Result<(), StoreError> {
        let body = serde_json::to_string(message).map_err(|e| StoreError::Corrupt(Box::new(e)))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| StoreError::aws("SendMessage", e))?;
        Ok(())
    }
}
