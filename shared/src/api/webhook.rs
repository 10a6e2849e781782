//! Notion webhooks (SPEC §2.2): the public endpoint Notion delivers to, and the owner's
//! view of it.
//!
//! `POST /integration/notion/{id}/webhook` takes no API key. The id finds the owner through
//! the webhook item written when the integration was created. A handshake stores its
//! verification token (Secrets Manager) unless a signed event already used the stored one;
//! any other body must be signed with that token. A valid event is answered at once: its
//! work is added to the integration's pending set, and the first event after a quiet spell
//! queues a flush delayed by `WEBHOOK_DEBOUNCE_SECS`, which the crawler turns into one
//! targeted run for everything pending by then.
//!
//! Order for crashes and retries: the event id is remembered only after its work is
//! stored and a flush is on its way, so a delivery that failed half-way is retried by
//! Notion and completes; a repeat of a completed one is dropped.

use super::integration::{integration_id, RESOURCE};
use super::{not_served, Answers, Call, Handler, PublicHandler};
use crate::domain::event::EventType;
use crate::domain::ids::{self, IdKind};
use crate::domain::time::rfc3339;
use crate::domain::time::Clock;
use crate::domain::webhook::{
    handshake_token, signature_matches, HandshakeOutcome, WebhookEvent, Work, EVENT_ID_TTL_SECS, MAX_BODY_BYTES,
    MAX_PENDING_KEYS, SIGNATURE_HEADER,
};
use crate::error::{ApiError, ConfigError, StoreError};
use crate::http::request::path_param;
use crate::http::response;
use crate::http::routes::Route;
use crate::ports::{EventWriter, IntegrationStore, Provide, SyncQueue, WebhookStore, WebhookTokens};
use crate::sync::flush::queue_flush;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use std::sync::Arc;

/// What the public webhook route uses.
pub struct WebhookReceive {
    /// Webhooks (owner, pending work, seen events).
    pub webhooks: Arc<dyn WebhookStore>,
    /// Verification tokens.
    pub webhook_tokens: Arc<dyn WebhookTokens>,
    /// Verification tokens read recently.
    pub webhook_token_cache: TokenCache,
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// The queue the flush goes to.
    pub queue: Arc<dyn SyncQueue>,
    /// Seconds webhook events are coalesced.
    pub webhook_debounce_secs: u32,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// The event log.
    pub events: EventWriter,
}

#[async_trait::async_trait]
impl PublicHandler for WebhookReceive {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            webhooks: p.webhooks(),
            webhook_tokens: p.webhook_tokens(),
            webhook_token_cache: TokenCache::default(),
            integrations: p.integrations(),
            queue: p.queue()?,
            webhook_debounce_secs: p.settings().webhook_debounce_secs,
            clock: p.clock(),
            events: p.events(),
        })
    }

    async fn handle(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        receive(self, req).await
    }
}

/// What the owner's webhook fetch route uses.
pub struct WebhookFetch {
    /// Webhooks.
    pub webhooks: Arc<dyn WebhookStore>,
    /// Verification tokens.
    pub webhook_tokens: Arc<dyn WebhookTokens>,
    /// Integrations.
    pub integrations: Arc<dyn IntegrationStore>,
    /// The API's public origin (`PUBLIC_BASE_URL`).
    pub public_base_url: Option<String>,
    /// How answers present resources.
    pub answers: Answers,
}

#[async_trait::async_trait]
impl Handler for WebhookFetch {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            webhooks: p.webhooks(),
            webhook_tokens: p.webhook_tokens(),
            integrations: p.integrations(),
            public_base_url: p.settings().public_base_url.clone(),
            answers: Answers::of(p),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::WebhookFetch => fetch(self, call).await,
            other => not_served(other),
        }
    }
}

const UNSIGNED: &str = "The event is not signed with this webhook's verification token (X-Notion-Signature).";

/// How long a verification token read from Secrets Manager is trusted without reading it
/// again (a signature that does not match it always reads it again).
const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Verification tokens this process read recently, by integration: a busy webhook costs
/// one Secrets Manager read per five minutes, not one per event. A token replaced by a
/// handshake in another process shows as a mismatch, which reads the secret again.
#[derive(Debug, Default)]
pub struct TokenCache(std::sync::Mutex<CachedTokens>);

/// Token and when it was read, by integration.
type CachedTokens = std::collections::HashMap<String, (String, tokio::time::Instant)>;

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CachedTokens> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, id: &str) -> Option<String> {
        self.lock()
            .get(id)
            .filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(token, _)| token.clone())
    }

    fn put(&self, id: &str, token: Option<&str>) {
        let mut cache = self.lock();
        match token {
            Some(t) => {
                cache.insert(id.to_string(), (t.to_string(), tokio::time::Instant::now()));
            }
            None => {
                cache.remove(id);
            }
        }
    }
}

/// Whether `signature` signs `body` with the integration's verification token: the cached
/// token first, the stored one when that fails.
async fn verified(deps: &WebhookReceive, id: &str, body: &[u8], signature: &str) -> Result<bool, ApiError> {
    if deps
        .webhook_token_cache
        .get(id)
        .is_some_and(|token| signature_matches(body, signature, &token))
    {
        return Ok(true);
    }
    let token = deps.webhook_tokens.get_webhook_token(id).await?;
    deps.webhook_token_cache.put(id, token.as_deref());
    Ok(token.is_some_and(|t| signature_matches(body, signature, &t)))
}

fn ok() -> Response<Body> {
    response::json(StatusCode::OK, &json!({}))
}

/// `POST /integration/notion/{id}/webhook` (public).
pub async fn receive(deps: &WebhookReceive, req: &Request) -> Result<Response<Body>, ApiError> {
    let id = path_param(req, Route::WebhookReceive, "id")
        .filter(|id| ids::is_valid(IdKind::Integration, id))
        .ok_or(ApiError::NotFound(RESOURCE))?;
    let bytes: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request(format!(
            "The body is larger than {} KiB.",
            MAX_BODY_BYTES / 1024
        )));
    }
    let Some(webhook) = deps.webhooks.get_webhook(&id).await? else {
        return Err(ApiError::NotFound(RESOURCE));
    };
    let Some(integration) = deps.integrations.get_integration(&webhook.account_id, &id).await? else {
        return Err(ApiError::NotFound(RESOURCE));
    };
    let body: Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::bad_request("The body must be a JSON object."))?;
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_string());
    let Some(signature) = signature else {
        let token = handshake_token(&body)
            .map_err(|e| ApiError::bad_request(e.to_string()))?
            .ok_or(ApiError::Unauthenticated(UNSIGNED))?;
        return handshake(deps, &webhook.account_id, &id, &token).await;
    };
    // The token is read only after the body is known to be a JSON object: a stranger's
    // garbage costs no Secrets Manager call.
    if !body.is_object() {
        return Err(ApiError::bad_request("The body must be a JSON object."));
    }
    if !verified(deps, &id, bytes, &signature).await? {
        tracing::warn!(integration = %id, "webhook delivery with a wrong signature refused");
        return Err(ApiError::Unauthenticated(UNSIGNED));
    }
    let event = WebhookEvent::parse(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if deps.webhooks.event_seen(&id, &event.id).await? {
        tracing::info!(integration = %id, event = %event.id, "repeated webhook event dropped");
        return Ok(ok());
    }
    let other_workspace = match (&integration.workspace, &event.workspace_id) {
        (Some(ours), Some(theirs)) => ours.id != *theirs,
        _ => false,
    };
    let work = if other_workspace {
        tracing::info!(integration = %id, event = %event.id, "event of another workspace ignored");
        Vec::new()
    } else {
        event.work()
    };
    let mut keys: Vec<String> = work.iter().map(|w| w.key()).collect();
    if !keys.is_empty() && webhook.pending.len() >= MAX_PENDING_KEYS {
        // So much is waiting that naming more pages would outgrow the item: sync it all.
        keys = vec![Work::Everything.key()];
    }
    let now = deps.clock.now();
    let recorded = match deps.webhooks.add_work(&id, &keys, &rfc3339(now)).await {
        Ok(recorded) => recorded,
        Err(StoreError::NotFound) => return Err(ApiError::NotFound(RESOURCE)),
        Err(e) => return Err(e.into()),
    };
    if recorded.first_event {
        let message = "Notion's first signed event arrived: the webhook is verified and active.";
        let event = deps
            .events
            .event(&webhook.account_id, EventType::WebhookVerified, message, json!({}))
            .for_integration(&id);
        deps.events.record(event).await;
    }
    if !keys.is_empty() {
        queue_flush(
            deps.webhooks.as_ref(),
            deps.queue.as_ref(),
            &webhook.account_id,
            &id,
            deps.webhook_debounce_secs,
            now.timestamp(),
        )
        .await?;
    }
    deps.webhooks
        .remember_event(&id, &event.id, now.timestamp() + EVENT_ID_TTL_SECS)
        .await?;
    tracing::info!(integration = %id, event = %event.id, kind = %event.kind, work = keys.len(), "webhook event accepted");
    Ok(ok())
}

/// Notion's handshake: store the verification token unless a signed event already used
/// the stored one (then 409: a stranger cannot replace a working token).
async fn handshake(deps: &WebhookReceive, account_id: &str, id: &str, token: &str) -> Result<Response<Body>, ApiError> {
    match deps.webhooks.accept_handshake(id, &rfc3339(deps.clock.now())).await? {
        HandshakeOutcome::Accepted => {}
        HandshakeOutcome::Unknown => return Err(ApiError::NotFound(RESOURCE)),
        HandshakeOutcome::TokenInUse => {
            return Err(ApiError::Conflict(
                "This webhook's verification token is in use by signed events; delete and recreate the integration to subscribe again."
                    .into(),
            ))
        }
    }
    deps.webhook_tokens.put_webhook_token(account_id, id, token).await?;
    deps.webhook_token_cache.put(id, Some(token));
    tracing::info!(integration = %id, "webhook verification token stored");
    let event = deps
        .events
        .event(
            account_id,
            EventType::IntegrationUpdated,
            "Notion's webhook handshake stored a verification token.",
            json!({"fields": ["webhookVerificationToken"]}),
        )
        .for_integration(id);
    deps.events.record(event).await;
    Ok(ok())
}

/// `GET /integration/notion/{id}/webhook/fetch` → `{url, verificationToken, status, lastEventAt}`.
pub async fn fetch(deps: &WebhookFetch, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let id = integration_id(call)?;
    deps.integrations
        .get_integration(&call.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound(RESOURCE))?;
    // Integrations created before webhooks existed get their webhook item now.
    let webhook = match deps.webhooks.get_webhook(&id).await? {
        Some(w) if w.account_id == call.account_id => w,
        Some(_) => return Err(ApiError::NotFound(RESOURCE)),
        None => {
            deps.webhooks.register_webhook(&call.account_id, &id).await?;
            deps.webhooks
                .get_webhook(&id)
                .await?
                .filter(|w| w.account_id == call.account_id)
                .ok_or(ApiError::NotFound(RESOURCE))?
        }
    };
    let origin = super::oauth::public_origin(deps.public_base_url.as_deref(), call.req)
        .ok_or_else(|| ApiError::bad_request("The request names no host to build the webhook URL from."))?;
    let url = format!("{origin}{}", Route::WebhookReceive.template().replace("{id}", &id));
    let token = deps.webhook_tokens.get_webhook_token(&id).await?;
    let status = webhook.status(token.is_some());
    let view = json!({
        "url": url,
        "verificationToken": token,
        "status": status,
        "lastEventAt": webhook.last_event_at,
    });
    Ok(deps.answers.resource(view))
}
