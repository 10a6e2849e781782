//! Test harness: a fresh, isolated copy of the service's AWS resources in the local AWS
//! emulator (moto server) for each test, reached with the real AWS SDK, and helpers to call
//! the API through the local stack's router exactly as a client would.
//!
//! The emulator's address comes from `AWS_ENDPOINT_URL`; `infra/local/test.sh` starts one
//! and sets it.

use axum::body::Body as AxumBody;
use http_body_util::BodyExt;
use lambda_http::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::{json, Value};
use shared::aws::dynamo::DynamoStore;
use shared::aws::provision::ensure_tables;
use shared::config::Config;
use shared::domain::account::{generate_api_key, Account, Plan};
use shared::domain::ids::{new_id, IdKind};
use shared::runtime::Adapters;
use tower::ServiceExt;

/// The emulator endpoint, or a panic saying how to get one.
pub fn emulator_endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: run infra/local/test.sh, or start `moto_server -p 5000` and export AWS_ENDPOINT_URL=http://127.0.0.1:5000"
        ),
    }
}

/// An answer from the API.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub text: String,
}

impl Answer {
    /// The body as JSON; panics when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text))
    }

    /// Asserts a SPEC error answer with `status` and `code`, and returns its body.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        assert_eq!(self.headers["content-type"], "application/json");
        let body = self.json();
        assert_eq!(body["code"], code, "{}", self.text);
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {}",
            self.text
        );
        body
    }

    /// Asserts 200 and returns the JSON body.
    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.text);
        self.json()
    }
}

/// One isolated environment: its own tables and secret prefix in the emulator.
pub struct TestEnv {
    /// The adapters, as the Lambdas build them.
    pub app: Adapters,
    /// The DynamoDB adapter, for seeding and inspection.
    pub store: DynamoStore,
    /// Secrets Manager client, to check secrets themselves.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// DynamoDB client, to inspect items.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The configuration the Lambdas would read.
    pub config: Config,
    /// SQS client, to inspect the sync queue.
    pub sqs: aws_sdk_sqs::Client,
    /// EventBridge Scheduler client, to inspect schedules.
    pub scheduler: aws_sdk_scheduler::Client,
    router: axum::Router,
}

impl TestEnv {
    /// Creates fresh tables under a unique name, with SPEC's default manual cooldown.
    pub async fn new() -> Self {
        Self::with_cooldown(900).await
    }

    /// Creates fresh tables, queue and secret prefix; manual syncs `cooldown` seconds apart.
    pub async fn with_cooldown(cooldown: i64) -> Self {
        let sdk = shared::aws::clients::sdk_config_for_emulator(&emulator_endpoint()).await;
        let unique = ulid::Ulid::generate().to_string().to_lowercase();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = shared::aws::provision::ensure_queue(&sqs, &format!("q-{unique}"), 30, 5)
            .await
            .expect("queue is created");
        let config = Config {
            table_name: format!("t-{unique}"),
            records_table_name: format!("t-{unique}-records"),
            secret_prefix: format!("test/{unique}/"),
            sync_queue_url: Some(queue_url),
            manual_sync_cooldown_secs: cooldown,
            notion_api_url: "http://127.0.0.1:9".into(),
            notion_max_rps: 3,
            notion_window_budget: None,
            notion_window_secs: 60,
            notion_version: Default::default(),
            crawler_concurrency: 4,
            schedule_group: format!("g-{unique}"),
            schedule_target_arn: Some("arn:aws:lambda:us-east-1:000000000000:function:schedule-trigger".into()),
            schedule_role_arn: Some("arn:aws:iam::000000000000:role/notion-scheduler".into()),
            event_log_retention_days: 90,
            timestamp_format: Default::default(),
            oauth: None,
            public_base_url: None,
            webhook_debounce_secs: 1,
            attachments: shared::config::AttachmentConfig {
                enabled: true,
                external: false,
                max_bytes: 1_000_000,
                extract_timeout_secs: 30,
                extract_memory_mb: 256,
                sync_budget_mb: 1_000,
                extractor: Some(extractor().display().to_string()),
            },
        };
        let scheduler = aws_sdk_scheduler::Client::new(&sdk);
        shared::aws::scheduler::ensure_group(&scheduler, &config.schedule_group)
            .await
            .expect("schedule group");
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        ensure_tables(&dynamodb, &config.table_name, &config.records_table_name)
            .await
            .expect("tables are created");
        let store = DynamoStore::new(
            dynamodb.clone(),
            config.table_name.clone(),
            config.records_table_name.clone(),
        );
        let app = shared::runtime::build_app(&config, &sdk).expect("the test configuration is complete");
        Self {
            router: local_stack::router(&app).expect("every route builds"),
            app,
            store,
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            dynamodb,
            config,
            sqs,
            scheduler,
        }
    }

    /// Serves requests with `app` from now on (for adapters configured differently).
    pub fn use_app(&mut self, app: Adapters) {
        self.router = local_stack::router(&app).expect("every route builds");
        self.app = app;
    }

    /// Serves the local stack on a socket of its own, for callers that reach it over HTTP
    /// (Notion's OAuth redirects, webhook deliveries), with the socket's address as its
    /// public origin and the configuration `configure` adjusts; returns that origin.
    pub async fn serve_on_socket(&mut self, configure: impl FnOnce(&mut Config)) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("a bound address"));
        let mut config = self.config.clone();
        config.public_base_url = Some(base.clone());
        configure(&mut config);
        let sdk = shared::aws::clients::sdk_config_for_emulator(&emulator_endpoint()).await;
        self.use_app(shared::runtime::build_app(&config, &sdk).expect("the test configuration is complete"));
        self.config = config;
        let router = self.router.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        base
    }

    /// Creates an account with `plan`; returns (account id, API key).
    pub async fn account_with(&self, plan: Plan) -> (String, String) {
        let key = generate_api_key();
        let account = Account {
            id: new_id(IdKind::Account),
            plan,
            created_at: "2025-01-01T00:00:00Z".into(),
            records_used: 0,
        };
        self.store
            .create_account(&account, std::slice::from_ref(&key))
            .await
            .expect("account is created");
        (account.id, key)
    }

    /// Creates an account with the default plan; returns its API key.
    pub async fn key(&self) -> String {
        self.account_with(Plan::default()).await.1
    }

    /// Sends a request through the local stack (event conversion, authorizer, handler).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: impl Into<AxumBody>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body.into()).expect("request builds");
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body reads").to_bytes();
        Answer {
            status,
            headers,
            text: String::from_utf8(bytes.to_vec()).expect("body is UTF-8"),
        }
    }

    /// `GET path` with `key`.
    pub async fn get(&self, path: &str, key: &str) -> Answer {
        self.send(Method::GET, path, Some(key), &[], AxumBody::empty()).await
    }

    /// `POST path` with `key` and a JSON body.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Answer {
        self.send(
            Method::POST,
            path,
            Some(key),
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    /// Creates an integration and returns its id.
    pub async fn create_integration(&self, key: &str, body: &Value) -> String {
        let answer = self.post("/api/v1/integration/notion/create", key, body).await;
        answer.ok()["id"].as_str().expect("id is a string").to_string()
    }

    /// Creates a dataset and returns its id.
    pub async fn create_dataset(&self, key: &str, body: &Value) -> String {
        let answer = self.post("/api/v1/dataset/create", key, body).await;
        answer.ok()["id"].as_str().expect("id is a string").to_string()
    }

    /// A new account of `plan` with one dataset and one integration of `token` syncing into it,
    /// both named `name`: `(key, dataset, integration)`.
    pub async fn connected(&self, plan: Plan, name: &str, token: &str) -> (String, String, String) {
        let (_, key) = self.account_with(plan).await;
        let dataset = self.create_dataset(&key, &json!({"name": name})).await;
        let integration = self
            .create_integration(
                &key,
                &json!({"name": name, "datasetId": dataset, "token": token, "expiresIn": 2_592_000_000u64}),
            )
            .await;
        (key, dataset, integration)
    }

    /// Asks for a manual sync, asserting 200, and returns the answer's body.
    pub async fn request_sync(&self, key: &str, integration: &str) -> Value {
        self.post(&integration_path(integration, "sync"), key, &json!({}))
            .await
            .ok()
    }

    /// Fetches an integration, asserting 200.
    pub async fn fetch_integration(&self, key: &str, id: &str) -> Value {
        self.get(&format!("/api/v1/integration/notion/{id}/fetch"), key)
            .await
            .ok()
    }

    /// The stored value of an integration's secret, if any.
    pub async fn secret_value(&self, integration_id: &str) -> Option<String> {
        let name = format!("{}{integration_id}", self.config.secret_prefix);
        match self.secrets.get_secret_value().secret_id(name).send().await {
            Ok(out) => out.secret_string,
            Err(e) => {
                use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
                assert_eq!(e.code(), Some("ResourceNotFoundException"), "{e:?}");
                None
            }
        }
    }

    /// A crawler on this environment talking to Notion at `notion_url`, at most `max_rps`
    /// requests a second on average (`max_rps` × 60 per 60-second window).
    pub fn crawler(&self, notion_url: &str, max_rps: u32) -> shared::crawler::Crawler {
        self.crawler_speaking(notion_url, max_rps, self.config.notion_version)
    }

    /// A crawler on this environment talking to Notion at `notion_url` in `version`.
    pub fn crawler_speaking(
        &self,
        notion_url: &str,
        max_rps: u32,
        version: shared::domain::version::NotionVersion,
    ) -> shared::crawler::Crawler {
        self.crawler_limited(
            notion_url,
            shared::notion::limiter::RequestLimits::per_second(max_rps),
            version,
        )
    }

    /// A crawler on this environment talking to Notion at `notion_url` in `version`, within
    /// `limits`.
    pub fn crawler_limited(
        &self,
        notion_url: &str,
        limits: shared::notion::limiter::RequestLimits,
        version: shared::domain::version::NotionVersion,
    ) -> shared::crawler::Crawler {
        let settings = shared::crawler::CrawlerSettings {
            notion_api_url: notion_url.to_string(),
            limits,
            notion_version: version,
            concurrency: 4,
            lease: std::time::Duration::from_secs(120),
            checkpoint_every: std::time::Duration::from_secs(1),
            retry: shared::notion::client::RetryPolicy {
                max_attempts: 5,
                base_delay: std::time::Duration::from_millis(20),
                max_delay: std::time::Duration::from_secs(2),
                // Generous: a loaded CI machine must not turn slowness into retries.
                timeout: std::time::Duration::from_secs(10),
            },
            block_walk_only: false,
            attachments: None,
        };
        shared::runtime::build_crawler(&self.config, &self.app, Some(settings)).expect("crawler builds")
    }

    /// [`TestEnv::crawler_limited`] at Notion's rate, also reading attachments as the stack's
    /// configuration says (SPEC §2.6; `ATTACHMENT_MAX_BYTES` 1 MB here).
    pub fn crawler_with_attachments(&self, notion_url: &str) -> shared::crawler::Crawler {
        let mut crawler = self.crawler_limited(
            notion_url,
            shared::notion::limiter::RequestLimits::per_second(1_000),
            Default::default(),
        );
        crawler.settings.attachments = shared::runtime::attachment_settings(&self.config);
        crawler
    }

    /// Handles queued sync messages until the queue is empty, each invocation with
    /// `budget`; returns how many messages were handled.
    pub async fn drain(&self, crawler: &shared::crawler::Crawler, budget: std::time::Duration) -> usize {
        let url = self.config.sync_queue_url.clone().expect("queue configured");
        let mut handled = 0;
        for _ in 0..1_000 {
            let n = shared::runtime::poll_once(&self.sqs, &url, crawler, budget, 0)
                .await
                .expect("poll");
            if n == 0 {
                return handled;
            }
            handled += n;
        }
        panic!("the queue never emptied");
    }

    /// Messages waiting on the sync queue (approximate, as SQS reports it).
    pub async fn queue_depth(&self) -> usize {
        use aws_sdk_sqs::types::QueueAttributeName;
        let url = self.config.sync_queue_url.clone().expect("queue configured");
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes");
        let attrs = out.attributes.unwrap_or_default();
        let get = |k: QueueAttributeName| attrs.get(&k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        get(QueueAttributeName::ApproximateNumberOfMessages)
            + get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }

    /// Every record of a dataset (through the API), all pages.
    pub async fn all_records(&self, key: &str, dataset: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/dataset/{dataset}/record/list?take=100&order=asc");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.get(&path, key).await.ok();
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }

    /// Every item of the main table, as text, to check what is (not) stored.
    pub async fn main_table_dump(&self) -> String {
        let out = self
            .dynamodb
            .scan()
            .table_name(&self.config.table_name)
            .send()
            .await
            .expect("scan");
        format!("{:?}", out.items.unwrap_or_default())
    }

    /// Every stored thing of this environment, as deterministic text: both tables' items,
    /// the secrets under the prefix with their values, the schedules with their payloads,
    /// and the queue depth. Equal snapshots mean nothing changed.
    pub async fn snapshot(&self) -> String {
        let mut out = String::new();
        for table in [&self.config.table_name, &self.config.records_table_name] {
            out.push_str(&format!("table {table}\n"));
            for item in self.scan_items(table).await {
                out.push_str(&item.to_string());
                out.push('\n');
            }
        }
        let mut secrets = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .secrets
                .list_secrets()
                .set_next_token(token)
                .send()
                .await
                .expect("list secrets");
            for secret in page.secret_list.unwrap_or_default() {
                let name = secret.name.unwrap_or_default();
                if let Some(id) = name.strip_prefix(&self.config.secret_prefix) {
                    secrets.push(format!("secret {id} = {:?}", self.secret_value(id).await));
                }
            }
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        secrets.sort();
        out.push_str(&secrets.join("\n"));
        let mut schedules: Vec<String> =
            shared::aws::scheduler::list_schedules(&self.scheduler, &self.config.schedule_group)
                .await
                .expect("list schedules")
                .into_iter()
                .map(|s| format!("schedule {s:?}"))
                .collect();
        schedules.sort();
        out.push_str(&schedules.join("\n"));
        out.push_str(&format!("\nqueue depth {}", self.queue_depth().await));
        out
    }

    /// Every item of `table`, as JSON with sorted keys, sorted.
    pub async fn scan_items(&self, table: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(
                page.items
                    .unwrap_or_default()
                    .iter()
                    .map(|item| Value::Object(item.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect())),
            );
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        items.sort_by_key(|v| v.to_string());
        items
    }
}

/// A DynamoDB attribute as JSON (maps with sorted keys), for comparing and searching.
fn attribute_json(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::S(s) => Value::String(s.clone()),
        A::N(n) => Value::String(format!("N:{n}")),
        A::Bool(b) => Value::Bool(*b),
        A::Null(_) => Value::Null,
        A::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect()),
        A::L(l) => Value::Array(l.iter().map(attribute_json).collect()),
        A::Ss(l) | A::Ns(l) => {
            let mut l = l.clone();
            l.sort();
            Value::from(l)
        }
        A::B(b) => Value::String(String::from_utf8_lossy(b.as_ref()).into_owned()),
        other => Value::String(format!("{other:?}")),
    }
}

/// A synced-looking record of `dataset_id` (page `id`), for seeding a dataset.
pub fn sample_record(
    dataset_id: &str,
    id: &str,
    created_at: &str,
    expires_at: Option<i64>,
) -> shared::domain::record::Record {
    shared::domain::record::Record {
        id: id.into(),
        dataset_id: dataset_id.into(),
        text: format!("# Page {id}\n\nBody of {id}."),
        source: format!("https://www.notion.so/{id}"),
        meta: serde_json::json!({"notionPageId": id, "title": format!("Page {id}")})
            .as_object()
            .unwrap()
            .clone(),
        created_at: created_at.into(),
        updated_at: created_at.into(),
        expires_at,
    }
}

impl TestEnv {
    /// The account `key` belongs to.
    pub async fn account_of(&self, key: &str) -> String {
        use shared::ports::AccountStore;
        let hash = shared::domain::account::hash_api_key(key);
        self.store.account_id_for_key(&hash).await.unwrap().unwrap()
    }
}

/// The path of an integration's `action` route (`fetch`, `update`, `delete`, `sync`, ...).
pub fn integration_path(id: &str, action: &str) -> String {
    format!("/api/v1/integration/notion/{id}/{action}")
}

/// The attachment sandbox's child this package builds (`src/bin/extract-attachment.rs`),
/// beside the test binaries' `deps` folder: test harnesses do not answer its flag.
pub fn extractor() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut dir = exe.parent().expect("a folder").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("extract-attachment")
}

/// Captures every log line of the process (all targets, all levels).
#[derive(Clone, Default)]
pub struct LogCapture(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl LogCapture {
    /// Captures every log line of this process from now on (all targets, all levels).
    pub fn install() -> Self {
        let capture = Self::default();
        tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .init();
        capture
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
