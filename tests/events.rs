//! Every sample event in `events/` (the ones `cargo lambda invoke --data-file` uses) runs
//! through its function's handler against the AWS emulator, with the ids it names seeded.

use integration_tests::TestEnv;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::RequestExt;
use serde_json::{json, Value};
use shared::domain::account::{Account, Plan};
use shared::domain::dataset::Dataset;
use shared::domain::integration::Integration;
use shared::domain::record::Record;
use shared::http::routes::Route;
use shared::ports::{DatasetStore, IntegrationStore, RecordStore};
use std::path::PathBuf;

const ACCOUNT: &str = "account_01JD0000000000000000000001";
const DATASET: &str = "dataset_01JD0000000000000000000002";
const INTEGRATION: &str = "notion_01JD0000000000000000000003";
const KEY: &str = "nik_exampleExampleExampleExample0000000000";
const NOTION_TOKEN: &str = "secret_exampleNotionToken";

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

async fn seeded_env() -> TestEnv {
    let env = TestEnv::with_cooldown(0).await;
    let at = "2025-11-20T10:00:00Z".to_string();
    let account = Account {
        id: ACCOUNT.into(),
        plan: Plan::default(),
        created_at: at.clone(),
        records_used: 0,
    };
    env.store.create_account(&account, &[KEY.to_string()]).await.unwrap();
    let dataset = Dataset {
        id: DATASET.into(),
        account_id: ACCOUNT.into(),
        name: "KB".into(),
        description: String::new(),
        meta: Default::default(),
        record_count: 0,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    env.store.create_dataset(&dataset).await.unwrap();
    let integration: Integration = serde_json::from_value(json!({
        "id": INTEGRATION, "accountId": ACCOUNT, "name": "Wiki", "datasetId": DATASET, "hasToken": true,
        "createdAt": at, "updatedAt": at
    }))
    .unwrap();
    env.store.create_integration(&integration).await.unwrap();
    env.app
        .tokens
        .put_token(ACCOUNT, INTEGRATION, NOTION_TOKEN)
        .await
        .unwrap();
    let record = Record {
        id: "rec_example".into(),
        dataset_id: DATASET.into(),
        text: "# Example".into(),
        source: "https://www.notion.so/example".into(),
        meta: Default::default(),
        created_at: at.clone(),
        updated_at: at,
        expires_at: None,
    };
    env.store.put_record(ACCOUNT, &record).await.unwrap();
    // The webhook of events/webhook-receive.json: its body is signed with this token.
    shared::ports::WebhookStore::register_webhook(&env.store, ACCOUNT, INTEGRATION)
        .await
        .unwrap();
    env.app
        .webhook_tokens
        .put_webhook_token(ACCOUNT, INTEGRATION, "secret_exampleVerificationToken0000")
        .await
        .unwrap();
    env
}

#[tokio::test]
async fn every_route_event_is_served_by_its_handler() {
    let mut seen = Vec::new();
    for route in Route::ALL {
        let file = events_dir().join(format!("{}.json", route.function_name()));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let (found, _) = Route::find(request.method(), request.raw_http_path()).unwrap();
        assert_eq!(found, route, "{} is an event of another route", file.display());
        let mut env = seeded_env().await;
        // Connect with Notion configured, as a deployer would.
        env.app.settings.oauth_client_id = Some("client-id".into());
        let response = env.app.handle(route, request).await;
        if route == Route::OAuthCallback {
            // The sample's state was never issued here: the page says so, and the event
            // reached the callback's handler (not the JSON error of another route).
            let page = String::from_utf8(response.body().to_vec()).unwrap();
            assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
            assert!(page.contains("Notion was not connected"), "{page}");
            seen.push(route);
            continue;
        }
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(response.status(), 200, "{}: {body}", file.display());
        if route == Route::WebhookReceive {
            // The signed sample event was accepted: its work waits for a targeted run.
            assert_eq!(body, json!({}));
            let webhook = env.app.webhooks.get_webhook(INTEGRATION).await.unwrap().unwrap();
            assert_eq!(webhook.pending, ["page:0a0b0c0d-0000-4000-8000-000000000001"]);
            seen.push(route);
            continue;
        }
        assert!(
            body.get("id").is_some() || body.get("items").is_some() || body.get("url").is_some(),
            "{}: {body}",
            file.display()
        );
        seen.push(route);
    }
    assert_eq!(seen.len(), Route::ALL.len());
}

#[tokio::test]
async fn authorizer_event_resolves_the_key_and_only_a_known_key() {
    let env = seeded_env().await;
    let text = std::fs::read_to_string(events_dir().join("authorizer.json")).unwrap();
    let mut event: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&text).unwrap();
    let decision = shared::authorizer::authorize(env.app.accounts.as_ref(), &event).await;
    assert!(decision.is_authorized);
    assert_eq!(decision.context, json!({"accountId": ACCOUNT}));

    event
        .headers
        .insert("authorization", "Bearer nik_notAKnownKey000000".parse().unwrap());
    let decision = shared::authorizer::authorize(env.app.accounts.as_ref(), &event).await;
    assert_eq!(
        decision.context,
        json!({}),
        "an unknown key gets no account; the handler answers 401"
    );
}

#[test]
fn every_function_crate_has_an_event_and_a_route() {
    let functions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let mut names: Vec<String> = std::fs::read_dir(functions)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = Route::ALL.iter().map(|r| r.function_name().to_string()).collect();
    expected.push("authorizer".into());
    expected.push("crawler".into());
    expected.push("schedule-trigger".into());
    expected.sort();
    assert_eq!(names, expected);
    for name in names {
        assert!(
            events_dir().join(format!("{name}.json")).exists(),
            "events/{name}.json is missing"
        );
    }
}

#[test]
fn template_declares_every_function_and_route() {
    let template = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")).unwrap();
    for route in Route::ALL {
        let block = template
            .split("Type: AWS::Serverless::Function")
            .find(|b| b.contains(&format!("Binary: {}\n", route.function_name())))
            .unwrap_or_else(|| panic!("template has no function with Binary: {}", route.function_name()));
        assert!(
            block.contains(&format!("Path: {}\n", route.template())),
            "{:?} path missing",
            route
        );
        assert!(
            block.contains(&format!("Method: {}\n", route.method())),
            "{:?} method missing",
            route
        );
    }
    assert!(template.contains("Binary: authorizer\n"));
    assert!(template.contains("Binary: crawler\n"));
    assert!(template.contains("Binary: schedule-trigger\n"));
    assert!(template.contains("FunctionResponseTypes: [ReportBatchItemFailures]"));
    // No API route in the template that the route table does not know.
    assert_eq!(template.matches("Type: HttpApi\n").count(), Route::ALL.len());
    // Every route, plus the authorizer, the crawler and the schedule trigger.
    assert_eq!(
        template.matches("BuildMethod: rust-cargolambda").count(),
        Route::ALL.len() + 3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawler_event_runs_a_sync_against_the_notion_emulator() {
    use notion_emulator::generate::{generate, Options};
    let env = seeded_env().await;
    let workspace = generate(&Options {
        pages: 15,
        seed: 3,
        token: NOTION_TOKEN.into(),
    });
    let emulator = notion_emulator::Emulator::new(
        workspace,
        notion_emulator::Config {
            window_budget: Some(3_000),
            ..Default::default()
        },
    );
    let url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    let crawler = env.crawler(&url, 40);
    let text = std::fs::read_to_string(events_dir().join("crawler.json")).unwrap();
    let event: lambda_http::aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&text).unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(300);
    let response = shared::crawler::sqs::handle_batch(&crawler, event, deadline).await;
    assert!(response.batch_item_failures.is_empty());
    use shared::ports::IntegrationStore;
    let integration = env.store.get_integration(ACCOUNT, INTEGRATION).await.unwrap().unwrap();
    assert_eq!(
        integration.to_resource()["syncStatus"],
        "synced",
        "{:?}",
        integration.last_sync_summary
    );
    let dataset = env.store.get_dataset(ACCOUNT, DATASET).await.unwrap().unwrap();
    assert_eq!(dataset.record_count, 1 + 15, "the seeded record plus one per page");

    // A body that is not a sync message is dropped (never retried), not failed.
    let bad: lambda_http::aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({
        "Records": [{"messageId": "m1", "body": "not json"}]
    }))
    .unwrap();
    assert!(shared::crawler::sqs::handle_batch(&crawler, bad, deadline)
        .await
        .batch_item_failures
        .is_empty());
}

#[tokio::test]
async fn schedule_trigger_event_queues_a_scheduled_sync() {
    let env = seeded_env().await;
    let text = std::fs::read_to_string(events_dir().join("schedule-trigger.json")).unwrap();
    let input: shared::domain::sync::ScheduleInput = serde_json::from_str(&text).unwrap();
    let trigger = shared::sync::schedule::ScheduleTrigger::build(&env.app).unwrap();
    let result = trigger.trigger(&input).await.unwrap();
    assert_eq!(result["result"], "queued");
    assert_eq!(env.queue_depth().await, 1);
    use shared::ports::IntegrationStore;
    let integration = env.store.get_integration(ACCOUNT, INTEGRATION).await.unwrap().unwrap();
    assert_eq!(integration.to_resource()["syncStatus"], "pending");
}
