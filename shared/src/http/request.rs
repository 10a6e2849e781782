//! Reading what a handler needs from an API Gateway request: the body, the query, path
//! parameters, and whether the client wants JSON Lines.

use super::routes::Route;
use crate::domain::fields;
use crate::domain::paging::ListQuery;
use crate::error::ApiError;
use lambda_http::http::header;
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Map, Value};

/// The body as a JSON object (`{}` when empty).
pub fn json_object(req: &Request) -> Result<Map<String, Value>, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    fields::parse_object(bytes)
}

/// The list parameters of the query string.
pub fn list_query(req: &Request) -> Result<ListQuery, ApiError> {
    ListQuery::from_params(req.query_string_parameters().iter())
}

/// Whether the client asked for JSON Lines (`Accept: application/jsonl`).
pub fn wants_jsonl(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            matches!(
                v.split(';').next().map(str::trim),
                Some("application/jsonl" | "application/x-ndjson")
            )
        })
}

/// A path parameter: from API Gateway's `pathParameters`, or, when the function is
/// invoked without them (a function URL under `cargo lambda watch`), matched from the
/// raw path against the route's template.
pub fn path_param(req: &Request, route: Route, name: &str) -> Option<String> {
    if let Some(v) = req.path_parameters_ref().and_then(|p| p.first(name)) {
        return Some(v.to_string());
    }
    let path = req.raw_http_path();
    let path = if path.is_empty() { req.uri().path() } else { path };
    route
        .match_path(path)?
        .into_iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
