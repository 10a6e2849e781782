//! The OpenAPI document (`shared/api/openapi.json`) against the real handlers: every route
//! is documented and every documented operation is a route, request fields match what the
//! handlers accept, and every answer of a scenario that reaches every route and error
//! status conforms to the documented status and schema.

use integration_tests::{Answer, TestEnv};
use jsonschema::Draft;
use lambda_http::http::Method;
use serde_json::{json, Value};
use shared::domain::dataset::DATASET_FIELDS;
use shared::domain::integration::UPDATABLE_FIELDS;
use shared::http::routes::Route;
use std::collections::BTreeSet;

fn document() -> Value {
    serde_json::from_str(shared::http::openapi::DOCUMENT).expect("the OpenAPI document is JSON")
}

/// `/api/v1/dataset/{id}/fetch` → `/api/v1/dataset/x1/fetch`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "x1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_a_route() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let (route, _) = Route::find(&method, &concrete(path))
                .unwrap_or_else(|_| panic!("{method} {path} is documented but no route serves it"));
            assert_eq!(route.template().to_string(), *path, "{route:?}");
            documented.insert(format!("{route:?}"));
        }
    }
    for route in Route::ALL {
        let path = route.template().to_string();
        let op = &paths
            .get(&path)
            .unwrap_or_else(|| panic!("{route:?} ({path}) is not documented"))[route.method().as_str().to_lowercase()];
        assert!(op.is_object(), "{route:?}: {} {path} is not documented", route.method());
        assert!(op["responses"]["200"].is_object(), "{route:?} documents its success");
        if route.is_public() {
            assert_eq!(
                op["security"],
                serde_json::json!([]),
                "{route:?} is documented as public"
            );
        } else {
            assert!(op["responses"]["401"].is_object(), "{route:?} documents 401");
        }
    }
    assert_eq!(documented.len(), Route::ALL.len());
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
}

#[test]
fn documented_request_fields_are_exactly_the_accepted_ones() {
    let doc = document();
    let fields = |schema: &str| -> BTreeSet<String> {
        doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let accepted: BTreeSet<String> = UPDATABLE_FIELDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(fields("IntegrationWrite"), accepted);
    let accepted: BTreeSet<String> = DATASET_FIELDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(fields("DatasetWrite"), accepted);
    let accepted: BTreeSet<String> = shared::domain::record::RECORD_FIELDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(fields("RecordCreate"), accepted);
    assert_eq!(fields("RecordUpdate"), accepted);
}

/// Checks answers against the document.
struct Contract {
    doc: Value,
    checked: BTreeSet<String>,
}

impl Contract {
    fn new() -> Self {
        Self {
            doc: document(),
            checked: BTreeSet::new(),
        }
    }

    fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            v = self
                .doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{r} resolves"));
        }
        v
    }

    /// Asserts that `answer`, to `route`, is documented: status, content type and schema.
    #[track_caller]
    fn check(&mut self, route: Route, answer: &Answer) {
        let path = route.template().to_string();
        let op = &self.doc["paths"][&path][route.method().as_str().to_lowercase()];
        let status = answer.status.as_u16().to_string();
        let response = op["responses"]
            .get(&status)
            .unwrap_or_else(|| panic!("{route:?} answered {status}, which is not documented: {}", answer.text));
        let response = self.resolve(response);
        let content_type = answer.headers["content-type"].to_str().unwrap().to_string();
        let media = &response["content"][&content_type];
        assert!(
            media.is_object(),
            "{route:?} {status}: content type {content_type} is not documented"
        );
        if content_type == "application/json" {
            let mut schema = media["schema"].clone();
            schema["components"] = self.doc["components"].clone();
            let validator = jsonschema::options()
                .with_draft(Draft::Draft202012)
                .build(&schema)
                .expect("the schema compiles");
            let body = answer.json();
            let errors: Vec<String> = validator.iter_errors(&body).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{route:?} {status} does not match the document: {errors:?}\n{body}"
            );
        }
        self.checked.insert(format!("{route:?} {status}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_of_every_route_matches_the_document() {
    let mut env = TestEnv::with_cooldown(900).await;
    // Connect with Notion configured, with the Notion emulator as Notion.
    let notion = notion_emulator::Emulator::new(
        notion_emulator::generate::generate(&notion_emulator::generate::Options {
            pages: 2,
            seed: 1,
            token: "secret_contract".into(),
        }),
        notion_emulator::Config::default(),
    );
    notion.enable_oauth("contract-client", "contract-secret");
    let notion_url = notion_emulator::spawn(notion.clone()).await.unwrap();
    let mut config = env.config.clone();
    config.notion_api_url = notion_url;
    config.public_base_url = Some("http://127.0.0.1:9".into());
    config.oauth = Some(shared::config::OAuthConfig {
        client_id: "contract-client".into(),
        client_secret: shared::config::ClientSecret::Value(shared::config::Secret("contract-secret".into())),
    });
    let sdk = shared::aws::clients::sdk_config_for_emulator(&integration_tests::emulator_endpoint()).await;
    env.use_app(shared::runtime::build_app(&config, &sdk).expect("the test configuration is complete"));
    let (account, key) = env.account_with(shared::domain::account::Plan::default()).await;
    let mut c = Contract::new();
    use Route::*;

    // Datasets.
    let a = env
        .post(
            "/api/v1/dataset/create",
            &key,
            &json!({"name": "KB", "meta": {"team": "a"}}),
        )
        .await;
    c.check(DatasetCreate, &a);
    let dataset = a.json()["id"].as_str().unwrap().to_string();
    c.check(
        DatasetCreate,
        &env.post("/api/v1/dataset/create", &key, &json!({"nope": 1})).await,
    );
    c.check(
        DatasetCreate,
        &env.post("/api/v1/dataset/create", &key, &json!({"name": "x".repeat(300)}))
            .await,
    );
    c.check(
        DatasetCreate,
        &env.post("/api/v1/dataset/create", "wrong-key", &json!({})).await,
    );
    c.check(DatasetList, &env.get("/api/v1/dataset/list?take=1", &key).await);
    c.check(DatasetList, &env.get("/api/v1/dataset/list?take=0", &key).await);
    c.check(
        DatasetFetch,
        &env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &key).await,
    );
    c.check(DatasetFetch, &env.get("/api/v1/dataset/dataset_nope/fetch", &key).await);
    c.check(
        RecordList,
        &env.get(&format!("/api/v1/dataset/{dataset}/record/list"), &key).await,
    );
    c.check(
        RecordList,
        &env.get("/api/v1/dataset/dataset_nope/record/list", &key).await,
    );
    c.check(
        RecordFetch,
        &env.get(&format!("/api/v1/dataset/{dataset}/record/rec_nope/fetch"), &key)
            .await,
    );
    let record = shared::domain::record::Record {
        id: "rec_contract".into(),
        dataset_id: dataset.clone(),
        text: "# Title\n\nBody".into(),
        source: "https://www.notion.so/page".into(),
        meta: json!({"notionPageId": "p1", "title": "Title", "lastEditedTime": "2025-01-01T00:00:00.000Z", "integrationId": "notion_x", "chunk": 1, "chunks": 1})
            .as_object()
            .unwrap()
            .clone(),
        created_at: "2025-01-01T00:00:00Z".into(),
        updated_at: "2025-01-01T00:00:00Z".into(),
        expires_at: Some(4_000_000_000),
    };
    env.app.records.put_record(&account, &record).await.unwrap();
    c.check(
        RecordFetch,
        &env.get(&format!("/api/v1/dataset/{dataset}/record/rec_contract/fetch"), &key)
            .await,
    );
    c.check(
        RecordList,
        &env.get(&format!("/api/v1/dataset/{dataset}/record/list"), &key).await,
    );
    // Records and datasets a user manages.
    let made = env
        .post(
            &format!("/api/v1/dataset/{dataset}/record/create"),
            &key,
            &json!({"text": "By hand", "source": "https://example.com", "meta": {"k": 1}}),
        )
        .await;
    c.check(RecordCreate, &made);
    let mine = made.json()["id"].as_str().unwrap().to_string();
    c.check(
        RecordCreate,
        &env.post(&format!("/api/v1/dataset/{dataset}/record/create"), &key, &json!({}))
            .await,
    );
    c.check(
        RecordCreate,
        &env.post(
            "/api/v1/dataset/dataset_nope/record/create",
            &key,
            &json!({"text": "x"}),
        )
        .await,
    );
    c.check(
        RecordFetch,
        &env.get(&format!("/api/v1/dataset/{dataset}/record/{mine}/fetch"), &key)
            .await,
    );
    c.check(
        RecordUpdate,
        &env.post(
            &format!("/api/v1/dataset/{dataset}/record/{mine}/update"),
            &key,
            &json!({"text": "Edited", "meta": null}),
        )
        .await,
    );
    c.check(
        RecordUpdate,
        &env.post(
            &format!("/api/v1/dataset/{dataset}/record/{mine}/update"),
            &key,
            &json!({"text": 5}),
        )
        .await,
    );
    c.check(
        RecordUpdate,
        &env.post(
            &format!("/api/v1/dataset/{dataset}/record/record_nope/update"),
            &key,
            &json!({"text": "x"}),
        )
        .await,
    );
    c.check(
        RecordDelete,
        &env.post(
            &format!("/api/v1/dataset/{dataset}/record/{mine}/delete"),
            &key,
            &json!({}),
        )
        .await,
    );
    c.check(
        RecordDelete,
        &env.post(
            &format!("/api/v1/dataset/{dataset}/record/{mine}/delete"),
            &key,
            &json!({}),
        )
        .await,
    );
    c.check(
        DatasetUpdate,
        &env.post(
            &format!("/api/v1/dataset/{dataset}/update"),
            &key,
            &json!({"description": "Updated", "meta": {"team": "b"}}),
        )
        .await,
    );
    c.check(
        DatasetUpdate,
        &env.post(&format!("/api/v1/dataset/{dataset}/update"), &key, &json!({"name": 1}))
            .await,
    );
    c.check(
        DatasetUpdate,
        &env.post("/api/v1/dataset/dataset_nope/update", &key, &json!({})).await,
    );

    // Integrations.
    let a = env
        .post(
            "/api/v1/integration/notion/create",
            &key,
            &json!({"name": "Wiki", "datasetId": dataset, "token": "secret_x", "syncSchedule": "@daily", "expiresIn": 1000, "meta": {"k": "v"}}),
        )
        .await;
    c.check(IntegrationCreate, &a);
    let id = a.json()["id"].as_str().unwrap().to_string();
    let bare = env.create_integration(&key, &json!({})).await;
    c.check(
        IntegrationCreate,
        &env.post("/api/v1/integration/notion/create", &key, &json!({"expiresIn": -1}))
            .await,
    );
    c.check(
        IntegrationCreate,
        &env.post(
            "/api/v1/integration/notion/create",
            &key,
            &json!({"datasetId": "dataset_nope"}),
        )
        .await,
    );
    c.check(
        IntegrationList,
        &env.get("/api/v1/integration/notion/list?take=1", &key).await,
    );
    c.check(
        IntegrationList,
        &env.get("/api/v1/integration/notion/list?order=up", &key).await,
    );
    let jsonl = env
        .send(
            Method::GET,
            "/api/v1/integration/notion/list",
            Some(&key),
            &[("accept", "application/jsonl")],
            "",
        )
        .await;
    c.check(IntegrationList, &jsonl);
    c.check(
        IntegrationFetch,
        &env.get(&format!("/api/v1/integration/notion/{id}/fetch"), &key).await,
    );
    c.check(
        IntegrationFetch,
        &env.get(&format!("/api/v1/integration/notion/{bare}/fetch"), &key).await,
    );
    c.check(
        IntegrationFetch,
        &env.get("/api/v1/integration/notion/notion_nope/fetch", &key).await,
    );
    let update = |body: Value| {
        let path = format!("/api/v1/integration/notion/{id}/update");
        let key = key.clone();
        let env = &env;
        async move { env.post(&path, &key, &body).await }
    };
    c.check(
        IntegrationUpdate,
        &update(json!({"description": "d", "syncSchedule": "30 2 * * 1-5"})).await,
    );
    c.check(IntegrationUpdate, &update(json!({"syncSchedule": "every day"})).await);
    c.check(IntegrationUpdate, &update(json!("not an object")).await);
    // Sync: prerequisites, then accepted, then cooled down.
    c.check(
        IntegrationSync,
        &env.post(&format!("/api/v1/integration/notion/{bare}/sync"), &key, &json!({}))
            .await,
    );
    let sync = |target: String| {
        let key = key.clone();
        let env = &env;
        async move {
            env.post(&format!("/api/v1/integration/notion/{target}/sync"), &key, &json!({}))
                .await
        }
    };
    c.check(IntegrationSync, &sync(id.clone()).await);
    c.check(IntegrationSync, &sync(id.clone()).await);
    c.check(IntegrationSync, &sync("notion_nope".into()).await);
    // Connect with Notion: the authorize URL, then Notion's redirect back to the callback.
    let authenticate = format!("/api/v1/integration/notion/{id}/authenticate");
    let a = env.post(&authenticate, &key, &json!({})).await;
    c.check(IntegrationAuthenticate, &a);
    c.check(
        IntegrationAuthenticate,
        &env.post(&authenticate, &key, &json!({"returnUrl": "http://example.com/"}))
            .await,
    );
    c.check(
        IntegrationAuthenticate,
        &env.post("/api/v1/integration/notion/notion_nope/authenticate", &key, &json!({}))
            .await,
    );
    shared::runtime::install_tls_provider();
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(a.json()["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let back = consent.headers()["location"].to_str().unwrap();
    let back = &back[back.find("/api/v1/").unwrap()..];
    c.check(OAuthCallback, &env.get(back, "no-key-needed").await);
    c.check(OAuthCallback, &env.get(back, "no-key-needed").await);
    // Webhooks: the owner's view, Notion's handshake, signed and forged events, a handshake
    // once the token is in use.
    let hook = format!("/api/v1/integration/notion/{id}/webhook");
    c.check(WebhookFetch, &env.get(&format!("{hook}/fetch"), &key).await);
    c.check(
        WebhookFetch,
        &env.get("/api/v1/integration/notion/notion_nope/webhook/fetch", &key)
            .await,
    );
    c.check(WebhookFetch, &env.get(&format!("{hook}/fetch"), "wrong-key").await);
    let deliver = |body: String, signature: Option<String>, path: String| {
        let env = &env;
        async move {
            let mut headers = vec![("content-type", "application/json".to_string())];
            if let Some(s) = signature {
                headers.push(("x-notion-signature", s));
            }
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            env.send(Method::POST, &path, None, &headers, body).await
        }
    };
    let handshake = json!({"verification_token": "secret_contract"}).to_string();
    c.check(WebhookReceive, &deliver(handshake.clone(), None, hook.clone()).await);
    let event = json!({"id": "e-1", "type": "page.created", "entity": {"id": "0a0b", "type": "page"}}).to_string();
    let signed = shared::domain::webhook::sign(event.as_bytes(), "secret_contract");
    c.check(
        WebhookReceive,
        &deliver(event.clone(), Some(signed), hook.clone()).await,
    );
    c.check(
        WebhookReceive,
        &deliver(event.clone(), Some("sha256=00".into()), hook.clone()).await,
    );
    c.check(WebhookReceive, &deliver("[]".into(), None, hook.clone()).await);
    c.check(WebhookReceive, &deliver(handshake, None, hook.clone()).await);
    c.check(
        WebhookReceive,
        &deliver(
            event,
            None,
            "/api/v1/integration/notion/notion_01JD0000000000000000000000/webhook".into(),
        )
        .await,
    );
    c.check(WebhookFetch, &env.get(&format!("{hook}/fetch"), &key).await);

    // Plan limit: an account with no record capacity left.
    let (_, full_key) = env
        .account_with(shared::domain::account::Plan {
            max_records: 0,
            ..Default::default()
        })
        .await;
    let ds = env.create_dataset(&full_key, &json!({})).await;
    let full = env
        .create_integration(&full_key, &json!({"datasetId": ds, "token": "secret_y"}))
        .await;
    let limited = env
        .post(
            &format!("/api/v1/integration/notion/{full}/sync"),
            &full_key,
            &json!({}),
        )
        .await;
    c.check(IntegrationSync, &limited);

    c.check(
        IntegrationDelete,
        &env.post(
            &format!("/api/v1/integration/notion/{id}/delete"),
            &key,
            &json!({"x": 1}),
        )
        .await,
    );
    c.check(
        IntegrationDelete,
        &env.post(&format!("/api/v1/integration/notion/{id}/delete"), &key, &json!({}))
            .await,
    );
    c.check(
        IntegrationDelete,
        &env.post(&format!("/api/v1/integration/notion/{id}/delete"), &key, &json!({}))
            .await,
    );
    c.check(
        DatasetDelete,
        &env.post(&format!("/api/v1/dataset/{dataset}/delete"), &key, &json!({}))
            .await,
    );
    c.check(
        DatasetDelete,
        &env.post("/api/v1/dataset/dataset_nope/delete", &key, &json!({})).await,
    );
    c.check(
        DatasetDelete,
        &env.post(&format!("/api/v1/dataset/{dataset}/delete"), &key, &json!({"x": 1}))
            .await,
    );

    // The event log, now holding every kind of event the calls above wrote.
    c.check(EventLogList, &env.get("/api/v1/event/log/list?take=100", &key).await);
    c.check(
        EventLogList,
        &env.get(
            &format!("/api/v1/event/log/list?notionIntegrationId={id}&type=integration.updated"),
            &key,
        )
        .await,
    );
    let jsonl = env
        .send(
            Method::GET,
            "/api/v1/event/log/list",
            Some(&key),
            &[("accept", "application/jsonl")],
            "",
        )
        .await;
    c.check(EventLogList, &jsonl);
    c.check(
        EventLogList,
        &env.get("/api/v1/event/log/list?type=sync.started", &key).await,
    );
    c.check(EventLogList, &env.get("/api/v1/event/log/list?meta.a=b", &key).await);
    c.check(EventLogList, &env.get("/api/v1/event/log/list", "wrong-key").await);

    // Every route was reached, with its success and the errors it documents here.
    for route in Route::ALL {
        assert!(
            c.checked.contains(&format!("{route:?} 200")),
            "{route:?} 200 not exercised"
        );
        assert!(
            c.checked.iter().any(|s| s.starts_with(&format!("{route:?} 4"))),
            "{route:?}: no error answer exercised"
        );
    }
    for status in ["400", "401", "403", "404", "409", "429"] {
        assert!(
            c.checked.iter().any(|s| s.ends_with(status)),
            "no {status} exercised: {:?}",
            c.checked
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_stack_serves_the_document() {
    let env = TestEnv::new().await;
    let answer = env.send(Method::GET, shared::http::openapi::PATH, None, &[], "").await;
    assert_eq!(answer.ok(), document());
}

/// With `TIMESTAMP_FORMAT=epoch_ms` every answer still matches the document, timestamps are
/// integers of ms (`lastSyncedAt` aside), and a listing's last page carries a cursor whose
/// page is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epoch_ms_answers_match_the_document() {
    let mut env = TestEnv::with_cooldown(900).await;
    let mut config = env.config.clone();
    config.timestamp_format = shared::domain::time::TimestampFormat::EpochMs;
    let sdk = shared::aws::clients::sdk_config_for_emulator(&integration_tests::emulator_endpoint()).await;
    env.use_app(shared::runtime::build_app(&config, &sdk).expect("the test configuration is complete"));
    let (_, key) = env.account_with(shared::domain::account::Plan::default()).await;
    let mut c = Contract::new();
    use Route::*;
    let dataset = env.create_dataset(&key, &json!({"name": "KB"})).await;
    let record = env
        .post(
            &format!("/api/v1/dataset/{dataset}/record/create"),
            &key,
            &json!({"text": "t"}),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let id = env
        .create_integration(&key, &json!({"name": "Wiki", "datasetId": dataset}))
        .await;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let is_ms = |v: &Value| v.as_i64().is_some_and(|ms| (ms - now_ms).abs() < 600_000);
    let answers = [
        (DatasetFetch, format!("/api/v1/dataset/{dataset}/fetch")),
        (RecordFetch, format!("/api/v1/dataset/{dataset}/record/{record}/fetch")),
        (IntegrationFetch, format!("/api/v1/integration/notion/{id}/fetch")),
    ];
    for (route, path) in answers {
        let a = env.get(&path, &key).await;
        c.check(route, &a);
        let body = a.json();
        assert!(
            is_ms(&body["createdAt"]) && is_ms(&body["updatedAt"]),
            "{route:?}: {body}"
        );
    }
    let lists = [
        (DatasetList, "/api/v1/dataset/list".to_string()),
        (RecordList, format!("/api/v1/dataset/{dataset}/record/list")),
        (IntegrationList, "/api/v1/integration/notion/list".to_string()),
        (EventLogList, "/api/v1/event/log/list".to_string()),
    ];
    for (route, path) in lists {
        let a = env.get(&path, &key).await;
        c.check(route, &a);
        let body = a.json();
        let items = body["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{route:?}");
        assert!(
            items.iter().all(|i| is_ms(&i["createdAt"]) && is_ms(&i["updatedAt"])),
            "{route:?}: {body}"
        );
        let end = body["cursor"].as_str().expect("the last page carries a cursor");
        let past = env.get(&format!("{path}?cursor={end}"), &key).await;
        c.check(route, &past);
        let past = past.json();
        assert_eq!(past["items"], json!([]), "{route:?}");
        assert_eq!(past["cursor"], end, "{route:?}: the end stays the end");
    }
}
