//! `/dataset/{id}/record/...`: list and fetch. Records are written by syncs.

use super::dataset::dataset_id;
use super::{App, Call};
use crate::domain::ids;
use crate::domain::paging::encode_cursor;
use crate::domain::record::Record;
use crate::error::ApiError;
use crate::http::request::{list_query, wants_jsonl};
use crate::http::response;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

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
    let page = app.records.list_records(&dataset, &query, now).await?;
    let items = page.items.iter().map(Record::to_resource).collect();
    Ok(response::page(
        items,
        page.next.as_deref().map(encode_cursor),
        wants_jsonl(call.req),
    ))
}

/// `GET /dataset/{id}/record/{recordId}/fetch`
pub async fn fetch(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let dataset = owned_dataset(app, call).await?;
    let record_id = call.param("recordId", "record")?;
    if !ids::is_valid_record_id(&record_id) {
        return Err(ApiError::NotFound("record"));
    }
    let now = app.clock.now().timestamp();
    let record = app
        .records
        .get_record(&dataset, &record_id, now)
        .await?
        .ok_or(ApiError::NotFound("record"))?;
    Ok(response::json(StatusCode::OK, &record.to_resource()))
}
