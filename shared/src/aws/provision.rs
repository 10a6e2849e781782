//! Creates the service's tables, idempotently, with the same keys, index and TTL that
//! template.yaml declares. Used by the local stack and the tests; production tables come
//! from the SAM template.

use super::keys::{BY_CREATED_INDEX, CREATED, MAIN_TTL_ATTRIBUTE, PK, SK, TTL_ATTRIBUTE};
use crate::error::StoreError;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

fn attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::aws("CreateTable", e))
}

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| StoreError::aws("CreateTable", e))
}

/// Creates the main and records tables unless they exist, and enables TTL on both.
pub async fn ensure_tables(client: &Client, table: &str, records_table: &str) -> Result<(), StoreError> {
    let main = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PK)?)
        .attribute_definitions(attribute(SK)?)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(SK, KeyType::Range)?)
        .send()
        .await;
    tolerate_existing(main.map(|_| ()))?;

    let by_created = GlobalSecondaryIndex::builder()
        .index_name(BY_CREATED_INDEX)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(CREATED, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|e| StoreError::aws("CreateTable", e))?;
    let records = client
        .create_table()
        .table_name(records_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PK)?)
        .attribute_definitions(attribute(SK)?)
        .attribute_definitions(attribute(CREATED)?)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(SK, KeyType::Range)?)
        .global_secondary_indexes(by_created)
        .send()
        .await;
    tolerate_existing(records.map(|_| ()))?;

    enable_ttl(client, table, MAIN_TTL_ATTRIBUTE).await?;
    enable_ttl(client, records_table, TTL_ATTRIBUTE).await
}

async fn enable_ttl(client: &Client, table: &str, attribute: &str) -> Result<(), StoreError> {
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(true)
        .build()
        .map_err(|e| StoreError::aws("UpdateTimeToLive", e))?;
    let ttl_result = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await;
    match ttl_result {
        Ok(_) => Ok(()),
        // Enabling TTL twice is refused with a ValidationException: it is already on.
        Err(e) if e.code() == Some("ValidationException") => Ok(()),
        Err(e) => Err(StoreError::aws("UpdateTimeToLive", e)),
    }
}

fn tolerate_existing<E>(result: Result<(), aws_sdk_dynamodb::error::SdkError<E>>) -> Result<(), StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(StoreError::aws("CreateTable", e)),
    }
}

/// Creates the sync queue and its dead-letter queue unless they exist; returns the
/// queue's URL. Messages move to the DLQ after `max_receives` failed deliveries.
pub async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    visibility_timeout_secs: u32,
    max_receives: u32,
) -> Result<String, StoreError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(|e| StoreError::aws("CreateQueue", e))?;
    let dlq_url = dlq.queue_url.unwrap_or_default();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| StoreError::aws("GetQueueAttributes", e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()});
    let queue = client
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_timeout_secs.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|e| StoreError::aws("CreateQueue", e))?;
    Ok(queue.queue_url.unwrap_or_default())
}
