//! The replay's HTTP face: the crawler's reads answered from a [`Recordings`] snapshot.
//! Envelopes and errors follow Notion's reference ("Pagination": `object: "list"`, `results`,
//! `next_cursor`, `has_more`, `type`; "Status codes": `object: "error"`, `status`, `code`,
//! `message`); the objects inside are the recorded bytes.

use super::{hyphenated, Recordings};
use crate::render::error as error_body;
use crate::server::query;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

struct Replay {
    recordings: Recordings,
    token: String,
    log: Mutex<Vec<String>>,
}

/// A running replay server.
pub struct Served {
    pub url: String,
    replay: Arc<Replay>,
}

impl Served {
    /// Every request served so far, as `METHOD path?query`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.replay.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn recordings(&self) -> &Recordings {
        &self.replay.recordings
    }
}

/// Serves `recordings` to bearers of `token` on a free loopback port until the process ends.
pub async fn serve(recordings: Recordings, token: &str) -> std::io::Result<Served> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let replay = Arc::new(Replay {
        recordings,
        token: token.to_string(),
        log: Mutex::new(Vec::new()),
    });
    let router = Router::new().fallback(handle).with_state(replay.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "replay server stopped");
        }
    });
    Ok(Served { url, replay })
}

fn answer(status: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn not_found(id: &str) -> Response {
    answer(
        404,
        &error_body(
            404,
            "object_not_found",
            &format!("Could not find object with ID: {id}. Make sure the relevant pages and databases are shared with your integration."),
        ),
    )
}

/// One page of `items` (`start_cursor` is the id of the first item to return, as Notion's are
/// ids of the next result).
fn list(items: Vec<Value>, start_cursor: Option<&str>, page_size: usize, kind: &str) -> Value {
    let start = start_cursor
        .and_then(|c| items.iter().position(|i| i["id"].as_str() == Some(c)))
        .unwrap_or(0);
    let end = (start + page_size.clamp(1, 100)).min(items.len());
    let next = items.get(end).map(|i| i["id"].clone()).unwrap_or(Value::Null);
    json!({
        "object": "list",
        "results": items[start..end].to_vec(),
        "next_cursor": next,
        "has_more": end < items.len(),
        "type": kind,
        kind: {},
    })
}

async fn handle(State(replay): State<Arc<Replay>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or_default().to_string();
    replay
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("{} {}?{}", parts.method, path, raw_query));
    let version = parts.headers.get("notion-version").and_then(|v| v.to_str().ok());
    let recorded = replay.recordings.version.as_str();
    if version != Some(recorded) {
        return answer(
            400,
            &error_body(
                400,
                "validation_error",
                &format!("this replay holds answers recorded in Notion-Version {recorded} only"),
            ),
        );
    }
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(replay.token.as_str()) {
        return answer(401, &error_body(401, "unauthorized", "API token is invalid."));
    }
    let body: Value = serde_json::from_slice(&to_bytes(body, 1 << 20).await.unwrap_or_default()).unwrap_or(json!({}));
    let params = query::params(&raw_query);
    let cursor = params
        .get("start_cursor")
        .map(String::as_str)
        .or_else(|| body["start_cursor"].as_str());
    let size = params
        .get("page_size")
        .and_then(|s| s.parse().ok())
        .or_else(|| body["page_size"].as_u64().map(|n| n as usize))
        .unwrap_or(100);
    let r = &replay.recordings;
    let live = |id: &str| {
        r.pages
            .get(&hyphenated(id))
            .filter(|p| p["in_trash"] != true && p["archived"] != true)
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (parts.method.clone(), segments.as_slice()) {
        (Method::POST, ["v1", "search"]) => {
            let wanted = body["filter"]["value"].as_str();
            let mut items: Vec<Value> = Vec::new();
            if wanted != Some("data_source") {
                items.extend(r.live_pages().iter().filter_map(|id| r.pages.get(id)).cloned());
            }
            if wanted != Some("page") {
                items.extend(r.data_sources.values().cloned());
            }
            answer(200, &list(items, cursor, size, "page_or_data_source"))
        }
        (Method::GET, ["v1", "pages", id]) => live(id).map_or_else(|| not_found(id), |p| answer(200, p)),
        // No recording holds markdown: refused, so the block walk reads every page.
        (Method::GET, ["v1", "pages", id, "markdown"]) => not_found(id),
        (Method::GET, ["v1", "pages", id, "properties", property]) => {
            let Some(page) = live(id) else {
                return not_found(id);
            };
            let wanted = query::decode(property);
            let found = page["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, v)| v)
                .find(|v| v["id"].as_str().map(query::decode).as_deref() == Some(wanted.as_str()));
            let Some(value) = found else {
                return not_found(property);
            };
            let kind = value["type"].as_str().unwrap_or_default();
            match value[kind].as_array() {
                // The recorded references only: the replay cannot show what a page object cut.
                Some(items) => {
                    let items = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| json!({"object": "property_item", "id": format!("{i}"), "type": kind, kind: item}))
                        .collect();
                    answer(200, &list(items, cursor, size, "property_item"))
                }
                None => {
                    let mut item = value.clone();
                    item["object"] = json!("property_item");
                    answer(200, &item)
                }
            }
        }
        (Method::GET, ["v1", "blocks", id, "children"]) => {
            let blocks = r.children.get(&hyphenated(id)).cloned().unwrap_or_default();
            answer(200, &list(blocks, cursor, size, "block"))
        }
        (Method::GET, ["v1", "blocks", id]) => {
            let id = hyphenated(id);
            let block = r
                .children
                .values()
                .flatten()
                .find(|b| b["id"].as_str() == Some(id.as_str()));
            block.map_or_else(|| not_found(&id), |b| answer(200, b))
        }
        (Method::GET, ["v1", "databases", id]) => r
            .databases
            .get(&hyphenated(id))
            .map_or_else(|| not_found(id), |d| answer(200, d)),
        (Method::GET, ["v1", "data_sources", id]) => r
            .data_sources
            .get(&hyphenated(id))
            .map_or_else(|| not_found(id), |d| answer(200, d)),
        (Method::POST, ["v1", "data_sources", id, "query"]) => {
            let id = hyphenated(id);
            if !r.data_sources.contains_key(&id) {
                return not_found(&id);
            }
            let rows = r
                .rows
                .get(&id)
                .into_iter()
                .flatten()
                .filter_map(|row| live(row))
                .cloned()
                .collect();
            answer(200, &list(rows, cursor, size, "page_or_data_source"))
        }
        _ => answer(400, &error_body(400, "invalid_request_url", "Invalid request URL.")),
    }
}
