//! The DynamoDB adapter: accounts, API keys, integrations and datasets in the main table,
//! records in the records table. Every state change is a conditional write; a failed
//! condition is a typed conflict, never a 500.

use super::keys::{self, CREATED, PK, SK};
use crate::domain::account::{hash_api_key, Account, Plan};
use crate::domain::dataset::Dataset;
use crate::domain::fields::meta_text;
use crate::domain::fields::Patch;
use crate::domain::ids::IdKind;
use crate::domain::integration::{Integration, IntegrationPatch};
use crate::domain::paging::{ListQuery, Order};
use crate::domain::record::Record;
use crate::error::StoreError;
use crate::ports::{AccountStore, DatasetStore, IntegrationStore, Page, RecordStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, ReturnValue, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Turns a decoded cursor position into a query start key, or none when it does not belong.
type StartKeyFn<'a> = Box<dyn Fn(&str) -> Option<Item> + Send + Sync + 'a>;

/// Items examined by one list request at most; a page with filters may come back short,
/// with a cursor, rather than read a whole partition.
const MAX_SCANNED_PER_PAGE: usize = 1_000;

/// DynamoDB-backed implementation of every storage port.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    records_table: String,
}

#[derive(Serialize, Deserialize)]
struct Keyed<T> {
    pk: String,
    sk: String,
    #[serde(flatten)]
    data: T,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountItem {
    id: String,
    created_at: String,
    #[serde(flatten)]
    plan: Plan,
    integration_count: u64,
    record_count: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiKeyItem {
    account_id: String,
}

#[derive(Serialize, Deserialize)]
struct RecordItem {
    pk: String,
    sk: String,
    created: String,
    #[serde(flatten)]
    data: Record,
}

pub(crate) fn av(value: impl Serialize) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Corrupt(Box::new(e)))
}

pub(crate) fn to_item(value: impl Serialize) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(Box::new(e)))
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(Box::new(e)))
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn key(pk: String, sk: String) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// Whether a cancelled transaction failed on a condition, and on which of its items.
fn cancelled_conditions(err: &SdkError<TransactWriteItemsError>) -> Option<Vec<bool>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a transaction was cancelled because another one touched the same items.
fn is_transaction_conflict(err: &SdkError<TransactWriteItemsError>) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("TransactionConflict")),
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
        _ => false,
    }
}

/// Maps a failed conditional write to `NotFound`, any other failure to an AWS error.
pub(crate) fn missing_on_condition<E>(operation: &'static str) -> impl Fn(SdkError<E>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| {
        if is_condition_failure(&e) {
            StoreError::NotFound
        } else {
            StoreError::aws(operation, e)
        }
    }
}

/// Whether a conditional write went through (`false`: its condition did not hold).
pub(crate) fn held<T, E>(result: Result<T, SdkError<E>>, operation: &'static str) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(StoreError::aws(operation, e)),
    }
}

pub(crate) fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// How a list query finds its items and turns a cursor into a start key.
struct Listing<'a> {
    table: &'a str,
    index: Option<&'static str>,
    pk: String,
    sk_prefix: Option<&'static str>,
    /// The attribute whose value is the item's position (the cursor's content).
    position_attr: &'static str,
    /// The start key for a decoded position, or none when it does not belong here.
    start_key: StartKeyFn<'a>,
}

impl DynamoStore {
    /// An adapter over the two tables.
    pub fn new(client: Client, table: impl Into<String>, records_table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            records_table: records_table.into(),
        }
    }

    /// The SDK client, for provisioning.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The main table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates an account and its API keys (stored hashed). Fails with `Conflict` when a
    /// key is already in use.
    pub async fn create_account(&self, account: &Account, api_keys: &[String]) -> Result<(), StoreError> {
        let item = Keyed {
            pk: keys::account_pk(&account.id),
            sk: keys::ACCOUNT_SK.to_string(),
            data: AccountItem {
                id: account.id.clone(),
                created_at: account.created_at.clone(),
                plan: account.plan,
                integration_count: 0,
                record_count: 0,
            },
        };
        let mut writes = vec![TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(&item)?))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(|e| StoreError::aws("TransactWriteItems", e))?,
            )
            .build()];
        for api_key in api_keys {
            writes.push(self.api_key_put(&account.id, &hash_api_key(api_key))?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| match cancelled_conditions(&e) {
                Some(_) => StoreError::Conflict("account or API key already exists"),
                None => StoreError::aws("TransactWriteItems", e),
            })?;
        Ok(())
    }

    /// The account an API key belongs to; creates the account (with `plan`) when the key
    /// is new. Used by the local stack so restarts keep a key's data.
    pub async fn ensure_account_for_key(
        &self,
        api_key: &str,
        plan: Plan,
        created_at: &str,
    ) -> Result<String, StoreError> {
        if let Some(id) = self.account_id_for_key(&hash_api_key(api_key)).await? {
            return Ok(id);
        }
        let account = Account {
            id: crate::domain::ids::new_id(IdKind::Account),
            plan,
            created_at: created_at.to_string(),
            records_used: 0,
        };
        self.create_account(&account, &[api_key.to_string()]).await?;
        Ok(account.id)
    }

    /// Adds an API key to an existing account (key rotation: add the new one, then revoke).
    pub async fn add_api_key(&self, account_id: &str, api_key: &str) -> Result<(), StoreError> {
        let write = self.api_key_put(account_id, &hash_api_key(api_key))?;
        self.client
            .transact_write_items()
            .transact_items(write)
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(
                        aws_sdk_dynamodb::types::ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(keys::account_pk(account_id), keys::ACCOUNT_SK.into())))
                            .condition_expression("attribute_exists(pk)")
                            .build()
                            .map_err(|e| StoreError::aws("TransactWriteItems", e))?,
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| match cancelled_conditions(&e) {
                Some(failed) if failed.get(1) == Some(&true) => StoreError::NotFound,
                Some(_) => StoreError::Conflict("API key already exists"),
                None => StoreError::aws("TransactWriteItems", e),
            })?;
        Ok(())
    }

    /// Revokes an API key; absent keys are fine.
    pub async fn revoke_api_key(&self, api_key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::api_key_pk(&hash_api_key(api_key)),
                keys::API_KEY_SK.into(),
            )))
            .send()
            .await
            .map_err(|e| StoreError::aws("DeleteItem", e))?;
        Ok(())
    }

    fn api_key_put(&self, account_id: &str, key_hash: &str) -> Result<TransactWriteItem, StoreError> {
        let item = Keyed {
            pk: keys::api_key_pk(key_hash),
            sk: keys::API_KEY_SK.to_string(),
            data: ApiKeyItem {
                account_id: account_id.to_string(),
            },
        };
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(&item)?))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(|e| StoreError::aws("TransactWriteItems", e))?,
            )
            .build())
    }

    async fn get(&self, table: &str, item_key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(item_key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        Ok(out.item)
    }

    /// Reads one page of `listing`, keeping the items `keep` accepts. The cursor points at
    /// the last item returned, or at the last item examined when the scan budget ran out.
    async fn list<T: DeserializeOwned>(
        &self,
        listing: Listing<'_>,
        query: &ListQuery,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let mut start = match &query.after {
            Some(position) => Some((listing.start_key)(position).ok_or(StoreError::BadCursor)?),
            None => None,
        };
        let take = query.take as usize;
        let filtered = !query.meta_filters.is_empty();
        let mut items: Vec<T> = Vec::with_capacity(take);
        let mut last_returned: Option<String> = None;
        let mut last_examined: Option<String> = None;
        let mut scanned = 0usize;
        let (hash_attr, range_attr) = match listing.index {
            Some(_) => (PK, CREATED),
            None => (PK, SK),
        };
        loop {
            let mut request = self
                .client
                .query()
                .table_name(listing.table)
                .set_index_name(listing.index.map(str::to_string))
                .scan_index_forward(query.order == Order::Asc)
                .limit(if filtered { 100 } else { (take + 1) as i32 })
                .set_exclusive_start_key(start.take())
                .expression_attribute_names("#h", hash_attr)
                .expression_attribute_values(":h", s(listing.pk.clone()));
            request = match listing.sk_prefix {
                Some(prefix) => request
                    .key_condition_expression("#h = :h AND begins_with(#r, :p)")
                    .expression_attribute_names("#r", range_attr)
                    .expression_attribute_values(":p", s(prefix)),
                None => request.key_condition_expression("#h = :h"),
            };
            let out = request.send().await.map_err(|e| StoreError::aws("Query", e))?;
            for raw in out.items.unwrap_or_default() {
                scanned += 1;
                let position = string_attr(&raw, listing.position_attr).map(str::to_string);
                let item: T = from_item(raw)?;
                if keep(&item) {
                    if items.len() == take {
                        return Ok(Page {
                            items,
                            next: last_returned,
                        });
                    }
                    items.push(item);
                    last_returned.clone_from(&position);
                }
                last_examined = position;
            }
            match out.last_evaluated_key {
                None => return Ok(Page { items, next: None }),
                Some(k) if scanned >= MAX_SCANNED_PER_PAGE => {
                    let _ = k;
                    return Ok(Page {
                        items,
                        next: last_examined,
                    });
                }
                Some(k) => start = Some(k),
            }
        }
    }

    fn account_listing(&self, account_id: &str, prefix: &'static str, kind: IdKind) -> Listing<'_> {
        let pk = keys::account_pk(account_id);
        let start_pk = pk.clone();
        Listing {
            table: &self.table,
            index: None,
            pk,
            sk_prefix: Some(prefix),
            position_attr: SK,
            start_key: Box::new(move |position| {
                keys::id_from_sk(position, prefix, kind).map(|_| key(start_pk.clone(), position.to_string()))
            }),
        }
    }

    /// Every item of partition `pk` in `table` (only `projection`'s attributes when given).
    pub(crate) async fn query_all(
        &self,
        table: &str,
        pk: String,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_projection_expression(projection.map(str::to_string))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    /// Runs a transaction, retrying it when it lost a race with another transaction on the
    /// same items (`TransactionConflict`), which DynamoDB reports as a cancellation.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), SdkError<TransactWriteItemsError>> {
        let mut attempt = 0u32;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match result {
                Err(e) if is_transaction_conflict(&e) && attempt < 8 => {
                    attempt += 1;
                    let cap = 10u64 << attempt.min(6);
                    let wait = rand::RngExt::random_range(&mut rand::rng(), cap / 2..=cap);
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                }
                other => return other.map(|_| ()),
            }
        }
    }

    /// Deletes keys in batches of 25, retrying what DynamoDB leaves unprocessed.
    pub(crate) async fn batch_delete(&self, table: &str, item_keys: Vec<Item>) -> Result<(), StoreError> {
        let requests = item_keys
            .into_iter()
            .map(|k| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(k))
                    .build()
                    .map_err(|e| StoreError::aws("BatchWriteItem", e))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(table, requests).await
    }

    /// Writes requests in batches of 25, a few batches at once, retrying what DynamoDB
    /// leaves unprocessed.
    pub(crate) async fn batch_write(&self, table: &str, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        use futures::stream::{FuturesUnordered, TryStreamExt};
        let chunks: Vec<Vec<WriteRequest>> = requests.chunks(25).map(<[WriteRequest]>::to_vec).collect();
        let mut chunks = chunks.into_iter();
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < BATCH_WRITES_AT_ONCE {
                let Some(chunk) = chunks.next() else { break };
                in_flight.push(self.batch_write_chunk(table, chunk));
            }
            if in_flight.try_next().await?.is_none() {
                return Ok(());
            }
        }
    }

    async fn batch_write_chunk(&self, table: &str, mut pending: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| StoreError::aws("BatchWriteItem", e))?;
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(table))
                .unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError::aws(
                        "BatchWriteItem",
                        "items stayed unprocessed after 8 retries",
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5))).await;
            }
        }
        Ok(())
    }
}

/// Batches of `BatchWriteItem` in flight at once: enough to hide latency, few enough that
/// a throttled table sees its unprocessed items retried rather than a flood.
const BATCH_WRITES_AT_ONCE: usize = 4;

#[async_trait]
impl AccountStore for DynamoStore {
    async fn account_id_for_key(&self, key_hash: &str) -> Result<Option<String>, StoreError> {
        let item = self
            .get(&self.table, key(keys::api_key_pk(key_hash), keys::API_KEY_SK.into()))
            .await?;
        Ok(match item {
            Some(item) => Some(from_item::<ApiKeyItem>(item)?.account_id),
            None => None,
        })
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        let item = self
            .get(&self.table, key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()))
            .await?;
        Ok(match item {
            Some(item) => {
                let a: AccountItem = from_item(item)?;
                Some(Account {
                    id: a.id,
                    plan: a.plan,
                    created_at: a.created_at,
                    records_used: a.record_count,
                })
            }
            None => None,
        })
    }
}

#[async_trait]
impl IntegrationStore for DynamoStore {
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let item = Keyed {
            pk: keys::account_pk(&integration.account_id),
            sk: keys::integration_sk(&integration.id),
            data: integration,
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::account_pk(&integration.account_id),
                keys::ACCOUNT_SK.into(),
            )))
            .update_expression("SET integrationCount = integrationCount + :one")
            .condition_expression("attribute_exists(pk) AND integrationCount < maxIntegrations")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        self.transact(vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(count).build(),
        ])
        .await
        .map_err(|e| match cancelled_conditions(&e) {
            Some(failed) if failed.get(1) == Some(&true) => StoreError::LimitExceeded("integrations"),
            Some(_) => StoreError::Conflict("integration id already exists"),
            None => StoreError::aws("TransactWriteItems", e),
        })?;
        Ok(())
    }

    async fn get_integration(&self, account_id: &str, id: &str) -> Result<Option<Integration>, StoreError> {
        let item = self
            .get(&self.table, key(keys::account_pk(account_id), keys::integration_sk(id)))
            .await?;
        item.map(|i| from_item::<Keyed<Integration>>(i).map(|k| k.data))
            .transpose()
    }

    async fn list_integrations(&self, account_id: &str, query: &ListQuery) -> Result<Page<Integration>, StoreError> {
        let listing = self.account_listing(account_id, keys::INTEGRATION_PREFIX, IdKind::Integration);
        let page = self
            .list::<Keyed<Integration>>(listing, query, |i| query.matches_meta(&i.data.meta))
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|k| k.data).collect(),
            next: page.next,
        })
    }

    async fn update_integration(
        &self,
        account_id: &str,
        id: &str,
        patch: &IntegrationPatch,
        has_token: Option<bool>,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        let mut expr = UpdateExpression::default();
        expr.set("updatedAt", s(updated_at));
        let text = |expr: &mut UpdateExpression, name: &'static str, p: &Patch<String>| match p {
            Patch::Absent => {}
            Patch::Clear => expr.set(name, s("")),
            Patch::Set(v) => expr.set(name, s(v.clone())),
        };
        text(&mut expr, "name", &patch.name);
        text(&mut expr, "description", &patch.description);
        let optional = |expr: &mut UpdateExpression, name: &'static str, p: Patch<AttributeValue>| match p {
            Patch::Absent => {}
            Patch::Clear => expr.remove(name),
            Patch::Set(v) => expr.set(name, v),
        };
        optional(&mut expr, "datasetId", patch.dataset_id.clone().map(s));
        optional(&mut expr, "blueprintId", patch.blueprint_id.clone().map(s));
        optional(
            &mut expr,
            "syncSchedule",
            patch.sync_schedule.clone().map(|v| s(v.as_text())),
        );
        optional(
            &mut expr,
            "expiresIn",
            patch.expires_in.clone().map(|v| AttributeValue::N(v.to_string())),
        );
        match &patch.meta {
            Patch::Absent => {}
            Patch::Clear => expr.set("meta", s(meta_text::to_text(&serde_json::Map::new()))),
            Patch::Set(m) => expr.set("meta", s(meta_text::to_text(m))),
        }
        if let Some(has) = has_token {
            expr.set("hasToken", AttributeValue::Bool(has));
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::account_pk(account_id), keys::integration_sk(id))))
            .update_expression(expr.text())
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .return_values(ReturnValue::None)
            .send()
            .await
            .map_err(missing_on_condition("UpdateItem"))?;
        Ok(())
    }

    async fn delete_integration(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::account_pk(account_id), keys::integration_sk(id))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::account_pk(account_id), keys::ACCOUNT_SK.into())))
            .update_expression("SET integrationCount = integrationCount - :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        self.transact(vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(count).build(),
        ])
        .await
        .map_err(|e| match cancelled_conditions(&e) {
            Some(_) => StoreError::NotFound,
            None => StoreError::aws("TransactWriteItems", e),
        })?;
        Ok(())
    }
}

#[async_trait]
impl DatasetStore for DynamoStore {
    async fn create_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        let item = Keyed {
            pk: keys::account_pk(&dataset.account_id),
            sk: keys::dataset_sk(&dataset.id),
            data: dataset,
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| {
                if is_condition_failure(&e) {
                    StoreError::Conflict("dataset id already exists")
                } else {
                    StoreError::aws("PutItem", e)
                }
            })?;
        Ok(())
    }

    async fn get_dataset(&self, account_id: &str, id: &str) -> Result<Option<Dataset>, StoreError> {
        let item = self
            .get(&self.table, key(keys::account_pk(account_id), keys::dataset_sk(id)))
            .await?;
        item.map(|i| from_item::<Keyed<Dataset>>(i).map(|k| k.data)).transpose()
    }

    async fn list_datasets(&self, account_id: &str, query: &ListQuery) -> Result<Page<Dataset>, StoreError> {
        let listing = self.account_listing(account_id, keys::DATASET_PREFIX, IdKind::Dataset);
        let page = self
            .list::<Keyed<Dataset>>(listing, query, |d| query.matches_meta(&d.data.meta))
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|k| k.data).collect(),
            next: page.next,
        })
    }

    async fn delete_dataset(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        // The count read here must still hold when the delete commits, or a record written
        // in between would be released from the account's count twice or not at all.
        for _ in 0..5 {
            let Some(dataset) = self.get_dataset(account_id, id).await? else {
                return Err(StoreError::NotFound);
            };
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::account_pk(account_id), keys::dataset_sk(id))))
                .condition_expression("recordCount = :n")
                .expression_attribute_values(":n", AttributeValue::N(dataset.record_count.to_string()))
                .build()
                .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
            let release = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::account_pk(account_id), keys::ACCOUNT_SK.into())))
                .update_expression("SET recordCount = recordCount - :n")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":n", AttributeValue::N(dataset.record_count.to_string()))
                .build()
                .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
            let result = self
                .transact(vec![
                    TransactWriteItem::builder().delete(delete).build(),
                    TransactWriteItem::builder().update(release).build(),
                ])
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) if cancelled_conditions(&e).is_some() => continue,
                Err(e) => return Err(StoreError::aws("TransactWriteItems", e)),
            }
        }
        Err(StoreError::Conflict("records are being written to the dataset"))
    }
}

#[async_trait]
impl RecordStore for DynamoStore {
    async fn list_records(&self, dataset_id: &str, query: &ListQuery, now: i64) -> Result<Page<Record>, StoreError> {
        let pk = keys::records_pk(dataset_id);
        let start_pk = pk.clone();
        let listing = Listing {
            table: &self.records_table,
            index: Some(keys::BY_CREATED_INDEX),
            pk,
            sk_prefix: None,
            position_attr: CREATED,
            start_key: Box::new(move |position| {
                keys::record_id_from_created(position).map(|id| {
                    let mut k = key(start_pk.clone(), keys::record_sk(id));
                    k.insert(CREATED.to_string(), s(position));
                    k
                })
            }),
        };
        let page = self
            .list::<RecordItem>(listing, query, |r| {
                !r.data.is_expired(now) && query.matches_meta(&r.data.meta)
            })
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|r| r.data).collect(),
            next: page.next,
        })
    }

    async fn get_record(&self, dataset_id: &str, record_id: &str, now: i64) -> Result<Option<Record>, StoreError> {
        let item = self
            .get(
                &self.records_table,
                key(keys::records_pk(dataset_id), keys::record_sk(record_id)),
            )
            .await?;
        let record = item.map(|i| from_item::<RecordItem>(i).map(|r| r.data)).transpose()?;
        Ok(record.filter(|r| !r.is_expired(now)))
    }

    async fn put_record(&self, account_id: &str, record: &Record) -> Result<bool, StoreError> {
        let put = self.new_record_put(record)?;
        let count = |table: &str, k: Item, condition: &str| {
            Update::builder()
                .table_name(table)
                .set_key(Some(k))
                .update_expression("SET recordCount = recordCount + :one")
                .condition_expression(condition)
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .build()
                .map_err(|e| StoreError::aws("TransactWriteItems", e))
        };
        let dataset_count = count(
            &self.table,
            key(keys::account_pk(account_id), keys::dataset_sk(&record.dataset_id)),
            "attribute_exists(pk)",
        )?;
        // The account's plan caps the records it holds across its datasets.
        let account_count = count(
            &self.table,
            key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()),
            "attribute_exists(pk) AND recordCount < maxRecords",
        )?;
        let created = self
            .transact(vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().update(dataset_count).build(),
                TransactWriteItem::builder().update(account_count).build(),
            ])
            .await;
        match created {
            Ok(_) => return Ok(true),
            Err(e) => match cancelled_conditions(&e) {
                Some(failed) if failed.first() == Some(&true) => {}
                Some(failed) if failed.get(2) == Some(&true) && failed.get(1) != Some(&true) => {
                    return Err(StoreError::LimitExceeded("records"))
                }
                Some(_) => return Err(StoreError::NotFound),
                None => return Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
        // The record exists: replace its content, keep its creation time.
        self.replace_record(record).await.map_err(|e| match e {
            ReplaceError::Missing => StoreError::Conflict("record was deleted while being updated"),
            ReplaceError::Store(e) => e,
        })?;
        Ok(false)
    }

    async fn put_new_records(&self, account_id: &str, records: &[Record]) -> Result<(), (usize, StoreError)> {
        let mut done = 0;
        for group in transaction_groups(records) {
            match self.put_group(account_id, group).await {
                Ok(true) => {}
                Ok(false) => {
                    // Cancelled (a record existed, or the plan's room is short): write one by
                    // one, which updates existing records and stops exactly at the limit.
                    for (i, record) in group.iter().enumerate() {
                        self.put_record(account_id, record).await.map_err(|e| (done + i, e))?;
                    }
                }
                Err(e) => return Err((done, e)),
            }
            done += group.len();
        }
        Ok(())
    }

    async fn update_existing_record(&self, account_id: &str, record: &Record) -> Result<(), StoreError> {
        match self.replace_record(record).await {
            Ok(()) => Ok(()),
            Err(ReplaceError::Missing) => self.put_record(account_id, record).await.map(|_| ()),
            Err(ReplaceError::Store(e)) => Err(e),
        }
    }

    async fn delete_record(&self, account_id: &str, dataset_id: &str, record_id: &str) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.records_table)
            .set_key(Some(key(keys::records_pk(dataset_id), keys::record_sk(record_id))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        let release = |k: Item| {
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(k))
                .update_expression("SET recordCount = recordCount - :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .build()
                .map_err(|e| StoreError::aws("TransactWriteItems", e))
        };
        let dataset = release(key(keys::account_pk(account_id), keys::dataset_sk(dataset_id)))?;
        let account = release(key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()))?;
        let result = self
            .transact(vec![
                TransactWriteItem::builder().delete(delete).build(),
                TransactWriteItem::builder().update(dataset).build(),
                TransactWriteItem::builder().update(account).build(),
            ])
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already gone, or its dataset was deleted (and its records released with it).
            Err(e) if cancelled_conditions(&e).is_some() => Ok(()),
            Err(e) => Err(StoreError::aws("TransactWriteItems", e)),
        }
    }

    async fn purge_records(&self, dataset_id: &str) -> Result<u64, StoreError> {
        let keys = self
            .query_all(&self.records_table, keys::records_pk(dataset_id), Some("pk, sk"))
            .await?;
        let purged = keys.len() as u64;
        self.batch_delete(&self.records_table, keys).await?;
        Ok(purged)
    }
}

/// Builds `SET a = :a, ... REMOVE b, ...` with placeholder names, so any attribute name
/// (even a reserved word like `name`) is safe.
#[derive(Default)]
struct UpdateExpression {
    sets: Vec<String>,
    removes: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// Why replacing a record failed.
enum ReplaceError {
    /// It does not exist.
    Missing,
    /// Anything else.
    Store(StoreError),
}

/// Largest records per transaction: DynamoDB takes 100 items, two are the counters.
const MAX_GROUP_RECORDS: usize = 98;
/// Largest transaction payload kept (DynamoDB refuses over 4 MB).
const MAX_GROUP_BYTES: usize = 3_000_000;

/// Splits records into transaction-sized groups, in order.
fn transaction_groups(records: &[Record]) -> Vec<&[Record]> {
    let mut groups = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, record) in records.iter().enumerate() {
        let size = record.text.len() + record.source.len() + 1_024;
        if i > start && (i - start == MAX_GROUP_RECORDS || bytes + size > MAX_GROUP_BYTES) {
            groups.push(&records[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < records.len() {
        groups.push(&records[start..]);
    }
    groups
}

impl DynamoStore {
    /// The transaction item writing `record` only if it does not exist yet.
    fn new_record_put(&self, record: &Record) -> Result<Put, StoreError> {
        let item = RecordItem {
            pk: keys::records_pk(&record.dataset_id),
            sk: keys::record_sk(&record.id),
            created: keys::record_created(&record.created_at, &record.id),
            data: record.clone(),
        };
        Put::builder()
            .table_name(&self.records_table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))
    }

    /// Replaces an existing record's content, keeping its creation time.
    async fn replace_record(&self, record: &Record) -> Result<(), ReplaceError> {
        let mut expr = UpdateExpression::default();
        expr.set("text", s(record.text.clone()));
        expr.set("source", s(record.source.clone()));
        expr.set("meta", s(meta_text::to_text(&record.meta)));
        expr.set("updatedAt", s(record.updated_at.clone()));
        match record.expires_at {
            Some(t) => expr.set(keys::TTL_ATTRIBUTE, AttributeValue::N(t.to_string())),
            None => expr.remove(keys::TTL_ATTRIBUTE),
        }
        self.client
            .update_item()
            .table_name(&self.records_table)
            .set_key(Some(key(
                keys::records_pk(&record.dataset_id),
                keys::record_sk(&record.id),
            )))
            .update_expression(expr.text())
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .send()
            .await
            .map_err(|e| {
                if is_condition_failure(&e) {
                    ReplaceError::Missing
                } else {
                    ReplaceError::Store(StoreError::aws("UpdateItem", e))
                }
            })?;
        Ok(())
    }

    /// Writes new records of one dataset in one transaction with one update of each
    /// counter. `Ok(false)` when cancelled (a record exists, the dataset is gone, or the
    /// plan has no room for all of them): nothing was written.
    async fn put_group(&self, account_id: &str, records: &[Record]) -> Result<bool, StoreError> {
        let Some(first) = records.first() else {
            return Ok(true);
        };
        let n = records.len() as u64;
        // Room for all of them, read first: a condition cannot add to an attribute.
        let account = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::account_pk(account_id), keys::ACCOUNT_SK.into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?
            .item
            .map(from_item::<AccountItem>)
            .transpose()?;
        let Some(account) = account else {
            return Ok(false);
        };
        let Some(room_until) = account.plan.max_records.checked_sub(n) else {
            return Ok(false);
        };
        let mut items = Vec::with_capacity(records.len() + 2);
        for record in records {
            items.push(TransactWriteItem::builder().put(self.new_record_put(record)?).build());
        }
        let count = |k: Item, condition: &str, extra: Option<(&str, u64)>| {
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(k))
                .update_expression("SET recordCount = recordCount + :n")
                .condition_expression(condition)
                .expression_attribute_values(":n", AttributeValue::N(n.to_string()));
            if let Some((name, value)) = extra {
                update = update.expression_attribute_values(name, AttributeValue::N(value.to_string()));
            }
            update.build().map_err(|e| StoreError::aws("TransactWriteItems", e))
        };
        let dataset = count(
            key(keys::account_pk(account_id), keys::dataset_sk(&first.dataset_id)),
            "attribute_exists(pk)",
            None,
        )?;
        let account = count(
            key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()),
            "attribute_exists(pk) AND recordCount <= :room",
            Some((":room", room_until)),
        )?;
        items.push(TransactWriteItem::builder().update(dataset).build());
        items.push(TransactWriteItem::builder().update(account).build());
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if cancelled_conditions(&e).is_some() => Ok(false),
            Err(e) => Err(StoreError::aws("TransactWriteItems", e)),
        }
    }
}

impl UpdateExpression {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#a{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_string());
        placeholder
    }

    fn set(&mut self, attribute: &str, value: AttributeValue) {
        let name = self.name(attribute);
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        self.sets.push(format!("{name} = {placeholder}"));
    }

    fn remove(&mut self, attribute: &str) {
        let name = self.name(attribute);
        self.removes.push(name);
    }

    fn text(&self) -> String {
        let mut text = format!("SET {}", self.sets.join(", "));
        if !self.removes.is_empty() {
            text.push_str(&format!(" REMOVE {}", self.removes.join(", ")));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_expression_uses_placeholders() {
        let mut e = UpdateExpression::default();
        e.set("name", s("x"));
        e.remove("datasetId");
        assert_eq!(e.text(), "SET #a0 = :v0 REMOVE #a1");
        assert_eq!(e.names["#a0"], "name");
        assert_eq!(e.names["#a1"], "datasetId");
    }

    fn record(text_bytes: usize) -> Record {
        Record {
            id: "r".into(),
            dataset_id: "d".into(),
            text: "x".repeat(text_bytes),
            source: String::new(),
            meta: Default::default(),
            created_at: String::new(),
            updated_at: String::new(),
            expires_at: None,
        }
    }

    #[test]
    fn transaction_groups_respect_item_and_size_limits_and_keep_order() {
        let small: Vec<Record> = (0..250).map(|_| record(10)).collect();
        let sizes: Vec<usize> = transaction_groups(&small).iter().map(|g| g.len()).collect();
        assert_eq!(sizes, vec![98, 98, 54]);
        let big: Vec<Record> = (0..40).map(|_| record(100_000)).collect();
        let groups = transaction_groups(&big);
        assert!(
            groups.iter().all(|g| g.len() * 101_024 <= MAX_GROUP_BYTES),
            "{}",
            groups.len()
        );
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), 40);
        assert!(transaction_groups(&[]).is_empty());
        let one = [record(5_000_000)];
        assert_eq!(
            transaction_groups(&one).len(),
            1,
            "an oversized record still goes alone"
        );
    }
}
