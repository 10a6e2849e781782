//! One handler per API route, and [`handle`], the entry every function and the local
//! stack call: authenticate, run the route's handler, turn any error into SPEC's body.

pub mod authorizer;
pub mod dataset;
pub mod event;
pub mod integration;
pub mod integration_update;
pub mod oauth;
pub mod record;
pub mod schedule;
pub mod sync;
pub mod webhook;

use crate::domain::event::{Event, EventType, DEFAULT_RETENTION_DAYS};
use crate::domain::paging::{encode_cursor, ListQuery, END_POSITION};
use crate::domain::time::{Clock, SystemClock, TimestampFormat};
use crate::error::{ApiError, StoreError};
use crate::http::auth::{authenticate, refuse_run_as};
use crate::http::request::path_param;
use crate::http::request::wants_jsonl;
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{
    AccountStore, DatasetStore, EventLog, IntegrationStore, RecordStore, SyncQueue, SyncScheduler, SyncStateStore,
    TokenStore,
};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::sync::Arc;

/// Which adapters beside DynamoDB's stores a route uses. The runtime builds only those,
/// and refuses to start when one's configuration is missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Notion tokens (Secrets Manager).
    pub tokens: bool,
    /// The sync queue (SQS).
    pub queue: bool,
    /// Integration schedules (EventBridge Scheduler).
    pub scheduler: Scheduling,
    /// Notion's OAuth token endpoint with the client secret.
    pub oauth: bool,
    /// Webhook verification tokens (Secrets Manager, `webhook-*` secrets only).
    pub webhook_tokens: bool,
}

/// What a route does with schedules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheduling {
    /// Nothing.
    #[default]
    None,
    /// Removes them (needs the schedule group only).
    Remove,
    /// Creates, changes and removes them (needs the target and role too).
    Manage,
}

impl Needs {
    /// Whether `self` provides everything `other` asks for.
    pub fn covers(self, other: Needs) -> bool {
        (self.tokens || !other.tokens)
            && (self.queue || !other.queue)
            && (self.oauth || !other.oauth)
            && (self.webhook_tokens || !other.webhook_tokens)
            && self.scheduler >= other.scheduler
    }
}

/// What `route`'s handler uses.
pub fn needs(route: Route) -> Needs {
    let manage = Needs {
        tokens: true,
        queue: false,
        scheduler: Scheduling::Manage,
        oauth: false,
        webhook_tokens: false,
    };
    match route {
        Route::IntegrationCreate | Route::IntegrationUpdate => manage,
        // Deleting an integration deletes its webhook's verification token too.
        Route::IntegrationDelete => Needs {
            webhook_tokens: true,
            ..manage
        },
        Route::WebhookReceive => Needs {
            queue: true,
            webhook_tokens: true,
            ..Needs::default()
        },
        Route::WebhookFetch => Needs {
            webhook_tokens: true,
            ..Needs::default()
        },
        Route::IntegrationSync | Route::DatasetDelete => Needs {
            queue: true,
            ..Needs::default()
        },
        Route::OAuthCallback => Needs {
            tokens: true,
            oauth: true,
            ..Needs::default()
        },
        Route::IntegrationList
        | Route::IntegrationFetch
        | Route::DatasetCreate
        | Route::DatasetList
        | Route::DatasetFetch
        | Route::DatasetUpdate
        | Route::RecordList
        | Route::RecordFetch
        | Route::RecordCreate
        | Route::RecordUpdate
        | Route::RecordDelete
        | Route::EventLogList
        | Route::IntegrationAuthenticate => Needs::default(),
    }
}

/// What the schedule trigger uses.
pub const SCHEDULE_TRIGGER_NEEDS: Needs = Needs {
    tokens: false,
    queue: true,
    scheduler: Scheduling::Remove,
    oauth: false,
    webhook_tokens: false,
};

/// The adapters a handler may use, built once per process. Adapters a function was not
/// given are [`Unwired`]: its route never calls them (see [`needs`]).
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
    /// Sync bookkeeping.
    pub sync_state: Arc<dyn SyncStateStore>,
    /// The event log.
    pub events: Arc<dyn EventLog>,
    /// Pending OAuth authorizations.
    pub oauth_states: Arc<dyn crate::ports::OAuthStates>,
    /// Integrations' webhooks.
    pub webhooks: Arc<dyn crate::ports::WebhookStore>,
    /// Webhook verification tokens.
    pub webhook_tokens: Arc<dyn crate::ports::WebhookTokens>,
    /// Verification tokens read recently (one per process).
    pub webhook_token_cache: Arc<webhook::TokenCache>,
    /// Seconds webhook events are coalesced (`WEBHOOK_DEBOUNCE_SECS`).
    pub webhook_debounce_secs: u32,
    /// Notion's token endpoint with our client secret; none where not wired or configured.
    pub oauth: Option<Arc<dyn crate::ports::NotionOAuth>>,
    /// The public connection's client id (`NOTION_OAUTH_CLIENT_ID`), when OAuth is configured.
    pub oauth_client_id: Option<String>,
    /// `NOTION_API_URL`, where the browser is sent to authorize.
    pub notion_api_url: String,
    /// The API's public origin (`PUBLIC_BASE_URL`); the request's host when none.
    pub public_base_url: Option<String>,
    /// Days an event is kept (`EVENT_LOG_RETENTION_DAYS`).
    pub event_retention_days: u32,
    /// Notion tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// The sync queue.
    pub queue: Arc<dyn SyncQueue>,
    /// Integration schedules.
    pub scheduler: Arc<dyn SyncScheduler>,
    /// Seconds between two accepted manual syncs.
    pub manual_sync_cooldown_secs: i64,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// How answers write timestamps (`TIMESTAMP_FORMAT`).
    pub timestamp_format: TimestampFormat,
}

impl App {
    /// An app over one store holding every table, on the system clock, with no token
    /// store, queue or scheduler: add those a route needs with the `with_*` methods.
    pub fn new<S>(store: Arc<S>, manual_sync_cooldown_secs: i64) -> Self
    where
        S: AccountStore
            + IntegrationStore
            + DatasetStore
            + RecordStore
            + SyncStateStore
            + EventLog
            + crate::ports::OAuthStates
            + crate::ports::WebhookStore
            + 'static,
    {
        Self {
            accounts: store.clone(),
            integrations: store.clone(),
            datasets: store.clone(),
            records: store.clone(),
            events: store.clone(),
            oauth_states: store.clone(),
            webhooks: store.clone(),
            webhook_tokens: Arc::new(Unwired),
            webhook_token_cache: Arc::default(),
            webhook_debounce_secs: crate::domain::webhook::DEFAULT_DEBOUNCE_SECS,
            oauth: None,
            oauth_client_id: None,
            notion_api_url: "https://api.notion.com".into(),
            public_base_url: None,
            event_retention_days: DEFAULT_RETENTION_DAYS,
            sync_state: store,
            tokens: Arc::new(Unwired),
            queue: Arc::new(Unwired),
            scheduler: Arc::new(Unwired),
            manual_sync_cooldown_secs,
            clock: Arc::new(SystemClock),
            timestamp_format: TimestampFormat::default(),
        }
    }

    /// The same app with a token store.
    pub fn with_tokens(mut self, tokens: Arc<dyn TokenStore>) -> Self {
        self.tokens = tokens;
        self
    }

    /// The same app with a webhook verification token store.
    pub fn with_webhook_tokens(mut self, tokens: Arc<dyn crate::ports::WebhookTokens>) -> Self {
        self.webhook_tokens = tokens;
        self
    }

    /// The same app coalescing webhook events for `secs`.
    pub fn with_webhook_debounce(mut self, secs: u32) -> Self {
        self.webhook_debounce_secs = secs;
        self
    }

    /// The same app with a sync queue.
    pub fn with_queue(mut self, queue: Arc<dyn SyncQueue>) -> Self {
        self.queue = queue;
        self
    }

    /// The same app with a scheduler.
    pub fn with_scheduler(mut self, scheduler: Arc<dyn SyncScheduler>) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// The same app on another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same app with "Connect with Notion" configured: the client id, Notion's URL and
    /// the API's public origin; `oauth` (the token endpoint) where the route exchanges codes.
    pub fn with_oauth(
        mut self,
        client_id: Option<String>,
        notion_api_url: &str,
        public_base_url: Option<String>,
        oauth: Option<Arc<dyn crate::ports::NotionOAuth>>,
    ) -> Self {
        self.oauth_client_id = client_id;
        self.notion_api_url = notion_api_url.trim_end_matches('/').to_string();
        self.public_base_url = public_base_url;
        self.oauth = oauth;
        self
    }

    /// The same app answering timestamps in `format`.
    pub fn with_timestamp_format(mut self, format: TimestampFormat) -> Self {
        self.timestamp_format = format;
        self
    }

    /// One resource view as the API answers it (timestamps in the configured format).
    pub fn present(&self, mut view: Value) -> Value {
        self.timestamp_format.present(&mut view);
        view
    }

    /// `200` with one resource.
    pub fn resource(&self, view: Value) -> Response<Body> {
        response::json(lambda_http::http::StatusCode::OK, &self.present(view))
    }

    /// `200` with a page of a listing. Past the last page the cursor is null, or in
    /// `epoch_ms` mode the cursor past the end (the SDKs type `cursor` as a string).
    pub fn page(&self, call: &Call<'_>, items: Vec<Value>, next: Option<&str>) -> Response<Body> {
        let items = items.into_iter().map(|v| self.present(v)).collect();
        let cursor = match (next, self.timestamp_format) {
            (Some(position), _) => Some(encode_cursor(position)),
            (None, TimestampFormat::EpochMs) => Some(encode_cursor(END_POSITION)),
            (None, TimestampFormat::Rfc3339) => None,
        };
        response::page(items, cursor, wants_jsonl(call.req))
    }

    /// Answers a list route: an empty page past the end, else the page `fetch` reads.
    pub(crate) async fn list<T, F, Fut>(
        &self,
        call: &Call<'_>,
        query: &ListQuery,
        view: impl Fn(&T) -> Value,
        fetch: F,
    ) -> Result<Response<Body>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<crate::ports::Page<T>, StoreError>>,
    {
        if query.past_end {
            return Ok(self.page(call, Vec::new(), None));
        }
        let page = fetch().await?;
        let items = page.items.iter().map(view).collect();
        Ok(self.page(call, items, page.next.as_deref()))
    }

    /// The same app keeping events `days`.
    pub fn with_event_retention_days(mut self, days: u32) -> Self {
        self.event_retention_days = days;
        self
    }

    /// A new event of the caller's account, now.
    pub fn event(
        &self,
        account_id: &str,
        kind: EventType,
        message: impl Into<String>,
        data: serde_json::Value,
    ) -> Event {
        Event::new(
            account_id,
            kind,
            message,
            data,
            self.clock.now(),
            self.event_retention_days,
        )
    }

    /// Appends `event` to the log (see [`EventLog::record`]).
    pub async fn log_event(&self, event: Event) {
        self.events.record(&event).await;
    }
}

/// Stands in for an adapter a function was not given. Reaching it is a bug in [`needs`]:
/// it fails the request with a 500 and says which adapter was missing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unwired;

fn unwired(adapter: &'static str) -> StoreError {
    StoreError::aws(adapter, "this function was not given this adapter: fix api::needs")
}

#[async_trait::async_trait]
impl TokenStore for Unwired {
    async fn put_token(&self, _: &str, _: &str, _: &str) -> Result<(), StoreError> {
        Err(unwired("tokens"))
    }
    async fn delete_token(&self, _: &str) -> Result<(), StoreError> {
        Err(unwired("tokens"))
    }
    async fn rotate_token(&self, _: &str, _: &str) -> Result<String, StoreError> {
        Err(unwired("tokens"))
    }
    async fn get_token(&self, _: &str, _: Option<&str>) -> Result<Option<(String, String)>, StoreError> {
        Err(unwired("tokens"))
    }
}

#[async_trait::async_trait]
impl crate::ports::WebhookTokens for Unwired {
    async fn put_webhook_token(&self, _: &str, _: &str, _: &str) -> Result<(), StoreError> {
        Err(unwired("webhook tokens"))
    }
    async fn get_webhook_token(&self, _: &str) -> Result<Option<String>, StoreError> {
        Err(unwired("webhook tokens"))
    }
    async fn delete_webhook_token(&self, _: &str) -> Result<(), StoreError> {
        Err(unwired("webhook tokens"))
    }
}

#[async_trait::async_trait]
impl SyncQueue for Unwired {
    async fn send(&self, _: &crate::domain::sync::SyncMessage) -> Result<(), StoreError> {
        Err(unwired("queue"))
    }
    async fn send_purge(&self, _: &crate::domain::sync::PurgeMessage) -> Result<(), StoreError> {
        Err(unwired("queue"))
    }
    async fn send_flush(&self, _: &crate::domain::webhook::WebhookFlush, _: u32) -> Result<(), StoreError> {
        Err(unwired("queue"))
    }
}

#[async_trait::async_trait]
impl SyncScheduler for Unwired {
    async fn put_schedule(
        &self,
        _: &str,
        _: &str,
        _: &crate::domain::schedule::SyncSchedule,
    ) -> Result<(), StoreError> {
        Err(unwired("scheduler"))
    }
    async fn delete_schedule(&self, _: &str) -> Result<(), StoreError> {
        Err(unwired("scheduler"))
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
    if route == Route::OAuthCallback {
        // Public: the browser comes back from Notion; the answer is always a page.
        return Ok(oauth::callback(app, req).await);
    }
    if route == Route::WebhookReceive {
        // Public: Notion delivers here, authenticated by the body's signature.
        return webhook::receive(app, req).await;
    }
    let account_id = authenticate(req, app.accounts.as_ref()).await?;
    refuse_run_as(req)?;
    let call = Call { account_id, route, req };
    match route {
        Route::IntegrationCreate => integration::create(app, &call).await,
        Route::IntegrationList => integration::list(app, &call).await,
        Route::IntegrationFetch => integration::fetch(app, &call).await,
        Route::IntegrationUpdate => integration_update::update(app, &call).await,
        Route::IntegrationDelete => integration::delete(app, &call).await,
        Route::IntegrationSync => sync::sync(app, &call).await,
        Route::IntegrationAuthenticate => oauth::authenticate(app, &call).await,
        Route::OAuthCallback => Ok(oauth::callback(app, call.req).await),
        Route::DatasetCreate => dataset::create(app, &call).await,
        Route::DatasetList => dataset::list(app, &call).await,
        Route::DatasetFetch => dataset::fetch(app, &call).await,
        Route::DatasetUpdate => dataset::update(app, &call).await,
        Route::DatasetDelete => dataset::delete(app, &call).await,
        Route::RecordList => record::list(app, &call).await,
        Route::RecordFetch => record::fetch(app, &call).await,
        Route::RecordCreate => record::create(app, &call).await,
        Route::RecordUpdate => record::update(app, &call).await,
        Route::RecordDelete => record::delete(app, &call).await,
        Route::EventLogList => event::list(app, &call).await,
        Route::WebhookReceive => webhook::receive(app, call.req).await,
        Route::WebhookFetch => webhook::fetch(app, &call).await,
    }
}
