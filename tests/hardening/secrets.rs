//! Secret hygiene end to end: tokens appear in no answer, log line, table item, queued message or schedule.

use super::*;

use integration_tests::LogCapture as Capture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_leave_secrets_manager() {
    let capture = Capture::install();
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
            window_budget: Some(3_000),
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
