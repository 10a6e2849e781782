//! Account isolation, tested here and only here: an id of another account answers 404 on
//! every route and changes nothing, listings and cursors never cross accounts.

use super::*;
use shared::ports::RecordStore;

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

#[tokio::test]
async fn another_account_sees_nothing_and_changes_nothing() {
    let env = TestEnv::new().await;
    let (alice, bob) = (env.key().await, env.key().await);
    let dataset = env.create_dataset(&alice, &json!({"name": "alice data"})).await;
    let id = env
        .create_integration(
            &alice,
            &json!({"name": "alice", "datasetId": dataset, "token": "secret_alice"}),
        )
        .await;
    env.store
        .put_record(
            &env.account_of(&alice).await,
            &integration_tests::sample_record(&dataset, "rec_1", "2025-01-01T00:00:00Z", None),
        )
        .await
        .unwrap();
    let before = env.fetch_integration(&alice, &id).await;

    env.get(&format!("/api/v1/integration/notion/{id}/fetch"), &bob)
        .await
        .assert_error(404, "NOT_FOUND");
    env.post(
        &format!("/api/v1/integration/notion/{id}/update"),
        &bob,
        &json!({"name": "bob was here"}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    env.post(
        &format!("/api/v1/integration/notion/{id}/update"),
        &bob,
        &json!({"token": "secret_bob"}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    env.post(&format!("/api/v1/integration/notion/{id}/delete"), &bob, &json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &bob)
        .await
        .assert_error(404, "NOT_FOUND");
    env.get(&format!("/api/v1/dataset/{dataset}/record/list"), &bob)
        .await
        .assert_error(404, "NOT_FOUND");
    env.get(&format!("/api/v1/dataset/{dataset}/record/rec_1/fetch"), &bob)
        .await
        .assert_error(404, "NOT_FOUND");
    env.post(&format!("/api/v1/dataset/{dataset}/delete"), &bob, &json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    env.post(
        "/api/v1/integration/notion/create",
        &bob,
        &json!({"datasetId": dataset}),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        env.get("/api/v1/integration/notion/list", &bob).await.ok()["items"],
        json!([])
    );
    assert_eq!(env.get("/api/v1/dataset/list", &bob).await.ok()["items"], json!([]));

    // Alice's cursor positions Bob's listing only inside Bob's own data.
    env.create_integration(&alice, &json!({})).await;
    let alice_page = env.get("/api/v1/integration/notion/list?take=1", &alice).await.ok();
    let cursor = alice_page["cursor"].as_str().unwrap();
    assert_eq!(
        env.get(&format!("/api/v1/integration/notion/list?cursor={cursor}"), &bob)
            .await
            .ok()["items"],
        json!([])
    );

    assert_eq!(env.fetch_integration(&alice, &id).await, before);
    assert_eq!(env.secret_value(&id).await.as_deref(), Some("secret_alice"));
    assert_eq!(
        env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &alice).await.ok()["recordCount"],
        1
    );
}
