//! Reading what a handler needs from an API Gateway request: the body, the query, path
//! parameters, and whether the client wants JSON Lines.

use super::routes::Route;
use crate::domain::fields;
use crate::domain::paging::ListQuery;
use crate::error::ApiError;
use lambda_http::http::header;
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Map, Value};

/// The body as a JSON object (`{}` when empty). A body sent with a content type other than
/// JSON is refused: a form or text body is a client bug better named than guessed at.
pub fn json_object(req: &Request) -> Result<Map<String, Value>, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
            if !is_json_media_type(content_type.to_str().unwrap_or_default()) {
                return Err(ApiError::bad_request(
                    "The request body must be JSON, sent with Content-Type: application/json.",
                ));
            }
        }
    }
    Ok(fields::parse_object(bytes)?)
}

/// `application/json`, `application/*+json`, with any parameters (`; charset=utf-8`).
fn is_json_media_type(value: &str) -> bool {
    let media = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Every query parameter, repeated ones included: API Gateway's pre-parsed ones, or, for a
/// request that carries them only in its URI (built in-process), parsed from it.
fn query_pairs(req: &Request) -> Vec<(String, String)> {
    let parsed = req.query_string_parameters();
    if !parsed.is_empty() {
        return parsed.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    }
    form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The query parameters, the first value of each.
pub fn query_params(req: &Request) -> std::collections::HashMap<String, String> {
    let mut params = std::collections::HashMap::new();
    for (k, v) in query_pairs(req) {
        params.entry(k).or_insert(v);
    }
    params
}

/// The list parameters of the query string.
pub fn list_query(req: &Request) -> Result<ListQuery, ApiError> {
    list_query_with(req, &[])
}

/// The list parameters of a listing with its own `filters` (see [`ListQuery::with_filters`]).
pub fn list_query_with(req: &Request, filters: &[&str]) -> Result<ListQuery, ApiError> {
    let pairs = query_pairs(req);
    Ok(ListQuery::with_filters(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        filters,
    )?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn post(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder().method("POST").uri("/");
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        builder.body(Body::Text(body.to_string())).unwrap()
    }

    #[test]
    fn json_bodies_need_a_json_content_type() {
        for ok in [
            Some("application/json"),
            Some("application/json; charset=utf-8"),
            Some("Application/JSON"),
            Some("application/merge-patch+json"),
            None,
        ] {
            assert_eq!(json_object(&post(ok, r#"{"a":1}"#)).unwrap()["a"], 1, "{ok:?}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
        ] {
            let err = json_object(&post(Some(bad), r#"{"a":1}"#)).unwrap_err();
            assert_eq!(err.code(), "BAD_REQUEST", "{bad}");
        }
        // An empty body carries no content to misread, whatever its label.
        assert!(json_object(&post(Some("text/plain"), "")).unwrap().is_empty());
    }
}
