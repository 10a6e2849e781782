//! Creates the service's tables, idempotently, with the same keys, index and TTL that
//! template.yaml declares. Used by the local stack and the tests; production tables come
//! from the SAM template.

use super::keys::{BY_CREATED_INDEX, CREATED, PK, SK, TTL_ATTRIBUTE};
use crate::error::StoreError;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
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

/// Creates the main and records tables unless they exist, and enables TTL on records.
pub async fn ensure_tables(
    client: &Client,
    table: &str,
    records_table: &str,
) -> Result<(), StoreError> {
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
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
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

    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(|e| StoreError::aws("UpdateTimeToLive", e))?;
    let ttl_result = client
        .update_time_to_live()
        .table_name(records_table)
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

fn tolerate_existing<E>(
    result: Result<(), aws_sdk_dynamodb::error::SdkError<E>>,
) -> Result<(), StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(StoreError::aws("CreateTable", e)),
    }
}
