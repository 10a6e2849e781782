//! The HTTP side: Notion's routes, bearer auth, `Notion-Version`, per-token rate limiting
//! (429 `rate_limited` with `Retry-After`), scripted faults (status codes, HTML bodies,
//! delays), and a log of every request for tests and benchmarks.
//! [`state`] holds the emulator, [`admin`] its own routes and OAuth, [`routes`] Notion's.

mod admin;
pub mod query;
mod routes;
mod state;
mod version;

pub use state::{Config, Emulator, Fault, LoggedRequest};
pub use version::ApiVersion;

use crate::render::{self};
use admin::{admin_route, oauth_route};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use routes::*;
use serde_json::{json, Value};
use state::lock;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The router serving the Notion API and the emulator's admin routes.
pub fn router(emulator: Arc<Emulator>) -> Router {
    Router::new().fallback(handle).with_state(emulator)
}

pub(super) fn json_response(status: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub(super) fn error(status: u16, code: &str, message: &str) -> Response {
    json_response(status, &render::error(status, code, message))
}

async fn handle(State(emu): State<Arc<Emulator>>, request: Request) -> Response {
    // Time of arrival, as a rate limiter at the wire would see it.
    let at_ms = emu.started.elapsed().as_millis() as u64;
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let full_path = request.uri().path_and_query().map_or(path.clone(), |p| p.to_string());
    let response = respond(&emu, request).await;
    if !path.starts_with("/__emulator") && !path.starts_with("/files/") {
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

/// A hosted file, as S3 answers a pre-signed GET: the bytes until the signature expires,
/// then 403 AccessDenied (see [`crate::files`]). The object path is `<workspace>/<block>/<name>`.
fn serve_file(emu: &Emulator, object: &str, query: &str) -> Response {
    let xml = |status: u16, message: &str| {
        let mut response = Response::new(Body::from(crate::files::s3_denied(message)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        response
    };
    if !query.contains("X-Amz-Signature=") {
        return xml(403, "Access Denied");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match crate::files::expires_at(query) {
        Some(at) if now < at => {}
        _ => return xml(403, "Request has expired"),
    }
    let mut parts = object.splitn(3, '/');
    let (_, Some(block_id), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return xml(404, "The specified key does not exist.");
    };
    let name = percent_decode(name);
    let known = emu.with_workspace(|ws| ws.blocks.contains_key(block_id) || ws.pages.contains_key(block_id));
    if !known {
        return xml(404, "The specified key does not exist.");
    }
    lock(&emu.downloads).push(object.to_string());
    let (mime, bytes) = crate::files::body(block_id, &name);
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    response
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn respond(emu: &Emulator, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    if let Some(admin) = path.strip_prefix("/__emulator/") {
        return admin_route(emu, &parts.method, admin, &body);
    }
    if let Some(object) = path.strip_prefix("/files/") {
        return serve_file(emu, object, &query);
    }
    if let Some(answer) = oauth_route(emu, &parts, &path, &query, &body) {
        return answer;
    }
    let Some(header) = parts.headers.get("notion-version") else {
        return error(400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.");
    };
    let Some(version) = header.to_str().ok().and_then(ApiVersion::from_header) else {
        return error(
            400,
            "validation_error",
            "Notion-Version header failed validation: it should be a date such as `2026-12-01`.",
        );
    };
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
    if let Some((reason, retry_after)) = emu.rate_limited(&token) {
        let mut body = render::error(
            429,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        );
        body["additional_data"] = json!({"rate_limit_reason": reason});
        let mut response = json_response(429, &body);
        if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
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
    // A list whose rows keep only their title on 2026-12-01, and the ids they keep besides.
    let mut title_only: Option<HashSet<String>> = None;
    let answer = emu.with_workspace(|ws| match (parts.method.clone(), segments.as_slice()) {
        (Method::POST, ["v1", "search"]) => {
            title_only = Some(version::filter_properties(&query));
            search(ws, &body, config.result_cap)
        }
        (Method::GET, ["v1", "pages", id]) => retrieve_page(ws, &normalize(id), config.trash_cascades),
        (Method::GET, ["v1", "pages", id, "properties", property]) => {
            page_property(ws, &normalize(id), property, &query)
        }
        (Method::GET, ["v1", "pages", id, "markdown"]) => page_markdown(ws, &normalize(id), &query, version, &config),
        (Method::GET, ["v1", "blocks", id, "children"]) => block_children(ws, &normalize(id), &query),
        (Method::GET, ["v1", "blocks", id]) => retrieve_block(ws, &normalize(id)),
        (Method::GET, ["v1", "users", "me"]) => bot_user(),
        (Method::GET, ["v1", "databases", id]) => retrieve_database(ws, &normalize(id)),
        (Method::GET, ["v1", "data_sources", id]) => retrieve_data_source(ws, &normalize(id)),
        (Method::POST, ["v1", "data_sources", id, "query"]) => {
            title_only = Some(version::filter_properties(&query));
            query_data_source(ws, &normalize(id), &body, config.result_cap)
        }
        _ => error(400, "invalid_request_url", "Invalid request URL."),
    });
    in_version(answer, version, title_only.filter(|_| version.lists_title_only())).await
}

/// An answer rendered in the newest shape, rewritten into `version`'s (see [`version`]).
async fn in_version(answer: Response, version: ApiVersion, title_only: Option<HashSet<String>>) -> Response {
    if !answer.status().is_success() {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    version::adapt(&mut value, version);
    if let Some(keep) = title_only {
        version::keep_properties(&mut value, &keep);
    }
    Response::from_parts(parts, Body::from(value.to_string()))
}
