//! `/integration/notion/...`: create, list, fetch, delete; update is in
//! [`super::integration_update`].
//!
//! The token goes to Secrets Manager, never to DynamoDB. Ordering keeps the two in step
//! across crashes and retries: a token is written before the item says it exists, and the
//! item stops saying so before the secret is deleted.

use super::{App, Call};
use crate::domain::event::{quoted, EventType};
use crate::domain::fields::Patch;
use crate::domain::ids::{self, IdKind};
use crate::domain::integration::{Integration, IntegrationPatch};
use crate::domain::time::rfc3339;
use crate::error::{ApiError, FieldError, StoreError};
use crate::http::request::{json_object, list_query};
use crate::http::response;
use lambda_http::{Body, Response};
use serde_json::json;

pub(crate) const RESOURCE: &str = "integration";

/// Refuses a `datasetId` that is not a dataset of the caller's account.
pub(crate) async fn check_dataset(app: &App, account_id: &str, patch: &IntegrationPatch) -> Result<(), ApiError> {
    if let Some(dataset_id) = patch.dataset_id.as_set() {
        if app.datasets.get_dataset(account_id, dataset_id).await?.is_none() {
            return Err(ApiError::Validation(vec![FieldError::new(
                "datasetId",
                "does not name a dataset of your account",
            )]));
        }
    }
    Ok(())
}

/// The integration id in the path, or 404 when it is not even well-formed.
pub(crate) fn integration_id(call: &Call<'_>) -> Result<String, ApiError> {
    let id = call.param("id", RESOURCE)?;
    if ids::is_valid(IdKind::Integration, &id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound(RESOURCE))
    }
}

/// `POST /integration/notion/create`
pub async fn create(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let patch = IntegrationPatch::from_body(json_object(call.req)?)?;
    check_dataset(app, &call.account_id, &patch).await?;
    let now = rfc3339(app.clock.now());
    let mut integration = Integration::new(ids::new_id(IdKind::Integration), &call.account_id, &now);
    let fields = patch.changed_fields(&integration);
    patch.apply_to(&mut integration);
    if let Patch::Set(token) = &patch.token {
        app.tokens.put_token(&call.account_id, &integration.id, token).await?;
        integration.has_token = true;
    }
    if let Err(err) = app.integrations.create_integration(&integration).await {
        if integration.has_token {
            if let Err(cleanup) = app.tokens.delete_token(&integration.id).await {
                tracing::error!(error = %cleanup, integration = %integration.id, "orphaned token secret left behind");
            }
        }
        return Err(err.into());
    }
    // The public webhook route finds the owner through this item; a failure here is mended
    // by the first `webhook/fetch`.
    if let Err(e) = app.webhooks.register_webhook(&call.account_id, &integration.id).await {
        tracing::warn!(error = %e, integration = %integration.id, "webhook not registered; webhook/fetch will");
    }
    if let Patch::Set(schedule) = &patch.sync_schedule {
        if let Err(err) = app
            .scheduler
            .put_schedule(&call.account_id, &integration.id, schedule)
            .await
        {
            // Fail cleanly: nothing of the integration is left behind.
            let _ = app
                .integrations
                .delete_integration(&call.account_id, &integration.id)
                .await;
            if integration.has_token {
                let _ = app.tokens.delete_token(&integration.id).await;
            }
            return Err(err.into());
        }
    }
    tracing::info!(integration = %integration.id, "integration created");
    let event = app
        .event(
            &call.account_id,
            EventType::IntegrationCreated,
            format!("Integration {} was created.", quoted(&integration.name)),
            json!({"fields": fields}),
        )
        .for_integration(&integration.id)
        .for_dataset(integration.dataset_id.as_deref());
    app.log_event(event).await;
    Ok(response::id(&integration.id))
}

/// `GET /integration/notion/list`
pub async fn list(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let query = list_query(call.req)?;
    app.list(call, &query, Integration::to_resource, || {
        app.integrations.list_integrations(&call.account_id, &query)
    })
    .await
}

/// `GET /integration/notion/{id}/fetch`
pub async fn fetch(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    let integration = app
        .integrations
        .get_integration(&call.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound(RESOURCE))?;
    Ok(app.resource(integration.to_resource()))
}

/// `POST /integration/notion/{id}/delete`
pub async fn delete(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    // The body carries nothing, but must still be a JSON object if sent.
    crate::domain::fields::ObjectReader::new(json_object(call.req)?, &[])?.finish()?;
    let Some(current) = app.integrations.get_integration(&call.account_id, &id).await? else {
        return Err(ApiError::NotFound(RESOURCE));
    };
    // Schedule and secret first: if the item delete then fails, a retry finishes the job,
    // and neither outlives its integration.
    app.scheduler.delete_schedule(&id).await?;
    app.tokens.delete_token(&id).await?;
    app.webhook_tokens.delete_webhook_token(&id).await?;
    app.webhooks.delete_webhook(&id).await?;
    match app.integrations.delete_integration(&call.account_id, &id).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    tracing::info!(integration = %id, "integration deleted");
    let event = app
        .event(
            &call.account_id,
            EventType::IntegrationDeleted,
            format!(
                "Integration {} was deleted; its synced records stay in their dataset.",
                quoted(&current.name)
            ),
            json!({}),
        )
        .for_integration(&id)
        .for_dataset(current.dataset_id.as_deref());
    app.log_event(event).await;
    Ok(response::id(&id))
}
