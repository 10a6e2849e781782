//! Limits: Notion's request rate across invocations, the plan's page, time and record limits, and the sync route's prerequisites, cooldown and coalescing.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_stays_within_the_limit_in_every_second() {
    let s = setup(25, Plan::default(), limited_to(5)).await;
    let state = s.sync_and_drain(5).await;
    assert_eq!(state["syncStatus"], "synced");
    let requests = s.emulator.requests();
    assert!(requests.len() > 25);
    assert!(
        s.emulator.max_requests_per_second() <= 5,
        "max {} per second",
        s.emulator.max_requests_per_second()
    );
    assert!(
        !requests.iter().any(|r| r.status == 429),
        "the emulator never had to refuse a request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_and_back_to_back_runs_never_burst_past_the_limit() {
    // Each invocation hands its limiter's recent requests to the next (checkpoint), so an
    // invocation that starts right after another, of the same run or of the next, does not
    // add a burst on top of the requests Notion saw in the last second.
    let s = setup(40, Plan::default(), limited_to(5)).await;
    let crawler = s.env.crawler(&s.notion_url, 5);
    s.sync().await;
    s.env.drain(&crawler, Duration::from_millis(1_200)).await;
    let first = s.integration_state().await;
    assert_eq!(first["syncStatus"], "synced", "{first}");
    let invocations = summary(&first)["invocations"].as_u64().unwrap();
    assert!(invocations >= 3, "{}", summary(&first));
    // The next run at once (no cooldown here): one page edited, so it reads too.
    s.emulator.with_workspace(|ws| {
        let id = ws.pages.keys().next().cloned().unwrap();
        ws.touch(&id);
    });
    s.sync().await;
    s.env.drain(&crawler, Duration::from_millis(1_200)).await;
    assert_eq!(s.integration_state().await["syncStatus"], "synced");
    let requests = s.emulator.requests();
    assert!(
        !requests.iter().any(|r| r.status == 429),
        "the emulator never had to refuse a request"
    );
    assert!(
        s.emulator.max_requests_per_second() <= 5,
        "max {} per second across {invocations}+ invocations",
        s.emulator.max_requests_per_second()
    );
    // What was handed over is the last window's send times.
    let checkpoint = s
        .env
        .scan_items(&s.env.config.table_name)
        .await
        .into_iter()
        .find(|item| item.get("recentRequests").is_some())
        .expect("the finished run left its recent requests");
    let handed = checkpoint["recentRequests"].as_array().unwrap().len();
    assert!((1..=5).contains(&handed), "{checkpoint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_page_limit_stops_cleanly_and_deletes_nothing() {
    let s = setup(
        40,
        Plan {
            max_pages_per_sync: 12,
            ..Plan::default()
        },
        unlimited(),
    )
    .await;
    let state = s.sync_and_drain(40).await;
    assert_stopped_by(&state, "maxPagesPerSync");
    // Every page counted against the plan is read; none past it.
    let pages = s.texts_by_page().await.len();
    assert_eq!(pages, 12, "{pages} pages synced");
    assert_eq!(summary(&state)["pagesSeen"], 12, "{}", summary(&state));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_route_checks_prerequisites_limits_cooldown_and_coalesces() {
    let env = TestEnv::with_cooldown(900).await;
    let key = env.key().await;
    let dataset = env.create_dataset(&key, &json!({})).await;
    let sync = |id: &str| format!("/api/v1/integration/notion/{id}/sync");

    let no_dataset = env.create_integration(&key, &json!({"token": TOKEN})).await;
    env.post(&sync(&no_dataset), &key, &json!({}))
        .await
        .assert_error(409, "CONFLICT");
    let no_token = env.create_integration(&key, &json!({"datasetId": dataset})).await;
    env.post(&sync(&no_token), &key, &json!({}))
        .await
        .assert_error(409, "CONFLICT");
    env.post(&sync("notion_01JD0000000000000000000000"), &key, &json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    env.post(&sync(&no_token), &key, &json!({"now": true}))
        .await
        .assert_error(400, "BAD_REQUEST");

    let ready = env
        .create_integration(&key, &json!({"datasetId": dataset, "token": TOKEN}))
        .await;
    env.post(&sync(&ready), &key, &json!({})).await.ok();
    assert_eq!(env.fetch_integration(&key, &ready).await["syncStatus"], "pending");
    let limited = env.post(&sync(&ready), &key, &json!({})).await;
    limited.assert_error(429, "RATE_LIMITED");
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(env.queue_depth().await, 1, "one message for one accepted sync");
    let other_key = env.key().await;
    env.post(&sync(&ready), &other_key, &json!({}))
        .await
        .assert_error(404, "NOT_FOUND");

    // Without a cooldown, a second request while one is pending is coalesced.
    let env = TestEnv::with_cooldown(0).await;
    let key = env.key().await;
    let dataset = env.create_dataset(&key, &json!({})).await;
    let id = env
        .create_integration(&key, &json!({"datasetId": dataset, "token": TOKEN}))
        .await;
    for _ in 0..3 {
        env.post(&sync(&id), &key, &json!({})).await.ok();
    }
    assert_eq!(env.queue_depth().await, 1, "requests while pending are coalesced");

    // No record capacity left: 403 before anything is queued.
    let env = TestEnv::with_cooldown(0).await;
    let (_, key) = env
        .account_with(Plan {
            max_records: 0,
            ..Plan::default()
        })
        .await;
    let dataset = env.create_dataset(&key, &json!({})).await;
    let id = env
        .create_integration(&key, &json!({"datasetId": dataset, "token": TOKEN}))
        .await;
    env.post(&sync(&id), &key, &json!({}))
        .await
        .assert_error(403, "LIMIT_EXCEEDED");
    assert_eq!(env.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_time_limit_stops_cleanly() {
    let s = setup(
        20,
        Plan {
            max_sync_seconds: 0,
            ..Plan::default()
        },
        unlimited(),
    )
    .await;
    let state = s.sync_and_drain(40).await;
    assert_stopped_by(&state, "maxSyncSeconds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_record_limit_stops_the_run_at_exactly_the_limit() {
    let s = setup(
        40,
        Plan {
            max_records: 10,
            ..Plan::default()
        },
        unlimited(),
    )
    .await;
    let state = s.sync_and_drain(40).await;
    assert_stopped_by(&state, "maxRecords");
    assert_eq!(
        s.env.all_records(&s.key, &s.dataset).await.len(),
        10,
        "the plan's records, no more"
    );
    let dataset = s
        .env
        .get(&format!("/api/v1/dataset/{}/fetch", s.dataset), &s.key)
        .await
        .ok();
    assert_eq!(dataset["recordCount"], 10);
    // No capacity left: the next manual sync is refused before it is queued.
    s.env
        .post(
            &format!("/api/v1/integration/notion/{}/sync", s.integration),
            &s.key,
            &json!({}),
        )
        .await
        .assert_error(403, "LIMIT_EXCEEDED");
}

/// "Request limits": the client says which limit a 429 came from (per connection, per
/// workspace, or one Notion adds later), and waits each out the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_names_the_limit_it_came_from() {
    use shared::notion::api::{NotionApi, NotionError};
    use shared::notion::client::{NotionClient, RetryPolicy};
    let workspace = generate(&Options {
        pages: 3,
        seed: 5,
        token: TOKEN.into(),
    });
    let page = workspace.pages.keys().next().unwrap().clone();
    let emulator = Emulator::new(
        workspace,
        NotionConfig {
            rps: None,
            workspace_rps: Some(0),
            workspace_retry_after: 1,
            ..NotionConfig::default()
        },
    );
    let url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    shared::runtime::install_tls_provider();
    let policy = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let client = NotionClient::new(reqwest::Client::new(), &url, TOKEN, 1_000, policy);
    // A workspace whose shared limit is spent (by other connections): every request is
    // refused until the retries (three for a 429 when one attempt is allowed otherwise)
    // run out.
    let failures: Vec<String> = match client.retrieve_page(&page).await {
        Err(NotionError::Exhausted { last, attempts }) => {
            assert_eq!(attempts, 3);
            vec![last]
        }
        other => panic!("{other:?}"),
    };
    assert!(
        failures.iter().any(|l| l == "429 rate_limited (workspace_rate_limit)"),
        "{failures:?}"
    );
}

/// "Request limits": the per-workspace limit's `Retry-After` can exceed a minute. A wait
/// longer than the crawler sleeps in place (2 s in these tests) is not slept through nor
/// retried into more 429s: the run checkpoints and its continuation is queued with that
/// delay (SQS `DelaySeconds`), then finishes complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_retry_after_checkpoints_and_requeues_the_run_for_after_the_wait() {
    let s = setup(
        12,
        Plan::default(),
        NotionConfig {
            rps: None,
            workspace_rps: Some(0),
            workspace_retry_after: 4,
            ..NotionConfig::default()
        },
    )
    .await;
    assert_eq!(s.sync().await["id"], s.integration.as_str());
    let crawler = s.env.crawler(&s.notion_url, 50);
    let handled = s.env.drain(&crawler, BUDGET).await;
    assert_eq!(handled, 1, "the first invocation handed over");
    let delayed = {
        use aws_sdk_sqs::types::QueueAttributeName;
        let out = s
            .env
            .sqs
            .get_queue_attributes()
            .queue_url(s.env.config.sync_queue_url.clone().unwrap())
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .unwrap();
        out.attributes.unwrap_or_default()[&QueueAttributeName::ApproximateNumberOfMessagesDelayed].clone()
    };
    assert_eq!(delayed, "1", "its continuation waits in the queue for the Retry-After");
    let refused = s.emulator.requests().iter().filter(|r| r.status == 429).count();
    assert!(
        (1..=4).contains(&refused),
        "no retries into the limit: {refused} refused"
    );
    let state = s.integration_state().await;
    assert_eq!(state["syncStatus"], "pending", "{state}");

    // The other connections' burst is over; the continuation arrives after the wait.
    s.emulator.configure(|c| c.workspace_rps = None);
    tokio::time::sleep(Duration::from_secs(5)).await;
    s.env.drain(&crawler, BUDGET).await;
    let state = s.integration_state().await;
    assert_clean(&state);
    let sum = summary(&state);
    assert_eq!(sum["complete"], true, "{sum}");
    assert_eq!(sum["pagesFailed"], 0, "{sum}");
    assert!(sum["invocations"].as_u64().unwrap_or(0) >= 2, "{sum}");
    s.assert_mirrors_workspace().await;
}
