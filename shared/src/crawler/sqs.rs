//! The SQS entry point shared by the crawler Lambda and the local stack: each message is
//! one run (or continuation); failures are reported per message so SQS redelivers only
//! those, and a message that can never be read is logged and dropped, not retried forever.

use super::engine::{Crawler, RunResult};
use crate::domain::sync::SyncMessage;
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
    let message: SyncMessage = match record.body.as_deref().map(serde_json::from_str) {
        Some(Ok(m)) => m,
        _ => {
            tracing::error!("sync message is not a SyncMessage; dropped");
            return true;
        }
    };
    match crawler.run(&message, deadline).await {
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

/// Receives what the queue holds and has the crawler handle it as the Lambda event source
/// would (see [`crate::aws::queue::poll_once`]). Used by the local stack and tests.
pub async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    crawler: &Crawler,
    budget: std::time::Duration,
    wait_seconds: i32,
) -> Result<usize, crate::error::StoreError> {
    crate::aws::queue::poll_once(sqs, queue_url, wait_seconds, |event| {
        handle_batch(crawler, event, Instant::now() + budget)
    })
    .await
}
