//! The SQS entry point shared by the crawler Lambda and the local stack: each message is
//! one run (or continuation), one step of a deleted dataset's purge, or a webhook flush; failures are reported per message so SQS redelivers only
//! those, and a message that can never be read is logged and dropped, not retried forever.

use super::adapters::{Crawler, RunResult};
use crate::domain::sync::{PurgeMessage, QueueMessage, SyncMessage};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use tokio::time::Instant;
use tracing::Instrument;

/// Handles one SQS batch before `deadline`.
pub async fn handle_batch(crawler: &Crawler, event: SqsEvent, deadline: Instant) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("sync_message", message_id = %id);
        if !handle_message(crawler, &record, deadline).instrument(span).await {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Whether the message is done with (succeeded, or can never succeed).
async fn handle_message(crawler: &Crawler, record: &SqsMessage, deadline: Instant) -> bool {
    match record.body.as_deref().map(serde_json::from_str) {
        Some(Ok(QueueMessage::Sync(message))) => handle_sync(crawler, &message, deadline).await,
        Some(Ok(QueueMessage::Purge(message))) => handle_purge(crawler, &message, deadline).await,
        Some(Ok(QueueMessage::Flush(message))) => match crawler.flush(&message).await {
            Ok(result) => {
                tracing::info!(integration = %message.flush_integration_id, ?result, "webhook flush handled");
                true
            }
            Err(e) => {
                tracing::error!(integration = %message.flush_integration_id, error = %crate::error::error_chain(&e), "webhook flush failed; the message will be retried");
                false
            }
        },
        _ => {
            tracing::error!("queue message is neither a sync, a purge nor a webhook flush; dropped");
            true
        }
    }
}

async fn handle_purge(crawler: &Crawler, message: &PurgeMessage, deadline: Instant) -> bool {
    match crawler.purge(message, deadline).await {
        Ok(result) => {
            tracing::info!(dataset = %message.purge_dataset_id, ?result, "purge message handled");
            true
        }
        Err(e) => {
            tracing::error!(dataset = %message.purge_dataset_id, error = %crate::error::error_chain(&e), "purge failed; the message will be retried");
            false
        }
    }
}

async fn handle_sync(crawler: &Crawler, message: &SyncMessage, deadline: Instant) -> bool {
    match crawler.run(message, deadline).await {
        Ok(RunResult::Dropped(why)) => {
            tracing::info!(integration = %message.integration_id, run = %message.run_id, why, "sync message dropped");
            true
        }
        Ok(result) => {
            tracing::info!(integration = %message.integration_id, run = %message.run_id, ?result, "sync message handled");
            true
        }
        Err(e) => {
            tracing::error!(integration = %message.integration_id, error = %crate::error::error_chain(&e), "sync failed; the message will be retried");
            false
        }
    }
}
