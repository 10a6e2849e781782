//! Every route served in-process over its own handler, built from the adapters it names
//! (the compiler holds each handler to those); a recording [`Provide`] shows which each
//! route's function builds, so a route that grew a dependency shows here and in its IAM.

use super::*;
use lambda_http::{Body, Request};
use shared::api::{Endpoint, Handler};
use shared::http::routes::Route;
use shared::ports::*;
use shared::runtime::Adapters;
use std::cell::RefCell;
use std::collections::BTreeSet;

fn app_with(h: &Harness) -> Adapters {
    // Connect with Notion configured (its client id is configuration, not an adapter).
    let mut app = h.app();
    app.settings.oauth_client_id = Some("client-id".into());
    app.settings.public_base_url = Some("https://api.example.com".into());
    app.oauth = Some(std::sync::Arc::new(shared::testing::MemoryOAuth::default()));
    app
}

/// A [`Provide`] that notes the adapters beside the stores that it was asked for.
struct Recording {
    inner: Adapters,
    asked: RefCell<BTreeSet<&'static str>>,
}

impl Recording {
    fn new(inner: Adapters) -> Self {
        Self {
            inner,
            asked: RefCell::default(),
        }
    }

    fn note<T>(&self, name: &'static str, value: T) -> T {
        self.asked.borrow_mut().insert(name);
        value
    }

    fn taken(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.asked.borrow_mut()).into_iter().collect()
    }
}

impl Provide for Recording {
    fn settings(&self) -> &Settings {
        self.inner.settings()
    }
    fn clock(&self) -> Arc<dyn shared::domain::time::Clock> {
        self.inner.clock()
    }
    fn accounts(&self) -> Arc<dyn AccountStore> {
        self.inner.accounts()
    }
    fn integrations(&self) -> Arc<dyn IntegrationStore> {
        self.inner.integrations()
    }
    fn datasets(&self) -> Arc<dyn DatasetStore> {
        self.inner.datasets()
    }
    fn records(&self) -> Arc<dyn RecordStore> {
        self.inner.records()
    }
    fn sync_state(&self) -> Arc<dyn SyncStateStore> {
        self.inner.sync_state()
    }
    fn event_log(&self) -> Arc<dyn EventLog> {
        self.inner.event_log()
    }
    fn oauth_states(&self) -> Arc<dyn OAuthStates> {
        self.inner.oauth_states()
    }
    fn webhooks(&self) -> Arc<dyn WebhookStore> {
        self.inner.webhooks()
    }
    fn tokens(&self) -> Arc<dyn TokenStore> {
        self.note("tokens", self.inner.tokens())
    }
    fn webhook_tokens(&self) -> Arc<dyn WebhookTokens> {
        self.note("webhook_tokens", self.inner.webhook_tokens())
    }
    fn queue(&self) -> Result<Arc<dyn SyncQueue>, shared::error::ConfigError> {
        self.note("queue", self.inner.queue())
    }
    fn schedules(&self) -> Result<Arc<dyn SyncScheduler>, shared::error::ConfigError> {
        self.note("schedules", self.inner.schedules())
    }
    fn schedule_removal(&self) -> Arc<dyn SyncScheduler> {
        self.note("schedule_removal", self.inner.schedule_removal())
    }
    fn notion_oauth(&self) -> Option<Arc<dyn NotionOAuth>> {
        self.note("notion_oauth", self.inner.notion_oauth())
    }
}

fn request(route: Route, path: &str, body: &str) -> Request {
    lambda_http::http::Request::builder()
        .method(route.method())
        .uri(format!("https://api.example.com/api/v1{path}"))
        .header("authorization", format!("Bearer {API_KEY}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn call(h: &Harness, route: Route, path: &str, body: &str) -> (u16, serde_json::Value) {
    call_with(h, route, request(route, path, body)).await
}

async fn call_with(h: &Harness, route: Route, request: Request) -> (u16, serde_json::Value) {
    let response = app_with(h).handle(route, request).await;
    let status = response.status().as_u16();
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap_or_default();
    (status, body)
}

#[tokio::test(start_paused = true)]
async fn every_route_works_over_its_own_handler() {
    let h = Harness::new(Plan::default()).await;
    let created = call(
        &h,
        Route::IntegrationCreate,
        "/integration/notion/create",
        &format!(r#"{{"name": "n", "token": "tok_1", "syncSchedule": "@daily", "datasetId": "{DATASET}"}}"#),
    )
    .await;
    assert_eq!(created.0, 200, "{created:?}");
    let id = created.1["id"].as_str().unwrap().to_string();
    assert!(h.store.state().schedules.contains_key(&id));
    let record = shared::domain::record::Record {
        id: "rec_1".into(),
        dataset_id: DATASET.into(),
        text: "hello".into(),
        source: String::new(),
        meta: Default::default(),
        created_at: "2026-12-01T00:00:00Z".into(),
        updated_at: "2026-12-01T00:00:00Z".into(),
        expires_at: None,
    };
    shared::ports::RecordStore::put_record(h.store.as_ref(), ACCOUNT, &record)
        .await
        .unwrap();
    let calls: Vec<(Route, String, &str)> = vec![
        (Route::IntegrationList, "/integration/notion/list".into(), ""),
        (Route::IntegrationFetch, format!("/integration/notion/{id}/fetch"), ""),
        (
            Route::IntegrationUpdate,
            format!("/integration/notion/{id}/update"),
            r#"{"syncSchedule": "0 3 * * 1", "token": "tok_2"}"#,
        ),
        (Route::IntegrationSync, format!("/integration/notion/{id}/sync"), "{}"),
        (Route::DatasetCreate, "/dataset/create".into(), r#"{"name": "d"}"#),
        (Route::DatasetList, "/dataset/list".into(), ""),
        (Route::DatasetFetch, format!("/dataset/{DATASET}/fetch"), ""),
        (Route::RecordList, format!("/dataset/{DATASET}/record/list"), ""),
        (Route::RecordFetch, format!("/dataset/{DATASET}/record/rec_1/fetch"), ""),
        (
            Route::RecordCreate,
            format!("/dataset/{DATASET}/record/create"),
            r#"{"text": "by hand"}"#,
        ),
        (
            Route::RecordUpdate,
            format!("/dataset/{DATASET}/record/rec_1/update"),
            r#"{"text": "edited"}"#,
        ),
        (
            Route::RecordDelete,
            format!("/dataset/{DATASET}/record/rec_1/delete"),
            "{}",
        ),
        (
            Route::DatasetUpdate,
            format!("/dataset/{DATASET}/update"),
            r#"{"name": "renamed"}"#,
        ),
        (
            Route::IntegrationDelete,
            format!("/integration/notion/{id}/delete"),
            "{}",
        ),
        (Route::DatasetDelete, format!("/dataset/{DATASET}/delete"), "{}"),
        (Route::EventLogList, "/event/log/list?take=100".into(), ""),
    ];
    let mut served: Vec<Route> = vec![Route::IntegrationCreate];
    // Connect with Notion, on an integration of its own (the one above gets deleted).
    let other = call(&h, Route::IntegrationCreate, "/integration/notion/create", "{}")
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, answer) = call(
        &h,
        Route::IntegrationAuthenticate,
        &format!("/integration/notion/{other}/authenticate"),
        "{}",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["url"]
        .as_str()
        .unwrap()
        .starts_with("https://api.notion.com/v1/oauth/authorize?"));
    served.push(Route::IntegrationAuthenticate);
    let state = h.store.state().oauth_states.keys().next().unwrap().clone();
    let (status, _) = call(
        &h,
        Route::OAuthCallback,
        &format!("/integration/notion/oauth/callback?code=c&state={state}"),
        "",
    )
    .await;
    assert_eq!(status, 200, "the callback connected");
    served.push(Route::OAuthCallback);
    // Webhooks on the same one: Notion's handshake, a signed event, the owner's view.
    let hook = format!("/integration/notion/{other}/webhook");
    let (status, answer) = call(
        &h,
        Route::WebhookReceive,
        &hook,
        r#"{"verification_token": "secret_whv_1"}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let event = r#"{"id": "e-1", "type": "page.content_updated", "entity": {"id": "0a0b", "type": "page"}}"#;
    let mut signed = request(Route::WebhookReceive, &hook, event);
    signed.headers_mut().insert(
        "x-notion-signature",
        shared::domain::webhook::sign(event.as_bytes(), "secret_whv_1")
            .parse()
            .unwrap(),
    );
    let (status, answer) = call_with(&h, Route::WebhookReceive, signed).await;
    assert_eq!(status, 200, "{answer}");
    served.push(Route::WebhookReceive);
    assert_eq!(h.store.state().flush_queue.len(), 1, "the event queued one flush");
    let (status, answer) = call(&h, Route::WebhookFetch, &format!("{hook}/fetch"), "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "active");
    assert_eq!(answer["verificationToken"], "secret_whv_1");
    assert_eq!(
        answer["url"],
        format!("https://api.example.com/api/v1/integration/notion/{other}/webhook")
    );
    served.push(Route::WebhookFetch);
    for (route, path, body) in calls {
        let (status, answer) = call(&h, route, &path, body).await;
        assert_eq!(status, 200, "{route:?}: {answer}");
        served.push(route);
    }
    assert!(
        Route::ALL.iter().all(|r| served.contains(r)),
        "every route is exercised"
    );
    assert_eq!(h.store.take_messages().len(), 1, "the sync route queued one run");
    let logged: Vec<&str> = h.store.state().events.values().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        logged,
        [
            "integration.created",
            "integration.created",
            "integration.updated",
            "integration.updated",
            "webhook.verified",
            "integration.updated",
            "sync.requested",
            "integration.deleted",
            "dataset.deleted"
        ]
    );
    assert!(
        !h.store.state().schedules.contains_key(&id),
        "delete removed the schedule"
    );
    assert!(!h.store.state().tokens.contains_key(&id), "delete removed the token");
}

#[tokio::test(start_paused = true)]
async fn the_schedule_trigger_works_over_its_own_adapters() {
    let h = Harness::new(Plan::default()).await;
    let trigger = shared::sync::schedule::ScheduleTrigger::build(&app_with(&h)).unwrap();
    let input = shared::domain::sync::ScheduleInput {
        account_id: ACCOUNT.into(),
        integration_id: INTEGRATION.into(),
    };
    let answer = trigger.trigger(&input).await.unwrap();
    assert_eq!(answer["result"], "queued");
    assert_eq!(h.store.take_messages().len(), 1);
    let gone = shared::domain::sync::ScheduleInput {
        account_id: ACCOUNT.into(),
        integration_id: "notion_gone".into(),
    };
    let answer = trigger.trigger(&gone).await.unwrap();
    assert_eq!(answer["result"], "integration deleted; schedule removed");
}

#[tokio::test]
async fn each_function_builds_only_the_adapters_its_route_uses() {
    let h = Harness::new(Plan::default()).await;
    let p = Recording::new(app_with(&h));
    let mut built = std::collections::HashMap::new();
    for route in Route::ALL {
        Endpoint::of(route, &p).unwrap();
        built.insert(route, p.taken());
    }
    let expect = |route: Route, names: &[&str]| assert_eq!(built[&route], names, "{route:?}");
    expect(Route::IntegrationCreate, &["schedules", "tokens"]);
    expect(Route::IntegrationUpdate, &["schedules", "tokens"]);
    expect(
        Route::IntegrationDelete,
        &["schedule_removal", "tokens", "webhook_tokens"],
    );
    expect(Route::IntegrationSync, &["queue"]);
    expect(Route::DatasetDelete, &["queue"]);
    expect(Route::OAuthCallback, &["notion_oauth", "tokens"]);
    expect(Route::WebhookReceive, &["queue", "webhook_tokens"]);
    expect(Route::WebhookFetch, &["webhook_tokens"]);
    for route in [
        Route::IntegrationList,
        Route::IntegrationFetch,
        Route::IntegrationAuthenticate,
        Route::DatasetCreate,
        Route::DatasetList,
        Route::DatasetFetch,
        Route::DatasetUpdate,
        Route::RecordList,
        Route::RecordFetch,
        Route::RecordCreate,
        Route::RecordUpdate,
        Route::RecordDelete,
        Route::EventLogList,
    ] {
        expect(route, &[]);
    }
    shared::sync::schedule::ScheduleTrigger::build(&p).unwrap();
    assert_eq!(p.taken(), ["queue", "schedule_removal"], "the schedule trigger");
    shared::api::record::Records::build(&p).unwrap();
    assert!(p.taken().is_empty(), "a record route's function builds only DynamoDB");
}

#[tokio::test(start_paused = true)]
async fn sync_refusals_map_to_their_errors_and_change_nothing() {
    let h = Harness::new(Plan::default()).await;
    let bare = call(
        &h,
        Route::IntegrationCreate,
        "/integration/notion/create",
        r#"{"name": "bare"}"#,
    )
    .await;
    let bare_id = bare.1["id"].as_str().unwrap().to_string();
    let (status, body) = call(
        &h,
        Route::IntegrationSync,
        &format!("/integration/notion/{bare_id}/sync"),
        "{}",
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("CONFLICT")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("no dataset"), "{body}");
    assert!(h.store.take_messages().is_empty());

    let path = format!("/integration/notion/{INTEGRATION}/sync");
    assert_eq!(call(&h, Route::IntegrationSync, &path, "{}").await.0, 200);
    let (status, body) = call(&h, Route::IntegrationSync, &path, "{}").await;
    assert_eq!((status, body["code"].as_str()), (429, Some("RATE_LIMITED")), "{body}");
    assert_eq!(h.store.take_messages().len(), 1, "the refused request queued nothing");

    // Past the cooldown, a sync still pending absorbs the request: nothing more is queued.
    tokio::time::advance(Duration::from_secs(901)).await;
    assert_eq!(call(&h, Route::IntegrationSync, &path, "{}").await.0, 200);
    assert!(h.store.take_messages().is_empty(), "coalesced into the pending run");
}
