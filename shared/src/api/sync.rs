//! `POST /integration/notion/{id}/sync`: the sync request ([`crate::sync_requests`]) with
//! the manual cooldown, its refusals mapped to SPEC's errors. The schedule trigger
//! ([`super::schedule`]) takes the same path minus the cooldown.

use super::integration::integration_id;
use super::{App, Call};
use crate::domain::event::Event;
use crate::domain::fields::ObjectReader;
use crate::domain::integration::Integration;
use crate::domain::sync::Trigger;
use crate::error::ApiError;
use crate::http::request::json_object;
use crate::http::response;
use crate::sync_requests::{Refusal, RequestError, Requested, SyncRequests};
use lambda_http::{Body, Response};

/// The sync-request service over the app's ports.
pub(crate) fn sync_requests(app: &App) -> SyncRequests<'_> {
    SyncRequests {
        accounts: app.accounts.as_ref(),
        datasets: app.datasets.as_ref(),
        sync_state: app.sync_state.as_ref(),
        queue: app.queue.as_ref(),
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
pub async fn sync(app: &App, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    ObjectReader::new(json_object(call.req)?, &[])?.finish()?;
    let integration = app
        .integrations
        .get_integration(&call.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound("integration"))?;
    let requests = sync_requests(app);
    let account = requests.check_ready(&call.account_id, &integration).await?;
    let now = app.clock.now().timestamp();
    requests
        .claim_cooldown(&call.account_id, &integration, app.manual_sync_cooldown_secs, now)
        .await?;
    let requested = requests
        .enqueue(&call.account_id, &id, &account, Trigger::Manual, now)
        .await?;
    log_requested(app, &integration, Trigger::Manual, requested).await;
    Ok(response::id(&id))
}

/// Writes `sync.requested` for an accepted request.
pub(crate) async fn log_requested(app: &App, integration: &Integration, trigger: Trigger, requested: Requested) {
    let event = Event::sync_requested(
        &integration.account_id,
        &integration.id,
        trigger,
        requested == Requested::Coalesced,
        app.clock.now(),
        app.event_retention_days,
    )
    .for_dataset(integration.dataset_id.as_deref());
    app.log_event(event).await;
}
