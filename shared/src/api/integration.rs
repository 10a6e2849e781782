//! `/integration/notion/...`: create, list, fetch, delete; update is in
//! [`super::integration_update`].
//!
//! The token goes to Secrets Manager, never to DynamoDB. Ordering keeps the two in step
//! across crashes and retries: a token is written before the item says it exists, and the
//! item stops saying so before the secret is deleted.

use super::{not_served, Answers, Call, Handler};
use crate::domain::event::{quoted, EventType};
use crate::domain::fields::Patch;
use crate::domain::ids::{self, IdKind};
use crate::domain::integration::{Integration, IntegrationPatch};
use crate::domain::time::rfc3339;
use crate::domain::time::Clock;
use crate::error::{ApiError, ConfigError, FieldError, StoreError};
use crate::http::request::{json_object, list_query};
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{
    DatasetStore, EventWriter, IntegrationStore, Provide, SyncScheduler, TokenStore, WebhookStore, WebhookTokens,
};
use lambda_http::{Body, Response};
use serde_json::json;
use std::sync::Arc;

/// What the integration list and fetch routes use.
pub struct IntegrationReads {
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// How answers present resources.
    pub answers: Answers,
}

#[async_trait::async_trait]
impl Handler for IntegrationReads {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            integrations: p.integrations(),
            answers: Answers::of(p),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::IntegrationList => list(self, call).await,
            Route::IntegrationFetch => fetch(self, call).await,
            other => not_served(other),
        }
    }
}

/// What integration create uses: the token goes to Secrets Manager, the schedule to
/// EventBridge Scheduler, the webhook's owner to its item.
pub struct IntegrationCreate {
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Datasets, to check `datasetId`.
    pub datasets: IntegrationDatasets,
    /// Notion tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Webhooks.
    pub webhooks: Arc<dyn WebhookStore>,
    /// Schedules.
    pub scheduler: Arc<dyn SyncScheduler>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// The event log.
    pub events: EventWriter,
}

#[async_trait::async_trait]
impl Handler for IntegrationCreate {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            integrations: p.integrations(),
            datasets: IntegrationDatasets(p.datasets()),
            tokens: p.tokens(),
            webhooks: p.webhooks(),
            scheduler: p.schedules()?,
            clock: p.clock(),
            events: p.events(),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::IntegrationCreate => create(self, call).await,
            other => not_served(other),
        }
    }
}

/// What integration delete uses: the schedule, the token and the webhook go with it.
pub struct IntegrationDelete {
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Schedules (removal only).
    pub scheduler: Arc<dyn SyncScheduler>,
    /// Notion tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Webhook verification tokens.
    pub webhook_tokens: Arc<dyn WebhookTokens>,
    /// Webhooks.
    pub webhooks: Arc<dyn WebhookStore>,
    /// The event log.
    pub events: EventWriter,
}

#[async_trait::async_trait]
impl Handler for IntegrationDelete {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            integrations: p.integrations(),
            scheduler: p.schedule_removal(),
            tokens: p.tokens(),
            webhook_tokens: p.webhook_tokens(),
            webhooks: p.webhooks(),
            events: p.events(),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::IntegrationDelete => delete(self, call).await,
            other => not_served(other),
        }
    }
}

/// Datasets, as create and update read them: to check a `datasetId` is the caller's.
#[derive(Clone)]
pub struct IntegrationDatasets(pub Arc<dyn DatasetStore>);

impl IntegrationDatasets {
    /// Refuses a `datasetId` that is not a dataset of the caller's account.
    pub(crate) async fn check(&self, account_id: &str, patch: &IntegrationPatch) -> Result<(), ApiError> {
        if let Some(dataset_id) = patch.dataset_id.as_set() {
            if self.0.get_dataset(account_id, dataset_id).await?.is_none() {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "datasetId",
                    "does not name a dataset of your account",
                )]));
            }
        }
        Ok(())
    }
}

pub(crate) const RESOURCE: &str = "integration";

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
pub async fn create(deps: &IntegrationCreate, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let patch = IntegrationPatch::from_body(json_object(call.req)?)?;
    deps.datasets.check(&call.account_id, &patch).await?;
    let now = rfc3339(deps.clock.now());
    let mut integration = Integration::new(ids::new_id(IdKind::Integration), &call.account_id, &now);
    let fields = patch.changed_fields(&integration);
    patch.apply_to(&mut integration);
    if let Patch::Set(token) = &patch.token {
        deps.tokens.put_token(&call.account_id, &integration.id, token).await?;
        integration.has_token = true;
    }
    if let Err(err) = deps.integrations.create_integration(&integration).await {
        if integration.has_token {
            if let Err(cleanup) = deps.tokens.delete_token(&integration.id).await {
                tracing::error!(error = %cleanup, integration = %integration.id, "orphaned token secret left behind");
            }
        }
        return Err(err.into());
    }
    // The public webhook route finds the owner through this item; a failure here is mended
    // by the first `webhook/fetch`.
    if let Err(e) = deps.webhooks.register_webhook(&call.account_id, &integration.id).await {
        tracing::warn!(error = %e, integration = %integration.id, "webhook not registered; webhook/fetch will");
    }
    if let Patch::Set(schedule) = &patch.sync_schedule {
        if let Err(err) = deps
            .scheduler
            .put_schedule(&call.account_id, &integration.id, schedule)
            .await
        {
            // Fail cleanly: nothing of the integration is left behind.
            let _ = deps
                .integrations
                .delete_integration(&call.account_id, &integration.id)
                .await;
            if integration.has_token {
                let _ = deps.tokens.delete_token(&integration.id).await;
            }
            return Err(err.into());
        }
    }
    tracing::info!(integration = %integration.id, "integration created");
    let event = deps
        .events
        .event(
            &call.account_id,
            EventType::IntegrationCreated,
            format!("Integration {} was created.", quoted(&integration.name)),
            json!({"fields": fields}),
        )
        .for_integration(&integration.id)
        .for_dataset(integration.dataset_id.as_deref());
    deps.events.record(event).await;
    Ok(response::id(&integration.id))
}

/// `GET /integration/notion/list`
pub async fn list(deps: &IntegrationReads, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let query = list_query(call.req)?;
    deps.answers
        .list(call, &query, Integration::to_resource, || {
            deps.integrations.list_integrations(&call.account_id, &query)
        })
        .await
}

/// `GET /integration/notion/{id}/fetch`
pub async fn fetch(deps: &IntegrationReads, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    let integration = deps
        .integrations
        .get_integration(&call.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound(RESOURCE))?;
    Ok(deps.answers.resource(integration.to_resource()))
}

/// `POST /integration/notion/{id}/delete`
pub async fn delete(deps: &IntegrationDelete, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    // The body carries nothing, but must still be a JSON object if sent.
    crate::domain::fields::ObjectReader::new(json_object(call.req)?, &[])?.finish()?;
    let Some(current) = deps.integrations.get_integration(&call.account_id, &id).await? else {
        return Err(ApiError::NotFound(RESOURCE));
    };
    // Schedule and secret first: if the item delete then fails, a retry finishes the job,
    // and neither outlives its integration.
    deps.scheduler.delete_schedule(&id).await?;
    deps.tokens.delete_token(&id).await?;
    deps.webhook_tokens.delete_webhook_token(&id).await?;
    deps.webhooks.delete_webhook(&id).await?;
    match deps.integrations.delete_integration(&call.account_id, &id).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    tracing::info!(integration = %id, "integration deleted");
    let event = deps
        .events
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
    deps.events.record(event).await;
    Ok(response::id(&id))
}
