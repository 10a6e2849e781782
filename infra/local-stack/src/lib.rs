//! The local stack: serves every API route at `http://127.0.0.1:$PORT/api/v1/...` by
//! converting each HTTP request into the API Gateway (HTTP API, payload 2.0) event a
//! Lambda would receive, running the authorizer's code on it, and handing it to the same
//! handler the route's Lambda runs.

use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::{Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use axum::Router;
use base64::{engine::general_purpose::STANDARD, Engine};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::Body;
use serde_json::{json, Map, Value};
use shared::api::Api;
use shared::authorizer;
use shared::http::routes::{Route, RouteMiss};
use shared::ports::AccountStore;
use shared::runtime::Adapters;
use shared::sync::schedule::ScheduleTrigger;
use shared::ApiError;
use std::sync::Arc;

/// Largest body the local stack accepts, as API Gateway does (10 MB).
const MAX_GATEWAY_BODY: usize = 10 * 1024 * 1024;

/// Runs the crawler on the local queue, as the Lambda event source does in AWS.
pub async fn poll_forever(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    crawler: shared::crawler::Crawler,
    budget: std::time::Duration,
) {
    loop {
        if let Err(e) = shared::runtime::poll_once(&sqs, &queue_url, &crawler, budget, 5).await {
            tracing::error!(error = %shared::error::error_chain(&e), "polling the sync queue failed");
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    }
}

/// Fires every enabled schedule of `group` with an occurrence in `(from, to]`, as
/// EventBridge Scheduler would, by running the schedule trigger's code in-process.
/// Returns the integrations fired. (The AWS emulator stores schedules but never fires them.)
pub async fn fire_due_schedules(
    client: &aws_sdk_scheduler::Client,
    group: &str,
    trigger: &ScheduleTrigger,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, shared::error::StoreError> {
    use shared::domain::schedule::{cron_from_eventbridge, SyncSchedule};
    let mut fired = Vec::new();
    for schedule in shared::aws::scheduler::list_schedules(client, group).await? {
        let Some(input) = schedule.input.filter(|_| schedule.enabled) else {
            continue;
        };
        let Some(cron) = cron_from_eventbridge(&schedule.expression) else {
            tracing::warn!(schedule = %schedule.name, expression = %schedule.expression, "schedule expression not understood locally");
            continue;
        };
        let due = SyncSchedule::parse(&cron)
            .ok()
            .and_then(|s| s.next_after(from))
            .is_some_and(|next| next <= to);
        if due {
            let result = trigger.trigger(&input).await?;
            tracing::info!(integration = %input.integration_id, %result, "schedule fired");
            fired.push(input.integration_id);
        }
    }
    Ok(fired)
}

/// Fires schedules every few seconds, forever.
pub async fn fire_schedules_forever(client: aws_sdk_scheduler::Client, group: String, trigger: ScheduleTrigger) {
    let mut last = chrono::Utc::now();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let now = chrono::Utc::now();
        match fire_due_schedules(&client, &group, &trigger, last, now).await {
            Ok(_) => last = now,
            Err(e) => tracing::error!(error = %shared::error::error_chain(&e), "firing schedules failed"),
        }
    }
}

/// What the router serves: every route's endpoint, and the accounts the authorizer reads.
struct Served {
    api: Api,
    accounts: Arc<dyn AccountStore>,
}

/// The router serving the whole API over `app`.
pub fn router(app: &Adapters) -> Result<Router, shared::error::ConfigError> {
    let served = Served {
        api: app.api()?,
        accounts: app.accounts.clone(),
    };
    Ok(Router::new().fallback(serve).with_state(Arc::new(served)))
}

async fn serve(State(app): State<Arc<Served>>, request: AxumRequest) -> AxumResponse {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    if path == shared::http::openapi::PATH && parts.method == lambda_http::http::Method::GET {
        // The API's contract, for clients and fuzzers; no key needed.
        let mut out = AxumResponse::new(AxumBody::from(shared::http::openapi::DOCUMENT));
        out.headers_mut().insert(
            lambda_http::http::header::CONTENT_TYPE,
            lambda_http::http::HeaderValue::from_static("application/json"),
        );
        return out;
    }
    let (route, params) = match Route::find(&parts.method, &path) {
        Ok(found) => found,
        Err(miss) => {
            let message = match miss {
                RouteMiss::NotFound => "No route matches this path.",
                RouteMiss::MethodNotAllowed => "This path does not accept this method.",
            };
            return to_axum(ApiError::NotFound("route").into_response(), Some(message));
        }
    };
    let body = match to_bytes(body, MAX_GATEWAY_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return to_axum(
                ApiError::bad_request("The request body is too large.").into_response(),
                None,
            )
        }
    };
    let event = gateway_event(route, &parts.method, &parts.uri, &parts.headers, &params, &body);
    let context = authorizer_context(app.accounts.as_ref(), &event).await;
    let event = with_authorizer(event, context);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => {
            return to_axum(
                ApiError::bad_request(format!("The request could not be read: {e}")).into_response(),
                None,
            )
        }
    };
    to_axum(app.api.handle(route, request).await, None)
}

/// The API Gateway HTTP API (2.0) event for a request.
fn gateway_event(
    route: Route,
    method: &lambda_http::http::Method,
    uri: &lambda_http::http::Uri,
    headers: &HeaderMap,
    params: &[(&'static str, String)],
    body: &[u8],
) -> Value {
    let mut header_map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match header_map.get_mut(name.as_str()) {
            // API Gateway joins repeated headers with commas.
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                header_map.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    let raw_query = uri.query().unwrap_or_default();
    let mut query = Map::new();
    for (k, v) in url_pairs(raw_query) {
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let path_parameters: Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect();
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (STANDARD.encode(body), true),
    };
    let now = chrono::Utc::now();
    json!({
        "version": "2.0",
        "routeKey": format!("{} {}", route.method(), route.template()),
        "rawPath": uri.path(),
        "rawQueryString": raw_query,
        "headers": header_map,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "pathParameters": if path_parameters.is_empty() { Value::Null } else { Value::Object(path_parameters) },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": ulid::Ulid::generate().to_string(),
            "routeKey": format!("{} {}", route.method(), route.template()),
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": if body.is_empty() { Value::Null } else { Value::String(body) },
        "isBase64Encoded": is_base64,
    })
}

fn url_pairs(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Runs the production authorizer's code on the request, as API Gateway would.
async fn authorizer_context(accounts: &dyn AccountStore, event: &Value) -> Value {
    let mut auth_event = event.clone();
    auth_event["type"] = json!("REQUEST");
    auth_event["routeArn"] = json!("arn:aws:execute-api:local:000000000000:local/$default");
    auth_event["identitySource"] = json!([]);
    match serde_json::from_value::<ApiGatewayV2CustomAuthorizerV2Request>(auth_event) {
        Ok(request) => {
            let decision = authorizer::authorize(accounts, &request).await;
            if decision.is_authorized {
                decision.context
            } else {
                json!({})
            }
        }
        Err(_) => json!({}),
    }
}

fn with_authorizer(mut event: Value, context: Value) -> Value {
    if context.as_object().is_some_and(|c| !c.is_empty()) {
        event["requestContext"]["authorizer"] = json!({ "lambda": context });
    }
    event
}

fn to_axum(response: lambda_http::Response<Body>, message: Option<&str>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match (message, body) {
        (Some(m), _) => json!({ "message": m, "code": "NOT_FOUND" }).to_string().into_bytes(),
        (None, Body::Text(t)) => t.into_bytes(),
        (None, Body::Binary(b)) => b,
        (None, _) => Vec::new(),
    };
    let mut out = AxumResponse::new(AxumBody::from(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    if out.status() == StatusCode::OK && out.headers().is_empty() {
        out.headers_mut().insert(
            lambda_http::http::header::CONTENT_TYPE,
            lambda_http::http::HeaderValue::from_static("application/json"),
        );
    }
    out
}
