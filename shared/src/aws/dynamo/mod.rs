//! The DynamoDB adapter: accounts, API keys, integrations and datasets in the main table,
//! records in the records table. Every state change is a conditional write; a failed
//! condition is a typed conflict, never a 500.
//!
//! One module per resource: [`accounts`] (and API keys), [`integrations`], [`datasets`],
//! [`records`], [`events`], [`webhooks`], [`oauth`], and [`sync_state`] (cooldown, pending
//! flag, checkpoints and their lease, the page index); this one holds the store, item
//! mapping, listing, conditional updates, transactions (with [`counter_update`] for every
//! counter and [`Cancelled`] to read which item's condition failed) and batch writes.

mod accounts;
mod datasets;
mod events;
mod integrations;
mod oauth;
mod records;
mod sync_state;
mod webhooks;

use super::keys::{self, CREATED, PK, SK};
use crate::domain::account::{hash_api_key, Account, Plan};
use crate::domain::dataset::{Dataset, DatasetPatch};
use crate::domain::fields::meta_text;
use crate::domain::fields::Patch;
use crate::domain::ids::IdKind;
use crate::domain::integration::{Integration, IntegrationPatch};
use crate::domain::paging::{ListQuery, Order};
use crate::domain::record::{Record, RecordPatch};
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

/// Which items of a cancelled transaction failed their condition, by position.
#[derive(Debug)]
pub(super) struct Cancelled(Vec<bool>);

impl Cancelled {
    /// Whether the item at `position` (a named position of its transaction) failed.
    pub(super) fn at(&self, position: usize) -> bool {
        self.0.get(position) == Some(&true)
    }
}

/// Whether a cancelled transaction failed on a condition, and on which of its items.
fn cancelled_conditions(err: &SdkError<TransactWriteItemsError>) -> Option<Cancelled> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => Some(Cancelled(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        )),
        _ => None,
    }
}

/// A failure to build or run a transaction.
pub(super) fn tx_error(e: impl Into<crate::error::BoxError>) -> StoreError {
    StoreError::aws("TransactWriteItems", e)
}

/// A transaction put of `item` into `table` that fails if the item already exists.
pub(super) fn insert_put(table: &str, item: impl Serialize) -> Result<Put, StoreError> {
    Put::builder()
        .table_name(table)
        .set_item(Some(to_item(item)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(tx_error)
}

/// A transaction item adding `delta` (negative to release) to the `counter` attribute of
/// the item at `item_key`, under `condition`, whose other placeholders are `values`.
pub(super) fn counter_update(
    table: &str,
    item_key: Item,
    counter: &str,
    delta: i64,
    condition: &str,
    values: &[(&str, u64)],
) -> Result<TransactWriteItem, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(item_key))
        .update_expression(format!("SET {counter} = {counter} + :delta"))
        .condition_expression(condition)
        .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()));
    for (name, value) in values {
        update = update.expression_attribute_values(*name, AttributeValue::N(value.to_string()));
    }
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(tx_error)?)
        .build())
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
        let filtered = query.is_filtered();
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

    /// Applies `expr` to the item at `item_key` under `condition`; `NotFound` when the
    /// condition fails.
    async fn update(
        &self,
        table: &str,
        item_key: Item,
        expr: UpdateExpression,
        condition: &str,
    ) -> Result<(), StoreError> {
        self.update_with(table, item_key, expr, condition, &[]).await
    }

    /// [`Self::update`] with extra condition placeholder values.
    async fn update_with(
        &self,
        table: &str,
        item_key: Item,
        mut expr: UpdateExpression,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<(), StoreError> {
        for (name, value) in values {
            expr.values.insert((*name).to_string(), value.clone());
        }
        self.client
            .update_item()
            .table_name(table)
            .set_key(Some(item_key))
            .update_expression(expr.text())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .return_values(ReturnValue::None)
            .send()
            .await
            .map_err(missing_on_condition("UpdateItem"))?;
        Ok(())
    }

    /// One conditional UpdateItem on the main table's item at `item_key`, in DynamoDB's own
    /// expression syntax with its placeholder values and names; whether `condition` held.
    pub(crate) async fn update_if(
        &self,
        item_key: Item,
        update: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
        names: &[(&str, &str)],
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .update_expression(update)
            .condition_expression(condition);
        for (placeholder, value) in values {
            request = request.expression_attribute_values(*placeholder, value.clone());
        }
        for (placeholder, name) in names {
            request = request.expression_attribute_names(*placeholder, *name);
        }
        held(request.send().await, "UpdateItem")
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

/// Builds `SET a = :a, ... REMOVE b, ...` with placeholder names, so any attribute name
/// (even a reserved word like `name`) is safe.
#[derive(Default)]
struct UpdateExpression {
    sets: Vec<String>,
    removes: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
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

    /// A text field of a patch: absent keeps it, cleared stores `""`.
    fn set_text(&mut self, attribute: &str, patch: &Patch<String>) {
        match patch {
            Patch::Absent => {}
            Patch::Clear => self.set(attribute, s("")),
            Patch::Set(v) => self.set(attribute, s(v.clone())),
        }
    }

    /// A `meta` patch (stored as JSON text): cleared stores `{}`.
    fn set_meta(&mut self, patch: &Patch<serde_json::Map<String, serde_json::Value>>) {
        match patch {
            Patch::Absent => {}
            Patch::Clear => self.set("meta", s(meta_text::to_text(&serde_json::Map::new()))),
            Patch::Set(m) => self.set("meta", s(meta_text::to_text(m))),
        }
    }

    fn text(&self) -> String {
        let mut text = format!("SET {}", self.sets.join(", "));
        if !self.removes.is_empty() {
            text.push_str(&format!(" REMOVE {}", self.removes.join(", ")));
        }
        text
    }
}
