//! Connect with Notion (SPEC §2.5).
//!
//! `POST /integration/notion/{id}/authenticate` (owner) stores a fresh `state` (random, single
//! use, 10 minutes, bound to the account, the integration, the `returnUrl` and the redirect
//! URI) and answers Notion's authorize URL. `GET /integration/notion/oauth/callback` is where
//! Notion sends the browser back: it takes the state (a conditional delete, so it works
//! once), exchanges the code at Notion's token endpoint, stores the tokens in the
//! integration's secret and the workspace on the integration, and answers a small page (or
//! redirects to `returnUrl?connected=<id>`). Every failure is a page saying what happened,
//! with status 400 (409 when OAuth is not configured), and stores nothing.
//!
//! The callback's pages and redirects carry `Referrer-Policy: no-referrer` and
//! `Cache-Control: no-store`: the URL holds the code and state.

use super::integration::{integration_id, RESOURCE};
use super::{not_served, Call, Handler, PublicHandler};
use crate::domain::event::EventType;
use crate::domain::fields::{FieldError, ObjectReader, Patch};
use crate::domain::oauth::{
    authorize_url, check_return_url, is_state_shaped, page, with_query, Credentials, OAuthState, Workspace,
    CALLBACK_PATH, MAX_RETURN_URL_CHARS,
};
use crate::domain::time::rfc3339;
use crate::domain::time::Clock;
use crate::error::{ApiError, ConfigError, StoreError};
use crate::http::request::{json_object, query_params};
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{EventWriter, IntegrationStore, NotionOAuth, OAuthStates, Provide, TokenStore};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use std::sync::Arc;

/// What the authenticate route uses.
pub struct Authenticate {
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Pending authorizations.
    pub oauth_states: Arc<dyn OAuthStates>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// The public connection's client id, when OAuth is configured.
    pub oauth_client_id: Option<String>,
    /// `NOTION_API_URL`, where the browser is sent to authorize.
    pub notion_api_url: String,
    /// The API's public origin (`PUBLIC_BASE_URL`).
    pub public_base_url: Option<String>,
}

#[async_trait::async_trait]
impl Handler for Authenticate {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        let settings = p.settings();
        Ok(Self {
            integrations: p.integrations(),
            oauth_states: p.oauth_states(),
            clock: p.clock(),
            oauth_client_id: settings.oauth_client_id.clone(),
            notion_api_url: settings.notion_api_url.clone(),
            public_base_url: settings.public_base_url.clone(),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::IntegrationAuthenticate => authenticate(self, call).await,
            other => not_served(other),
        }
    }
}

/// What the OAuth callback uses.
pub struct Callback {
    /// Notion's token endpoint with our client secret; none when OAuth is not configured.
    pub oauth: Option<Arc<dyn NotionOAuth>>,
    /// Pending authorizations.
    pub oauth_states: Arc<dyn OAuthStates>,
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Notion tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// The event log.
    pub events: EventWriter,
}

#[async_trait::async_trait]
impl PublicHandler for Callback {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            oauth: p.notion_oauth(),
            oauth_states: p.oauth_states(),
            integrations: p.integrations(),
            tokens: p.tokens(),
            clock: p.clock(),
            events: p.events(),
        })
    }

    /// The answer is always a page.
    async fn handle(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        Ok(callback(self, req).await)
    }
}

const NOT_CONFIGURED: &str =
    "OAuth is not configured: the deployer sets NOTION_OAUTH_CLIENT_ID and the client secret to enable Connect with Notion.";

/// The API's public origin: `PUBLIC_BASE_URL`, else the host the request came to (API
/// Gateway's own domain or a custom one).
pub(crate) fn public_origin(public_base_url: Option<&str>, req: &Request) -> Option<String> {
    if let Some(base) = public_base_url {
        return Some(base.to_string());
    }
    let host = req
        .request_context_ref()
        .and_then(|c| match c {
            lambda_http::request::RequestContext::ApiGatewayV2(c) => c.domain_name.clone(),
            _ => None,
        })
        .or_else(|| {
            req.headers()
                .get(lambda_http::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })?;
    Some(format!("https://{host}"))
}

/// `POST /integration/notion/{id}/authenticate` `{returnUrl?}` → `{"url"}`.
pub async fn authenticate(deps: &Authenticate, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    let mut reader = ObjectReader::new(json_object(call.req)?, &["returnUrl"])?;
    let return_url = reader.string("returnUrl", MAX_RETURN_URL_CHARS, true);
    reader.finish()?;
    let return_url = match return_url {
        Patch::Set(url) => {
            check_return_url(&url).map_err(|e| ApiError::Validation(vec![e]))?;
            Some(url)
        }
        _ => None,
    };
    if deps
        .integrations
        .get_integration(&call.account_id, &id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(RESOURCE));
    }
    let Some(client_id) = &deps.oauth_client_id else {
        return Err(ApiError::Conflict(NOT_CONFIGURED.into()));
    };
    let origin = public_origin(deps.public_base_url.as_deref(), call.req)
        .ok_or_else(|| ApiError::Validation(vec![FieldError::new("Host", "the request names no host to return to")]))?;
    let redirect_uri = format!("{origin}{CALLBACK_PATH}");
    let state = OAuthState::new(
        &call.account_id,
        &id,
        return_url,
        redirect_uri.clone(),
        deps.clock.now().timestamp(),
    );
    deps.oauth_states.put_oauth_state(&state).await?;
    tracing::info!(integration = %id, "OAuth authorization started");
    Ok(response::json(
        StatusCode::OK,
        &json!({"url": authorize_url(&deps.notion_api_url, client_id, &redirect_uri, &state.state)}),
    ))
}

/// The callback's answer: a page, or a redirect to the caller's `returnUrl`.
enum Outcome {
    Page(StatusCode, &'static str, String),
    Redirect(String),
}

impl Outcome {
    fn failure(message: impl Into<String>) -> Self {
        Self::Page(StatusCode::BAD_REQUEST, "Notion was not connected", message.into())
    }

    fn into_response(self) -> Response<Body> {
        let mut response = match self {
            Self::Page(status, title, message) => response::html(status, &page(title, &message)),
            Self::Redirect(to) => response::redirect(&to),
        };
        let headers = response.headers_mut();
        for (name, value) in [
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff"),
            (
                "content-security-policy",
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ] {
            headers.insert(name, lambda_http::http::HeaderValue::from_static(value));
        }
        response
    }
}

/// `GET /integration/notion/oauth/callback?code&state` (or `?error&state`).
pub async fn callback(deps: &Callback, req: &Request) -> Response<Body> {
    callback_outcome(deps, req)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %crate::error::error_chain(&e), "OAuth callback failed");
            Outcome::Page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side; start again from your app in a moment.".into(),
            )
        })
        .into_response()
}

async fn callback_outcome(deps: &Callback, req: &Request) -> Result<Outcome, StoreError> {
    let Some(oauth) = &deps.oauth else {
        return Ok(Outcome::Page(
            StatusCode::CONFLICT,
            "Notion was not connected",
            NOT_CONFIGURED.into(),
        ));
    };
    let query = query_params(req);
    let get = |name: &str| query.get(name).map(String::as_str);
    let (code, state, error) = (get("code"), get("state"), get("error"));
    let Some(state) = state.filter(|s| is_state_shaped(s)) else {
        return Ok(Outcome::failure(
            "This link is not a valid sign-in link (it has no state of ours). Start again from your app.",
        ));
    };
    // Taken whatever happens next: a state is good for one attempt.
    let Some(pending) = deps.oauth_states.take_oauth_state(state).await? else {
        return Ok(Outcome::failure(
            "This sign-in link was already used or is unknown. Start again from your app.",
        ));
    };
    let now = deps.clock.now();
    if !pending.is_live(now.timestamp()) {
        return Ok(Outcome::failure(
            "This sign-in link expired (they last 10 minutes). Start again from your app.",
        ));
    }
    if let Some(error) = error {
        let reason = if error == "access_denied" {
            "Access was not granted in Notion, so nothing was connected.".to_string()
        } else {
            format!(
                "Notion answered with an error ({}), so nothing was connected.",
                error.chars().take(64).collect::<String>()
            )
        };
        return Ok(Outcome::failure(reason));
    }
    let Some(code) = code.filter(|c| !c.is_empty() && c.len() <= 512) else {
        return Ok(Outcome::failure(
            "Notion sent no authorization code, so nothing was connected.",
        ));
    };
    let (account, id) = (&pending.account_id, &pending.integration_id);
    if deps.integrations.get_integration(account, id).await?.is_none() {
        return Ok(Outcome::failure(
            "The integration no longer exists, so nothing was connected.",
        ));
    }
    let grant = match oauth.exchange_code(code, &pending.redirect_uri).await {
        Ok(grant) => grant,
        Err(e) => {
            tracing::warn!(integration = %id, error = %e, "OAuth code exchange refused");
            return Ok(Outcome::failure(
                "Notion did not accept the authorization (the code may have expired). Start again from your app.",
            ));
        }
    };
    let workspace = Workspace {
        id: grant.workspace_id.clone().unwrap_or_default(),
        name: grant.workspace_name.clone().unwrap_or_default(),
    };
    deps.tokens
        .put_token(account, id, &Credentials::granted(&grant).encode())
        .await?;
    match deps
        .integrations
        .connect_workspace(account, id, &workspace, &rfc3339(now))
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => {
            // Deleted while we exchanged: do not leave the tokens behind.
            deps.tokens.delete_token(id).await?;
            return Ok(Outcome::failure(
                "The integration no longer exists, so nothing was connected.",
            ));
        }
        Err(e) => return Err(e),
    }
    let name = if workspace.name.is_empty() {
        "your Notion workspace".to_string()
    } else {
        workspace.name.clone()
    };
    let event = deps
        .events
        .event(
            account,
            EventType::IntegrationUpdated,
            format!("Connected to {name} with Notion's authorization."),
            json!({"fields": ["token", "workspace"], "via": "oauth"}),
        )
        .for_integration(id);
    deps.events.record(event).await;
    tracing::info!(integration = %id, "connected with OAuth");
    Ok(match &pending.return_url {
        Some(url) => Outcome::Redirect(with_query(url, "connected", id)),
        None => Outcome::Page(
            StatusCode::OK,
            "Notion connected",
            format!("{name} is connected. Its pages will sync into your dataset; you can close this window."),
        ),
    })
}
