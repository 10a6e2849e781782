//! Hardening: account isolation on every route, hostile inputs, secret hygiene end to end
//! (API, crawler, logs, DynamoDB, SQS, Scheduler), and a bounded concurrent load.

use integration_tests::{Answer, TestEnv};
use lambda_http::http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Asserts a refusal: not a 5xx, SPEC's error shape, JSON.
#[track_caller]
fn assert_refused(answer: &Answer, what: &str) {
    let status = answer.status.as_u16();
    assert!((400..500).contains(&status), "{what}: status {status}: {}", answer.text);
    assert_eq!(answer.headers["content-type"], "application/json", "{what}");
    let body: Value =
        serde_json::from_str(&answer.text).unwrap_or_else(|_| panic!("{what}: not JSON: {}", answer.text));
    let object = body.as_object().unwrap_or_else(|| panic!("{what}: not an object"));
    assert!(
        object
            .keys()
            .all(|k| ["message", "code", "details"].contains(&k.as_str())),
        "{what}: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    let code = body["code"].as_str().unwrap_or_default();
    assert!(
        !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
        "{what}: {body}"
    );
}

struct Tenant {
    key: String,
    dataset: String,
    integration: String,
    record: String,
}

/// An account with a dataset holding one record and a scheduled integration with a token.
async fn tenant(env: &TestEnv) -> Tenant {
    let (account, key) = env.account_with(shared::domain::account::Plan::default()).await;
    let dataset = env.create_dataset(&key, &json!({"name": "KB"})).await;
    let integration = env
        .create_integration(
            &key,
            &json!({"name": "Wiki", "datasetId": dataset, "token": "secret_tenant_token", "syncSchedule": "@daily"}),
        )
        .await;
    let record = shared::domain::record::Record {
        id: format!("rec_{}", ulid::Ulid::generate()),
        dataset_id: dataset.clone(),
        text: "text".into(),
        source: "https://www.notion.so/p".into(),
        meta: serde_json::Map::new(),
        created_at: "2025-01-01T00:00:00Z".into(),
        updated_at: "2025-01-01T00:00:00Z".into(),
        expires_at: None,
    };
    env.app.records.put_record(&account, &record).await.unwrap();
    Tenant {
        key,
        dataset,
        integration,
        record: record.id,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_another_account_answer_404_on_every_route_and_change_nothing() {
    let env = TestEnv::with_cooldown(0).await;
    let a = tenant(&env).await;
    let b = tenant(&env).await;
    let before = env.snapshot().await;
    let (i, d, r) = (&a.integration, &a.dataset, &a.record);
    let requests: Vec<(Method, String, Value)> = vec![
        (
            Method::GET,
            format!("/api/v1/integration/notion/{i}/fetch"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/api/v1/integration/notion/{i}/update"),
            json!({"name": "stolen", "syncSchedule": null, "token": "x"}),
        ),
        (Method::POST, format!("/api/v1/integration/notion/{i}/sync"), json!({})),
        (
            Method::POST,
            format!("/api/v1/integration/notion/{i}/authenticate"),
            json!({}),
        ),
        (
            Method::GET,
            format!("/api/v1/integration/notion/{i}/webhook/fetch"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/api/v1/integration/notion/{i}/delete"),
            json!({}),
        ),
        (Method::GET, format!("/api/v1/dataset/{d}/fetch"), Value::Null),
        (Method::GET, format!("/api/v1/dataset/{d}/record/list"), Value::Null),
        (
            Method::GET,
            format!("/api/v1/dataset/{d}/record/{r}/fetch"),
            Value::Null,
        ),
        (Method::POST, format!("/api/v1/dataset/{d}/delete"), json!({})),
        (
            Method::POST,
            format!("/api/v1/dataset/{d}/update"),
            json!({"name": "stolen"}),
        ),
        (
            Method::POST,
            format!("/api/v1/dataset/{d}/record/create"),
            json!({"text": "planted"}),
        ),
        (
            Method::POST,
            format!("/api/v1/dataset/{d}/record/{r}/update"),
            json!({"text": "changed"}),
        ),
        (
            Method::POST,
            format!("/api/v1/dataset/{d}/record/{r}/delete"),
            json!({}),
        ),
    ];
    let covered: std::collections::HashSet<_> = requests
        .iter()
        .filter_map(|(method, path, _)| shared::http::routes::Route::find(method, path).ok().map(|(r, _)| r))
        .collect();
    for route in shared::http::routes::Route::ALL {
        // Every route naming a resource by id is tried with another account's id (the
        // lists and creates take none; the event log is checked by its own tests; the
        // public webhook route has no account: its signature is its key, tests/webhooks.rs).
        if route.template().contains('{') && !route.is_public() {
            assert!(covered.contains(&route), "{route:?} is not tried across accounts");
        }
    }
    for (method, path, body) in &requests {
        let answer = match method {
            &Method::GET => env.get(path, &b.key).await,
            _ => env.post(path, &b.key, body).await,
        };
        answer.assert_error(404, "NOT_FOUND");
    }
    // B naming A's dataset in a body is refused exactly as a dataset that does not exist.
    for path in [
        format!("/api/v1/integration/notion/{}/update", b.integration),
        "/api/v1/integration/notion/create".into(),
    ] {
        let foreign = env.post(&path, &b.key, &json!({"datasetId": d})).await;
        let missing = env
            .post(
                &path,
                &b.key,
                &json!({"datasetId": "dataset_01JD0000000000000000000000"}),
            )
            .await;
        foreign.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(foreign.text, missing.text, "{path}");
    }
    // Lists show only B's own.
    for path in ["/api/v1/integration/notion/list", "/api/v1/dataset/list"] {
        let items = env.get(path, &b.key).await.ok()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1, "{path}");
        assert!(items[0]["id"] == b.integration || items[0]["id"] == b.dataset, "{path}");
    }
    assert_eq!(env.snapshot().await, before, "a refused request changed nothing");
    // A still sees everything of its own.
    assert_eq!(env.fetch_integration(&a.key, i).await["name"], "Wiki");
    env.get(&format!("/api/v1/dataset/{d}/record/{r}/fetch"), &a.key)
        .await
        .ok();
}

/// A hostile request: what it is, method, path, headers, body.
type Case<'a> = (&'a str, Method, String, Vec<(&'a str, &'a str)>, Vec<u8>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_are_refused_with_spec_errors_and_change_nothing() {
    let env = TestEnv::with_cooldown(0).await;
    let a = tenant(&env).await;
    let b = tenant(&env).await;
    let i = &a.integration;
    let update = format!("/api/v1/integration/notion/{i}/update");
    let json_ct = [("content-type", "application/json")];
    // A cursor of account B, and a forged one.
    let second_b = env.create_integration(&b.key, &json!({"name": "second"})).await;
    let b_cursor = env
        .get("/api/v1/integration/notion/list?take=1&order=asc", &b.key)
        .await
        .ok()["cursor"]
        .as_str()
        .expect("B has a second page")
        .to_string();
    let before = env.snapshot().await;

    let mut deep = String::new();
    for _ in 0..100_000 {
        deep.push('[');
    }
    let huge = format!(r#"{{"name": "{}"}}"#, "a".repeat(1_200_000));
    let long_id = "n".repeat(1024);
    let mut cases: Vec<Case> = vec![
        (
            "huge body",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            huge.into_bytes(),
        ),
        (
            "deep JSON",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            deep.into_bytes(),
        ),
        (
            "invalid UTF-8",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
        ),
        (
            "text/plain",
            Method::POST,
            update.clone(),
            vec![("content-type", "text/plain")],
            br#"{"name":"x"}"#.to_vec(),
        ),
        (
            "form",
            Method::POST,
            update.clone(),
            vec![("content-type", "application/x-www-form-urlencoded")],
            b"name=x".to_vec(),
        ),
        (
            "array body",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            b"[1,2]".to_vec(),
        ),
        (
            "unknown field",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            br#"{"name":"x","admin":true}"#.to_vec(),
        ),
        (
            "wrong type",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            br#"{"name":42}"#.to_vec(),
        ),
        (
            "huge number",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            br#"{"expiresIn":1e400}"#.to_vec(),
        ),
        (
            "NUL in name",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            br#"{"name":"a\u0000b","syncSchedule":"61 * * * *"}"#.to_vec(),
        ),
        (
            "create with junk",
            Method::POST,
            "/api/v1/integration/notion/create".into(),
            json_ct.to_vec(),
            br#"{"token": {"nested": 1}}"#.to_vec(),
        ),
        (
            "dataset create junk",
            Method::POST,
            "/api/v1/dataset/create".into(),
            json_ct.to_vec(),
            br#"{"meta": "x"}"#.to_vec(),
        ),
        (
            "sync with body",
            Method::POST,
            format!("/api/v1/integration/notion/{i}/sync"),
            json_ct.to_vec(),
            br#"{"force":true}"#.to_vec(),
        ),
        (
            "delete with body",
            Method::POST,
            format!("/api/v1/integration/notion/{i}/delete"),
            json_ct.to_vec(),
            br#"{"hard":true}"#.to_vec(),
        ),
        (
            "slash id",
            Method::GET,
            format!("/api/v1/integration/notion/{i}%2F..%2Fx/fetch"),
            vec![],
            vec![],
        ),
        (
            "extra segment",
            Method::GET,
            format!("/api/v1/integration/notion/{i}/x/fetch"),
            vec![],
            vec![],
        ),
        (
            "unicode id",
            Method::GET,
            "/api/v1/integration/notion/%E2%98%83%F0%9F%98%80/fetch".into(),
            vec![],
            vec![],
        ),
        (
            "1 KB id",
            Method::POST,
            format!("/api/v1/integration/notion/{long_id}/update"),
            json_ct.to_vec(),
            br#"{"name":"x"}"#.to_vec(),
        ),
        (
            "1 KB dataset id",
            Method::GET,
            format!("/api/v1/dataset/{long_id}/record/{long_id}/fetch"),
            vec![],
            vec![],
        ),
        (
            "take=0",
            Method::GET,
            "/api/v1/integration/notion/list?take=0".into(),
            vec![],
            vec![],
        ),
        (
            "take=-1",
            Method::GET,
            "/api/v1/integration/notion/list?take=-1".into(),
            vec![],
            vec![],
        ),
        (
            "take=1e9",
            Method::GET,
            "/api/v1/dataset/list?take=1e9".into(),
            vec![],
            vec![],
        ),
        (
            "take=999999999999",
            Method::GET,
            format!("/api/v1/dataset/{}/record/list?take=999999999999", a.dataset),
            vec![],
            vec![],
        ),
        (
            "order",
            Method::GET,
            "/api/v1/dataset/list?order=sideways".into(),
            vec![],
            vec![],
        ),
        (
            "forged cursor",
            Method::GET,
            "/api/v1/integration/notion/list?cursor=Zm9yZ2Vk".into(),
            vec![],
            vec![],
        ),
        (
            "garbage cursor",
            Method::GET,
            "/api/v1/integration/notion/list?cursor=%00%FF!!".into(),
            vec![],
            vec![],
        ),
        (
            "1 KB cursor",
            Method::GET,
            format!("/api/v1/dataset/list?cursor={}", "A".repeat(1024)),
            vec![],
            vec![],
        ),
        (
            "wrong method",
            Method::DELETE,
            format!("/api/v1/integration/notion/{i}/fetch"),
            vec![],
            vec![],
        ),
        ("no route", Method::GET, "/api/v1/admin".into(), vec![], vec![]),
    ];
    let mut answers = Vec::new();
    for (what, method, path, headers, body) in cases.drain(..) {
        let answer = env.send(method, &path, Some(&a.key), &headers, body).await;
        assert_refused(&answer, what);
        answers.push((what, answer));
    }
    // A cursor of another account never shows that account's items.
    let foreign = env
        .get(&format!("/api/v1/integration/notion/list?cursor={b_cursor}"), &a.key)
        .await;
    assert!(foreign.status.as_u16() < 500, "{}", foreign.text);
    if foreign.status.is_success() {
        let text = foreign.text.clone();
        assert!(!text.contains(&b.integration) && !text.contains(&second_b), "{text}");
    } else {
        assert_refused(&foreign, "cursor of another account");
    }
    // Without a key, or with a broken one.
    for header in ["Bearer", "Bearer ", "Basic abc", "Bearer sk_nope", "bearer x y"] {
        let answer = env
            .send(
                Method::GET,
                "/api/v1/dataset/list",
                None,
                &[("authorization", header)],
                "",
            )
            .await;
        answer.assert_error(401, "UNAUTHENTICATED");
    }
    assert_eq!(env.snapshot().await, before, "no refused request changed anything");
    // The errors that name a cause say it.
    let by_name: HashMap<&str, &Answer> = answers.iter().map(|(w, a)| (*w, a)).collect();
    assert!(by_name["text/plain"].text.contains("Content-Type"));
    assert!(by_name["huge body"].text.contains("larger than"));
    assert_eq!(by_name["take=0"].json()["code"], "VALIDATION_ERROR");
    assert_eq!(by_name["unknown field"].json()["code"], "BAD_REQUEST");
    assert_eq!(by_name["1 KB id"].json()["code"], "NOT_FOUND");
}

/// Captures every log line of the process (all targets, all levels).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_leave_secrets_manager() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .init();
    let first = "secret_HYGIENE_first_4f1c9a7e2b";
    let second = "ntn_HYGIENE_second_93b2d1c5e8";
    let client_secret = "HYGIENE-oauth-client-secret-7d3e";
    let mut env = TestEnv::with_cooldown(0).await;
    let workspace = notion_emulator::generate::generate(&notion_emulator::generate::Options {
        pages: 12,
        seed: 7,
        token: first.into(),
    });
    let emulator = notion_emulator::Emulator::new(
        workspace,
        notion_emulator::Config {
            rps: Some(50),
            ..Default::default()
        },
    );
    emulator.enable_oauth("hygiene-client", client_secret);
    let notion_url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    // Connect with Notion configured too: its client secret and the tokens it grants are
    // as secret as a pasted token.
    let mut config = env.config.clone();
    config.notion_api_url = notion_url.clone();
    config.public_base_url = Some("http://127.0.0.1:9".into());
    config.oauth = Some(shared::config::OAuthConfig {
        client_id: "hygiene-client".into(),
        client_secret: shared::config::ClientSecret::Value(shared::config::Secret(client_secret.into())),
    });
    let sdk = shared::aws::clients::sdk_config_for_emulator(&integration_tests::emulator_endpoint()).await;
    env.use_app(shared::runtime::build_app(&config, &sdk).expect("the test configuration is complete"));
    let key = env.key().await;
    let mut answers: Vec<Answer> = Vec::new();
    let mut sqs_bodies = Vec::new();
    let mut payloads = Vec::new();
    let mut stored = Vec::new();

    let dataset = env.create_dataset(&key, &json!({"name": "KB"})).await;
    let created = env
        .post(
            "/api/v1/integration/notion/create",
            &key,
            &json!({"name": "Wiki", "datasetId": dataset, "token": first, "syncSchedule": "@hourly"}),
        )
        .await;
    let id = created.ok()["id"].as_str().unwrap().to_string();
    answers.push(created);
    assert_eq!(env.secret_value(&id).await.as_deref(), Some(first), "positive control");
    let sync = format!("/api/v1/integration/notion/{id}/sync");
    answers.push(env.post(&sync, &key, &json!({})).await);
    sqs_bodies.extend(peek_queue(&env).await);
    payloads.extend(schedule_payloads(&env).await);
    let crawler = env.crawler(&notion_url, 50);
    env.drain(&crawler, std::time::Duration::from_secs(300)).await;
    let state = env.fetch_integration(&key, &id).await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert!(state["lastSyncSummary"]["recordsWritten"].as_u64().unwrap() > 0);
    answers.push(env.get(&format!("/api/v1/integration/notion/{id}/fetch"), &key).await);
    answers.push(env.get("/api/v1/integration/notion/list", &key).await);
    answers.push(env.get(&format!("/api/v1/dataset/{dataset}/record/list"), &key).await);
    stored.extend(env.scan_items(&env.config.table_name).await);
    stored.extend(env.scan_items(&env.config.records_table_name).await);

    // Rotate; a bad request carrying the token; sync with the new one (Notion now knows it).
    emulator.with_workspace(|ws| {
        ws.tokens.insert(second.to_string());
    });
    let update = format!("/api/v1/integration/notion/{id}/update");
    answers.push(
        env.post(&update, &key, &json!({"token": second, "syncSchedule": "15 * * * *"}))
            .await,
    );
    assert_eq!(env.secret_value(&id).await.as_deref(), Some(second), "positive control");
    answers.push(
        env.post(&update, &key, &json!({"token": second, "expiresIn": -5}))
            .await,
    );
    answers.push(env.post(&update, &key, &json!({"token": 12345, "bogus": first})).await);
    answers.push(
        env.post(
            "/api/v1/integration/notion/create",
            &key,
            &json!({"token": second, "name": 1}),
        )
        .await,
    );
    answers.push(env.post(&sync, &key, &json!({})).await);
    sqs_bodies.extend(peek_queue(&env).await);
    payloads.extend(schedule_payloads(&env).await);
    env.drain(&crawler, std::time::Duration::from_secs(300)).await;
    // A token Notion refuses: the error names the problem, never the token.
    emulator.with_workspace(|ws| ws.tokens.clear());
    answers.push(env.post(&sync, &key, &json!({})).await);
    env.drain(&crawler, std::time::Duration::from_secs(300)).await;
    let failed = env.get(&format!("/api/v1/integration/notion/{id}/fetch"), &key).await;
    assert_eq!(failed.json()["syncStatus"], "error");
    answers.push(failed);
    stored.extend(env.scan_items(&env.config.table_name).await);
    stored.extend(env.scan_items(&env.config.records_table_name).await);

    // Connect with Notion, then a 401 that refreshes the granted token, then a sync.
    let authorized = env
        .post(
            &format!("/api/v1/integration/notion/{id}/authenticate"),
            &key,
            &json!({}),
        )
        .await;
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(authorized.json()["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    answers.push(authorized);
    let back = consent.headers()["location"].to_str().unwrap().to_string();
    let connected = env.get(&back[back.find("/api/v1/").unwrap()..], "unused").await;
    assert_eq!(connected.status, 200, "{}", connected.text);
    answers.push(connected);
    let granted: Value = serde_json::from_str(&env.secret_value(&id).await.unwrap()).unwrap();
    let granted_tokens: Vec<String> = ["accessToken", "refreshToken"]
        .iter()
        .map(|k| granted[k].as_str().unwrap().to_string())
        .collect();
    emulator.revoke_token(&granted_tokens[0]);
    answers.push(env.post(&sync, &key, &json!({})).await);
    env.drain(&crawler, std::time::Duration::from_secs(300)).await;
    let refreshed = env.get(&format!("/api/v1/integration/notion/{id}/fetch"), &key).await;
    assert_eq!(refreshed.json()["syncStatus"], "synced", "{}", refreshed.text);
    answers.push(refreshed);
    assert_eq!(
        emulator.oauth_exchanges("refresh_token"),
        1,
        "positive control: a refresh happened"
    );
    let after: Value = serde_json::from_str(&env.secret_value(&id).await.unwrap()).unwrap();
    let mut oauth_secrets = granted_tokens.clone();
    oauth_secrets.extend(
        ["accessToken", "refreshToken"]
            .iter()
            .map(|k| after[k].as_str().unwrap().to_string()),
    );
    oauth_secrets.push(client_secret.to_string());
    answers.push(env.get("/api/v1/event/log/list?take=100", &key).await);
    stored.extend(env.scan_items(&env.config.table_name).await);

    answers.push(
        env.post(&format!("/api/v1/integration/notion/{id}/delete"), &key, &json!({}))
            .await,
    );
    assert_eq!(env.secret_value(&id).await, None, "the secret is gone");
    stored.extend(env.scan_items(&env.config.table_name).await);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("integration created"), "the capture works");
    assert!(logs.contains("sync finished"), "the crawler's logs are captured");
    let places: Vec<(&str, String)> = vec![
        (
            "responses",
            answers.iter().map(|a| a.text.clone()).collect::<Vec<_>>().join("\n"),
        ),
        ("logs", logs),
        (
            "DynamoDB",
            stored.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"),
        ),
        ("SQS", sqs_bodies.join("\n")),
        ("Scheduler", payloads.join("\n")),
    ];
    assert!(
        places.iter().all(|(_, text)| !text.is_empty()),
        "every place was observed"
    );
    for (place, text) in &places {
        for token in [first, second] {
            assert!(!text.contains(token), "the token appears in {place}");
            // Nor a recognisable part of it.
            assert!(!text.contains("HYGIENE"), "part of the token appears in {place}");
        }
        for secret in &oauth_secrets {
            assert!(!text.contains(secret.as_str()), "an OAuth secret appears in {place}");
        }
    }
}

/// Bodies of the messages waiting on the sync queue, left in place.
async fn peek_queue(env: &TestEnv) -> Vec<String> {
    let out = env
        .sqs
        .receive_message()
        .queue_url(env.config.sync_queue_url.clone().unwrap())
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let messages = out.messages.unwrap_or_default();
    assert!(!messages.is_empty(), "a sync message is queued");
    messages.iter().map(|m| format!("{m:?}")).collect()
}

/// The schedules' full definitions (target input included).
async fn schedule_payloads(env: &TestEnv) -> Vec<String> {
    let listed = shared::aws::scheduler::list_schedules(&env.scheduler, &env.config.schedule_group)
        .await
        .unwrap();
    let mut out = Vec::new();
    for s in listed {
        let full = env
            .scheduler
            .get_schedule()
            .group_name(&env.config.schedule_group)
            .name(&s.name)
            .send()
            .await
            .unwrap();
        out.push(format!("{full:?}"));
    }
    assert!(!out.is_empty(), "a schedule exists");
    out
}

/// One client's writes: it owns one field of one integration and writes it in order.
#[derive(Clone, Copy, Debug)]
enum Field {
    Name,
    Description,
    BlueprintId,
    Meta,
    ExpiresIn,
    SyncSchedule,
    Token,
    DatasetId,
}

const FIELDS: [Field; 8] = [
    Field::Name,
    Field::Description,
    Field::BlueprintId,
    Field::Meta,
    Field::ExpiresIn,
    Field::SyncSchedule,
    Field::Token,
    Field::DatasetId,
];

impl Field {
    /// The body writing the `n`th value, and the value a fetch must then show.
    fn write(self, n: usize, datasets: &[String]) -> (Value, Value) {
        let (key, value) = match self {
            Self::Name => ("name", json!(format!("name {n}"))),
            Self::Description => ("description", json!(format!("description {n}"))),
            Self::BlueprintId => ("blueprintId", json!(format!("bp_{n}"))),
            Self::Meta => ("meta", json!({"writer": n})),
            Self::ExpiresIn => ("expiresIn", json!(1_000 + n)),
            Self::SyncSchedule => ("syncSchedule", json!(format!("{} 3 * * *", n % 60))),
            Self::Token => ("token", json!(format!("secret_load_{n}"))),
            Self::DatasetId => ("datasetId", json!(datasets[n % datasets.len()])),
        };
        (json!({ key: value }), value)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_load_loses_no_update_and_accepts_one_sync_per_cooldown() {
    // 32 clients; LOAD_REQUESTS_PER_CLIENT raises the count (500 for the issue's full run).
    let per_client: usize = std::env::var("LOAD_REQUESTS_PER_CLIENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let env = Arc::new(TestEnv::with_cooldown(900).await);
    let key = env.key().await;
    let datasets = vec![
        env.create_dataset(&key, &json!({"name": "one"})).await,
        env.create_dataset(&key, &json!({"name": "two"})).await,
    ];
    let mut integrations = Vec::new();
    for n in 0..4 {
        integrations.push(
            env.create_integration(
                &key,
                &json!({"name": format!("i{n}"), "datasetId": datasets[0], "token": "secret_load_start"}),
            )
            .await,
        );
    }
    let mut clients = Vec::new();
    for client in 0..32 {
        let (env, key, datasets) = (env.clone(), key.clone(), datasets.clone());
        let integration = integrations[client % 4].clone();
        let field = FIELDS[client / 4];
        clients.push(tokio::spawn(async move {
            let update = format!("/api/v1/integration/notion/{integration}/update");
            let mut last_acked: Option<Value> = None;
            let mut syncs_accepted = 0;
            let mut statuses = Vec::new();
            for n in 0..per_client {
                let answer = match n % 4 {
                    0 | 1 => {
                        let (body, shown) = field.write(n, &datasets);
                        let answer = env.post(&update, &key, &body).await;
                        if answer.status.is_success() {
                            last_acked = Some(shown);
                        }
                        answer
                    }
                    2 => {
                        env.get(&format!("/api/v1/integration/notion/{integration}/fetch"), &key)
                            .await
                    }
                    _ => {
                        let answer = env
                            .post(
                                &format!("/api/v1/integration/notion/{integration}/sync"),
                                &key,
                                &json!({}),
                            )
                            .await;
                        if answer.status.is_success() {
                            syncs_accepted += 1;
                        } else {
                            answer.assert_error(429, "RATE_LIMITED");
                        }
                        answer
                    }
                };
                statuses.push((answer.status.as_u16(), answer.text));
            }
            (integration, field, last_acked, syncs_accepted, statuses)
        }));
    }
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut finals = Vec::new();
    for client in clients {
        let (integration, field, last, syncs, statuses) = client.await.unwrap();
        for (status, text) in &statuses {
            assert!(*status < 500, "a {status} under load: {text}");
            if *status >= 400 {
                let body: Value = serde_json::from_str(text).unwrap();
                assert!(body["code"].is_string() && body["message"].is_string(), "{text}");
            }
        }
        *accepted.entry(integration.clone()).or_default() += syncs;
        finals.push((integration, field, last));
    }
    for integration in &integrations {
        let n = accepted.get(integration).copied().unwrap_or(0);
        assert_eq!(n, 1, "{integration}: exactly one manual sync accepted in the cooldown");
    }
    assert_eq!(env.queue_depth().await, integrations.len(), "one queued sync each");
    for (integration, field, last) in finals {
        let last = last.unwrap_or_else(|| panic!("{integration} {field:?}: no write was acknowledged"));
        let state = env.fetch_integration(&key, &integration).await;
        let shown = match field {
            Field::Name => &state["name"],
            Field::Description => &state["description"],
            Field::BlueprintId => &state["blueprintId"],
            Field::Meta => &state["meta"],
            Field::ExpiresIn => &state["expiresIn"],
            Field::SyncSchedule => &state["syncSchedule"],
            Field::DatasetId => &state["datasetId"],
            Field::Token => {
                assert_eq!(env.secret_value(&integration).await.as_deref(), last.as_str(), "token");
                assert_eq!(state["token"], "********");
                continue;
            }
        };
        assert_eq!(
            shown, &last,
            "{integration} {field:?}: the last acknowledged write is lost"
        );
        if let Field::SyncSchedule = field {
            // Scheduler agrees with the item.
            let expected = shared::domain::schedule::SyncSchedule::parse(last.as_str().unwrap())
                .unwrap()
                .to_eventbridge();
            let schedules = shared::aws::scheduler::list_schedules(&env.scheduler, &env.config.schedule_group)
                .await
                .unwrap();
            let schedule = schedules
                .iter()
                .find(|s| s.input.as_ref().is_some_and(|i| i.integration_id == integration))
                .expect("a schedule");
            assert_eq!(schedule.expression, expected, "{integration}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_json_meta_round_trips_and_never_breaks_listing() {
    // Found by fuzzing: DynamoDB's native maps refuse these; meta is stored as JSON text.
    let env = TestEnv::new().await;
    let key = env.key().await;
    let meta = json!({"": 1, "big": 1.5e300, "tiny": 1e-130, "long": 1.2345678901234568e29, "max": u64::MAX, "min": i64::MIN, "n": null,
        "empty": {}, "list": [null, {}, []], "nul": "a\u{0}b", "emoji": "😀"});
    let dataset = env.create_dataset(&key, &json!({"meta": meta})).await;
    let integration = env.create_integration(&key, &json!({"meta": meta})).await;
    let listed = env.get("/api/v1/dataset/list", &key).await.ok();
    assert_eq!(listed["items"][0]["meta"], meta);
    let fetched = env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &key).await.ok();
    assert_eq!(fetched["meta"], meta);
    assert_eq!(env.fetch_integration(&key, &integration).await["meta"], meta);
    let update = format!("/api/v1/integration/notion/{integration}/update");
    env.post(&update, &key, &json!({"meta": {"": -0.0}})).await.ok();
    let listed = env.get("/api/v1/integration/notion/list?meta.=-0.0", &key).await;
    assert!(listed.status.as_u16() < 500, "{}", listed.text);
    assert_eq!(
        env.fetch_integration(&key, &integration).await["meta"],
        json!({"": -0.0})
    );
}
