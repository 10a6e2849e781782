//! One handler per API route, and [`handle`], the entry every function and the local
//! stack call: authenticate, run the route's handler, turn any error into SPEC's body.

pub mod authorizer;
pub mod dataset;
pub mod integration;
pub mod record;
pub mod schedule;
pub mod sync;

use crate::domain::time::{Clock, SystemClock};
use crate::error::ApiError;
use crate::http::auth::authenticate;
use crate::http::request::path_param;
use crate::http::routes::Route;
use crate::ports::{
    AccountStore, DatasetStore, IntegrationStore, RecordStore, SyncQueue, SyncScheduler, SyncStateStore, TokenStore,
};
use lambda_http::{Body, Request, Response};
use std::sync::Arc;

/// The adapters a handler may use, built once per process.
#[derive(Clone)]
pub struct App {
    /// API keys and accounts.
    pub accounts: Arc<dyn AccountStore>,
    /// Integration configuration.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Datasets.
    pub datasets: Arc<dyn DatasetStore>,
    /// Records.
    pub records: Arc<dyn RecordStore>,
    /// Notion tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Sync bookkeeping.
    pub sync_state: Arc<dyn SyncStateStore>,
    /// The sync queue (absent where a function has no `SYNC_QUEUE_URL`).
    pub queue: Option<Arc<dyn SyncQueue>>,
    /// Seconds between two accepted manual syncs.
    pub manual_sync_cooldown_secs: i64,
    /// Integration schedules (absent where a function has no scheduler configuration).
    pub scheduler: Option<Arc<dyn SyncScheduler>>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
}

impl App {
    /// An app over one DynamoDB store, a token store, and the optional queue and scheduler,
    /// on the system clock.
    pub fn new(
        store: crate::aws::dynamo::DynamoStore,
        tokens: impl TokenStore + 'static,
        queue: Option<Arc<dyn SyncQueue>>,
        scheduler: Option<Arc<dyn SyncScheduler>>,
        manual_sync_cooldown_secs: i64,
    ) -> Self {
        let store = Arc::new(store);
        Self {
            accounts: store.clone(),
            integrations: store.clone(),
            datasets: store.clone(),
            records: store.clone(),
            sync_state: store,
            tokens: Arc::new(tokens),
            queue,
            scheduler,
            manual_sync_cooldown_secs,
            clock: Arc::new(SystemClock),
        }
    }

    /// The scheduler, or a 500 saying the function lacks its configuration.
    pub fn scheduler(&self) -> Result<&Arc<dyn SyncScheduler>, crate::ApiError> {
        self.scheduler.as_ref().ok_or_else(|| {
            crate::ApiError::Internal("SCHEDULE_TARGET_ARN and SCHEDULE_ROLE_ARN are not configured".into())
        })
    }
}

/// What every handler receives: the caller's account and the request.
pub struct Call<'a> {
    /// The authenticated account.
    pub account_id: String,
    /// The route being served.
    pub route: Route,
    /// The request.
    pub req: &'a Request,
}

impl Call<'_> {
    /// A path parameter; a missing one means the route was invoked wrongly, which for
    /// the client is simply a resource that does not exist.
    pub fn param(&self, name: &str, resource: &'static str) -> Result<String, ApiError> {
        path_param(self.req, self.route, name).ok_or(ApiError::NotFound(resource))
    }
}

/// Serves `req` as `route`. Never fails: every error becomes a SPEC error answer.
pub async fn handle(app: &App, route: Route, req: Request) -> Response<Body> {
    match dispatch(app, route, &req).await {
        Ok(response) => response,
        Err(err) => {
            if !matches!(err, ApiError::Internal(_)) {
                tracing::info!(route = ?route, code = err.code(), "request refused");
            }
            err.into_response()
        }
    }
}

async fn dispatch(app: &App, route: Route, req: &Request) -> Result<Response<Body>, ApiError> {
    let account_id = authenticate(req, app.accounts.as_ref()).await?;
    let call = Call { account_id, route, req };
    match route {
        Route::IntegrationCreate => integration::create(app, &call).await,
        Route::IntegrationList => integration::list(app, &call).await,
        Route::IntegrationFetch => integration::fetch(app, &call).await,
        Route::IntegrationUpdate => integration::update(app, &call).await,
        Route::IntegrationDelete => integration::delete(app, &call).await,
        Route::IntegrationSync => sync::sync(app, &call).await,
        Route::DatasetCreate => dataset::create(app, &call).await,
        Route::DatasetList => dataset::list(app, &call).await,
        Route::DatasetFetch => dataset::fetch(app, &call).await,
        Route::DatasetDelete => dataset::delete(app, &call).await,
        Route::RecordList => record::list(app, &call).await,
        Route::RecordFetch => record::fetch(app, &call).await,
    }
}
