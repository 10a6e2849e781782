//! One handler per API route: each names the ports it uses in its own type (built from
//! [`Provide`]), so a route that needs an adapter it was not given does not compile.
//! [`handle`] is the entry every function and the local stack call: authenticate, run the
//! route's handler, turn any error into SPEC's body.

pub mod dataset;
pub mod event;
pub mod integration;
pub mod integration_update;
pub mod oauth;
pub mod record;
pub mod sync;
pub mod webhook;

use crate::domain::paging::{encode_cursor, ListQuery, END_POSITION};
use crate::domain::time::TimestampFormat;
use crate::error::{ApiError, ConfigError, StoreError};
use crate::http::auth::{authenticate, refuse_run_as};
use crate::http::request::path_param;
use crate::http::request::wants_jsonl;
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{AccountStore, Provide};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A route served to a caller known by their API key.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    /// The handler over the adapters it names from `p`.
    fn build(p: &impl Provide) -> Result<Self, ConfigError>
    where
        Self: Sized;

    /// Serves one call (of one of the routes this handler serves).
    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError>;
}

/// A public route (no API key): Notion's webhook deliveries and its OAuth redirect.
#[async_trait::async_trait]
pub trait PublicHandler: Send + Sync + 'static {
    /// The handler over the adapters it names from `p`.
    fn build(p: &impl Provide) -> Result<Self, ConfigError>
    where
        Self: Sized;

    /// Serves one request.
    async fn handle(&self, req: &Request) -> Result<Response<Body>, ApiError>;
}

/// A route's handler with how its caller is known: what a function serves.
pub enum Endpoint {
    /// Authenticated by API key, resolved through the accounts (or the authorizer's context).
    Keyed {
        /// API keys.
        accounts: Arc<dyn AccountStore>,
        /// The handler.
        handler: Box<dyn Handler>,
    },
    /// Public.
    Public(Box<dyn PublicHandler>),
}

impl Endpoint {
    /// `H` behind the API key check.
    pub fn keyed<H: Handler>(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self::Keyed {
            accounts: p.accounts(),
            handler: Box::new(H::build(p)?),
        })
    }

    /// `H`, public.
    pub fn public<H: PublicHandler>(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self::Public(Box::new(H::build(p)?)))
    }

    /// The endpoint of `route` (the local stack and tests, which serve every route).
    pub fn of(route: Route, p: &impl Provide) -> Result<Self, ConfigError> {
        match route {
            Route::IntegrationCreate => Self::keyed::<integration::IntegrationCreate>(p),
            Route::IntegrationList | Route::IntegrationFetch => Self::keyed::<integration::IntegrationReads>(p),
            Route::IntegrationUpdate => Self::keyed::<integration_update::IntegrationUpdate>(p),
            Route::IntegrationDelete => Self::keyed::<integration::IntegrationDelete>(p),
            Route::IntegrationSync => Self::keyed::<sync::ManualSync>(p),
            Route::IntegrationAuthenticate => Self::keyed::<oauth::Authenticate>(p),
            Route::OAuthCallback => Self::public::<oauth::Callback>(p),
            Route::DatasetCreate | Route::DatasetList | Route::DatasetFetch | Route::DatasetUpdate => {
                Self::keyed::<dataset::Datasets>(p)
            }
            Route::DatasetDelete => Self::keyed::<dataset::DatasetDelete>(p),
            Route::RecordList
            | Route::RecordFetch
            | Route::RecordCreate
            | Route::RecordUpdate
            | Route::RecordDelete => Self::keyed::<record::Records>(p),
            Route::EventLogList => Self::keyed::<event::EventLogList>(p),
            Route::WebhookReceive => Self::public::<webhook::WebhookReceive>(p),
            Route::WebhookFetch => Self::keyed::<webhook::WebhookFetch>(p),
        }
    }
}

/// Every route's endpoint, built once: the API as the local stack serves it.
pub struct Api(HashMap<Route, Endpoint>);

impl Api {
    /// Every endpoint over `p`.
    pub fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        let endpoints = Route::ALL
            .iter()
            .map(|route| Ok((*route, Endpoint::of(*route, p)?)))
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self(endpoints))
    }

    /// Serves `req` as `route`.
    pub async fn handle(&self, route: Route, req: Request) -> Response<Body> {
        match self.0.get(&route) {
            Some(endpoint) => handle(endpoint, route, req).await,
            None => ApiError::NotFound("route").into_response(),
        }
    }
}

/// How answers present resources: timestamps in the configured format (`TIMESTAMP_FORMAT`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Answers {
    /// The format.
    pub timestamp_format: TimestampFormat,
}

impl Answers {
    /// The presentation `p` is configured with.
    pub fn of(p: &impl Provide) -> Self {
        Self {
            timestamp_format: p.settings().timestamp_format,
        }
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
}

/// The answer for a route a handler was given but does not serve: a bug in [`Endpoint::of`]
/// or a function's `main`, which for the client is a route that does not exist.
pub(crate) fn not_served(route: Route) -> Result<Response<Body>, ApiError> {
    tracing::error!(?route, "a handler was given a route it does not serve");
    Err(ApiError::NotFound("route"))
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

/// Serves `req` as `route` with `endpoint`. Never fails: every error becomes a SPEC error answer.
pub async fn handle(endpoint: &Endpoint, route: Route, req: Request) -> Response<Body> {
    match dispatch(endpoint, route, &req).await {
        Ok(response) => response,
        Err(err) => {
            if !matches!(err, ApiError::Internal(_)) {
                tracing::info!(route = ?route, code = err.code(), "request refused");
            }
            err.into_response()
        }
    }
}

async fn dispatch(endpoint: &Endpoint, route: Route, req: &Request) -> Result<Response<Body>, ApiError> {
    match endpoint {
        // Public: Notion delivers webhooks signed in the body, and the browser comes back
        // from Notion's consent page.
        Endpoint::Public(handler) => handler.handle(req).await,
        Endpoint::Keyed { accounts, handler } => {
            let account_id = authenticate(req, accounts.as_ref()).await?;
            refuse_run_as(req)?;
            let call = Call { account_id, route, req };
            handler.handle(&call).await
        }
    }
}
