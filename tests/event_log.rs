//! The event log (SPEC §2.3) end to end against the AWS emulator: every operation leaves
//! its event, written by the code path that does it; filters, paging and JSON Lines work
//! like the other lists; events outlive their integration, never carry a token, expire
//! after the retention period, and belong to one account. Also the X-RunAs refusal (§2.4).

use integration_tests::TestEnv;
use lambda_http::http::Method;
use notion_emulator::generate::{generate, Options};
use notion_emulator::{Config as NotionConfig, Emulator};
use serde_json::{json, Value};
use shared::domain::account::Plan;
use shared::domain::event::{Event, EventType};
use std::time::Duration;

const TOKEN: &str = "secret_event_log_token_0123456789";

async fn events(env: &TestEnv, key: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = env
            .get(&format!("/api/v1/event/log/list?take=7&cursor={cursor}{query}"), key)
            .await
            .ok();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => return out,
        }
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_leaves_its_event_and_the_log_outlives_the_integration() {
    let env = TestEnv::with_cooldown(0).await;
    let workspace = generate(&Options {
        pages: 8,
        seed: 3,
        token: TOKEN.into(),
    });
    let emulator = Emulator::new(workspace, NotionConfig::default());
    let notion_url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    let (_, key) = env.account_with(Plan::default()).await;
    let dataset = env.create_dataset(&key, &json!({"name": "Wiki"})).await;
    let id = env
        .create_integration(&key, &json!({"name": "Wiki", "datasetId": dataset, "token": TOKEN}))
        .await;
    env.post(
        &format!("/api/v1/integration/notion/{id}/update"),
        &key,
        &json!({"description": "all of it", "token": "secret_rotated_0123456789", "syncSchedule": "@daily"}),
    )
    .await
    .ok();
    // The rotated token is wrong for the emulator: restore the right one, then sync.
    env.post(
        &format!("/api/v1/integration/notion/{id}/update"),
        &key,
        &json!({"token": TOKEN}),
    )
    .await
    .ok();
    env.post(&format!("/api/v1/integration/notion/{id}/sync"), &key, &json!({}))
        .await
        .ok();
    let crawler = env.crawler(&notion_url, 50);
    env.drain(&crawler, Duration::from_secs(300)).await;
    // A second sync that Notion refuses.
    emulator.with_workspace(|ws| ws.tokens.clear());
    env.post(&format!("/api/v1/integration/notion/{id}/sync"), &key, &json!({}))
        .await
        .ok();
    env.drain(&crawler, Duration::from_secs(300)).await;
    env.post(&format!("/api/v1/integration/notion/{id}/delete"), &key, &json!({}))
        .await
        .ok();
    env.post(&format!("/api/v1/dataset/{dataset}/delete"), &key, &json!({}))
        .await
        .ok();

    let all = events(&env, &key, "&order=asc").await;
    assert_eq!(
        types(&all),
        [
            "integration.created",
            "integration.updated",
            "integration.updated",
            "sync.requested",
            "sync.completed",
            "sync.requested",
            "sync.failed",
            "integration.deleted",
            "dataset.deleted",
        ],
        "{all:#?}"
    );
    for e in &all {
        assert!(e["id"].as_str().unwrap().starts_with("event_"), "{e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        assert!(e["createdAt"].as_str().unwrap().ends_with('Z'), "{e}");
        if e["type"] != "dataset.deleted" {
            assert_eq!(e["notionIntegrationId"], id.as_str(), "{e}");
        }
        assert_eq!(e["datasetId"], dataset.as_str(), "{e}");
    }
    assert_eq!(all[0]["data"]["fields"], json!(["name", "datasetId", "token"]));
    assert_eq!(
        all[1]["data"]["fields"],
        json!(["description", "token", "syncSchedule"])
    );
    assert_eq!(all[3]["data"]["trigger"], "manual");
    let completed = &all[4]["data"];
    assert_eq!(completed["complete"], true, "{completed}");
    assert!(completed["pagesRead"].as_u64().unwrap() >= 8, "{completed}");
    assert!(completed["recordsWritten"].as_u64().unwrap() >= 8, "{completed}");
    assert!(all[6]["data"]["error"].as_str().unwrap().contains("401"), "{}", all[6]);
    assert!(all[8]["data"]["records"].as_u64().unwrap() >= 8, "{}", all[8]);

    // No token, old or new, anywhere in the log; newest first by default.
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains(TOKEN) && !text.contains("secret_rotated"), "{text}");
    let newest_first = events(&env, &key, "").await;
    assert_eq!(
        newest_first.iter().rev().map(|e| &e["id"]).collect::<Vec<_>>(),
        all.iter().map(|e| &e["id"]).collect::<Vec<_>>()
    );

    // Filters, also for the deleted integration.
    let syncs = events(&env, &key, &format!("&notionIntegrationId={id}&type=sync.requested")).await;
    assert_eq!(types(&syncs), ["sync.requested", "sync.requested"]);
    let other = env.create_integration(&key, &json!({"name": "Other"})).await;
    let of_other = events(&env, &key, &format!("&notionIntegrationId={other}")).await;
    assert_eq!(types(&of_other), ["integration.created"]);
    assert_eq!(events(&env, &key, "&type=dataset.deleted").await.len(), 1);

    // JSON Lines, like the other lists.
    let jsonl = env
        .send(
            Method::GET,
            "/api/v1/event/log/list?take=100",
            Some(&key),
            &[("accept", "application/jsonl")],
            "",
        )
        .await;
    assert_eq!(jsonl.status, 200);
    let lines: Vec<Value> = jsonl.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), all.len() + 1);
    assert!(lines.iter().all(|l| l["type"] == "item"));

    // Another account sees none of it, even filtering on this account's integration.
    let (_, stranger) = env.account_with(Plan::default()).await;
    assert!(events(&env, &stranger, "").await.is_empty());
    assert!(events(&env, &stranger, &format!("&notionIntegrationId={id}"))
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_events_are_never_listed_and_bad_filters_are_refused() {
    let env = TestEnv::with_cooldown(0).await;
    let (account, key) = env.account_with(Plan::default()).await;
    let now = chrono::Utc::now();
    let old = Event::new(
        &account,
        EventType::DatasetDeleted,
        "Old.",
        json!({}),
        now - chrono::Duration::days(91),
        90,
    );
    let fresh = Event::new(&account, EventType::DatasetDeleted, "Fresh.", json!({}), now, 90);
    env.app.events.append_event(&old).await.unwrap();
    env.app.events.append_event(&fresh).await.unwrap();
    let listed = events(&env, &key, "").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["message"], "Fresh.");

    let a = env.get("/api/v1/event/log/list?type=sync.started", &key).await;
    assert_eq!(a.assert_error(400, "VALIDATION_ERROR")["details"][0]["field"], "type");
    let a = env
        .get("/api/v1/event/log/list?notionIntegrationId=notion_nope", &key)
        .await;
    assert_eq!(
        a.assert_error(400, "VALIDATION_ERROR")["details"][0]["field"],
        "notionIntegrationId"
    );
    let a = env
        .get("/api/v1/event/log/list?type=sync.failed&type=sync.completed", &key)
        .await;
    a.assert_error(400, "VALIDATION_ERROR");
    let a = env.get("/api/v1/event/log/list?meta.team=a", &key).await;
    a.assert_error(400, "BAD_REQUEST");
    env.get("/api/v1/event/log/list", "not-a-key")
        .await
        .assert_error(401, "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_as_headers_are_refused_and_change_nothing() {
    let env = TestEnv::with_cooldown(0).await;
    let (_, key) = env.account_with(Plan::default()).await;
    for header in ["X-RunAs-User-Id", "x-runas-child-user-email"] {
        let a = env
            .send(
                Method::POST,
                "/api/v1/dataset/create",
                Some(&key),
                &[(header, "someone"), ("content-type", "application/json")],
                r#"{"name":"as someone else"}"#,
            )
            .await;
        let body = a.assert_error(400, "BAD_REQUEST");
        assert!(body["message"].as_str().unwrap().contains("sub-accounts"), "{body}");
        let listed = env
            .send(Method::GET, "/api/v1/dataset/list", Some(&key), &[(header, "x")], "")
            .await;
        listed.assert_error(400, "BAD_REQUEST");
    }
    let datasets = env.get("/api/v1/dataset/list", &key).await.ok();
    assert_eq!(datasets["items"], json!([]), "nothing was created");
}
