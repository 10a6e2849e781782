//! JSON and JSON Lines answers.

use crate::error::{error_chain, ApiError};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{json, Value};

/// Header carrying the next cursor of a JSON Lines listing, whose body holds only items.
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

/// A JSON answer.
pub fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Serializing our own response types cannot fail; fall back to a fixed body anyway.
    let text = serde_json::to_string(body)
        .unwrap_or_else(|_| r#"{"message":"Something went wrong on our side.","code":"INTERNAL"}"#.into());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

impl ApiError {
    /// The answer for this error: SPEC's body, and `Retry-After` when rate limited. Logs
    /// the cause of a 5xx answer, once.
    pub fn into_response(self) -> Response<Body> {
        if let Self::Internal(source) = &self {
            tracing::error!(error = %error_chain(source.as_ref()), "request failed");
        }
        let mut response = json(self.status(), &self.body());
        if let Self::RateLimited { retry_after_secs, .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// `200 {"id": ...}`, the answer of every write route.
pub fn id(id: &str) -> Response<Body> {
    json(StatusCode::OK, &json!({ "id": id }))
}

/// A page of a listing, as `{"items", "cursor"}` or, for JSON Lines, one
/// `{"type":"item","data":...}` line per item with the cursor in [`NEXT_CURSOR_HEADER`].
pub fn page(items: Vec<Value>, cursor: Option<String>, jsonl: bool) -> Response<Body> {
    if !jsonl {
        return json(StatusCode::OK, &json!({ "items": items, "cursor": cursor }));
    }
    let mut text = String::new();
    for item in items {
        text.push_str(&json!({ "type": "item", "data": item }).to_string());
        text.push('\n');
    }
    let mut response = Response::new(Body::Text(text));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jsonl"));
    if let Some(c) = cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(NEXT_CURSOR_HEADER, c);
    }
    response
}

/// An HTML page (the OAuth callback's answers).
pub fn html(status: StatusCode, page: &str) -> Response<Body> {
    let mut response = Response::new(Body::Text(page.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// `302 Found` to `location` (a URL the caller gave and we checked).
pub fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
