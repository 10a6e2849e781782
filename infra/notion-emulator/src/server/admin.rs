//! The emulator's own routes (`/__emulator/...`: faults, edits, the request log, webhook
//! subscriptions) and the OAuth endpoints of a public connection.

use super::state::lock;
use super::{error, json_response, Emulator, Fault};
use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

/// `/v1/oauth/authorize` and `/v1/oauth/token` (see [`crate::oauth`]); none for other paths.
pub(super) fn oauth_route(
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

pub(super) fn admin_route(emu: &Emulator, method: &Method, route: &str, body: &[u8]) -> Response {
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
        (Method::POST, "minimal") => {
            // The fewest content requests a perfect crawl of the workspace needs as served
            // now (`render::minimal_requests`): `{"filterProperties": true}` on 2026-12-01,
            // whose lists keep only titles unless properties are named.
            let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let filter = body.get("filterProperties").and_then(Value::as_bool).unwrap_or(true);
            let config = lock(&emu.config).clone();
            let min = emu.with_workspace(|ws| {
                crate::render::minimal_requests(ws, config.markdown_block_limit, config.reading, filter)
            });
            json_response(200, &json!({"markdown": min.markdown, "blockWalk": min.block_walk}))
        }
        (Method::POST, "search-all") => {
            // Makes every page and database visible to search (the generated workspace hides
            // some, as Notion's search misses some): for figures "where search lists the
            // pages".
            let shown = emu.with_workspace(|ws| {
                let mut shown = 0;
                for page in ws.pages.values_mut().filter(|p| !p.in_search) {
                    page.in_search = true;
                    shown += 1;
                }
                for db in ws.databases.values_mut() {
                    db.in_search = true;
                }
                shown
            });
            json_response(200, &json!({"shown": shown}))
        }
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
