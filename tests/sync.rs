//! The sync end to end: the API's sync route, the SQS queue and the crawler against the
//! AWS emulator, reading a generated workspace from the project's Notion emulator.

use integration_tests::TestEnv;
use notion_emulator::generate::{generate, Options};
use notion_emulator::model::Parent;
use notion_emulator::{Config as NotionConfig, Emulator, Fault};
use serde_json::{json, Value};
use shared::crawler::RunResult;
use shared::domain::account::Plan;
use shared::domain::sync::{SyncMessage, Trigger};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "secret_emulated_token_0123456789";
const BUDGET: Duration = Duration::from_secs(600);

struct Setup {
    env: TestEnv,
    emulator: Arc<Emulator>,
    notion_url: String,
    key: String,
    dataset: String,
    integration: String,
}

async fn setup(pages: usize, plan: Plan, notion: NotionConfig) -> Setup {
    let env = TestEnv::with_cooldown(0).await;
    let workspace = generate(&Options {
        pages,
        seed: 42,
        token: TOKEN.into(),
    });
    let emulator = Emulator::new(workspace, notion);
    let notion_url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    let (_, key) = env.account_with(plan).await;
    let dataset = env.create_dataset(&key, &json!({"name": "Wiki"})).await;
    let integration = env
        .create_integration(
            &key,
            &json!({"name": "Wiki", "datasetId": dataset, "token": TOKEN, "expiresIn": 2_592_000_000u64}),
        )
        .await;
    Setup {
        env,
        emulator,
        notion_url,
        key,
        dataset,
        integration,
    }
}

/// The emulator refusing more than `rps` requests a second.
fn limited_to(rps: u32) -> NotionConfig {
    NotionConfig {
        rps: Some(rps),
        ..NotionConfig::default()
    }
}

fn unlimited() -> NotionConfig {
    limited_to(50)
}

impl Setup {
    async fn sync(&self) -> Value {
        let answer = self
            .env
            .post(
                &format!("/api/v1/integration/notion/{}/sync", self.integration),
                &self.key,
                &json!({}),
            )
            .await;
        answer.ok()
    }

    async fn sync_and_drain(&self, max_rps: u32) -> Value {
        assert_eq!(self.sync().await["id"], self.integration.as_str());
        let crawler = self.env.crawler(&self.notion_url, max_rps);
        self.env.drain(&crawler, BUDGET).await;
        self.integration_state().await
    }

    async fn integration_state(&self) -> Value {
        self.env.fetch_integration(&self.key, &self.integration).await
    }

    /// Record texts by Notion page id (chunks joined in order).
    async fn texts_by_page(&self) -> HashMap<String, String> {
        let mut parts: HashMap<String, Vec<(u64, String)>> = HashMap::new();
        for record in self.env.all_records(&self.key, &self.dataset).await {
            let page = record["meta"]["notionPageId"].as_str().unwrap().to_string();
            let chunk = record["meta"]["chunk"].as_u64().unwrap_or(1);
            parts
                .entry(page)
                .or_default()
                .push((chunk, record["text"].as_str().unwrap().to_string()));
        }
        parts
            .into_iter()
            .map(|(page, mut chunks)| {
                chunks.sort();
                (page, chunks.into_iter().map(|(_, t)| t).collect::<String>())
            })
            .collect()
    }

    /// Asserts that every live page has a record holding every block's text.
    async fn assert_mirrors_workspace(&self) {
        let texts = self.texts_by_page().await;
        let (live, expected): (Vec<String>, HashMap<String, Vec<String>>) = self.emulator.with_workspace(|ws| {
            let live = ws.live_pages();
            let expected = live.iter().map(|p| (p.clone(), ws.expected_texts(p))).collect();
            (live, expected)
        });
        assert_eq!(texts.len(), live.len(), "one record set per live page");
        for page in &live {
            let text = texts.get(page).unwrap_or_else(|| panic!("no record for page {page}"));
            let title = self.emulator.with_workspace(|ws| ws.pages[page].title.clone());
            assert!(text.starts_with(&format!("# {title}")), "{page}: {text}");
            for fragment in &expected[page] {
                assert!(
                    text.contains(fragment.as_str()),
                    "page {page} misses {fragment:?}:\n{text}"
                );
            }
        }
    }
}

fn summary(state: &Value) -> &Value {
    &state["lastSyncSummary"]
}

/// Asserts the last run stopped early at the plan limit named `limit`, deleting nothing.
fn assert_stopped_by(state: &Value, limit: &str) {
    let sum = summary(state);
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert_eq!(sum["complete"], false, "{sum}");
    assert!(sum["stopReason"].as_str().unwrap().contains(limit), "{sum}");
    assert_eq!(sum["recordsDeleted"], 0, "{sum}");
}

/// Asserts the last run was complete and skipped no page.
fn assert_clean(state: &Value) {
    let sum = summary(state);
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert_eq!(sum["complete"], true, "{sum}");
    assert_eq!(sum["pagesFailed"], 0, "{sum}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_mirrors_every_page_and_block() {
    let s = setup(120, Plan::default(), unlimited()).await;
    let search_missed = s
        .emulator
        .with_workspace(|ws| ws.pages.values().filter(|p| !p.in_search).count());
    assert!(search_missed > 0, "the workspace has pages search misses");
    let state = s.sync_and_drain(40).await;
    assert_clean(&state);
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert!(state["lastSyncedAt"].as_str().is_some());
    assert_eq!(state["syncError"], Value::Null);
    let sum = summary(&state);
    assert_eq!(sum["complete"], true, "{sum}");
    assert_eq!(sum["pagesSeen"], 120, "{sum}");
    assert_eq!(sum["pagesRead"], 120);
    assert!(sum["recordsWritten"].as_u64().unwrap() >= 120);
    s.assert_mirrors_workspace().await;

    // Records carry SPEC's metadata and the page URL.
    let record = &s.env.all_records(&s.key, &s.dataset).await[0];
    for field in ["notionPageId", "title", "lastEditedTime", "integrationId"] {
        assert!(record["meta"].get(field).is_some(), "{record}");
    }
    assert!(record["source"].as_str().unwrap().starts_with("https://www.notion.so/"));
    assert!(record["expiresAt"].as_str().is_some(), "expiresIn sets expiresAt");

    // Cheap path: about one markdown request per page, no block walk. Children listings
    // happen only to read blocks the markdown leaves out (bookmarks, embeds, ...), one per
    // page that has several of them, and only of that page.
    let requests = s.emulator.requests();
    let markdown = requests.iter().filter(|r| r.path.contains("/markdown")).count();
    assert_eq!(sum["markdownFallbacks"], 0, "no block walk when markdown works: {sum}");
    let listings: Vec<String> = requests
        .iter()
        .filter(|r| r.path.contains("/children"))
        .map(|r| r.path.split('/').nth(3).unwrap_or_default().to_string())
        .collect();
    s.emulator.with_workspace(|ws| {
        for id in &listings {
            assert!(
                ws.pages.contains_key(id),
                "a children listing of a block, not a page: {id}"
            );
        }
    });
    assert!(listings.len() < 120 / 2, "{} children listings", listings.len());
    assert!(
        (120..=130).contains(&markdown),
        "{markdown} markdown requests for 120 pages"
    );
    assert_eq!(sum["notionRequests"].as_u64().unwrap() as usize, requests.len());
    let dataset = s
        .env
        .get(&format!("/api/v1/dataset/{}/fetch", s.dataset), &s.key)
        .await
        .ok();
    assert_eq!(
        dataset["recordCount"].as_u64().unwrap() as usize,
        s.env.all_records(&s.key, &s.dataset).await.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sync_reads_only_changes_and_applies_deletions() {
    let s = setup(80, Plan::default(), unlimited()).await;
    s.sync_and_drain(40).await;
    let before = s.texts_by_page().await;

    let (edited, trashed, unshared, added) = s.emulator.with_workspace(|ws| {
        let roots: Vec<String> = ws
            .pages
            .values()
            .filter(|p| p.parent == Parent::Workspace)
            .map(|p| p.id.clone())
            .collect();
        let leaves: Vec<String> = ws
            .pages
            .values()
            .filter(|p| {
                matches!(p.parent, Parent::Page(_))
                    && !ws.pages.values().any(|c| c.parent == Parent::Page(p.id.clone()))
            })
            .map(|p| p.id.clone())
            .collect();
        let edited: Vec<String> = leaves[0..3].to_vec();
        for page in &edited {
            let block = ws.pages[page].children[0].clone();
            ws.edit_block(&block, &format!("edited text of {page}"));
        }
        let trashed = leaves[3].clone();
        ws.trash_page(&trashed);
        let unshared = leaves[4].clone();
        ws.unshare_page(&unshared);
        let added = ws.add_page(Parent::Page(roots[0].clone()), "Brand new page", false);
        ws.add_block(&added, "paragraph", "fresh content nobody synced yet", Value::Null);
        (edited, trashed, unshared, added)
    });
    s.emulator.clear_requests();
    let state = s.sync_and_drain(40).await;
    assert_clean(&state);
    let sum = summary(&state);
    assert_eq!(sum["complete"], true, "{sum}");
    // Read: the 3 edited pages, the new page and its parent (its content changed).
    assert_eq!(sum["pagesRead"], 5, "{sum}");
    let read: std::collections::HashSet<String> = s
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/markdown"))
        .map(|r| r.path)
        .collect();
    assert_eq!(read.len(), 5, "{read:?}");
    assert!(sum["recordsDeleted"].as_u64().unwrap() >= 2, "{sum}");

    let after = s.texts_by_page().await;
    for page in &edited {
        assert!(after[page].contains(&format!("edited text of {page}")));
    }
    assert!(!after.contains_key(&trashed), "trashed page's records are deleted");
    assert!(!after.contains_key(&unshared), "unshared page's records are deleted");
    assert!(
        after[&added].contains("fresh content nobody synced yet"),
        "a page search misses is found through its parent"
    );
    let untouched = before
        .keys()
        .find(|p| !edited.contains(p) && **p != trashed && **p != unshared)
        .unwrap();
    assert_eq!(before[untouched], after[untouched]);
    s.assert_mirrors_workspace().await;

    // A third sync with nothing changed reads nothing and writes nothing.
    s.emulator.clear_requests();
    let state = s.sync_and_drain(40).await;
    assert_clean(&state);
    let sum = summary(&state);
    assert_eq!(
        (sum["pagesRead"].as_u64(), sum["recordsWritten"].as_u64()),
        (Some(0), Some(0)),
        "{sum}"
    );
    assert!(!s.emulator.requests().iter().any(|r| r.path.contains("/markdown")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_and_the_sync_completes() {
    let s = setup(40, Plan::default(), unlimited()).await;
    for fault in [
        Fault {
            path_contains: "/v1/search".into(),
            status: 429,
            times: 4,
            delay_ms: 0,
            ..Fault::default()
        },
        Fault {
            path_contains: "/markdown".into(),
            status: 500,
            times: 2,
            delay_ms: 0,
            ..Fault::default()
        },
        Fault {
            path_contains: "/markdown".into(),
            status: 502,
            times: 2,
            delay_ms: 0,
            html: true,
            ..Fault::default()
        },
        Fault {
            path_contains: "/markdown".into(),
            status: 503,
            times: 1,
            delay_ms: 0,
            ..Fault::default()
        },
        Fault {
            path_contains: "/markdown".into(),
            status: 529,
            times: 1,
            delay_ms: 0,
            ..Fault::default()
        },
        // Slower than this test's 1 s client timeout: retried.
        Fault {
            path_contains: "/markdown".into(),
            status: 0,
            times: 1,
            delay_ms: 2_500,
            ..Fault::default()
        },
    ] {
        s.emulator.inject(fault);
    }
    assert_eq!(s.sync().await["id"], s.integration.as_str());
    let mut crawler = s.env.crawler(&s.notion_url, 40);
    crawler.settings.retry.timeout = Duration::from_secs(1);
    s.env.drain(&crawler, BUDGET).await;
    let state = s.integration_state().await;
    assert_clean(&state);
    assert_eq!(state["syncStatus"], "synced", "{state}");
    let sum = summary(&state);
    assert_eq!(sum["complete"], true, "{sum}");
    assert!(sum["retries"].as_u64().unwrap() >= 10, "{sum}");
    assert!(sum["rateLimited"].as_u64().unwrap() >= 4, "{sum}");
    s.assert_mirrors_workspace().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_failures_fall_back_to_the_block_walk_and_truncation_is_completed() {
    // Small answers: every large page comes back truncated, with unknown_block_ids.
    let s = setup(
        30,
        Plan::default(),
        NotionConfig {
            rps: Some(50),
            markdown_block_limit: 6,
            ..NotionConfig::default()
        },
    )
    .await;
    // And some pages' markdown is refused outright.
    s.emulator.inject(Fault {
        path_contains: "/markdown".into(),
        status: 400,
        times: 5,
        delay_ms: 0,
        ..Fault::default()
    });
    let state = s.sync_and_drain(40).await;
    assert_clean(&state);
    let sum = summary(&state);
    assert_eq!(sum["complete"], true, "{sum}");
    assert!(sum["markdownFallbacks"].as_u64().unwrap() >= 5, "{sum}");
    assert!(
        s.emulator.requests().iter().any(|r| r.path.contains("/children")),
        "block walk used"
    );
    s.assert_mirrors_workspace().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_ends_the_run_with_an_error_and_keeps_records() {
    let s = setup(20, Plan::default(), unlimited()).await;
    s.sync_and_drain(40).await;
    let before = s.texts_by_page().await;
    s.emulator.with_workspace(|ws| ws.tokens.clear());
    let state = s.sync_and_drain(40).await;
    assert_eq!(state["syncStatus"], "error");
    assert!(state["syncError"].as_str().unwrap().contains("401"), "{state}");
    assert_eq!(s.texts_by_page().await, before, "records untouched");
    let previous_success = state["lastSyncedAt"].clone();
    assert!(
        previous_success.as_str().is_some(),
        "lastSyncedAt keeps the last success"
    );
}

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
async fn continuation_crash_resume_and_duplicates_never_duplicate_records() {
    let s = setup(60, Plan::default(), unlimited()).await;
    let crawler = s.env.crawler(&s.notion_url, 40);
    // Tiny invocation budgets: the run checkpoints and continues many times.
    s.sync().await;
    s.env.drain(&crawler, Duration::from_millis(500)).await;
    let state = s.integration_state().await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert!(
        summary(&state)["invocations"].as_u64().unwrap() > 1,
        "{}",
        summary(&state)
    );
    s.assert_mirrors_workspace().await;

    // A crash mid-run: the invocation dies holding its lease; the redelivered message
    // resumes from the checkpoint once the lease has expired.
    s.emulator.with_workspace(|ws| {
        let ids: Vec<String> = ws.pages.keys().take(10).cloned().collect();
        for id in ids {
            let block = ws.pages[&id].children[0].clone();
            ws.edit_block(&block, &format!("after crash {id}"));
        }
    });
    let mut short_lease = s.env.crawler(&s.notion_url, 40);
    short_lease.settings.lease = Duration::from_secs(5);
    let message = SyncMessage {
        account_id: account_of(&s).await,
        integration_id: s.integration.clone(),
        run_id: "01CRASHRUN0000000000000000".into(),
        trigger: Trigger::Manual,
    };
    // The invocation dies while it waits for a slow Notion search, after its run started.
    s.emulator.inject(Fault {
        path_contains: "/v1/search".into(),
        status: 0,
        times: 1,
        delay_ms: 4_000,
        ..Fault::default()
    });
    let crashed = tokio::time::timeout(
        Duration::from_millis(1_500),
        short_lease.run(&message, tokio::time::Instant::now() + BUDGET),
    )
    .await;
    assert!(crashed.is_err(), "the first invocation was cut off mid-run");
    // Redelivered at once: the lease is still held, so this duplicate is dropped.
    let duplicate = short_lease
        .run(&message, tokio::time::Instant::now() + BUDGET)
        .await
        .unwrap();
    assert!(matches!(duplicate, RunResult::Dropped(_)), "{duplicate:?}");
    // Past the 5 s lease (whole seconds, so up to 6 s after it was taken).
    tokio::time::sleep(Duration::from_millis(5_600)).await;
    // Two deliveries after expiry, the second while the first is running: one resumes,
    // the other finds the lease held and is dropped.
    let (a, b) = tokio::join!(
        short_lease.run(&message, tokio::time::Instant::now() + BUDGET),
        short_lease.run(&message, tokio::time::Instant::now() + BUDGET)
    );
    let results = [a.unwrap(), b.unwrap()];
    assert_eq!(
        results.iter().filter(|r| matches!(r, RunResult::Finished(_))).count(),
        1,
        "{results:?}"
    );
    // A late duplicate of the finished run does nothing.
    let late = short_lease
        .run(&message, tokio::time::Instant::now() + BUDGET)
        .await
        .unwrap();
    assert_eq!(late, RunResult::Dropped("this run already finished"));
    let state = s.integration_state().await;
    assert_clean(&state);
    assert!(
        summary(&state)["invocations"].as_u64().unwrap() >= 2,
        "{}",
        summary(&state)
    );
    s.assert_mirrors_workspace().await;
    let texts = s.texts_by_page().await;
    assert!(texts.values().filter(|t| t.contains("after crash")).count() == 10);
}

async fn account_of(s: &Setup) -> String {
    use shared::ports::AccountStore;
    let hash = shared::domain::account::hash_api_key(&s.key);
    s.env.store.account_id_for_key(&hash).await.unwrap().unwrap()
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
async fn deleting_the_integration_mid_run_stops_it_and_keeps_records() {
    let s = setup(60, Plan::default(), unlimited()).await;
    let crawler = s.env.crawler(&s.notion_url, 40);
    s.sync().await;
    let url = s.env.config.sync_queue_url.clone().unwrap();
    // One short invocation: some records are written, a continuation is queued.
    shared::runtime::poll_once(&s.env.sqs, &url, &crawler, Duration::from_millis(400), 0)
        .await
        .unwrap();
    let written = s.env.all_records(&s.key, &s.dataset).await.len();
    assert!(written < 60, "the run was stopped mid-way ({written} records)");
    s.env
        .post(
            &format!("/api/v1/integration/notion/{}/delete", s.integration),
            &s.key,
            &json!({}),
        )
        .await
        .ok();
    s.env.drain(&crawler, BUDGET).await;
    assert_eq!(
        s.env.all_records(&s.key, &s.dataset).await.len(),
        written,
        "the stopped run wrote and deleted nothing more"
    );
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
async fn block_walk_alone_reads_everything_including_tables_over_100_rows() {
    let s = setup(30, Plan::default(), unlimited()).await;
    let has_big_table = s
        .emulator
        .with_workspace(|ws| ws.blocks.values().any(|b| b.kind == "table" && b.children.len() > 100));
    assert!(has_big_table);
    // The markdown endpoint refuses every page: the crawler walks blocks instead.
    s.emulator.inject(Fault {
        path_contains: "/markdown".into(),
        status: 400,
        times: 10_000,
        delay_ms: 0,
        ..Fault::default()
    });
    let state = s.sync_and_drain(40).await;
    assert_clean(&state);
    assert_eq!(summary(&state)["markdownFallbacks"], 30);
    let requests = s.emulator.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.contains("/children") && r.path.contains("start_cursor=")),
        "paged children"
    );
    s.assert_mirrors_workspace().await;
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
async fn a_running_sync_keeps_the_token_and_dataset_it_started_with() {
    let s = setup(40, Plan::default(), unlimited()).await;
    // 10 requests per second: one 300 ms invocation cannot read the whole workspace.
    let crawler = s.env.crawler(&s.notion_url, 10);
    s.sync().await;
    let url = s.env.config.sync_queue_url.clone().unwrap();
    // One short invocation, then the configuration changes under the running sync.
    shared::runtime::poll_once(&s.env.sqs, &url, &crawler, Duration::from_millis(300), 0)
        .await
        .unwrap();
    let other_dataset = s.env.create_dataset(&s.key, &json!({"name": "next"})).await;
    let update = format!("/api/v1/integration/notion/{}/update", s.integration);
    // A token Notion does not accept, and another dataset: both for the next sync only.
    s.env
        .post(
            &update,
            &s.key,
            &json!({"token": "secret_rotated_but_not_yet_valid", "datasetId": other_dataset}),
        )
        .await
        .ok();
    s.env.drain(&crawler, BUDGET).await;
    let state = s.integration_state().await;
    assert_clean(&state);
    assert!(
        summary(&state)["invocations"].as_u64().unwrap() > 1,
        "{}",
        summary(&state)
    );
    s.assert_mirrors_workspace().await;
    assert!(s.env.all_records(&s.key, &other_dataset).await.is_empty());

    // The next sync uses the new configuration: the rotated token is refused.
    let state = s.sync_and_drain(40).await;
    assert_eq!(state["syncStatus"], "error", "{state}");
    assert!(state["syncError"].as_str().unwrap().contains("401"));
}

/// Ids of `n` pages search returns, from the end of its order (past a small cap), that
/// have no child pages or databases of their own.
fn searchable_leaves_from_the_end(ws: &notion_emulator::model::Workspace, n: usize) -> Vec<String> {
    let mut ids: Vec<String> = ws
        .pages
        .values()
        .filter(|p| p.in_search && matches!(p.parent, Parent::Page(_) | Parent::Workspace))
        .filter(|p| !ws.pages.values().any(|c| c.parent == Parent::Page(p.id.clone())))
        .filter(|p| {
            !ws.databases
                .values()
                .any(|d| d.parent_page.as_deref() == Some(p.id.as_str()))
        })
        .map(|p| p.id.clone())
        .collect();
    ids.sort();
    ids.into_iter().rev().take(n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_search_cursor_restarts_the_listing_and_the_sync_completes() {
    let s = setup(260, Plan::default(), unlimited()).await;
    // Notion invalidates the cursor of the second search page once.
    s.emulator.inject(Fault {
        path_contains: "/v1/search".into(),
        expired_cursor: true,
        times: 1,
        ..Fault::default()
    });
    let state = s.sync_and_drain(50).await;
    assert_clean(&state);
    let sum = summary(&state);
    assert!(sum["listingShortfall"].is_null(), "a restart recovers fully: {sum}");
    let searches: Vec<_> = s
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/search")
        .collect();
    assert!(
        searches.iter().any(|r| r.status == 400),
        "the fault was served: {searches:?}"
    );
    assert!(searches.len() >= 4, "listed again from the start: {}", searches.len());
    s.assert_mirrors_workspace().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_that_keep_expiring_fall_back_to_checking_known_pages() {
    let s = setup(260, Plan::default(), unlimited()).await;
    s.sync_and_drain(50).await;
    let (trashed, edited) = s.emulator.with_workspace(|ws| {
        let leaves = searchable_leaves_from_the_end(ws, 2);
        ws.trash_page(&leaves[0]);
        let block = ws.pages[&leaves[1]].children[0].clone();
        ws.edit_block(&block, "edited past the listing");
        (leaves[0].clone(), leaves[1].clone())
    });
    // Every cursor expires: search never gets past its first page.
    s.emulator.inject(Fault {
        path_contains: "/v1/search".into(),
        expired_cursor: true,
        times: 1_000,
        ..Fault::default()
    });
    let state = s.sync_and_drain(50).await;
    assert_clean(&state);
    let sum = summary(&state);
    assert!(
        sum["listingShortfall"].as_str().unwrap().contains("search failed"),
        "{sum}"
    );
    let after = s.texts_by_page().await;
    assert!(!after.contains_key(&trashed), "a trashed page is still found gone");
    assert!(
        after[&edited].contains("edited past the listing"),
        "changes are still read"
    );
    s.assert_mirrors_workspace().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notions_result_cap_never_loses_records_and_still_applies_deletions() {
    let s = setup(120, Plan::default(), unlimited()).await;
    s.sync_and_drain(50).await;
    let before = s.texts_by_page().await;
    // From now on search and queries stop at 30 results, as Notion's do at 10,000.
    s.emulator.configure(|c| c.result_cap = 30);
    let (trashed, edited) = s.emulator.with_workspace(|ws| {
        let leaves = searchable_leaves_from_the_end(ws, 2);
        ws.trash_page(&leaves[0]);
        let block = ws.pages[&leaves[1]].children[0].clone();
        ws.edit_block(&block, "edited beyond the cap");
        (leaves[0].clone(), leaves[1].clone())
    });
    let state = s.sync_and_drain(50).await;
    assert_clean(&state);
    let sum = summary(&state);
    assert!(sum["listingShortfall"].as_str().unwrap().contains("10,000"), "{sum}");
    assert!(
        s.emulator
            .requests()
            .iter()
            .any(|r| r.path == "/v1/search" && r.status == 200),
        "search was used"
    );
    let after = s.texts_by_page().await;
    assert_eq!(after.len(), before.len() - 1, "only the trashed page's records went");
    assert!(!after.contains_key(&trashed));
    assert!(after[&edited].contains("edited beyond the cap"));
    s.assert_mirrors_workspace().await;
}

/// Adds a database of `rows` rows hidden from search, created `spacing` seconds apart; sets
/// the emulator's result cap just above what search returns. Returns the row ids and the cap.
fn big_database(s: &Setup, rows: usize, spacing: i64) -> (Vec<String>, usize) {
    let (ids, searchable) = s.emulator.with_workspace(|ws| {
        let host = ws.add_page(Parent::Workspace, "Big database host", true);
        let (db, _) = ws.add_database(&host, "Big", true);
        let base = ws.tick();
        let mut ids = Vec::new();
        for i in 0..rows {
            let id = ws.add_row(&db, &format!("Row {i}"), serde_json::Map::new());
            let page = ws.pages.get_mut(&id).unwrap();
            page.in_search = false;
            page.created = base + i as i64 * spacing;
            ids.push(id);
        }
        let searchable = ws.pages.values().filter(|p| p.in_search && ws.alive(&p.id)).count()
            + ws.databases.values().filter(|d| d.in_search).count();
        (ids, searchable)
    });
    let cap = searchable + 1;
    assert!(
        cap * 2 < rows,
        "the database must exceed the cap several times ({cap} vs {rows})"
    );
    s.emulator.configure(|c| c.result_cap = cap);
    (ids, cap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sources_past_notions_result_cap_are_read_in_created_time_windows() {
    let s = setup(20, Plan::default(), unlimited()).await;
    let (rows, _) = big_database(&s, 90, 60);
    let state = s.sync_and_drain(50).await;
    assert_clean(&state);
    let sum = summary(&state);
    assert!(sum["listingShortfall"].is_null(), "{sum}");
    let texts = s.texts_by_page().await;
    for row in &rows {
        assert!(texts.contains_key(row), "row {row} past the cap was read");
    }
    let windows = s
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/query"))
        .count();
    assert!(windows >= 3, "several windows were queried: {windows}");
    s.assert_mirrors_workspace().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_that_cannot_advance_is_reported_and_deletes_nothing_wrongly() {
    let s = setup(20, Plan::default(), unlimited()).await;
    // Every row created in the same minute: windows by created_time cannot split them.
    let (rows, cap) = big_database(&s, 90, 0);
    let state = s.sync_and_drain(50).await;
    let sum = summary(&state);
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert!(
        sum["listingShortfall"].as_str().unwrap().contains("one minute"),
        "{sum}"
    );
    let texts = s.texts_by_page().await;
    let read = rows.iter().filter(|r| texts.contains_key(*r)).count();
    assert!(
        read >= cap.min(rows.len()) && read < rows.len(),
        "{read} of {} rows",
        rows.len()
    );
    // A second sync still keeps every record it wrote: unseen rows are checked, not deleted.
    let state = s.sync_and_drain(50).await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    let after = s.texts_by_page().await;
    for (page, text) in &texts {
        assert_eq!(after.get(page), Some(text), "record of {page} kept");
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_checkpoints_resumes_and_deletes_exactly() {
    let s = setup(60, Plan::default(), unlimited()).await;
    s.sync_and_drain(40).await;
    let trashed = s.emulator.with_workspace(|ws| {
        let leaves = searchable_leaves_from_the_end(ws, 2);
        for page in &leaves {
            ws.trash_page(page);
        }
        leaves
    });
    let mut crawler = s.env.crawler(&s.notion_url, 4);
    crawler.settings.lease = Duration::from_secs(3);
    crawler.settings.checkpoint_every = Duration::from_millis(100);
    let message = SyncMessage {
        account_id: account_of(&s).await,
        integration_id: s.integration.clone(),
        run_id: "01CHECKPOINTCRASH000000000".into(),
        trigger: Trigger::Manual,
    };
    // Dies mid-run, after several checkpoints (at 4 requests a second the run takes seconds).
    let crashed = tokio::time::timeout(
        Duration::from_millis(1_500),
        crawler.run(&message, tokio::time::Instant::now() + BUDGET),
    )
    .await;
    assert!(crashed.is_err(), "the invocation was cut off mid-run");
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    let resumed = crawler
        .run(&message, tokio::time::Instant::now() + BUDGET)
        .await
        .unwrap();
    assert!(matches!(resumed, RunResult::Finished(_)), "{resumed:?}");
    let state = s.integration_state().await;
    let sum = summary(&state);
    assert_eq!(sum["complete"], true, "{sum}");
    assert!(
        sum["listingShortfall"].as_str().unwrap().contains("interrupted"),
        "{sum}"
    );
    let texts = s.texts_by_page().await;
    for page in &trashed {
        assert!(!texts.contains_key(page), "trashed page {page} deleted");
    }
    s.assert_mirrors_workspace().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_shown_while_a_run_is_active_and_cleared_when_it_ends() {
    let s = setup(40, Plan::default(), unlimited()).await;
    // 8 requests a second: the run takes several seconds, with a checkpoint every second.
    let crawler = s.env.crawler(&s.notion_url, 8);
    s.sync().await;
    let done = std::sync::atomic::AtomicBool::new(false);
    let drain = async {
        s.env.drain(&crawler, BUDGET).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let watch = async {
        let mut seen = Vec::new();
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let state = s.integration_state().await;
            if !state["syncProgress"].is_null() {
                assert_eq!(state["syncStatus"], "pending", "{state}");
                seen.push(state["syncProgress"].clone());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        seen
    };
    let ((), seen) = tokio::join!(drain, watch);
    assert!(!seen.is_empty(), "progress was shown during the run");
    let run_id = seen[0]["runId"].as_str().unwrap().to_string();
    for p in &seen {
        assert_eq!(p["runId"], run_id.as_str(), "{p}");
        assert_eq!(p["trigger"], "manual", "{p}");
        assert!(p["startedAt"].as_str().unwrap().ends_with('Z'), "{p}");
    }
    let read: Vec<u64> = seen.iter().map(|p| p["pagesRead"].as_u64().unwrap()).collect();
    assert!(read.windows(2).all(|w| w[0] <= w[1]), "{read:?}");
    assert!(
        seen.iter()
            .any(|p| p["pagesRead"].as_u64().unwrap() > 0 && p["recordsWritten"].as_u64().unwrap() > 0),
        "{seen:?}"
    );
    let state = s.integration_state().await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert!(state["syncProgress"].is_null(), "{state}");
    assert_eq!(summary(&state)["runId"], run_id.as_str());
}
