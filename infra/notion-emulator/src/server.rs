//! The HTTP side: Notion's routes, bearer auth, `Notion-Version`, per-token rate limiting
//! (429 `rate_limited` with `Retry-After`), scripted faults (status codes, HTML bodies,
//! delays), and a log of every request for tests and benchmarks.

use crate::model::{Parent, Workspace};
use crate::render::{self, MarkdownRenderer, Reading};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Behaviour switches.
#[derive(Clone, Debug)]
pub struct Config {
    /// Requests per second allowed per token; none for unlimited.
    pub rps: Option<u32>,
    /// Blocks one markdown answer renders before leaving the rest as `<unknown>`.
    pub markdown_block_limit: usize,
    /// Most results one search or data source query walks through, as Notion caps them:
    /// the page reaching it ends the listing with `request_status.type: "incomplete"`.
    pub result_cap: usize,
    /// Which reading of the markdown documents to render (see [`Reading`]).
    pub reading: Reading,
    /// Edits made from now on carry the wall clock's time, as in Notion (the generated
    /// workspace's own times stay in its past). Off, the workspace clock only ticks, which
    /// keeps generated runs reproducible.
    pub wall_clock: bool,
    /// A page whose parent (or any ancestor) is in the trash is retrieved with `in_trash:
    /// true` too. Notion's documents leave this open; off, a page reports its own flag.
    pub trash_cascades: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rps: Some(3),
            markdown_block_limit: 1_000,
            result_cap: 10_000,
            reading: Reading::DOCUMENTED,
            wall_clock: false,
            trash_cascades: false,
        }
    }
}

/// A scripted failure: the next `times` requests whose path contains `path_contains` get it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Fault {
    /// Substring of the request path ("" for any).
    #[serde(default)]
    pub path_contains: String,
    /// Status to answer (0: answer normally, after `delay_ms`).
    pub status: u16,
    /// How many requests it applies to.
    pub times: u32,
    /// Delay before answering.
    #[serde(default)]
    pub delay_ms: u64,
    /// Answer an HTML page instead of Notion's JSON error (as proxies do on 502).
    #[serde(default)]
    pub html: bool,
    /// Only for requests that carry a `start_cursor`, answered as Notion answers a cursor
    /// it no longer accepts: 400 `validation_error`, "start_cursor provided is invalid".
    #[serde(default)]
    pub expired_cursor: bool,
}

/// One request as the emulator saw it.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    /// Milliseconds since the emulator started.
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Status answered.
    pub status: u16,
}

/// The emulator's state; share it with tests to mutate the workspace and read the log.
pub struct Emulator {
    workspace: Mutex<Workspace>,
    config: Mutex<Config>,
    faults: Mutex<VecDeque<Fault>>,
    log: Mutex<Vec<LoggedRequest>>,
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
    oauth: Mutex<crate::oauth::OAuthState>,
    webhooks: Mutex<Webhooks>,
    started: Instant,
}

/// The HTTP client deliveries go out with.
fn delivery_client() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}

/// Webhook subscriptions, how deliveries behave, and what was delivered.
#[derive(Default)]
struct Webhooks {
    subscriptions: Vec<crate::webhooks::Subscription>,
    config: crate::webhooks::DeliveryConfig,
    /// Also emit an event naming a page the token cannot read, with every batch.
    inaccessible: bool,
    next: u64,
    log: Arc<Mutex<Vec<crate::webhooks::Delivery>>>,
    http: Option<reqwest::Client>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Emulator {
    /// An emulator serving `workspace`.
    pub fn new(mut workspace: Workspace, config: Config) -> Arc<Self> {
        // Building the workspace is not a change anyone subscribed to.
        workspace.changes.clear();
        Arc::new(Self {
            workspace: Mutex::new(workspace),
            config: Mutex::new(config),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            windows: Mutex::new(HashMap::new()),
            oauth: Mutex::new(crate::oauth::OAuthState::default()),
            webhooks: Mutex::new(Webhooks::default()),
            started: Instant::now(),
        })
    }

    /// Runs `f` on the workspace (to read or mutate it); what it changed is delivered to
    /// the webhook subscriptions, if any (see [`crate::webhooks`]).
    pub fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace) -> R) -> R {
        let wall_clock = lock(&self.config).wall_clock;
        let (result, changes, clock) = {
            let mut ws = lock(&self.workspace);
            if wall_clock {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                ws.advance_to(now);
            }
            let result = f(&mut ws);
            let changes = std::mem::take(&mut ws.changes);
            (result, changes, ws.now())
        };
        if !changes.is_empty() {
            self.deliver(changes, clock);
        }
        result
    }

    /// Subscribes `url` to the workspace's events: sends the handshake (the verification
    /// token, unsigned) and returns the token, which signs every later delivery.
    pub fn subscribe_webhook(&self, url: &str) -> String {
        let mut hooks = lock(&self.webhooks);
        hooks.next += 1;
        let subscription = crate::webhooks::Subscription {
            url: url.to_string(),
            verification_token: format!(
                "secret_whv_{:016x}{:04x}",
                self.started.elapsed().as_nanos(),
                hooks.next
            ),
            id: format!("5b5b5b5b-0000-4000-8000-{:012x}", hooks.next),
        };
        let token = subscription.verification_token.clone();
        hooks.subscriptions.push(subscription.clone());
        let http = hooks.http.get_or_insert_with(delivery_client).clone();
        let log = hooks.log.clone();
        tokio::spawn(async move {
            let delivery = crate::webhooks::handshake(&http, &subscription).await;
            lock(&log).push(delivery);
        });
        token
    }

    /// Changes how deliveries behave (attempts, backoff, duplicates, order).
    pub fn configure_webhooks(&self, f: impl FnOnce(&mut crate::webhooks::DeliveryConfig)) {
        f(&mut lock(&self.webhooks).config);
    }

    /// With every batch of events, also send one naming a page the token cannot read.
    pub fn webhook_inaccessible_events(&self, on: bool) {
        lock(&self.webhooks).inaccessible = on;
    }

    /// Every delivery so far (handshakes included), in the order they finished.
    pub fn webhook_deliveries(&self) -> Vec<crate::webhooks::Delivery> {
        lock(&lock(&self.webhooks).log).clone()
    }

    fn deliver(&self, mut changes: Vec<(&'static str, String, &'static str)>, clock: i64) {
        let mut hooks = lock(&self.webhooks);
        if hooks.subscriptions.is_empty() {
            return;
        }
        if hooks.inaccessible {
            changes.push((
                "page.content_updated",
                "00000000-dead-4000-8000-000000000000".into(),
                "page",
            ));
        }
        let mut events = Vec::new();
        for (kind, entity, entity_type) in changes {
            hooks.next += 1;
            events.push((
                format!("e7e7e7e7-0000-4000-8000-{:012x}", hooks.next),
                kind,
                entity,
                entity_type,
            ));
        }
        if hooks.config.reverse {
            events.reverse();
        }
        let timestamp = render::time(clock);
        let http = hooks.http.get_or_insert_with(delivery_client).clone();
        for subscription in hooks.subscriptions.clone() {
            let (http, config, log, events, timestamp) = (
                http.clone(),
                hooks.config.clone(),
                hooks.log.clone(),
                events.clone(),
                timestamp.clone(),
            );
            tokio::spawn(async move {
                for (id, kind, entity, entity_type) in &events {
                    let times = if config.duplicate { 2 } else { 1 };
                    for _ in 0..times {
                        let delivery = crate::webhooks::deliver(
                            &http,
                            &subscription,
                            &config,
                            id,
                            kind,
                            (entity, entity_type),
                            &timestamp,
                        )
                        .await;
                        lock(&log).push(delivery);
                    }
                }
            });
        }
    }

    /// Changes the configuration.
    pub fn configure(&self, f: impl FnOnce(&mut Config)) {
        f(&mut lock(&self.config));
    }

    /// Makes the workspace a public connection's: its OAuth endpoints answer `client_id`
    /// with `client_secret` (see [`crate::oauth`]).
    pub fn enable_oauth(&self, client_id: &str, client_secret: &str) {
        lock(&self.oauth).client = Some((client_id.to_string(), client_secret.to_string()));
    }

    /// Whether the simulated user cancels at the consent page from now on.
    pub fn oauth_deny(&self, deny: bool) {
        lock(&self.oauth).deny = deny;
    }

    /// Token exchanges answered so far for `grant_type`.
    pub fn oauth_exchanges(&self, grant_type: &str) -> u32 {
        lock(&self.oauth).exchanges.get(grant_type).copied().unwrap_or(0)
    }

    /// Revokes an access token (as when it expires): the API answers it 401 from now on.
    pub fn revoke_token(&self, token: &str) {
        self.with_workspace(|ws| ws.tokens.remove(token));
    }

    /// Queues a fault.
    pub fn inject(&self, fault: Fault) {
        lock(&self.faults).push_back(fault);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    /// The most requests that arrived within any one-second window.
    pub fn max_requests_per_second(&self) -> usize {
        let times: Vec<u64> = lock(&self.log).iter().map(|r| r.at_ms).collect();
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= 1_000 {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    fn take_fault(&self, path: &str, has_cursor: bool) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults
            .iter()
            .position(|f| path.contains(&f.path_contains) && (has_cursor || !f.expired_cursor))?;
        let fault = faults[index].clone();
        if faults[index].times <= 1 {
            faults.remove(index);
        } else {
            faults[index].times -= 1;
        }
        Some(fault)
    }

    fn rate_limited(&self, token: &str) -> bool {
        let Some(rps) = lock(&self.config).rps else {
            return false;
        };
        let mut windows = lock(&self.windows);
        let window = windows.entry(token.to_string()).or_default();
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= rps as usize {
            return true;
        }
        window.push_back(now);
        false
    }
}

/// The router serving the Notion API and the emulator's admin routes.
pub fn router(emulator: Arc<Emulator>) -> Router {
    Router::new().fallback(handle).with_state(emulator)
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: u16, code: &str, message: &str) -> Response {
    json_response(status, &render::error(status, code, message))
}

async fn handle(State(emu): State<Arc<Emulator>>, request: Request) -> Response {
    // Time of arrival, as a rate limiter at the wire would see it.
    let at_ms = emu.started.elapsed().as_millis() as u64;
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let full_path = request.uri().path_and_query().map_or(path.clone(), |p| p.to_string());
    let response = respond(&emu, request).await;
    if !path.starts_with("/__emulator") {
        let entry = LoggedRequest {
            at_ms,
            method: method.to_string(),
            path: full_path,
            status: response.status().as_u16(),
        };
        let mut log = lock(&emu.log);
        // Keep the log in arrival order even when answers finish out of order.
        let at = log.partition_point(|r| r.at_ms <= at_ms);
        log.insert(at, entry);
    }
    response
}

async fn respond(emu: &Emulator, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    if let Some(admin) = path.strip_prefix("/__emulator/") {
        return admin_route(emu, &parts.method, admin, &body);
    }
    if let Some(answer) = oauth_route(emu, &parts, &path, &query, &body) {
        return answer;
    }
    if parts.headers.get("notion-version").is_none() {
        return error(400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.");
    }
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    if !emu.with_workspace(|ws| ws.tokens.contains(&token)) {
        return error(401, "unauthorized", "API token is invalid.");
    }
    if emu.rate_limited(&token) {
        let mut response = error(
            429,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let has_cursor = query.contains("start_cursor=") || body.get("start_cursor").is_some_and(|c| !c.is_null());
    if let Some(fault) = emu.take_fault(&path, has_cursor) {
        if fault.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        }
        if fault.expired_cursor {
            return error(
                400,
                "validation_error",
                "body failed validation: start_cursor provided is invalid.",
            );
        }
        if fault.status != 0 {
            if fault.html {
                let mut response = Response::new(Body::from("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"));
                *response.status_mut() = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::BAD_GATEWAY);
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                return response;
            }
            let (code, message) = match fault.status {
                400 => ("validation_error", "body failed validation."),
                404 => ("object_not_found", "Could not find object. Make sure the relevant pages and databases are shared with your integration."),
                409 => ("conflict_error", "Conflict occurred while saving. Please try again."),
                429 => ("rate_limited", "You have been rate limited. Please try again in a few minutes."),
                503 => ("service_unavailable", "Notion is unavailable, please try again later."),
                _ => ("internal_server_error", "Unexpected error occurred."),
            };
            let mut response = error(fault.status, code, message);
            if fault.status == 429 {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            return response;
        }
    }
    if body.is_null() {
        return error(400, "invalid_json", "Error parsing JSON body.");
    }
    let config = lock(&emu.config).clone();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    emu.with_workspace(|ws| match (parts.method.clone(), segments.as_slice()) {
        (Method::POST, ["v1", "search"]) => search(ws, &body, config.result_cap),
        (Method::GET, ["v1", "pages", id]) => retrieve_page(ws, &normalize(id), config.trash_cascades),
        (Method::GET, ["v1", "pages", id, "markdown"]) => page_markdown(ws, &normalize(id), &config),
        (Method::GET, ["v1", "blocks", id, "children"]) => block_children(ws, &normalize(id), &query),
        (Method::GET, ["v1", "blocks", id]) => retrieve_block(ws, &normalize(id)),
        (Method::GET, ["v1", "databases", id]) => retrieve_database(ws, &normalize(id)),
        (Method::POST, ["v1", "data_sources", id, "query"]) => {
            query_data_source(ws, &normalize(id), &body, config.result_cap)
        }
        _ => error(400, "invalid_request_url", "Invalid request URL."),
    })
}

/// `/v1/oauth/authorize` and `/v1/oauth/token` (see [`crate::oauth`]); none for other paths.
fn oauth_route(
    emu: &Emulator,
    parts: &axum::http::request::Parts,
    path: &str,
    query: &str,
    body: &[u8],
) -> Option<Response> {
    use crate::oauth::Answer;
    let answer = match (&parts.method, path) {
        (&Method::GET, "/v1/oauth/authorize") => lock(&emu.oauth).authorize(query),
        (&Method::POST, "/v1/oauth/token") => {
            if let Some(fault) = emu.take_fault(path, false).filter(|f| f.status != 0) {
                return Some(error(
                    fault.status,
                    "internal_server_error",
                    "Unexpected error occurred.",
                ));
            }
            let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let mut oauth = lock(&emu.oauth);
            emu.with_workspace(|ws| oauth.token(authorization, &body, ws))
        }
        _ => return None,
    };
    Some(match answer {
        Answer::Json(status, body) => json_response(status, &body),
        Answer::Redirect(to) => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::FOUND;
            if let Ok(location) = HeaderValue::from_str(&to) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Answer::Text(status, text) => {
            let mut response = Response::new(Body::from(text));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            response
        }
    })
}

fn admin_route(emu: &Emulator, method: &Method, route: &str, body: &[u8]) -> Response {
    match (method.clone(), route) {
        (Method::POST, "revoke") => {
            // Revokes an access token, as when it expires: `{"token": "..."}`.
            let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let token = body.get("token").and_then(Value::as_str).unwrap_or_default();
            emu.revoke_token(token);
            json_response(200, &json!({"revoked": token}))
        }
        (Method::GET, "requests") => json_response(
            200,
            &json!({"requests": emu.requests(), "maxPerSecond": emu.max_requests_per_second()}),
        ),
        (Method::POST, "edit") => {
            // Edits the first block of every `every`-th page: `{"every": 100, "text": "..."}`.
            let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let every = body.get("every").and_then(Value::as_u64).unwrap_or(100).max(1) as usize;
            let text = body.get("text").and_then(Value::as_str).unwrap_or("edited").to_string();
            let edited = emu.with_workspace(|ws| {
                let targets: Vec<String> = ws.pages.keys().step_by(every).cloned().collect();
                let mut edited = 0;
                for page in targets {
                    if let Some(block) = ws.pages[&page].children.first().cloned() {
                        ws.edit_block(&block, &format!("{text} {page}"));
                        edited += 1;
                    }
                }
                edited
            });
            json_response(200, &json!({"edited": edited}))
        }
        (Method::POST, "webhooks") => {
            // Subscribes an endpoint to the workspace's events, as adding a subscription in
            // the integration's settings does: `{"url": "..."}` → the verification token the
            // handshake delivered (what the user would copy from the endpoint and paste).
            let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            match body.get("url").and_then(Value::as_str) {
                Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                    let token = emu.subscribe_webhook(url);
                    json_response(200, &json!({"verificationToken": token}))
                }
                _ => error(400, "validation_error", "body.url must be an http(s) URL."),
            }
        }
        (Method::GET, "webhooks/deliveries") => {
            let deliveries: Vec<Value> = emu
                .webhook_deliveries()
                .into_iter()
                .map(|d| json!({"eventId": d.event_id, "type": d.kind, "attempts": d.attempts, "status": d.status}))
                .collect();
            json_response(200, &json!({"deliveries": deliveries}))
        }
        (Method::POST, "requests/clear") => {
            emu.clear_requests();
            json_response(200, &json!({}))
        }
        (Method::POST, "faults") => match serde_json::from_slice::<Vec<Fault>>(body) {
            Ok(faults) => {
                for fault in faults {
                    emu.inject(fault);
                }
                json_response(200, &json!({}))
            }
            Err(e) => error(
                400,
                "validation_error",
                &format!("faults must be a JSON array of faults: {e}"),
            ),
        },
        _ => error(404, "object_not_found", "Unknown emulator route."),
    }
}

/// Accepts ids with or without dashes.
fn normalize(id: &str) -> String {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 {
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    } else {
        id.to_string()
    }
}

fn not_found(kind: &str, id: &str) -> Response {
    error(
        404,
        "object_not_found",
        &format!("Could not find {kind} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."),
    )
}

fn page_size(value: Option<&Value>) -> Option<usize> {
    match value {
        None | Some(Value::Null) => Some(100),
        Some(v) => v.as_u64().filter(|n| (1..=100).contains(n)).map(|n| n as usize),
    }
}

fn page_size_error() -> Response {
    error(
        400,
        "validation_error",
        "body failed validation: body.page_size should be a number between 1 and 100.",
    )
}

/// Pages a sorted list by id: the cursor is the id of the first item of the next page.
/// Listings stop at `cap` results (Notion's 10,000): the page reaching it says so in
/// `request_status` and has no next cursor. Only the answered page's items are rendered,
/// so a listing of a large workspace costs little per request (the workspace lock is
/// held meanwhile, as every other request waits on it).
fn paginate<T>(
    items: Vec<(String, T)>,
    cursor: Option<&str>,
    size: usize,
    cap: usize,
    kind: &str,
    render: impl Fn(&T) -> Value,
) -> Response {
    let start = match cursor {
        None | Some("") => 0,
        Some(c) => match items.iter().position(|(id, _)| id == c) {
            Some(i) if i < cap => i,
            _ => {
                return error(
                    400,
                    "validation_error",
                    "body failed validation: start_cursor provided is invalid.",
                )
            }
        },
    };
    let end = (start + size).min(items.len()).min(cap);
    let capped = end == cap && items.len() > cap;
    let next = if capped {
        None
    } else {
        items.get(end).map(|(id, _)| id.clone())
    };
    let results = items[start..end].iter().map(|(_, v)| render(v)).collect();
    let mut list = render::list(results, next, kind);
    if capped {
        list["request_status"] = json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"});
    }
    json_response(200, &list)
}

fn search(ws: &Workspace, body: &Value, cap: usize) -> Response {
    let Some(size) = page_size(body.get("page_size")) else {
        return page_size_error();
    };
    let only = body.pointer("/filter/value").and_then(Value::as_str);
    enum Hit<'a> {
        Page(&'a crate::model::Page),
        Source(&'a crate::model::Database),
    }
    let mut items: Vec<(String, Hit)> = Vec::new();
    if only != Some("data_source") {
        for p in ws.pages.values() {
            if p.in_search && ws.alive(&p.id) {
                items.push((p.id.clone(), Hit::Page(p)));
            }
        }
    }
    if only != Some("page") {
        for db in ws.databases.values() {
            let parent_ok = db.parent_page.as_ref().is_none_or(|p| ws.alive(p));
            if db.in_search && parent_ok {
                items.push((db.data_source_id.clone(), Hit::Source(db)));
            }
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    paginate(
        items,
        body.get("start_cursor").and_then(Value::as_str),
        size,
        cap,
        "page_or_data_source",
        |hit| match hit {
            Hit::Page(p) => render::page(ws, p),
            Hit::Source(db) => render::data_source(db),
        },
    )
}

/// `GET /v1/pages/{id}` ("Retrieve a page"). Whether a page under a trashed parent reports
/// `in_trash` itself is not documented ("Trash a page" speaks of the page trashed): by
/// default it reports its own flag; with [`Config::trash_cascades`] it reports `true`, the
/// other reading.
fn retrieve_page(ws: &Workspace, id: &str, trash_cascades: bool) -> Response {
    match ws.pages.get(id) {
        Some(p) if ws.visible(id) => {
            let mut page = render::page(ws, p);
            if trash_cascades && !ws.alive(id) {
                page["in_trash"] = Value::Bool(true);
                page["archived"] = Value::Bool(true);
            }
            json_response(200, &page)
        }
        _ => not_found("page", id),
    }
}

fn page_markdown(ws: &Workspace, id: &str, config: &Config) -> Response {
    let (page_id, roots, is_page) = match ws.pages.get(id) {
        Some(p) => (id.to_string(), p.children.clone(), true),
        None => match ws.blocks.get(id) {
            Some(_) => (ws.page_of(id).unwrap_or_default(), vec![id.to_string()], false),
            None => return not_found("page", id),
        },
    };
    if !ws.visible(&page_id) {
        return not_found("page", id);
    }
    let title = ws.pages.get(&page_id).map(|p| p.title.clone()).unwrap_or_default();
    let mut renderer = MarkdownRenderer::new(
        ws,
        render::url(&title, &page_id),
        config.markdown_block_limit,
        config.reading,
    );
    if is_page {
        renderer.blocks(&roots, 0);
    } else if let Some(b) = ws.blocks.get(id) {
        renderer.block(b, 0);
    }
    let (markdown, unknown) = renderer.finish();
    json_response(
        200,
        &json!({"object": "page_markdown", "id": id, "markdown": markdown, "truncated": !unknown.is_empty(), "unknown_block_ids": unknown}),
    )
}

fn block_children(ws: &Workspace, id: &str, query: &str) -> Response {
    let params: HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2D", "-")))
        .collect();
    let Some(size) = page_size(
        params
            .get("page_size")
            .map(|v| json!(v.parse::<u64>().unwrap_or(0)))
            .as_ref(),
    ) else {
        return page_size_error();
    };
    let children = match (ws.pages.get(id), ws.blocks.get(id)) {
        (Some(p), _) => p.children.clone(),
        (None, Some(b)) => ws.children_of(b),
        (None, None) => return not_found("block", id),
    };
    let page = ws.page_of(id).unwrap_or_else(|| id.to_string());
    if !ws.visible(&page) {
        return not_found("block", id);
    }
    let items = children
        .iter()
        .filter_map(|c| ws.blocks.get(c).map(|b| (c.clone(), b)))
        .collect();
    paginate(
        items,
        params.get("start_cursor").map(String::as_str),
        size,
        usize::MAX,
        "block",
        |b| render::block(ws, b),
    )
}

fn retrieve_block(ws: &Workspace, id: &str) -> Response {
    match ws.blocks.get(id) {
        Some(b) if ws.page_of(id).is_some_and(|p| ws.visible(&p)) => json_response(200, &render::block(ws, b)),
        _ => not_found("block", id),
    }
}

fn retrieve_database(ws: &Workspace, id: &str) -> Response {
    match ws.databases.get(id) {
        Some(db) if db.parent_page.as_ref().is_none_or(|p| ws.visible(p)) => json_response(200, &render::database(db)),
        _ => not_found("database", id),
    }
}

/// Whether a row passes a query's filter, as "Filter data source entries" documents the
/// parts the emulator knows: timestamp filters (`{"timestamp": "created_time" |
/// "last_edited_time", "<that>": {"on_or_after" | "after" | "on_or_before" | "before" |
/// "equals": date}}`, compared at the minute Notion keeps) and the `and` / `or` compounds.
/// Property filters are not emulated: they pass every row.
fn row_matches(filter: &Value, page: &crate::model::Page) -> bool {
    if let Some(all) = filter.get("and").and_then(Value::as_array) {
        return all.iter().all(|f| row_matches(f, page));
    }
    if let Some(any) = filter.get("or").and_then(Value::as_array) {
        return any.iter().any(|f| row_matches(f, page));
    }
    let Some(kind) = filter.get("timestamp").and_then(Value::as_str) else {
        return true;
    };
    let epoch = match kind {
        "created_time" => page.created,
        "last_edited_time" => page.last_edited,
        _ => return true,
    };
    let at = render::time(epoch - epoch.rem_euclid(60));
    let Some(conditions) = filter.get(kind).and_then(Value::as_object) else {
        return true;
    };
    conditions.iter().all(|(op, date)| {
        let Some(date) = date.as_str() else { return true };
        match op.as_str() {
            "on_or_after" => at.as_str() >= date,
            "after" => at.as_str() > date,
            "on_or_before" => at.as_str() <= date,
            "before" => at.as_str() < date,
            "equals" => at.starts_with(date),
            _ => true,
        }
    })
}

fn query_data_source(ws: &Workspace, id: &str, body: &Value, cap: usize) -> Response {
    let Some(size) = page_size(body.get("page_size")) else {
        return page_size_error();
    };
    let Some(db) = ws.data_sources.get(id).and_then(|d| ws.databases.get(d)) else {
        return not_found("data source", id);
    };
    if !db.parent_page.as_ref().is_none_or(|p| ws.visible(p)) {
        return not_found("data source", id);
    }
    // Notion keeps created_time to the minute; a `created_time` filter and sort work on that.
    let minute = |epoch: i64| epoch - epoch.rem_euclid(60);
    let by_created = body
        .pointer("/sorts/0/timestamp")
        .and_then(Value::as_str)
        .is_some_and(|t| t == "created_time");
    let filter = body.get("filter").cloned().unwrap_or(Value::Null);
    let mut rows: Vec<&crate::model::Page> = db
        .rows
        .iter()
        .filter_map(|r| ws.pages.get(r))
        .filter(|p| !p.in_trash && p.shared && matches!(p.parent, Parent::DataSource(_)))
        .filter(|p| row_matches(&filter, p))
        .collect();
    if by_created {
        rows.sort_by(|a, b| (minute(a.created), &a.id).cmp(&(minute(b.created), &b.id)));
    } else {
        rows.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let items: Vec<(String, &crate::model::Page)> = rows.into_iter().map(|p| (p.id.clone(), p)).collect();
    paginate(
        items,
        body.get("start_cursor").and_then(Value::as_str),
        size,
        cap,
        "page_or_data_source",
        |p| {
            let mut page = render::page(ws, p);
            page["created_time"] = Value::String(render::time(minute(p.created)));
            page
        },
    )
}
