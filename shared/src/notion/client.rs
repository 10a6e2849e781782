//! The Notion HTTP client: every request goes through the integration's [`RateLimiter`],
//! 429 waits `Retry-After`, 5xx/529/timeouts/unreadable answers back off exponentially with
//! jitter up to a bound, and every request and retry is counted for the run summary.

use super::api::{NotionApi, NotionConnector, NotionError, Traffic};
use super::limiter::{Pace, RateLimiter, RequestLimits};
use super::model::{DatabaseInfo, ListPage};
use crate::domain::version::NotionVersion;
use async_trait::async_trait;
use rand::RngExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How hard to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts for one request, counting the first.
    pub max_attempts: u32,
    /// First backoff; doubles each retry, with full jitter.
    pub base_delay: Duration,
    /// Largest backoff, and largest `Retry-After` honoured.
    pub max_delay: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 7,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Counters of one sync's Notion traffic.
#[derive(Debug, Default)]
pub struct RequestStats {
    /// Requests sent, retries included.
    pub requests: AtomicU64,
    /// Retries after a retryable failure.
    pub retries: AtomicU64,
    /// 429 answers.
    pub rate_limited: AtomicU64,
    /// Until when the per-workspace limit holds every connection of the workspace back, as
    /// the latest 429 naming it said.
    pub workspace_until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

/// Whether a 429 came from the limit the workspace's connections share: its
/// `rate_limit_reason` names the workspace, or its `Retry-After` is longer than the
/// per-connection limit ever asks ("at most 60 seconds", "Request limits").
fn workspace_wide(reason: &str, retry_after: Duration) -> bool {
    reason.contains("workspace") || retry_after > Duration::from_secs(60)
}

/// A client for one integration's token.
#[derive(Clone)]
pub struct NotionClient {
    http: reqwest::Client,
    base_url: String,
    token: Arc<str>,
    limiter: Arc<RateLimiter>,
    policy: RetryPolicy,
    version: NotionVersion,
    /// Property ids of each data source queried this session (`filter_properties` on
    /// versions whose queries return only the title otherwise).
    schemas: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>>,
    /// Traffic counters.
    pub stats: Arc<RequestStats>,
}

impl std::fmt::Debug for NotionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("NotionClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Done(Value),
    Fail(NotionError),
    Retry { reason: String, after: Option<Duration> },
}

impl NotionClient {
    /// The ids of a data source's properties (`GET /v1/data_sources/{id}`), read once per
    /// session: a run sees a schema change at its next start.
    async fn property_ids(&self, data_source: &str) -> Result<Vec<String>, NotionError> {
        if let Some(ids) = self.schemas.lock().unwrap_or_else(|p| p.into_inner()).get(data_source) {
            return Ok(ids.clone());
        }
        let schema = self
            .call(Method::GET, &format!("/v1/data_sources/{data_source}"), None)
            .await?;
        let mut ids: Vec<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .values()
                    .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        self.schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(data_source.to_string(), ids.clone());
        Ok(ids)
    }

    /// A client for `base_url` (`NOTION_API_URL`) spending `limits` at `pace`.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        token: &str,
        limits: RequestLimits,
        pace: Pace,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            token: Arc::from(token),
            limiter: Arc::new(RateLimiter::new(limits, pace)),
            policy,
            version: NotionVersion::default(),
            schemas: Arc::default(),
            stats: Arc::new(RequestStats::default()),
        }
    }

    /// The same client speaking `version`.
    pub fn with_version(mut self, version: NotionVersion) -> Self {
        self.version = version;
        self
    }

    /// The same client limited by `limiter` (for example one that remembers the requests an
    /// earlier invocation sent, [`RateLimiter::resuming`]).
    pub fn with_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = Arc::new(limiter);
        self
    }

    /// Requests sent so far.
    pub fn request_count(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }

    async fn attempt(&self, method: &Method, url: &str, body: Option<&Value>) -> Attempt {
        // Held until the answer is read: the request counts against the budget from now
        // until a window after Notion could last have received it.
        let _permit = match self.limiter.acquire_within(self.policy.max_delay).await {
            Ok(permit) => permit,
            Err(left) => {
                // An earlier 429, or the window's budget, holds requests back for longer
                // than the run sleeps in place.
                return Attempt::Fail(NotionError::RateLimited {
                    retry_after: left,
                    reason: "held back by the request budget or an earlier 429".into(),
                });
            }
        };
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&*self.token)
            .header("Notion-Version", self.version.header())
            .timeout(self.policy.timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    reason: format!("transport: {}", without_url(&e)),
                    after: None,
                }
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|s| Duration::from_secs_f64(s.clamp(0.0, 3600.0)));
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return Attempt::Retry {
                    reason: format!("reading body: {}", without_url(&e)),
                    after: None,
                }
            }
        };
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|j| j.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match status {
            s if s.is_success() => match json {
                Some(v) => Attempt::Done(v),
                None => Attempt::Retry {
                    reason: format!("{s} with a body that is not JSON"),
                    after: None,
                },
            },
            StatusCode::UNAUTHORIZED => Attempt::Fail(NotionError::Unauthorized),
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => Attempt::Fail(NotionError::NotFound(status.as_u16())),
            StatusCode::BAD_REQUEST => Attempt::Fail(NotionError::Invalid {
                code: field("code"),
                message: field("message"),
            }),
            StatusCode::TOO_MANY_REQUESTS => {
                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                // "Request limits": which limit was hit (per connection, per workspace, or
                // one Notion adds later); every one is waited out the same way.
                let limit = json
                    .as_ref()
                    .and_then(|j| j.pointer("/additional_data/rate_limit_reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("unspecified");
                Attempt::Retry {
                    reason: format!("429 rate_limited ({limit})"),
                    after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
                }
            }
            s if s.is_server_error() || s.as_u16() == 529 || s == StatusCode::CONFLICT => Attempt::Retry {
                reason: format!("{} {}", s.as_u16(), field("code")),
                after: retry_after,
            },
            s => Attempt::Fail(NotionError::Invalid {
                code: s.as_u16().to_string(),
                message: field("message"),
            }),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, NotionError> {
        let url = format!("{}{path}", self.base_url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (reason, after) = match self.attempt(&method, &url, body.as_ref()).await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry { reason, after } => (reason, after),
            };
            // A 429 storm gets more patience than other failures: waiting is what Notion asks for.
            let limit = if after.is_some() {
                self.policy.max_attempts * 3
            } else {
                self.policy.max_attempts
            };
            if attempt >= limit {
                return Err(NotionError::Exhausted {
                    attempts: attempt,
                    last: reason,
                });
            }
            if let Some(wait) = after.filter(|d| reason.starts_with("429") && workspace_wide(&reason, *d)) {
                let until = tokio::time::Instant::now() + wait;
                let mut shared = self.stats.workspace_until.lock().unwrap_or_else(|p| p.into_inner());
                if shared.is_none_or(|t| t < until) {
                    *shared = Some(until);
                }
            }
            if let Some(wait) = after.filter(|d| *d > self.policy.max_delay && reason.starts_with("429")) {
                // Longer than this invocation should sleep: every request of the run holds
                // back, and the run hands over to one queued for after the wait.
                self.limiter.pause(wait);
                tracing::warn!(
                    path,
                    reason,
                    retry_after_s = wait.as_secs(),
                    "Notion asked for a long wait; the run will continue after it"
                );
                return Err(NotionError::RateLimited {
                    retry_after: wait,
                    reason,
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let delay = match after {
                Some(d) => {
                    let d = d.min(self.policy.max_delay);
                    self.limiter.pause(d);
                    d
                }
                None => {
                    let cap = self
                        .policy
                        .base_delay
                        .saturating_mul(1 << (attempt - 1).min(16))
                        .min(self.policy.max_delay);
                    let millis = cap.as_millis().max(1) as u64;
                    Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
                }
            };
            tracing::warn!(
                path,
                attempt,
                reason,
                delay_ms = delay.as_millis() as u64,
                "retrying Notion request"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

#[async_trait]
impl NotionApi for NotionClient {
    /// `POST /v1/search`, one page of pages and data sources.
    async fn search(&self, cursor: Option<&str>) -> Result<ListPage, NotionError> {
        let mut body = json!({ "page_size": 100 });
        if let Some(c) = cursor {
            body["start_cursor"] = json!(c);
        }
        let mut page = self
            .call(Method::POST, "/v1/search", Some(body))
            .await
            .map(|v| ListPage::from_json(&v))?;
        page.title_only = self.version.lists_title_only();
        Ok(page)
    }

    /// `POST /v1/data_sources/{id}/query`, one page of rows in creation order, from the
    /// creation minute `since` on when given (Notion's 10,000-row cap is per query, so a
    /// large data source is read in `created_time` windows).
    async fn query_data_source(
        &self,
        id: &str,
        cursor: Option<&str>,
        since: Option<&str>,
        edited_since: Option<&str>,
    ) -> Result<ListPage, NotionError> {
        let mut body = json!({
            "page_size": 100,
            "sorts": [{"timestamp": "created_time", "direction": "ascending"}],
        });
        // Timestamp filters and the `and` compound, as "Filter data source entries" documents.
        let created = since.map(|since| json!({"timestamp": "created_time", "created_time": {"on_or_after": since}}));
        let edited = edited_since
            .map(|since| json!({"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": since}}));
        match (created, edited) {
            (Some(c), Some(e)) => body["filter"] = json!({"and": [c, e]}),
            (Some(f), None) | (None, Some(f)) => body["filter"] = f,
            (None, None) => {}
        }
        if let Some(c) = cursor {
            body["start_cursor"] = json!(c);
        }
        let mut path = format!("/v1/data_sources/{id}/query");
        if self.version.lists_title_only() {
            // 2026-12-01 returns only the title unless `filter_properties` names the rest.
            let ids = self.property_ids(id).await?;
            let params: Vec<String> = ids
                .iter()
                .map(|p| {
                    format!(
                        "filter_properties={}",
                        form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                    )
                })
                .collect();
            if !params.is_empty() {
                path = format!("{path}?{}", params.join("&"));
            }
        }
        self.call(Method::POST, &path, Some(body))
            .await
            .map(|v| ListPage::from_json(&v))
    }

    /// `GET /v1/databases/{id}`: its title, the page holding it and its data sources.
    async fn database_data_sources(&self, id: &str) -> Result<DatabaseInfo, NotionError> {
        let db = self.call(Method::GET, &format!("/v1/databases/{id}"), None).await?;
        Ok(DatabaseInfo::from_json(&db))
    }

    /// `GET /v1/pages/{id}`.
    async fn retrieve_page(&self, id: &str) -> Result<Value, NotionError> {
        self.call(Method::GET, &format!("/v1/pages/{id}"), None).await
    }

    /// `GET /v1/pages/{id}/markdown` (also takes block ids from `unknown_block_ids`), as
    /// Notion-flavored Markdown (`markdown_version=v2`, "Migrate to Notion-flavored Markdown
    /// (v2)": v1 is deprecated and 2026-12-01 refuses it), with meeting notes' transcripts
    /// (`include_transcript=true`; without it a transcript is a placeholder, "Retrieve a page
    /// as markdown").
    async fn page_markdown(&self, id: &str) -> Result<Value, NotionError> {
        let path = format!("/v1/pages/{id}/markdown?markdown_version=v2&include_transcript=true");
        self.call(Method::GET, &path, None).await
    }

    /// `GET /v1/blocks/{id}`.
    async fn retrieve_block(&self, id: &str) -> Result<Value, NotionError> {
        self.call(Method::GET, &format!("/v1/blocks/{id}"), None).await
    }

    /// `GET /v1/pages/{page}/properties/{property}`, one page of items. A property id goes
    /// into the path as Notion wrote it (its ids are already URL-safe, percent-encoded where
    /// needed, as the SDKs send them).
    async fn property_items(&self, page: &str, property: &str, cursor: Option<&str>) -> Result<ListPage, NotionError> {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut path = format!("/v1/pages/{page}/properties/{property}?page_size=100");
        if let Some(c) = cursor {
            path.push_str("&start_cursor=");
            path.push_str(&encode(c));
        }
        self.call(Method::GET, &path, None)
            .await
            .map(|v| ListPage::from_json(&v))
    }

    /// `GET /v1/blocks/{id}/children`, one page.
    async fn block_children(&self, id: &str, cursor: Option<&str>) -> Result<ListPage, NotionError> {
        let mut path = format!("/v1/blocks/{id}/children?page_size=100");
        if let Some(c) = cursor {
            path.push_str("&start_cursor=");
            path.push_str(&form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>());
        }
        self.call(Method::GET, &path, None)
            .await
            .map(|v| ListPage::from_json(&v))
    }

    async fn bot_workspace(&self) -> Result<Option<String>, NotionError> {
        let me = self.call(Method::GET, "/v1/users/me", None).await?;
        Ok(me
            .pointer("/bot/workspace_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_string))
    }

    fn pause(&self, wait: Duration) {
        self.limiter.pause(wait);
    }

    fn take_workspace_wait(&self) -> Option<Duration> {
        let until = self
            .stats
            .workspace_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        let now = tokio::time::Instant::now();
        (until > now).then(|| until - now)
    }

    fn traffic(&self) -> Traffic {
        Traffic {
            requests: self.stats.requests.load(Ordering::Relaxed),
            retries: self.stats.retries.load(Ordering::Relaxed),
            rate_limited: self.stats.rate_limited.load(Ordering::Relaxed),
        }
    }

    fn recent_requests(&self, now_ms: i64) -> Vec<i64> {
        self.limiter.recent(now_ms)
    }
}

/// Opens [`NotionClient`] sessions against `NOTION_API_URL`.
#[derive(Clone, Debug)]
pub struct HttpNotion {
    /// The shared HTTP client.
    pub http: reqwest::Client,
    /// `NOTION_API_URL`.
    pub base_url: String,
    /// `NOTION_MAX_RPS`, `NOTION_WINDOW_BUDGET`, `NOTION_WINDOW_SECS`.
    pub limits: RequestLimits,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// `NOTION_VERSION`.
    pub version: NotionVersion,
}

impl NotionConnector for HttpNotion {
    fn connect(&self, token: &str, pace: Pace, recent_requests: &[i64], now_ms: i64) -> Arc<dyn NotionApi> {
        Arc::new(
            NotionClient::new(self.http.clone(), &self.base_url, token, self.limits, pace, self.retry)
                .with_version(self.version)
                .with_limiter(RateLimiter::resuming(self.limits, pace, recent_requests, now_ms)),
        )
    }
}

/// A reqwest error's text without its URL (which carries ids, never the token, but keeps
/// log lines short and stable).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    kind.to_string()
}
