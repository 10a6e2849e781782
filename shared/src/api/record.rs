//! `/dataset/{id}/record/...`: list, fetch, and the records a user manages (SPEC §2.4):
//! create, update, delete. A record created here has an id of its own (`record_` + ULID),
//! which no sync ever writes or deletes: syncs address only the ids they derive from
//! (integration, page). A synced record may be updated or deleted here too; its page's next
//! change rewrites it.

use super::dataset::dataset_id;
use super::{App, Call};
use crate::domain::fields::ObjectReader;
use crate::domain::ids::{self, IdKind};
use crate::domain::record::{Record, RecordPatch};
use crate::domain::time::rfc3339;
use crate::error::{ApiError, StoreError};
use crate::http::request::{json_object, list_query};
use crate::http::response;
use lambda_http::{Body, Response};

const RESOURCE: &str = "record";

/// The dataset in the path, after checking it belongs to the caller.
async fn owned_dataset(app: &App, call: &Call<'_>) -> Result<String, ApiError> {
    let id = dataset_id(call)?;
    app.datasets
        .get_dataset(&call.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound("dataset"))?;
    Ok(id)
}

/// `GET /dataset/{id}/record/list`
pub async fn list(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let query = list_query(call.req)?;
    let dataset = owned_dataset(app, call).await?;
    let now = app.clock.now().timestamp();
    app.list(call, &query, Record::to_resource, || {
        app.records.list_records(&dataset, &query, now)
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
pub async fn create(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(app, call).await?;
    let patch = RecordPatch::from_body(json_object(call.req)?, true)?;
    let now = rfc3339(app.clock.now());
    let record = patch.into_record(ids::new_id(IdKind::Record), &dataset, &now);
    match app.records.put_record(&call.account_id, &record).await {
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
pub async fn update(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(app, call).await?;
    let id = record_id(call)?;
    let patch = RecordPatch::from_body(json_object(call.req)?, false)?;
    let now = app.clock.now();
    app.records
        .update_record(&dataset, &id, &patch, &rfc3339(now), now.timestamp())
        .await
        .map_err(not_found)?;
    Ok(response::id(&id))
}

/// `POST /dataset/{id}/record/{recordId}/delete`: releases the record from the plan.
pub async fn delete(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(app, call).await?;
    let id = record_id(call)?;
    ObjectReader::new(json_object(call.req)?, &[])?.finish()?;
    let now = app.clock.now().timestamp();
    if app.records.get_record(&dataset, &id, now).await?.is_none() {
        return Err(ApiError::NotFound(RESOURCE));
    }
    app.records.delete_record(&call.account_id, &dataset, &id).await?;
    Ok(response::id(&id))
}

/// `GET /dataset/{id}/record/{recordId}/fetch`
pub async fn fetch(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(app, call).await?;
    let record_id = record_id(call)?;
    let now = app.clock.now().timestamp();
    let record = app
        .records
        .get_record(&dataset, &record_id, now)
        .await?
        .ok_or(ApiError::NotFound(RESOURCE))?;
    Ok(app.resource(record.to_resource()))
}
