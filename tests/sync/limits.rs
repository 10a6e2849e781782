//! Limits: Notion's request rate across invocations, the plan's page, time and record limits, and the sync route's prerequisites, cooldown and coalescing.

use super::*;
use shared::notion::limiter::RequestLimits;

/// Notion's per-connection budget in these tests: 12 requests per 2-second window (the
/// documented 60 s would make every test a minute long; the rule is the same).
const WINDOW_BUDGET: u32 = 12;
const WINDOW_SECS: u64 = 2;

fn budget_limits() -> RequestLimits {
    RequestLimits::new(
        WINDOW_BUDGET / WINDOW_SECS as u32,
        Some(WINDOW_BUDGET),
        WINDOW_SECS as u32,
    )
}

/// A workspace of `pages` behind the emulator's budget, and a crawler keeping the same one.
async fn budget_setup(pages: usize) -> (Setup, shared::crawler::Crawler) {
    let s = setup(pages, Plan::default(), budget_of(WINDOW_BUDGET, WINDOW_SECS)).await;
    let crawler = s
        .env
        .crawler_limited(&s.notion_url, budget_limits(), s.env.config.notion_version);
    (s, crawler)
}

fn assert_within_budget(s: &Setup, context: &str) {
    let requests = s.emulator.requests();
    assert!(
        !requests.iter().any(|r| r.status == 429),
        "{context}: the emulator never had to refuse a request"
    );
    let most = s.emulator.max_requests_within(Duration::from_secs(WINDOW_SECS));
    assert!(
        most <= WINDOW_BUDGET as usize,
        "{context}: {most} arrivals in one window, budget {WINDOW_BUDGET}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_holds_on_arrival_in_every_window_even_on_a_starved_machine() {
    let (s, crawler) = budget_setup(25).await;
    assert_eq!(s.sync().await["id"], s.integration.as_str());
    let started = std::time::Instant::now();
    {
        let _hog = CpuHog::start();
        s.env.drain(&crawler, BUDGET).await;
    }
    let state = s.integration_state().await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    let requests = s.emulator.requests().len();
    assert!(
        requests > 2 * WINDOW_BUDGET as usize,
        "the budget mattered: {requests} requests"
    );
    // The limit cost no more than it must: a sustained crawl spends 95% of each window.
    let windows = requests as f64 / (WINDOW_BUDGET as f64 * 0.95);
    assert!(
        started.elapsed().as_secs_f64() >= (windows.ceil() - 1.0) * WINDOW_SECS as f64,
        "{requests} requests in {:?}",
        started.elapsed()
    );
    assert_within_budget(&s, "one run, CPU hogged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_and_back_to_back_runs_never_burst_past_the_budget() {
    // Each invocation hands its limiter's recent answers to the next (checkpoint), so an
    // invocation that starts right after another, of the same run or of the next, does not
    // add a burst on top of the requests Notion counted in the window.
    let (s, crawler) = budget_setup(40).await;
    let _hog = CpuHog::start();
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
    assert_within_budget(&s, &format!("{invocations}+ invocations, CPU hogged"));
    // What was handed over is the last window's answer times.
    let checkpoint = s
        .env
        .scan_items(&s.env.config.table_name)
        .await
        .into_iter()
        .find(|item| item.get("recentRequests").is_some())
        .expect("the finished run left its recent requests");
    let handed = checkpoint["recentRequests"].as_array().unwrap().len();
    assert!((1..=WINDOW_BUDGET as usize).contains(&handed), "{checkpoint}");
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
            window_budget: None,
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
    let client = NotionClient::new(
        reqwest::Client::new(),
        &url,
        TOKEN,
        RequestLimits::per_second(1_000),
        shared::notion::limiter::Pace::Burst,
        policy,
    );
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
            window_budget: None,
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

/// "Request limits": the per-workspace limit "is shared across all of the workspace's
/// connections". One integration meeting it shares the wait; another integration of the
/// same Notion workspace, starting while it lasts, holds back instead of meeting it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_of_one_workspace_back_off_together_from_its_shared_limit() {
    const OTHER: &str = "secret_other_connection_0123456789";
    let s = setup(
        6,
        Plan::default(),
        NotionConfig {
            window_budget: None,
            ..NotionConfig::default()
        },
    )
    .await;
    s.emulator.with_workspace(|ws| {
        ws.tokens.insert(OTHER.into());
    });
    let (other_key, _, other) = s.env.connected(Plan::default(), "Other", OTHER).await;
    let crawler = s.env.crawler(&s.notion_url, 50);
    // A first sync learns the token's workspace (one GET /v1/users/me) and keeps it.
    s.sync().await;
    s.env.drain(&crawler, BUDGET).await;
    assert_eq!(s.integration_state().await["syncStatus"], "synced");
    let asked: Vec<_> = s
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/users/me")
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");

    // Other connections spend the workspace's limit: the next run meets it.
    s.emulator.configure(|c| {
        c.workspace_rps = Some(0);
        c.workspace_retry_after = 6;
    });
    s.emulator.with_workspace(|ws| {
        let id = ws.pages.keys().next().cloned().unwrap();
        ws.touch(&id);
    });
    s.sync().await;
    let met_at = chrono::Utc::now().timestamp_millis();
    s.env.drain(&crawler, BUDGET).await;
    let shared = s
        .env
        .scan_items(&s.env.config.table_name)
        .await
        .into_iter()
        .find(|item| item["pk"] == format!("NOTIONWS#{}", notion_emulator::model::WORKSPACE_ID))
        .expect("the workspace's backoff is shared");
    let number = |name: &str| -> i64 {
        shared[name]
            .as_str()
            .and_then(|n| n.strip_prefix("N:"))
            .unwrap()
            .parse()
            .unwrap()
    };
    let until = number("untilMs");
    assert!(
        until >= met_at + 5_000 && until <= met_at + 8_000,
        "until the Retry-After: {shared}"
    );
    assert!(number("ttl") > until / 1_000, "{shared}");

    // The limit's burst is over at Notion, but the wait it asked for is not: the other
    // integration's first run learns its workspace, finds the wait, and sends nothing else.
    s.emulator.configure(|c| c.workspace_rps = None);
    s.emulator.clear_requests();
    s.env.request_sync(&other_key, &other).await;
    s.env.drain(&crawler, BUDGET).await;
    let sent: Vec<String> = s.emulator.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        sent,
        ["/v1/users/me"],
        "nothing but its workspace's name while the wait lasts"
    );
    assert!(
        chrono::Utc::now().timestamp_millis() < until,
        "the test checked inside the wait"
    );
    let waiting = s.env.fetch_integration(&other_key, &other).await;
    assert_eq!(waiting["syncStatus"], "pending", "{waiting}");

    // After the wait both runs finish.
    let left = (until - chrono::Utc::now().timestamp_millis()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(left + 1_500)).await;
    s.env.drain(&crawler, BUDGET).await;
    assert_eq!(s.integration_state().await["syncStatus"], "synced");
    let done = s.env.fetch_integration(&other_key, &other).await;
    assert_eq!(done["syncStatus"], "synced", "{done}");
    assert_eq!(done["lastSyncSummary"]["complete"], true, "{done}");
    assert!(
        s.emulator.requests().iter().all(|r| r.status != 429),
        "the other integration never met the limit itself"
    );
}
