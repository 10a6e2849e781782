//! Datasets and their records through the local stack against the AWS emulator: fetch,
//! list, paging past expiry, delete with its background purge, and records outliving the
//! integration that synced them.

use integration_tests::sample_record as record;
use integration_tests::{integration_path, TestEnv};
use serde_json::json;
use shared::ports::RecordStore;

#[tokio::test]
async fn deleting_an_integration_keeps_its_records() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let account = env.account_of(&key).await;
    let dataset = env.create_dataset(&key, &json!({})).await;
    let id = env
        .create_integration(&key, &json!({"datasetId": dataset, "token": "secret_x"}))
        .await;
    for i in 0..3 {
        env.store
            .put_record(
                &account,
                &record(&dataset, &format!("rec_{i}"), "2025-01-01T00:00:00Z", None),
            )
            .await
            .unwrap();
    }
    env.post(&integration_path(&id, "delete"), &key, &json!({})).await.ok();
    let records = env
        .get(&format!("/api/v1/dataset/{dataset}/record/list"), &key)
        .await
        .ok();
    assert_eq!(records["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &key).await.ok()["recordCount"],
        3
    );
}

#[tokio::test]
async fn datasets_and_records() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let account = env.account_of(&key).await;
    let dataset = env
        .create_dataset(&key, &json!({"name": "KB", "description": "d", "meta": {"k": "v"}}))
        .await;
    let fetched = env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &key).await.ok();
    assert_eq!(fetched["name"], "KB");
    assert_eq!(fetched["meta"], json!({"k": "v"}));
    assert_eq!(fetched["recordCount"], 0);

    let now = chrono_now();
    env.store
        .put_record(&account, &record(&dataset, "rec_a", "2025-01-01T00:00:01Z", None))
        .await
        .unwrap();
    env.store
        .put_record(
            &account,
            &record(&dataset, "rec_b", "2025-01-01T00:00:02Z", Some(now + 3600)),
        )
        .await
        .unwrap();
    env.store
        .put_record(
            &account,
            &record(&dataset, "rec_gone", "2025-01-01T00:00:03Z", Some(now - 10)),
        )
        .await
        .unwrap();
    // Rewriting a record updates it in place and does not count it twice.
    let mut updated = record(&dataset, "rec_a", "2025-06-01T00:00:00Z", None);
    updated.text = "new text".into();
    assert!(!env.store.put_record(&account, &updated).await.unwrap());
    assert_eq!(
        env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &key).await.ok()["recordCount"],
        3
    );

    let list = env
        .get(&format!("/api/v1/dataset/{dataset}/record/list?order=asc"), &key)
        .await
        .ok();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["rec_a", "rec_b"], "expired records are never returned");
    assert_eq!(list["items"][0]["text"], "new text");
    assert_eq!(
        list["items"][0]["createdAt"], "2025-01-01T00:00:01Z",
        "creation time is kept"
    );
    assert!(list["items"][1]["expiresAt"].as_str().is_some());
    let paged = env
        .get(
            &format!("/api/v1/dataset/{dataset}/record/list?order=desc&take=1"),
            &key,
        )
        .await
        .ok();
    assert_eq!(paged["items"][0]["id"], "rec_b");
    let cursor = paged["cursor"].as_str().unwrap();
    let next = env
        .get(
            &format!("/api/v1/dataset/{dataset}/record/list?order=desc&take=1&cursor={cursor}"),
            &key,
        )
        .await
        .ok();
    assert_eq!(next["items"][0]["id"], "rec_a");

    let one = env
        .get(&format!("/api/v1/dataset/{dataset}/record/rec_b/fetch"), &key)
        .await
        .ok();
    assert_eq!(one["source"], "https://www.notion.so/rec_b");
    assert_eq!(one["meta"]["notionPageId"], "rec_b");
    env.get(&format!("/api/v1/dataset/{dataset}/record/rec_gone/fetch"), &key)
        .await
        .assert_error(404, "NOT_FOUND");
    env.get(&format!("/api/v1/dataset/{dataset}/record/nope/fetch"), &key)
        .await
        .assert_error(404, "NOT_FOUND");

    let datasets = env.get("/api/v1/dataset/list", &key).await.ok();
    assert_eq!(datasets["items"][0]["id"], dataset);

    env.post(&format!("/api/v1/dataset/{dataset}/delete"), &key, &json!({}))
        .await
        .ok();
    env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &key)
        .await
        .assert_error(404, "NOT_FOUND");
    env.get(&format!("/api/v1/dataset/{dataset}/record/list"), &key)
        .await
        .assert_error(404, "NOT_FOUND");
    let stored = || async {
        env.dynamodb
            .scan()
            .table_name(&env.config.records_table_name)
            .send()
            .await
            .unwrap()
            .count
    };
    assert!(
        stored().await > 0,
        "records are purged in the background, not in the request"
    );
    let crawler = env.crawler("http://127.0.0.1:9", 3);
    assert_eq!(env.drain(&crawler, std::time::Duration::from_secs(60)).await, 1);
    assert_eq!(stored().await, 0, "the purge job removed every record");
    // Writing into a deleted dataset is refused.
    assert!(env
        .store
        .put_record(&account, &record(&dataset, "rec_late", "2025-01-01T00:00:00Z", None))
        .await
        .is_err());
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
