//! `POST /integration/notion/{id}/sync`: the sync request ([`crate::sync::request`]) with
//! the manual cooldown, its refusals mapped to SPEC's errors. The schedule trigger
//! ([`crate::sync::schedule`]) takes the same path minus the cooldown.

use super::integration::integration_id;
use super::{not_served, Call, Handler};
use crate::domain::fields::ObjectReader;
use crate::domain::sync::Trigger;
use crate::error::{ApiError, ConfigError};
use crate::http::request::json_object;
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{EventWriter, IntegrationStore, Provide};
use crate::sync::request::{log_requested, Refusal, RequestError, SyncRequests};
use lambda_http::{Body, Response};
use std::sync::Arc;

/// What the manual sync route uses.
pub struct ManualSync {
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// The sync request (readiness, cooldown, pending flag, queue).
    pub requests: SyncRequests,
    /// The event log (and the clock).
    pub events: EventWriter,
    /// Seconds between two accepted manual syncs.
    pub cooldown_secs: i64,
}

#[async_trait::async_trait]
impl Handler for ManualSync {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            integrations: p.integrations(),
            requests: SyncRequests::build(p)?,
            events: p.events(),
            cooldown_secs: p.settings().manual_sync_cooldown_secs,
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::IntegrationSync => sync(self, call).await,
            other => not_served(other),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(err: RequestError) -> Self {
        match err {
            RequestError::Store(e) => e.into(),
            RequestError::Refused(refusal) => {
                let message = refusal.message();
                match refusal {
                    Refusal::NoDataset | Refusal::DatasetGone | Refusal::NoToken => ApiError::Conflict(message),
                    Refusal::NoRecordCapacity { .. } => ApiError::LimitExceeded(message),
                    Refusal::UnknownAccount => ApiError::Unauthenticated("The API key is not valid."),
                    Refusal::Cooldown { retry_after_secs } => ApiError::RateLimited {
                        message,
                        retry_after_secs,
                    },
                }
            }
        }
    }
}

/// `POST /integration/notion/{id}/sync`
pub async fn sync(deps: &ManualSync, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    ObjectReader::new(json_object(call.req)?, &[])?.finish()?;
    let integration = deps
        .integrations
        .get_integration(&call.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound("integration"))?;
    let requests = &deps.requests;
    let account = requests.check_ready(&call.account_id, &integration).await?;
    let now = deps.events.clock.now().timestamp();
    requests
        .claim_cooldown(&call.account_id, &integration, deps.cooldown_secs, now)
        .await?;
    let requested = requests
        .enqueue(&call.account_id, &id, &account, Trigger::Manual, now)
        .await?;
    log_requested(&deps.events, &integration, Trigger::Manual, requested).await;
    Ok(response::id(&id))
}
