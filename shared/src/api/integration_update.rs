//! `POST /integration/notion/{id}/update`, safe under concurrency.
//!
//! - **Versioned.** The item is written only if it is still at the version this request
//!   read (every update bumps it), so the event's `fields` and the token's clean-up are
//!   computed against the state actually replaced. A lost race re-reads and retries; after
//!   [`MAX_ATTEMPTS`] the answer is 409 `CONFLICT`.
//! - **The schedule follows the item.** A `syncSchedule` change is first put in
//!   EventBridge Scheduler (a refusal fails the request before anything changed), then the
//!   item is written, then [`reconcile_schedule`] makes Scheduler equal what the item says.
//!   Every request that touched Scheduler reconciles before it answers, whatever happened,
//!   and reconciling always writes once after reading the item, then stops only when a
//!   second read agrees with what it wrote. So after any interleaving of concurrent
//!   updates (and deletes) the last Scheduler write matches the item's final state.

use super::integration::IntegrationDatasets;
use super::integration::{integration_id, RESOURCE};
use super::{not_served, Call, Handler};
use crate::domain::event::{quoted, EventType};
use crate::domain::fields::Patch;
use crate::domain::integration::{Integration, IntegrationPatch};
use crate::domain::schedule::SyncSchedule;
use crate::domain::time::rfc3339;
use crate::domain::time::Clock;
use crate::error::{ApiError, ConfigError, StoreError};
use crate::http::request::json_object;
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{EventWriter, IntegrationStore, Provide, SyncScheduler, TokenStore};
use lambda_http::{Body, Response};
use serde_json::json;
use std::sync::Arc;

/// What integration update uses.
pub struct IntegrationUpdate {
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Datasets, to check `datasetId`.
    pub datasets: IntegrationDatasets,
    /// Notion tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Schedules.
    pub scheduler: Arc<dyn SyncScheduler>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// The event log.
    pub events: EventWriter,
}

#[async_trait::async_trait]
impl Handler for IntegrationUpdate {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            integrations: p.integrations(),
            datasets: IntegrationDatasets(p.datasets()),
            tokens: p.tokens(),
            scheduler: p.schedules()?,
            clock: p.clock(),
            events: p.events(),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::IntegrationUpdate => update(self, call).await,
            other => not_served(other),
        }
    }
}

/// Tries of a versioned write before answering 409 (with backoff between them: about 1 s
/// in all at worst).
pub const MAX_ATTEMPTS: u32 = 10;
/// Rounds of [`reconcile_schedule`] before giving up (each needs a concurrent change to
/// land between its two reads to go round again).
const MAX_RECONCILE_ROUNDS: u32 = 16;

/// `POST /integration/notion/{id}/update`
pub async fn update(deps: &IntegrationUpdate, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    let account = call.account_id.as_str();
    let patch = IntegrationPatch::from_body(json_object(call.req)?)?;
    deps.datasets.check(account, &patch).await?;
    let mut token_written = false;
    let mut scheduler_written = false;
    let mut attempt = 0;
    let replaced = loop {
        attempt += 1;
        let tried = try_once(deps, account, &id, &patch, &mut token_written, &mut scheduler_written).await;
        // Only a request that wrote Scheduler (so owns the integration) ever reconciles it:
        // schedule names carry no account, and another account's id must stay untouched.
        if scheduler_written && !matches!(tried, Ok(Tried::Written(_))) {
            // Scheduler may hold what this attempt put there: back to what the item says.
            settle(deps, account, &id).await;
        }
        match tried {
            Ok(Tried::Written(replaced)) => break replaced,
            Ok(Tried::Stale) if attempt < MAX_ATTEMPTS => {
                // Back off with jitter, so writers racing on one item spread out.
                let cap = 10u64 << attempt.min(5);
                let wait = rand::RngExt::random_range(&mut rand::rng(), cap / 2..=cap);
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                continue;
            }
            Ok(Tried::Stale) => {
                return Err(ApiError::Conflict(
                    "The integration was changed by other requests at the same time; retry the update.".into(),
                ))
            }
            Err(e) => return Err(e),
        }
    };
    if patch.token == Patch::Clear {
        deps.tokens.delete_token(&id).await?;
    }
    if scheduler_written {
        reconcile_schedule(deps, account, &id).await?;
    }
    tracing::info!(integration = %id, attempts = attempt, "integration updated");
    log_updated(deps, account, &id, &patch, &replaced).await;
    Ok(response::id(&id))
}

/// How one attempt went.
enum Tried {
    /// The item was written; it replaced this state.
    Written(Box<Integration>),
    /// Another request wrote the item since it was read.
    Stale,
}

/// One versioned attempt: read, put the wanted schedule and token, write the item.
async fn try_once(
    deps: &IntegrationUpdate,
    account: &str,
    id: &str,
    patch: &IntegrationPatch,
    token_written: &mut bool,
    scheduler_written: &mut bool,
) -> Result<Tried, ApiError> {
    let Some(current) = deps.integrations.get_integration(account, id).await? else {
        if *token_written {
            // Deleted while we wrote the secret: do not leave the token behind.
            deps.tokens.delete_token(id).await?;
        }
        return Err(ApiError::NotFound(RESOURCE));
    };
    if patch.sync_schedule.is_present() {
        *scheduler_written = true;
        put_wanted(deps, account, id, &patch.sync_schedule).await?;
    }
    if let Patch::Set(token) = &patch.token {
        deps.tokens.put_token(account, id, token).await?;
        *token_written = true;
    }
    let has_token = match &patch.token {
        Patch::Set(_) => Some(true),
        Patch::Clear => Some(false),
        Patch::Absent => None,
    };
    let now = rfc3339(deps.clock.now());
    match deps
        .integrations
        .update_integration(account, id, patch, has_token, &now, current.version)
        .await
    {
        Ok(()) => Ok(Tried::Written(Box::new(current))),
        Err(StoreError::Conflict(_)) => Ok(Tried::Stale),
        Err(e) => Err(e.into()),
    }
}

/// Puts the schedule the patch asks for.
async fn put_wanted(
    deps: &IntegrationUpdate,
    account: &str,
    id: &str,
    wanted: &Patch<SyncSchedule>,
) -> Result<(), StoreError> {
    match wanted {
        Patch::Set(schedule) => deps.scheduler.put_schedule(account, id, schedule).await,
        Patch::Clear => deps.scheduler.delete_schedule(id).await,
        Patch::Absent => Ok(()),
    }
}

/// Reconciles after a failure, logging (the request answers the original error).
async fn settle(deps: &IntegrationUpdate, account: &str, id: &str) {
    if let Err(e) = reconcile_schedule(deps, account, id).await {
        tracing::error!(integration = %id, error = %crate::error::error_chain(&e), "could not put Scheduler back in step with the integration");
    }
}

/// The schedule an item asks for (none when the item is gone or has none).
fn schedule_of(item: Option<&Integration>) -> Option<SyncSchedule> {
    item.and_then(|i| i.sync_schedule.as_deref())
        .and_then(|s| SyncSchedule::parse(s).ok())
}

/// Makes EventBridge Scheduler hold what the integration item says: read the item, write
/// Scheduler, read again; done when the second read agrees with what was written.
pub async fn reconcile_schedule(deps: &IntegrationUpdate, account: &str, id: &str) -> Result<(), StoreError> {
    let mut wanted = schedule_of(deps.integrations.get_integration(account, id).await?.as_ref());
    for _ in 0..MAX_RECONCILE_ROUNDS {
        match &wanted {
            Some(schedule) => deps.scheduler.put_schedule(account, id, schedule).await?,
            None => deps.scheduler.delete_schedule(id).await?,
        }
        let now = schedule_of(deps.integrations.get_integration(account, id).await?.as_ref());
        if now == wanted {
            return Ok(());
        }
        wanted = now;
    }
    Err(StoreError::Conflict("the integration's schedule kept changing"))
}

/// Writes `integration.updated`, with the fields changed from the state replaced.
async fn log_updated(
    deps: &IntegrationUpdate,
    account: &str,
    id: &str,
    patch: &IntegrationPatch,
    replaced: &Integration,
) {
    let fields = patch.changed_fields(replaced);
    let mut after = replaced.clone();
    patch.apply_to(&mut after);
    let message = if fields.is_empty() {
        format!("Integration {} was updated; no field changed.", quoted(&after.name))
    } else {
        format!(
            "Integration {} was updated: {}.",
            quoted(&after.name),
            fields.join(", ")
        )
    };
    let event = deps
        .events
        .event(
            account,
            EventType::IntegrationUpdated,
            message,
            json!({"fields": fields}),
        )
        .for_integration(id)
        .for_dataset(after.dataset_id.as_deref());
    deps.events.record(event).await;
}
