//! `/dataset/...`: create, list, fetch, update, delete.

use super::{not_served, Answers, Call, Handler};
use crate::domain::dataset::{Dataset, DatasetPatch, NewDataset};
use crate::domain::event::{quoted, EventType};
use crate::domain::fields::ObjectReader;
use crate::domain::ids::{self, IdKind};
use crate::domain::sync::PurgeMessage;
use crate::domain::time::rfc3339;
use crate::domain::time::Clock;
use crate::error::{ApiError, ConfigError, StoreError};
use crate::http::request::{json_object, list_query};
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{DatasetStore, EventWriter, Provide, SyncQueue};
use lambda_http::{Body, Response};
use serde_json::json;
use std::sync::Arc;

/// What the dataset routes but delete use.
pub struct Datasets {
    /// Datasets.
    pub datasets: Arc<dyn DatasetStore>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// How answers present resources.
    pub answers: Answers,
}

#[async_trait::async_trait]
impl Handler for Datasets {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            datasets: p.datasets(),
            clock: p.clock(),
            answers: Answers::of(p),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::DatasetCreate => create(self, call).await,
            Route::DatasetList => list(self, call).await,
            Route::DatasetFetch => fetch(self, call).await,
            Route::DatasetUpdate => update(self, call).await,
            other => not_served(other),
        }
    }
}

/// What dataset delete uses: the purge of its records is queued.
pub struct DatasetDelete {
    /// Datasets.
    pub datasets: Arc<dyn DatasetStore>,
    /// The queue the purge job goes to.
    pub queue: Arc<dyn SyncQueue>,
    /// The event log.
    pub events: EventWriter,
}

#[async_trait::async_trait]
impl Handler for DatasetDelete {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            datasets: p.datasets(),
            queue: p.queue()?,
            events: p.events(),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::DatasetDelete => delete(self, call).await,
            other => not_served(other),
        }
    }
}

const RESOURCE: &str = "dataset";

/// The dataset id in the path, or 404 when it is not even well-formed.
pub(crate) fn dataset_id(call: &Call<'_>) -> Result<String, ApiError> {
    let id = call.param("id", RESOURCE)?;
    if ids::is_valid(IdKind::Dataset, &id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound(RESOURCE))
    }
}

/// `POST /dataset/create`
pub async fn create(deps: &Datasets, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let input = NewDataset::from_body(json_object(call.req)?)?;
    let now = rfc3339(deps.clock.now());
    let dataset = Dataset {
        id: ids::new_id(IdKind::Dataset),
        account_id: call.account_id.clone(),
        name: input.name,
        description: input.description,
        meta: input.meta,
        record_count: 0,
        created_at: now.clone(),
        updated_at: now,
    };
    deps.datasets.create_dataset(&dataset).await?;
    tracing::info!(dataset = %dataset.id, "dataset created");
    Ok(response::id(&dataset.id))
}

/// `GET /dataset/list`
pub async fn list(deps: &Datasets, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let query = list_query(call.req)?;
    deps.answers
        .list(call, &query, Dataset::to_resource, || {
            deps.datasets.list_datasets(&call.account_id, &query)
        })
        .await
}

/// `GET /dataset/{id}/fetch`
pub async fn fetch(deps: &Datasets, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = dataset_id(call)?;
    let dataset = deps
        .datasets
        .get_dataset(&call.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound(RESOURCE))?;
    Ok(deps.answers.resource(dataset.to_resource()))
}

/// `POST /dataset/{id}/update`: the fields sent, nothing else.
pub async fn update(deps: &Datasets, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = dataset_id(call)?;
    let patch = DatasetPatch::from_body(json_object(call.req)?)?;
    let now = rfc3339(deps.clock.now());
    deps.datasets
        .update_dataset(&call.account_id, &id, &patch, &now)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound(RESOURCE),
            other => other.into(),
        })?;
    Ok(response::id(&id))
}

/// `POST /dataset/{id}/delete`: answers at once. The dataset item goes first, in one
/// transaction that releases its records from the plan and leaves a purge marker, so its
/// records are unreachable from that moment; a queued job then purges them in the
/// background ([`crate::crawler::purge`]). While the marker is there, deleting again
/// re-queues the job and answers the same, so a client retrying after a failed answer
/// never strands records.
pub async fn delete(deps: &DatasetDelete, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = dataset_id(call)?;
    ObjectReader::new(json_object(call.req)?, &[])?.finish()?;
    let Some(dataset) = deps.datasets.get_dataset(&call.account_id, &id).await? else {
        if deps.datasets.purge_pending(&call.account_id, &id).await? {
            queue_purge(deps, &call.account_id, &id).await?;
            return Ok(response::id(&id));
        }
        return Err(ApiError::NotFound(RESOURCE));
    };
    let records = match deps.datasets.delete_dataset(&call.account_id, &id).await {
        Ok(n) => n,
        Err(StoreError::NotFound) => return Err(ApiError::NotFound(RESOURCE)),
        Err(other) => return Err(other.into()),
    };
    queue_purge(deps, &call.account_id, &id).await?;
    tracing::info!(dataset = %id, records, "dataset deleted; purge queued");
    let event = deps
        .events
        .event(
            &call.account_id,
            EventType::DatasetDeleted,
            format!(
                "Dataset {} was deleted; its {records} records are being purged.",
                quoted(&dataset.name)
            ),
            json!({"records": records}),
        )
        .for_dataset(Some(&id));
    deps.events.record(event).await;
    Ok(response::id(&id))
}

async fn queue_purge(deps: &DatasetDelete, account_id: &str, id: &str) -> Result<(), StoreError> {
    deps.queue
        .send_purge(&PurgeMessage {
            account_id: account_id.to_string(),
            purge_dataset_id: id.to_string(),
        })
        .await
}
