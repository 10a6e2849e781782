//! `/dataset/{id}/record/...`: list, fetch, and the records a user manages (SPEC §2.4):
//! create, update, delete. A record created here has an id of its own (`record_` + ULID),
//! which no sync ever writes or deletes: syncs address only the ids they derive from
//! (integration, page). A synced record may be updated or deleted here too; its page's next
//! change rewrites it.

use super::dataset::dataset_id;
use super::{not_served, Answers, Call, Handler};
use crate::domain::fields::ObjectReader;
use crate::domain::ids::{self, IdKind};
use crate::domain::record::{Record, RecordPatch};
use crate::domain::time::rfc3339;
use crate::domain::time::Clock;
use crate::error::{ApiError, ConfigError, StoreError};
use crate::http::request::{json_object, list_query};
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{DatasetStore, Provide, RecordStore};
use lambda_http::{Body, Response};
use std::sync::Arc;

/// What the record routes use.
pub struct Records {
    /// Records.
    pub records: Arc<dyn RecordStore>,
    /// Datasets, to check the one in the path is the caller's.
    pub datasets: Arc<dyn DatasetStore>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// How answers present resources.
    pub answers: Answers,
}

#[async_trait::async_trait]
impl Handler for Records {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            records: p.records(),
            datasets: p.datasets(),
            clock: p.clock(),
            answers: Answers::of(p),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::RecordList => list(self, call).await,
            Route::RecordFetch => fetch(self, call).await,
            Route::RecordCreate => create(self, call).await,
            Route::RecordUpdate => update(self, call).await,
            Route::RecordDelete => delete(self, call).await,
            other => not_served(other),
        }
    }
}

const RESOURCE: &str = "record";

/// The dataset in the path, after checking it belongs to the caller.
async fn owned_dataset(deps: &Records, call: &Call<'_>) -> Result<String, ApiError> {
    let id = dataset_id(call)?;
    deps.datasets
        .get_dataset(&call.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound("dataset"))?;
    Ok(id)
}

/// `GET /dataset/{id}/record/list`
pub async fn list(deps: &Records, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let query = list_query(call.req)?;
    let dataset = owned_dataset(deps, call).await?;
    let now = deps.clock.now().timestamp();
    deps.answers
        .list(call, &query, Record::to_resource, || {
            deps.records.list_records(&dataset, &query, now)
        })
        .await
}

/// The record id in the path, or 404 when it is not even well-formed.
fn record_id(call: &Call<'_>) -> Result<String, ApiError> {
    let id = call.param("recordId", RESOURCE)?;
    if ids::is_valid_record_id(&id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound(RESOURCE))
    }
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound(RESOURCE),
        other => other.into(),
    }
}

/// `POST /dataset/{id}/record/create`: counted against the account's plan (403
/// `LIMIT_EXCEEDED` when it has no record left).
pub async fn create(deps: &Records, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(deps, call).await?;
    let patch = RecordPatch::from_body(json_object(call.req)?, true)?;
    let now = rfc3339(deps.clock.now());
    let record = patch.into_record(ids::new_id(IdKind::Record), &dataset, &now);
    match deps.records.put_record(&call.account_id, &record).await {
        Ok(_) => Ok(response::id(&record.id)),
        // The dataset was deleted since we read it.
        Err(StoreError::NotFound) => Err(ApiError::NotFound("dataset")),
        Err(StoreError::LimitExceeded(_)) => Err(ApiError::LimitExceeded(
            "Your plan's record limit is reached: delete records or datasets first.".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /dataset/{id}/record/{recordId}/update`: the fields sent, nothing else.
pub async fn update(deps: &Records, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(deps, call).await?;
    let id = record_id(call)?;
    let patch = RecordPatch::from_body(json_object(call.req)?, false)?;
    let now = deps.clock.now();
    deps.records
        .update_record(&dataset, &id, &patch, &rfc3339(now), now.timestamp())
        .await
        .map_err(not_found)?;
    Ok(response::id(&id))
}

/// `POST /dataset/{id}/record/{recordId}/delete`: releases the record from the plan.
pub async fn delete(deps: &Records, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(deps, call).await?;
    let id = record_id(call)?;
    ObjectReader::new(json_object(call.req)?, &[])?.finish()?;
    let now = deps.clock.now().timestamp();
    if deps.records.get_record(&dataset, &id, now).await?.is_none() {
        return Err(ApiError::NotFound(RESOURCE));
    }
    deps.records.delete_record(&call.account_id, &dataset, &id).await?;
    Ok(response::id(&id))
}

/// `GET /dataset/{id}/record/{recordId}/fetch`
pub async fn fetch(deps: &Records, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(deps, call).await?;
    let record_id = record_id(call)?;
    let now = deps.clock.now().timestamp();
    let record = deps
        .records
        .get_record(&dataset, &record_id, now)
        .await?
        .ok_or(ApiError::NotFound(RESOURCE))?;
    Ok(deps.answers.resource(record.to_resource()))
}
