//! Records and datasets a user manages (SPEC §2.4) end to end against the AWS emulator:
//! create, update and delete records by hand with exact plan counters, dataset update,
//! isolation across accounts and hostile input on every new route, and the sync's side:
//! it never touches a record it did not write, and a synced record deleted by hand stays
//! deleted until its page changes.

use integration_tests::TestEnv;
use notion_emulator::generate::{generate, Options};
use notion_emulator::model::Parent;
use notion_emulator::{Config as NotionConfig, Emulator};
use serde_json::{json, Value};
use shared::domain::account::Plan;
use std::time::Duration;

const TOKEN: &str = "secret_manage_token_0123456789";

async fn records_used(env: &TestEnv, account: &str) -> u64 {
    env.app
        .accounts
        .get_account(account)
        .await
        .unwrap()
        .unwrap()
        .records_used
}

async fn record_count(env: &TestEnv, key: &str, dataset: &str) -> u64 {
    env.get(&format!("/api/v1/dataset/{dataset}/fetch"), key).await.ok()["recordCount"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_by_hand_keep_counters_exact_and_respect_the_plan() {
    let env = TestEnv::with_cooldown(0).await;
    let (account, key) = env
        .account_with(Plan {
            max_records: 2,
            ..Plan::default()
        })
        .await;
    let dataset = env.create_dataset(&key, &json!({"name": "FAQ"})).await;
    let base = format!("/api/v1/dataset/{dataset}/record");
    let created = env
        .post(
            &format!("{base}/create"),
            &key,
            &json!({"text": "Refunds take 5 days.", "source": "https://example.com/faq", "meta": {"topic": "billing"}}),
        )
        .await
        .ok();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("record_"), "{id}");
    let fetched = env.get(&format!("{base}/{id}/fetch"), &key).await.ok();
    assert_eq!(fetched["text"], "Refunds take 5 days.");
    assert_eq!(fetched["source"], "https://example.com/faq");
    assert_eq!(fetched["meta"], json!({"topic": "billing"}));
    assert_eq!(
        (
            records_used(&env, &account).await,
            record_count(&env, &key, &dataset).await
        ),
        (1, 1)
    );

    // Update: only the fields sent change; counters do not.
    env.post(
        &format!("{base}/{id}/update"),
        &key,
        &json!({"text": "Refunds take 3 days."}),
    )
    .await
    .ok();
    let updated = env.get(&format!("{base}/{id}/fetch"), &key).await.ok();
    assert_eq!(updated["text"], "Refunds take 3 days.");
    assert_eq!(updated["source"], "https://example.com/faq");
    assert_eq!(updated["meta"], json!({"topic": "billing"}));
    assert_eq!(updated["createdAt"], fetched["createdAt"]);
    env.post(
        &format!("{base}/{id}/update"),
        &key,
        &json!({"source": null, "meta": null}),
    )
    .await
    .ok();
    let cleared = env.get(&format!("{base}/{id}/fetch"), &key).await.ok();
    assert_eq!(
        (cleared["source"].clone(), cleared["meta"].clone()),
        (json!(""), json!({}))
    );
    assert_eq!(records_used(&env, &account).await, 1);

    // The plan: two records, then 403 and nothing written.
    env.post(&format!("{base}/create"), &key, &json!({"text": "second"}))
        .await
        .ok();
    env.post(&format!("{base}/create"), &key, &json!({"text": "third"}))
        .await
        .assert_error(403, "LIMIT_EXCEEDED");
    assert_eq!(
        (
            records_used(&env, &account).await,
            record_count(&env, &key, &dataset).await
        ),
        (2, 2)
    );
    assert_eq!(env.all_records(&key, &dataset).await.len(), 2);

    // Delete releases the plan; a second delete is a 404 and releases nothing.
    env.post(&format!("{base}/{id}/delete"), &key, &json!({})).await.ok();
    env.post(&format!("{base}/{id}/delete"), &key, &json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    env.get(&format!("{base}/{id}/fetch"), &key)
        .await
        .assert_error(404, "NOT_FOUND");
    env.post(&format!("{base}/{id}/update"), &key, &json!({"text": "back?"}))
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(
        (
            records_used(&env, &account).await,
            record_count(&env, &key, &dataset).await
        ),
        (1, 1)
    );
    env.post(&format!("{base}/create"), &key, &json!({"text": "room again"}))
        .await
        .ok();
    assert_eq!(records_used(&env, &account).await, 2);

    // Dataset update.
    env.post(
        &format!("/api/v1/dataset/{dataset}/update"),
        &key,
        &json!({"description": "Support answers", "meta": {"team": "support"}}),
    )
    .await
    .ok();
    let ds = env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &key).await.ok();
    assert_eq!(
        (ds["name"].clone(), ds["description"].clone(), ds["meta"].clone()),
        (json!("FAQ"), json!("Support answers"), json!({"team": "support"}))
    );
    assert_eq!(ds["recordCount"], 2, "update never touches the count");
    assert_ne!(ds["updatedAt"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_route_is_isolated_across_accounts_and_refuses_hostile_input() {
    let env = TestEnv::with_cooldown(0).await;
    let (owner_account, owner) = env.account_with(Plan::default()).await;
    let (_, stranger) = env.account_with(Plan::default()).await;
    let dataset = env.create_dataset(&owner, &json!({"name": "Private"})).await;
    let id = env
        .post(
            &format!("/api/v1/dataset/{dataset}/record/create"),
            &owner,
            &json!({"text": "secret plan"}),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = env.snapshot().await;

    // Another account: every route answers 404, exactly as for a missing id.
    let base = format!("/api/v1/dataset/{dataset}");
    for (path, body) in [
        (format!("{base}/record/create"), json!({"text": "intrusion"})),
        (format!("{base}/record/{id}/update"), json!({"text": "intrusion"})),
        (format!("{base}/record/{id}/delete"), json!({})),
        (format!("{base}/update"), json!({"name": "mine now"})),
    ] {
        let a = env.post(&path, &stranger, &body).await;
        let missing = env
            .post(
                &path.replace(&dataset, "dataset_01JD0000000000000000000000"),
                &stranger,
                &body,
            )
            .await;
        assert_eq!(
            a.assert_error(404, "NOT_FOUND"),
            missing.assert_error(404, "NOT_FOUND"),
            "{path}"
        );
    }
    env.get(&format!("{base}/record/{id}/fetch"), &stranger)
        .await
        .assert_error(404, "NOT_FOUND");

    // Hostile input from the owner.
    let create = format!("{base}/record/create");
    let update = format!("{base}/record/{id}/update");
    let long_source = format!(r#"{{"source": "{}"}}"#, "s".repeat(2049));
    let long_name = format!(r#"{{"name": "{}"}}"#, "n".repeat(257));
    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        ("create: not JSON", create.clone(), "{not json", 400, "BAD_REQUEST"),
        ("create: an array", create.clone(), "[1]", 400, "BAD_REQUEST"),
        ("create: no text", create.clone(), "{}", 400, "VALIDATION_ERROR"),
        (
            "create: blank text",
            create.clone(),
            r#"{"text": "  "}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "create: text not a string",
            create.clone(),
            r#"{"text": {"a": 1}}"#,
            400,
            "BAD_REQUEST",
        ),
        (
            "create: unknown field",
            create.clone(),
            r#"{"text": "x", "id": "record_mine"}"#,
            400,
            "BAD_REQUEST",
        ),
        (
            "create: meta not an object",
            create.clone(),
            r#"{"text": "x", "meta": [1]}"#,
            400,
            "BAD_REQUEST",
        ),
        (
            "update: null text",
            update.clone(),
            r#"{"text": null}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "update: long source",
            update.clone(),
            &long_source,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "update: bad record id",
            format!("{base}/record/..%2F..%2Fx/update"),
            r#"{"text": "x"}"#,
            404,
            "NOT_FOUND",
        ),
        (
            "delete: a body field",
            format!("{base}/record/{id}/delete"),
            r#"{"force": true}"#,
            400,
            "BAD_REQUEST",
        ),
        (
            "dataset update: name too long",
            format!("{base}/update"),
            &long_name,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "dataset update: wrong type",
            format!("{base}/update"),
            r#"{"description": 7}"#,
            400,
            "BAD_REQUEST",
        ),
        (
            "dataset update: bad id",
            "/api/v1/dataset/nope/update".into(),
            "{}",
            404,
            "NOT_FOUND",
        ),
    ];
    for (name, path, body, status, code) in &cases {
        let a = env
            .send(
                lambda_http::http::Method::POST,
                path,
                Some(&owner),
                &[("content-type", "application/json")],
                body.to_string(),
            )
            .await;
        assert_eq!(a.status.as_u16(), *status, "{name}: {}", a.text);
        a.assert_error(*status, code);
    }
    let huge = json!({"text": "x".repeat(100_001)});
    env.post(&create, &owner, &huge)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    assert_eq!(env.snapshot().await, before, "nothing changed");
    assert_eq!(records_used(&env, &owner_account).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_never_touch_records_by_hand_and_a_deleted_synced_record_returns_with_its_page() {
    let env = TestEnv::with_cooldown(0).await;
    let workspace = generate(&Options {
        pages: 12,
        seed: 9,
        token: TOKEN.into(),
    });
    let emulator = Emulator::new(workspace, NotionConfig::default());
    let notion_url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    let (account, key) = env.account_with(Plan::default()).await;
    let dataset = env.create_dataset(&key, &json!({"name": "Wiki"})).await;
    let integration = env
        .create_integration(&key, &json!({"datasetId": dataset, "token": TOKEN}))
        .await;
    let mine = env
        .post(
            &format!("/api/v1/dataset/{dataset}/record/create"),
            &key,
            &json!({"text": "Written by hand", "meta": {"notionPageId": "not-a-page", "integrationId": integration}}),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let crawler = env.crawler(&notion_url, 50);
    let sync = || async {
        env.post(
            &format!("/api/v1/integration/notion/{integration}/sync"),
            &key,
            &json!({}),
        )
        .await
        .ok();
        env.drain(&crawler, Duration::from_secs(300)).await;
        env.fetch_integration(&key, &integration).await
    };
    let state = sync().await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    let synced = env.all_records(&key, &dataset).await;
    let page_record = synced
        .iter()
        .find(|r| r["id"] != mine.as_str())
        .expect("a synced record")
        .clone();
    let page = page_record["meta"]["notionPageId"].as_str().unwrap().to_string();
    let synced_id = page_record["id"].as_str().unwrap().to_string();

    // Delete the synced record by hand; also trash another page so the next run deletes.
    env.post(
        &format!("/api/v1/dataset/{dataset}/record/{synced_id}/delete"),
        &key,
        &json!({}),
    )
    .await
    .ok();
    let used = records_used(&env, &account).await;
    let trashed = emulator.with_workspace(|ws| {
        let victim = ws
            .live_pages()
            .into_iter()
            .find(|p| *p != page && !ws.pages.values().any(|c| c.parent == Parent::Page(p.clone())))
            .unwrap();
        ws.trash_page(&victim);
        victim
    });
    let state = sync().await;
    assert_eq!(state["lastSyncSummary"]["complete"], true, "{state}");
    assert!(
        state["lastSyncSummary"]["recordsDeleted"].as_u64().unwrap() >= 1,
        "{state}"
    );
    let records = env.all_records(&key, &dataset).await;
    assert!(
        records.iter().any(|r| r["id"] == mine.as_str()),
        "the record by hand survives"
    );
    assert!(
        !records.iter().any(|r| r["id"] == synced_id.as_str()),
        "the page did not change: its deleted record stays deleted"
    );
    assert!(!records.iter().any(|r| r["meta"]["notionPageId"] == trashed.as_str()));
    assert!(
        records_used(&env, &account).await < used,
        "the trashed page's records were released"
    );

    // The page changes: its record is written again, and counted again.
    let before = records_used(&env, &account).await;
    emulator.with_workspace(|ws| {
        let block = ws.pages[&page].children[0].clone();
        ws.edit_block(&block, "edited after the record was deleted");
    });
    sync().await;
    let records = env.all_records(&key, &dataset).await;
    let back = records
        .iter()
        .find(|r| r["id"] == synced_id.as_str())
        .expect("the record is back");
    assert!(back["text"]
        .as_str()
        .unwrap()
        .contains("edited after the record was deleted"));
    assert!(records.iter().any(|r| r["id"] == mine.as_str()));
    assert_eq!(records_used(&env, &account).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_dataset_is_deleted_at_once_and_purged_in_the_background() {
    const RECORDS: usize = 20_000;
    let env = TestEnv::with_cooldown(0).await;
    let (account, key) = env.account_with(Plan::default()).await;
    let dataset = env.create_dataset(&key, &json!({"name": "Big"})).await;
    let keep = env.create_dataset(&key, &json!({"name": "Neighbour"})).await;
    let record = |dataset: &str, i: usize| shared::domain::record::Record {
        id: format!("np_{i:08}"),
        dataset_id: dataset.to_string(),
        text: format!("# Page {i}\n\nSome text of page {i}."),
        source: format!("https://www.notion.so/{i}"),
        meta: Default::default(),
        created_at: "2026-12-01T00:00:00Z".into(),
        updated_at: "2026-12-01T00:00:00Z".into(),
        expires_at: None,
    };
    let many: Vec<_> = (0..RECORDS).map(|i| record(&dataset, i)).collect();
    env.app.records.put_new_records(&account, &many).await.unwrap();
    env.app.records.put_record(&account, &record(&keep, 0)).await.unwrap();
    assert_eq!(records_used(&env, &account).await, RECORDS as u64 + 1);

    // The answer comes at once: the records are unreachable and released from the plan,
    // but still stored until the queued purge runs.
    env.post(&format!("/api/v1/dataset/{dataset}/delete"), &key, &json!({}))
        .await
        .ok();
    assert_eq!(records_used(&env, &account).await, 1);
    env.get(&format!("/api/v1/dataset/{dataset}/record/list"), &key)
        .await
        .assert_error(404, "NOT_FOUND");
    env.get(&format!("/api/v1/dataset/{dataset}/record/np_00000001/fetch"), &key)
        .await
        .assert_error(404, "NOT_FOUND");
    env.post(
        &format!("/api/v1/dataset/{dataset}/record/create"),
        &key,
        &json!({"text": "late"}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    let stored = |d: String| {
        let env = &env;
        async move {
            let pk = shared::aws::keys::records_pk(&d);
            let mut n = 0;
            let mut start = None;
            loop {
                let out = env
                    .dynamodb
                    .query()
                    .table_name(&env.config.records_table_name)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
                    .select(aws_sdk_dynamodb::types::Select::Count)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .unwrap();
                n += out.count;
                match out.last_evaluated_key {
                    Some(k) => start = Some(k),
                    None => return n,
                }
            }
        }
    };
    assert_eq!(stored(dataset.clone()).await, RECORDS as i32);
    assert_eq!(env.queue_depth().await, 1, "one purge job queued");

    // Deleting again while the purge is pending answers the same and queues it again (a
    // client retrying after a lost answer); a duplicate job is harmless.
    env.post(&format!("/api/v1/dataset/{dataset}/delete"), &key, &json!({}))
        .await
        .ok();
    assert_eq!(env.queue_depth().await, 2);

    // Each invocation gets almost no time: the purge continues across many of them.
    let crawler = env.crawler("http://127.0.0.1:9", 3);
    let handled = env.drain(&crawler, Duration::from_millis(1)).await;
    assert!(handled >= RECORDS / 1_000, "{handled} invocations");
    assert_eq!(stored(dataset.clone()).await, 0, "every record purged");
    assert_eq!(stored(keep.clone()).await, 1, "another dataset's records untouched");
    assert_eq!(records_used(&env, &account).await, 1, "nothing released twice");
    env.post(&format!("/api/v1/dataset/{dataset}/delete"), &key, &json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    let events = env.get("/api/v1/event/log/list?type=dataset.deleted", &key).await.ok();
    assert_eq!(events["items"][0]["data"]["records"], RECORDS as u64);
}
