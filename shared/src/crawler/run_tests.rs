//! What one invocation decides: hand over at the deadline, delete only after a complete
//! enumeration, end in error when Notion refuses the token.

use super::*;
use crate::domain::account::Plan;
use crate::testing::harness::{
    manual_run, memory_crawler, page_id, small_workspace, sync_to_end, texts_by_page, INTEGRATION,
};
use std::time::Duration;

const TOKEN: &str = "secret_run_tests";

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

#[tokio::test(start_paused = true)]
async fn a_run_out_of_time_hands_over_to_a_new_invocation_that_resumes_it() {
    let workspace = small_workspace(TOKEN, 6, 1);
    let (store, crawler) = memory_crawler(Plan::default(), TOKEN, &workspace).await;
    // A deadline already reached: each invocation starts one thing, finishes it, hands over.
    let mut message = manual_run("r1");
    let mut handovers = 0;
    let status = loop {
        match crawler.run(&message, Instant::now()).await.unwrap() {
            RunResult::Continued => {
                handovers += 1;
                let queued = store.take_messages();
                assert_eq!(queued.len(), 1, "exactly one continuation is queued");
                assert_eq!(queued[0].run_id, "r1", "the continuation carries on the same run");
                assert!(
                    store.state().integrations[INTEGRATION].sync_progress.is_some(),
                    "the run shows as in progress between invocations"
                );
                message = queued.into_iter().next().unwrap();
            }
            RunResult::Finished(status) => break status,
            other => panic!("unexpected {other:?}"),
        }
        assert!(handovers < 200, "the run makes progress in every invocation");
    };
    assert_eq!(status, SyncStatus::Synced);
    assert!(
        handovers >= 2,
        "six pages listed one per answer take several invocations"
    );
    let texts = texts_by_page(&store);
    assert_eq!(texts.len(), 6, "every page reached the dataset once: {texts:?}");
    let integration = store.state().integrations[INTEGRATION].clone();
    let summary = serde_json::to_value(integration.last_sync_summary.unwrap()).unwrap();
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["invocations"], handovers + 1);
    assert_eq!(summary["recordsWritten"], 6);
    assert!(integration.sync_progress.is_none(), "a finished run shows no progress");
}

#[tokio::test(start_paused = true)]
async fn a_complete_run_deletes_the_records_of_pages_gone_since() {
    let workspace = small_workspace(TOKEN, 3, 2);
    let (store, crawler) = memory_crawler(Plan::default(), TOKEN, &workspace).await;
    let budget = Duration::from_secs(600);
    assert_eq!(sync_to_end(&crawler, &store, "r1", budget).await.0, SyncStatus::Synced);
    assert_eq!(texts_by_page(&store).len(), 3);
    workspace.remove(&page_id(2));
    let (status, summary) = sync_to_end(&crawler, &store, "r2", budget).await;
    assert_eq!(status, SyncStatus::Synced);
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["recordsDeleted"], 1);
    let pages: Vec<String> = texts_by_page(&store).into_keys().collect();
    assert_eq!(pages, [page_id(1), page_id(3)]);
}

#[tokio::test(start_paused = true)]
async fn a_run_a_plan_limit_stopped_deletes_nothing() {
    let plan = Plan {
        max_pages_per_sync: 2,
        ..Plan::default()
    };
    let workspace = small_workspace(TOKEN, 2, 1);
    let (store, crawler) = memory_crawler(plan, TOKEN, &workspace).await;
    let budget = Duration::from_secs(600);
    assert_eq!(sync_to_end(&crawler, &store, "r1", budget).await.0, SyncStatus::Synced);
    // Page 1 goes; pages 3 and 4 come: the listing passes the limit before it ends.
    workspace.remove(&page_id(1));
    for n in [3, 4] {
        workspace.put(
            &page_id(n),
            crate::testing::MemoryPage {
                title: format!("Page {n}"),
                body: format!("body {n}"),
                edited: "2026-11-02T00:00:00.000Z".into(),
                searchable: true,
                ..Default::default()
            },
        );
    }
    let (status, summary) = sync_to_end(&crawler, &store, "r2", budget).await;
    assert_eq!(status, SyncStatus::Synced);
    assert_eq!(summary["complete"], false);
    assert!(
        summary["stopReason"]
            .as_str()
            .unwrap_or_default()
            .contains("maxPagesPerSync"),
        "{summary}"
    );
    assert_eq!(summary["recordsDeleted"], 0);
    assert!(
        texts_by_page(&store).contains_key(&page_id(1)),
        "a partial run keeps the records of pages it did not see"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_ends_the_run_in_error_and_keeps_the_records() {
    let workspace = small_workspace(TOKEN, 2, 5);
    let (store, crawler) = memory_crawler(Plan::default(), TOKEN, &workspace).await;
    assert_eq!(
        crawler.run(&manual_run("r1"), far()).await.unwrap(),
        RunResult::Finished(SyncStatus::Synced)
    );
    let before = texts_by_page(&store);
    workspace.revoke();
    assert_eq!(
        crawler.run(&manual_run("r2"), far()).await.unwrap(),
        RunResult::Finished(SyncStatus::Error)
    );
    let integration = store.state().integrations[INTEGRATION].clone();
    assert_eq!(integration.sync_error.as_deref(), Some(UNAUTHORIZED_ERROR));
    assert_eq!(texts_by_page(&store), before, "no record is touched");
    assert!(store.take_messages().is_empty(), "nothing is queued after the failure");
}

#[tokio::test(start_paused = true)]
async fn a_page_whose_markdown_404s_is_read_by_walking_its_blocks() {
    let workspace = small_workspace(TOKEN, 3, 5);
    workspace.refuse_markdown();
    let (store, crawler) = memory_crawler(Plan::default(), TOKEN, &workspace).await;
    let (status, summary) = sync_to_end(&crawler, &store, "r1", Duration::from_secs(600)).await;
    assert_eq!(status, SyncStatus::Synced);
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["pagesFailed"], 0);
    assert_eq!(summary["markdownFallbacks"], 3);
    let texts = texts_by_page(&store);
    assert_eq!(texts.len(), 3);
    assert!(texts[&page_id(2)].contains("body 2"), "{texts:?}");
}

#[tokio::test(start_paused = true)]
async fn a_run_with_a_failed_page_is_not_complete_and_counts_the_cause() {
    let workspace = small_workspace(TOKEN, 3, 5);
    workspace.make_unreadable(&page_id(2));
    let (store, crawler) = memory_crawler(Plan::default(), TOKEN, &workspace).await;
    let (status, summary) = sync_to_end(&crawler, &store, "r1", Duration::from_secs(600)).await;
    assert_eq!(status, SyncStatus::Synced, "other pages were read");
    assert_eq!(summary["complete"], false, "{summary}");
    assert_eq!(summary["pagesFailed"], 1);
    assert_eq!(summary["pagesFailedByCause"], serde_json::json!({"notFound": 1}));
    assert_eq!(texts_by_page(&store).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_run_that_reads_nothing_while_pages_fail_ends_in_error_and_keeps_the_records() {
    let workspace = small_workspace(TOKEN, 2, 5);
    let (store, crawler) = memory_crawler(Plan::default(), TOKEN, &workspace).await;
    let budget = Duration::from_secs(600);
    assert_eq!(sync_to_end(&crawler, &store, "r1", budget).await.0, SyncStatus::Synced);
    let synced_at = store.state().integrations[INTEGRATION].last_synced_at.clone();
    let before = texts_by_page(&store);
    // Both pages edited, and now unreadable.
    for n in [1, 2] {
        workspace.edit(&page_id(n), |p| p.edited = "2026-11-20T00:00:00.000Z".into());
        workspace.make_unreadable(&page_id(n));
    }
    let (status, summary) = sync_to_end(&crawler, &store, "r2", budget).await;
    assert_eq!(status, SyncStatus::Error);
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["pagesRead"], 0);
    assert_eq!(summary["pagesFailedByCause"], serde_json::json!({"notFound": 2}));
    let integration = store.state().integrations[INTEGRATION].clone();
    let error = integration.sync_error.unwrap_or_default();
    assert!(
        error.contains("No page could be read: 2 failed (2 notFound)"),
        "{error}"
    );
    assert_eq!(
        integration.last_synced_at, synced_at,
        "a failed run does not move lastSyncedAt"
    );
    assert_eq!(texts_by_page(&store), before, "the records stay as they were");
}
