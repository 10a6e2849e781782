//! `POST /integration/notion/{id}/sync`: checks the prerequisites, the plan's record
//! capacity and the manual cooldown, then marks the integration `pending` and queues one
//! message. A sync already queued or running absorbs the request instead of a second run.
//! The schedule trigger ([`super::schedule`]) takes the same path minus the cooldown.

use super::integration::integration_id;
use super::{App, Call};
use crate::domain::account::Account;
use crate::domain::fields::ObjectReader;
use crate::domain::integration::Integration;
use crate::domain::sync::{SyncMessage, Trigger};
use crate::error::ApiError;
use crate::http::request::json_object;
use crate::http::response;
use lambda_http::{Body, Response};

/// Seconds a `pending` sync may stay pending beyond the plan's run time before a new
/// request may replace it (its message was lost, or its run died for good).
const STALE_PENDING_GRACE_SECS: i64 = 900;

fn rate_limited(retry_after: i64) -> ApiError {
    let retry_after_secs = retry_after.max(1) as u64;
    ApiError::RateLimited {
        message: format!("A manual sync of this integration ran recently; try again in {retry_after_secs} seconds."),
        retry_after_secs,
    }
}

/// The sync prerequisites: a dataset that exists, a token, and record capacity left.
/// Returns the account (for its plan).
pub(crate) async fn check_ready(app: &App, account_id: &str, integration: &Integration) -> Result<Account, ApiError> {
    let Some(dataset_id) = &integration.dataset_id else {
        return Err(ApiError::Conflict(
            "The integration has no dataset: set datasetId before syncing.".into(),
        ));
    };
    if app.datasets.get_dataset(account_id, dataset_id).await?.is_none() {
        return Err(ApiError::Conflict(
            "The integration's dataset no longer exists: set datasetId before syncing.".into(),
        ));
    }
    if !integration.has_token {
        return Err(ApiError::Conflict(
            "The integration has no Notion token: set token before syncing.".into(),
        ));
    }
    let account = app
        .accounts
        .get_account(account_id)
        .await?
        .ok_or(ApiError::Unauthenticated("The API key is not valid."))?;
    if account.records_used >= account.plan.max_records {
        return Err(ApiError::LimitExceeded(format!(
            "Your plan's limit of {} records is reached: delete records or datasets before syncing.",
            account.plan.max_records
        )));
    }
    Ok(account)
}

/// Marks the integration pending and queues a run, unless a sync is already pending.
/// Returns whether a run was queued (false: coalesced into the pending one).
pub(crate) async fn enqueue(
    app: &App,
    account_id: &str,
    id: &str,
    account: &Account,
    trigger: Trigger,
    now: i64,
) -> Result<bool, ApiError> {
    let run_id = ulid::Ulid::generate().to_string();
    let stale_before = now - account.plan.max_sync_seconds as i64 - STALE_PENDING_GRACE_SECS;
    if !app
        .sync_state
        .request_sync(account_id, id, &run_id, now, stale_before)
        .await?
    {
        tracing::info!(integration = %id, ?trigger, "sync already pending; request coalesced");
        return Ok(false);
    }
    let message = SyncMessage {
        account_id: account_id.to_string(),
        integration_id: id.to_string(),
        run_id: run_id.clone(),
        trigger,
    };
    if let Err(e) = app.queue.send(&message).await {
        app.sync_state.cancel_sync_request(account_id, id, &run_id).await?;
        return Err(e.into());
    }
    tracing::info!(integration = %id, run = %run_id, ?trigger, "sync queued");
    Ok(true)
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
    let account = check_ready(app, &call.account_id, &integration).await?;
    let now = app.clock.now().timestamp();
    let cooldown = app.manual_sync_cooldown_secs;
    if let Some(last) = integration.last_manual_sync_at {
        if now - last < cooldown {
            return Err(rate_limited(cooldown - (now - last)));
        }
    }
    if !app
        .sync_state
        .claim_manual_sync(&call.account_id, &id, now, now - cooldown)
        .await?
    {
        // Another request claimed the cooldown between our read and our write.
        return Err(rate_limited(cooldown));
    }
    enqueue(app, &call.account_id, &id, &account, Trigger::Manual, now).await?;
    Ok(response::id(&id))
}
