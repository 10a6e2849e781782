//! The sync queue on SQS, and polling it the way the Lambda event source does (for the
//! local stack and tests).

use crate::domain::sync::{PurgeMessage, SyncMessage};
use crate::domain::webhook::WebhookFlush;
use crate::error::StoreError;
use crate::ports::SyncQueue;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use std::future::Future;

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

impl SqsSyncQueue {
    async fn send_json(&self, message: &impl serde::Serialize) -> Result<(), StoreError> {
        self.send_delayed(message, 0).await
    }

    async fn send_delayed(&self, message: &impl serde::Serialize, delay_secs: u32) -> Result<(), StoreError> {
        let body = serde_json::to_string(message).map_err(|e| StoreError::Corrupt(Box::new(e)))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(delay_secs.min(crate::domain::webhook::MAX_QUEUE_DELAY_SECS) as i32)
            .send()
            .await
            .map_err(|e| StoreError::aws("SendMessage", e))?;
        Ok(())
    }
}

#[async_trait]
impl SyncQueue for SqsSyncQueue {
    async fn send(&self, message: &SyncMessage) -> Result<(), StoreError> {
        self.send_json(message).await
    }

    async fn send_after(&self, message: &SyncMessage, delay_secs: u32) -> Result<(), StoreError> {
        self.send_delayed(message, delay_secs).await
    }

    async fn send_purge(&self, message: &PurgeMessage) -> Result<(), StoreError> {
        self.send_json(message).await
    }

    async fn send_flush(&self, message: &WebhookFlush, delay_secs: u32) -> Result<(), StoreError> {
        self.send_delayed(message, delay_secs).await
    }
}

/// Receives what the queue holds (one message at most) and hands it to `handle` as the
/// Lambda event source would: deletes handled messages and leaves failed ones to reappear
/// after their visibility timeout. Returns how many messages were received.
pub async fn poll_once<F, Fut>(sqs: &Client, queue_url: &str, wait_seconds: i32, handle: F) -> Result<usize, StoreError>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(1)
        .wait_time_seconds(wait_seconds)
        .send()
        .await
        .map_err(|e| StoreError::aws("ReceiveMessage", e))?;
    let messages = out.messages.unwrap_or_default();
    let count = messages.len();
    let mut event = SqsEvent::default();
    let mut receipts = Vec::new();
    for m in messages {
        let mut record = SqsMessage::default();
        record.message_id = m.message_id.clone();
        record.body = m.body.clone();
        record.receipt_handle = m.receipt_handle.clone();
        receipts.push((m.message_id.unwrap_or_default(), m.receipt_handle.unwrap_or_default()));
        event.records.push(record);
    }
    if count == 0 {
        return Ok(0);
    }
    let response = handle(event).await;
    for (id, receipt) in receipts {
        if response.batch_item_failures.iter().any(|f| f.item_identifier == id) {
            continue;
        }
        sqs.delete_message()
            .queue_url(queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| StoreError::aws("DeleteMessage", e))?;
    }
    Ok(count)
}
