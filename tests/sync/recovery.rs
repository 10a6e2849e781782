//! Failures and interruptions: retried faults, a rejected token, crashes, continuations and duplicate deliveries, deletion and configuration changes mid-run, progress while a run is active.

use super::*;

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

/// "Real data" (issue 22): the markdown endpoint answered 404 for every page while the pages
/// and blocks APIs served them; the sync wrote nothing and said `synced`, `complete: true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_whose_markdown_404s_are_synced_by_their_blocks_and_unreadable_ones_are_an_error() {
    let s = setup(12, Plan::default(), unlimited()).await;
    s.emulator.inject(Fault {
        path_contains: "/markdown".into(),
        status: 404,
        times: 10_000,
        ..Fault::default()
    });
    let state = s.sync_and_drain(40).await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    let sum = summary(&state);
    assert_eq!(sum["complete"], true, "{sum}");
    assert_eq!(sum["pagesFailed"], 0, "{sum}");
    assert!(sum["markdownFallbacks"].as_u64().unwrap() >= 12, "{sum}");
    s.assert_mirrors_workspace().await;
    s.emulator.clear_faults();

    // Now every page is edited and its content out of reach (markdown and blocks): the run
    // reads nothing, so it is an error, and the records stay.
    let before = s.texts_by_page().await;
    s.emulator.with_workspace(|ws| {
        for id in ws.live_pages() {
            ws.touch(&id);
        }
    });
    for path in ["/markdown", "/children"] {
        s.emulator.inject(Fault {
            path_contains: path.into(),
            status: 404,
            times: 10_000,
            ..Fault::default()
        });
    }
    let state = s.sync_and_drain(40).await;
    assert_eq!(state["syncStatus"], "error", "{state}");
    assert!(
        state["syncError"]
            .as_str()
            .unwrap_or_default()
            .starts_with("No page could be read"),
        "{state}"
    );
    let sum = summary(&state);
    assert_eq!(sum["complete"], false, "{sum}");
    assert_eq!(sum["pagesRead"], 0, "{sum}");
    assert!(sum["pagesFailedByCause"]["notFound"].as_u64().unwrap() >= 12, "{sum}");
    assert_eq!(s.texts_by_page().await, before, "records untouched");
}
