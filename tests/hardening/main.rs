//! Hardening: account isolation on every route, hostile inputs, secret hygiene end to end
//! (API, crawler, logs, DynamoDB, SQS, Scheduler), and a bounded concurrent load: one file
//! per concern; the helpers they share are here.

mod hostile;
mod isolation;
mod load;
mod secrets;

use integration_tests::{Answer, TestEnv};
use lambda_http::http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

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
