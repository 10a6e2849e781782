//! The API through the local stack (event conversion, authorizer, handlers) with the real
//! AWS SDK against the AWS emulator: every route, every validation rule, paging, JSONL,
//! token handling, isolation, concurrency and plan limits.

use integration_tests::{integration_path, TestEnv};
use lambda_http::http::Method;
use serde_json::{json, Value};
use shared::domain::account::Plan;

const CREATE: &str = "/api/v1/integration/notion/create";
const LIST: &str = "/api/v1/integration/notion/list";

#[tokio::test]
async fn create_fetch_update_list_delete() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let dataset = env.create_dataset(&key, &json!({"name": "KB"})).await;
    let id = env
        .create_integration(
            &key,
            &json!({
                "name": "Company Wiki Sync", "description": "Syncs content", "datasetId": dataset,
                "token": "secret_abc123", "syncSchedule": "@daily", "expiresIn": 2592000000u64,
                "blueprintId": "blueprint_def456", "meta": {"team": "eng"}
            }),
        )
        .await;
    assert!(id.starts_with("notion_") && id.len() == 33, "{id}");

    let fetched = env.fetch_integration(&key, &id).await;
    assert_eq!(fetched["id"], id);
    assert_eq!(fetched["name"], "Company Wiki Sync");
    assert_eq!(fetched["description"], "Syncs content");
    assert_eq!(fetched["datasetId"], dataset);
    assert_eq!(fetched["token"], "********");
    assert_eq!(fetched["syncSchedule"], "@daily");
    assert_eq!(fetched["expiresIn"], 2592000000u64);
    assert_eq!(fetched["blueprintId"], "blueprint_def456");
    assert_eq!(fetched["meta"], json!({"team": "eng"}));
    assert_eq!(fetched["syncStatus"], Value::Null);
    assert_eq!(fetched["lastSyncedAt"], Value::Null);
    let created_at = fetched["createdAt"].as_str().unwrap().to_string();
    assert!(created_at.ends_with('Z') && created_at.len() == 20, "{created_at}");

    let answer = env
        .post(
            &integration_path(&id, "update"),
            &key,
            &json!({"name": "Updated", "syncSchedule": "30 2 * * 1-5"}),
        )
        .await;
    assert_eq!(answer.ok(), json!({"id": id}));
    let fetched = env.fetch_integration(&key, &id).await;
    assert_eq!(fetched["name"], "Updated");
    assert_eq!(fetched["syncSchedule"], "30 2 * * 1-5");
    assert_eq!(
        fetched["description"], "Syncs content",
        "fields not sent keep their value"
    );
    assert_eq!(fetched["expiresIn"], 2592000000u64);
    assert_eq!(fetched["createdAt"], created_at.as_str());

    let listed = env.get(LIST, &key).await.ok();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id);
    assert_eq!(listed["items"][0]["token"], "********");
    assert_eq!(listed["cursor"], Value::Null);

    assert_eq!(
        env.post(&integration_path(&id, "delete"), &key, &json!({})).await.ok(),
        json!({"id": id})
    );
    env.get(&integration_path(&id, "fetch"), &key)
        .await
        .assert_error(404, "NOT_FOUND");
    env.post(&integration_path(&id, "delete"), &key, &json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(env.secret_value(&id).await, None, "delete removes the secret");
    assert_eq!(env.get(LIST, &key).await.ok()["items"], json!([]));
}

#[tokio::test]
async fn create_with_nothing_gives_defaults() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let answer = env.send(Method::POST, CREATE, Some(&key), &[], "").await;
    let id = answer.ok()["id"].as_str().unwrap().to_string();
    let fetched = env.fetch_integration(&key, &id).await;
    assert_eq!(fetched["name"], "");
    assert_eq!(fetched["token"], Value::Null);
    assert_eq!(fetched["datasetId"], Value::Null);
    assert_eq!(fetched["syncSchedule"], Value::Null);
    assert_eq!(fetched["expiresIn"], Value::Null);
    assert_eq!(fetched["meta"], json!({}));
    assert_eq!(env.secret_value(&id).await, None);
}

#[tokio::test]
async fn every_validation_rule_answers_400_and_changes_nothing() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let other_key = env.key().await;
    let foreign_dataset = env.create_dataset(&other_key, &json!({})).await;
    let id = env
        .create_integration(&key, &json!({"name": "Original", "token": "secret_keep"}))
        .await;
    let before = env.fetch_integration(&key, &id).await;

    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"name": "x".repeat(257)}), "VALIDATION_ERROR", "name"),
        (
            json!({"description": "x".repeat(4097)}),
            "VALIDATION_ERROR",
            "description",
        ),
        (json!({"expiresIn": 7_776_000_001u64}), "VALIDATION_ERROR", "expiresIn"),
        (json!({"expiresIn": -5}), "VALIDATION_ERROR", "expiresIn"),
        (json!({"expiresIn": 1.5}), "VALIDATION_ERROR", "expiresIn"),
        (json!({"syncSchedule": "@yearly"}), "VALIDATION_ERROR", "syncSchedule"),
        (
            json!({"syncSchedule": "61 * * * *"}),
            "VALIDATION_ERROR",
            "syncSchedule",
        ),
        (json!({"syncSchedule": "0 0 1 * 1"}), "VALIDATION_ERROR", "syncSchedule"),
        (json!({"datasetId": "not-a-dataset"}), "VALIDATION_ERROR", "datasetId"),
        (
            json!({"datasetId": "dataset_01JD0000000000000000000000"}),
            "VALIDATION_ERROR",
            "datasetId",
        ),
        (json!({"datasetId": foreign_dataset}), "VALIDATION_ERROR", "datasetId"),
        (
            json!({"meta": {"big": "x".repeat(16 * 1024)}}),
            "VALIDATION_ERROR",
            "meta",
        ),
        (json!({"token": " padded "}), "VALIDATION_ERROR", "token"),
        (json!({"name": 42}), "BAD_REQUEST", "name"),
        (json!({"meta": [1, 2]}), "BAD_REQUEST", "meta"),
        (json!({"meta": "text"}), "BAD_REQUEST", "meta"),
        (json!({"expiresIn": "100"}), "BAD_REQUEST", "expiresIn"),
        (json!({"token": 12345}), "BAD_REQUEST", "token"),
        (json!({"syncStatus": "synced"}), "BAD_REQUEST", "syncStatus"),
        (json!({"id": "notion_other"}), "BAD_REQUEST", "id"),
    ];
    for (body, code, field) in &cases {
        for path in [CREATE.to_string(), integration_path(&id, "update")] {
            let answer = env.post(&path, &key, body).await;
            let error = answer.assert_error(400, code);
            assert_eq!(error["details"][0]["field"], *field, "{path} {body}: {}", answer.text);
        }
    }
    assert_eq!(
        env.fetch_integration(&key, &id).await,
        before,
        "rejected updates change nothing"
    );
    assert_eq!(env.secret_value(&id).await.as_deref(), Some("secret_keep"));
    let listed = env.get(LIST, &key).await.ok();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "rejected creates create nothing"
    );
}

#[tokio::test]
async fn malformed_bodies_are_bad_requests() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let id = env.create_integration(&key, &json!({})).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        b"[1,2]".to_vec(),
        b"\"string\"".to_vec(),
        b"{\"name\":".to_vec(),
        vec![0xff, 0xfe, 0x00],
        format!("{{\"name\": \"{}\"}}", "x".repeat(300 * 1024)).into_bytes(),
    ];
    for body in bodies {
        for path in [
            CREATE.to_string(),
            integration_path(&id, "update"),
            integration_path(&id, "delete"),
            "/api/v1/dataset/create".into(),
        ] {
            let answer = env
                .send(
                    Method::POST,
                    &path,
                    Some(&key),
                    &[("content-type", "application/json")],
                    body.clone(),
                )
                .await;
            answer.assert_error(400, "BAD_REQUEST");
        }
    }
    env.post(&integration_path(&id, "delete"), &key, &json!({"force": true}))
        .await
        .assert_error(400, "BAD_REQUEST");
    assert_eq!(env.fetch_integration(&key, &id).await["id"], id);
}

#[tokio::test]
async fn authentication_is_required_and_checked() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let id = env.create_integration(&key, &json!({})).await;
    let path = integration_path(&id, "fetch");
    env.send(Method::GET, &path, None, &[], "")
        .await
        .assert_error(401, "UNAUTHENTICATED");
    env.send(Method::GET, &path, None, &[("authorization", "Basic abc")], "")
        .await
        .assert_error(401, "UNAUTHENTICATED");
    env.send(Method::GET, &path, None, &[("authorization", "Bearer ")], "")
        .await
        .assert_error(401, "UNAUTHENTICATED");
    env.get(&path, "nik_unknownkeyunknownkey")
        .await
        .assert_error(401, "UNAUTHENTICATED");
    // Authentication comes before validation: nothing about the request leaks.
    env.send(Method::POST, CREATE, None, &[], "garbage")
        .await
        .assert_error(401, "UNAUTHENTICATED");
    env.get("/api/v1/nothing/here", &key)
        .await
        .assert_error(404, "NOT_FOUND");
    env.send(Method::DELETE, &path, Some(&key), &[], "")
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn token_is_masked_rotated_and_removed_in_secrets_manager_only() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let token = "secret_RecognisableToken123";
    let id = env.create_integration(&key, &json!({"token": token})).await;
    assert_eq!(env.secret_value(&id).await.as_deref(), Some(token));
    let fetched = env.fetch_integration(&key, &id).await;
    assert_eq!(fetched["token"], "********");
    assert!(
        !env.main_table_dump().await.contains("RecognisableToken"),
        "token never in DynamoDB"
    );

    env.post(
        &integration_path(&id, "update"),
        &key,
        &json!({"token": "secret_Rotated456"}),
    )
    .await
    .ok();
    assert_eq!(env.secret_value(&id).await.as_deref(), Some("secret_Rotated456"));
    assert_eq!(env.fetch_integration(&key, &id).await["token"], "********");

    env.post(
        &integration_path(&id, "update"),
        &key,
        &json!({"name": "no token change"}),
    )
    .await
    .ok();
    assert_eq!(env.secret_value(&id).await.as_deref(), Some("secret_Rotated456"));

    env.post(&integration_path(&id, "update"), &key, &json!({"token": null}))
        .await
        .ok();
    assert_eq!(env.secret_value(&id).await, None);
    assert_eq!(env.fetch_integration(&key, &id).await["token"], Value::Null);

    env.post(
        &integration_path(&id, "update"),
        &key,
        &json!({"token": "secret_Again789"}),
    )
    .await
    .ok();
    assert_eq!(env.secret_value(&id).await.as_deref(), Some("secret_Again789"));
    env.post(&integration_path(&id, "update"), &key, &json!({"token": ""}))
        .await
        .ok();
    assert_eq!(env.secret_value(&id).await, None);
    assert_eq!(env.fetch_integration(&key, &id).await["token"], Value::Null);

    for answer in [
        env.get(LIST, &key).await,
        env.get(&integration_path(&id, "fetch"), &key).await,
    ] {
        assert!(!answer.text.contains("secret_"), "{}", answer.text);
    }
}

#[tokio::test]
async fn paging_ordering_filters_and_jsonl() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let mut ids = Vec::new();
    for i in 0..25 {
        let team = if i % 5 == 0 { "ops" } else { "eng" };
        ids.push(
            env.create_integration(&key, &json!({"name": format!("n{i}"), "meta": {"team": team, "n": i}}))
                .await,
        );
    }
    let collect = |order: &'static str, take: u32| {
        let env = &env;
        let key = key.clone();
        async move {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("{LIST}?order={order}&take={take}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page = env.get(&path, &key).await.ok();
                let items = page["items"].as_array().unwrap();
                assert!(items.len() <= take as usize);
                seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
                match page["cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            seen
        }
    };
    assert_eq!(collect("asc", 10).await, ids, "asc is creation order, across pages");
    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(collect("desc", 7).await, reversed);
    let default_page = env.get(LIST, &key).await.ok();
    assert_eq!(
        default_page["items"].as_array().unwrap().len(),
        20,
        "default take is 20"
    );
    assert_eq!(
        default_page["items"][0]["id"],
        ids[24].as_str(),
        "default order is newest first"
    );

    let ops = env.get(&format!("{LIST}?meta.team=ops&order=asc"), &key).await.ok();
    let ops_ids: Vec<&str> = ops["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ops_ids, [0, 5, 10, 15, 20].map(|i| ids[i].as_str()));
    let n7 = env.get(&format!("{LIST}?meta.n=7&meta.team=eng"), &key).await.ok();
    assert_eq!(n7["items"].as_array().unwrap().len(), 1);
    assert_eq!(n7["items"][0]["name"], "n7");

    let jsonl = env
        .send(
            Method::GET,
            &format!("{LIST}?take=3&order=asc"),
            Some(&key),
            &[("accept", "application/jsonl")],
            "",
        )
        .await;
    assert_eq!(jsonl.status, 200);
    assert_eq!(jsonl.headers["content-type"], "application/jsonl");
    let lines: Vec<Value> = jsonl.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    for (line, id) in lines.iter().zip(&ids) {
        assert_eq!(line["type"], "item");
        assert_eq!(line["data"]["id"], id.as_str());
    }
    let next = jsonl.headers["x-next-cursor"].to_str().unwrap();
    let second = env
        .get(&format!("{LIST}?take=3&order=asc&cursor={next}"), &key)
        .await
        .ok();
    assert_eq!(second["items"][0]["id"], ids[3].as_str());

    for query in [
        "take=0",
        "take=-1",
        "take=1e9",
        "take=101",
        "take=abc",
        "order=sideways",
    ] {
        env.get(&format!("{LIST}?{query}"), &key)
            .await
            .assert_error(400, "VALIDATION_ERROR");
    }
    for query in ["cursor=%%%", "cursor=bm90LWEta2V5", "tkae=5"] {
        env.get(&format!("{LIST}?{query}"), &key)
            .await
            .assert_error(400, "BAD_REQUEST");
    }
}

#[tokio::test]
async fn concurrent_updates_lose_no_field() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let id = env
        .create_integration(&key, &json!({"name": "start", "description": "start"}))
        .await;
    let path = integration_path(&id, "update");
    let names = async {
        for i in 0..15 {
            env.post(&path, &key, &json!({"name": format!("name-{i}")})).await.ok();
        }
    };
    let descriptions = async {
        for i in 0..15 {
            env.post(&path, &key, &json!({"description": format!("description-{i}")}))
                .await
                .ok();
        }
    };
    let metas = async {
        for i in 0..15 {
            env.post(&path, &key, &json!({"meta": {"i": i}, "expiresIn": i}))
                .await
                .ok();
        }
    };
    tokio::join!(names, descriptions, metas);
    let fetched = env.fetch_integration(&key, &id).await;
    assert_eq!(fetched["name"], "name-14");
    assert_eq!(fetched["description"], "description-14");
    assert_eq!(fetched["meta"], json!({"i": 14}));
    assert_eq!(fetched["expiresIn"], 14);
}

#[tokio::test]
async fn plan_limit_on_integrations() {
    let env = TestEnv::new().await;
    let plan = Plan {
        max_integrations: 2,
        ..Plan::default()
    };
    let (_, key) = env.account_with(plan).await;
    let first = env.create_integration(&key, &json!({})).await;
    env.create_integration(&key, &json!({})).await;
    env.post(CREATE, &key, &json!({"token": "secret_over_limit"}))
        .await
        .assert_error(403, "LIMIT_EXCEEDED");
    assert_eq!(env.get(LIST, &key).await.ok()["items"].as_array().unwrap().len(), 2);
    assert!(!format!("{:?}", env.secrets.list_secrets().send().await.unwrap().secret_list()).contains("over_limit"));
    env.post(&integration_path(&first, "delete"), &key, &json!({}))
        .await
        .ok();
    env.create_integration(&key, &json!({})).await;
}
