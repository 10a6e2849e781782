//! The crawler over the in-memory ports and workspace: what a run writes, skips, deletes
//! and hands over, in milliseconds.

use super::*;
use shared::crawler::RunResult;
use shared::domain::integration::SyncStatus;
use shared::domain::sync::SyncMessage;
use tokio::time::Instant;

fn message(run: &str) -> SyncMessage {
    shared::testing::harness::manual_run(run)
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

fn summary(h: &Harness) -> serde_json::Value {
    h.integration().last_sync_summary.expect("a summary")
}

/// A workspace of a root, two searchable pages and a page search does not return.
fn small_workspace(h: &Harness) {
    h.page("root", "root body", &["a", "hidden"], true);
    h.page("a", "alpha text", &[], true);
    h.page("b", "bravo text", &[], true);
    h.page("hidden", "hidden text", &[], false);
}

#[tokio::test(start_paused = true)]
async fn a_full_sync_writes_every_page_including_ones_search_misses() {
    let h = Harness::new(Plan::default()).await;
    small_workspace(&h);
    let result = h.crawler().run(&message("r1"), far()).await.unwrap();
    assert_eq!(result, RunResult::Finished(SyncStatus::Synced));
    let texts = h.texts();
    assert_eq!(texts.len(), 4, "{texts:?}");
    for word in ["root body", "alpha text", "bravo text", "hidden text"] {
        assert!(texts.iter().any(|t| t.contains(word)), "{word} missing from {texts:?}");
    }
    let s = summary(&h);
    assert_eq!(
        (s["complete"].as_bool(), s["pagesSeen"].as_u64()),
        (Some(true), Some(4))
    );
    assert_eq!(h.integration().sync_status, Some(SyncStatus::Synced));
    assert!(h.integration().last_synced_at.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_second_sync_with_no_change_reads_and_writes_nothing() {
    let h = Harness::new(Plan::default()).await;
    small_workspace(&h);
    h.crawler().run(&message("r1"), far()).await.unwrap();
    let before = h.workspace.requests();
    h.crawler().run(&message("r2"), far()).await.unwrap();
    let s = summary(&h);
    assert_eq!(s["recordsWritten"], 0, "{s}");
    assert_eq!(s["pagesRead"], 0, "{s}");
    assert_eq!(s["pagesUnchanged"], 4, "{s}");
    // One search page (three pages fit) and one retrieve for the page search misses.
    assert_eq!(h.workspace.requests() - before, 2, "{s}");
    assert_eq!(s["notionRequests"], 2, "{s}");
}

#[tokio::test(start_paused = true)]
async fn an_edit_rewrites_its_page_and_a_removed_page_loses_its_records() {
    let h = Harness::new(Plan::default()).await;
    small_workspace(&h);
    h.crawler().run(&message("r1"), far()).await.unwrap();
    h.workspace.edit(&page_id("a"), |p| {
        p.body = "alpha edited".into();
        p.edited = "2026-11-02T00:00:00.000Z".into();
    });
    h.workspace.remove(&page_id("b"));
    h.crawler().run(&message("r2"), far()).await.unwrap();
    let texts = h.texts();
    assert!(texts.iter().any(|t| t.contains("alpha edited")), "{texts:?}");
    assert!(!texts.iter().any(|t| t.contains("bravo")), "{texts:?}");
    let s = summary(&h);
    assert_eq!(
        (s["recordsWritten"].as_u64(), s["recordsDeleted"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_past_its_deadline_continues_in_a_new_invocation_and_ends_the_same() {
    let h = Harness::new(Plan::default()).await;
    for i in 0..30 {
        h.page(&format!("p{i:02}"), &format!("text {i}"), &[], true);
    }
    let crawler = h.crawler();
    // A deadline already passed: each invocation starts something, then hands over.
    let first = crawler.run(&message("r1"), Instant::now()).await.unwrap();
    assert_eq!(first, RunResult::Continued);
    let mut invocations = 1;
    loop {
        let queued = h.store.take_messages();
        assert_eq!(queued.len(), 1, "one continuation is queued");
        invocations += 1;
        match crawler
            .run(&queued[0], Instant::now() + Duration::from_millis(1))
            .await
            .unwrap()
        {
            RunResult::Continued => assert!(invocations < 100, "the run does not progress"),
            RunResult::Finished(status) => {
                assert_eq!(status, SyncStatus::Synced);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(h.texts().len(), 30);
    let s = summary(&h);
    assert_eq!(s["invocations"], invocations, "{s}");
    assert_eq!(s["complete"], true, "{s}");
    assert_eq!(s["pagesSeen"], 30, "{s}");
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_delivery_while_the_lease_is_held_is_dropped_and_a_late_one_too() {
    let h = Harness::new(Plan::default()).await;
    small_workspace(&h);
    let crawler = h.crawler();
    assert_eq!(
        crawler.run(&message("r1"), Instant::now()).await.unwrap(),
        RunResult::Continued
    );
    // Another invocation holds nothing now (the lease was released at hand-over): take it.
    let msg = h.store.take_messages().remove(0);
    let (a, b) = tokio::join!(crawler.run(&msg, far()), crawler.run(&msg, far()));
    let results = [a.unwrap(), b.unwrap()];
    assert_eq!(
        results.iter().filter(|r| matches!(r, RunResult::Finished(_))).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        crawler.run(&msg, far()).await.unwrap(),
        RunResult::Dropped("this run already finished")
    );
    assert_eq!(h.texts().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_revoked_token_ends_the_run_in_error_and_keeps_the_records() {
    let h = Harness::new(Plan::default()).await;
    small_workspace(&h);
    h.crawler().run(&message("r1"), far()).await.unwrap();
    h.workspace.revoke();
    let result = h.crawler().run(&message("r2"), far()).await.unwrap();
    assert_eq!(result, RunResult::Finished(SyncStatus::Error));
    assert_eq!(h.integration().sync_status, Some(SyncStatus::Error));
    assert_eq!(
        h.integration().sync_error.as_deref(),
        Some(shared::crawler::UNAUTHORIZED_ERROR)
    );
    assert_eq!(h.texts().len(), 4, "records stay as they are");
}

#[tokio::test(start_paused = true)]
async fn the_page_limit_stops_the_run_without_deleting() {
    let h = Harness::new(Plan {
        max_pages_per_sync: 3,
        ..Plan::default()
    })
    .await;
    for i in 0..8 {
        h.page(&format!("p{i}"), &format!("text {i}"), &[], true);
    }
    h.crawler().run(&message("r1"), far()).await.unwrap();
    let s = summary(&h);
    assert_eq!(s["pagesSeen"], 3, "{s}");
    assert_eq!(s["complete"], false, "{s}");
    assert!(s["stopReason"].as_str().unwrap().contains("maxPagesPerSync"), "{s}");
    assert_eq!(h.texts().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_time_limit_counts_across_paused_time() {
    let h = Harness::new(Plan {
        max_sync_seconds: 60,
        ..Plan::default()
    })
    .await;
    small_workspace(&h);
    let crawler = h.crawler();
    assert_eq!(
        crawler.run(&message("r1"), Instant::now()).await.unwrap(),
        RunResult::Continued
    );
    // The continuation is delivered two minutes later: past maxSyncSeconds.
    tokio::time::advance(Duration::from_secs(120)).await;
    let msg = h.store.take_messages().remove(0);
    let result = crawler.run(&msg, far()).await.unwrap();
    assert_eq!(result, RunResult::Finished(SyncStatus::Synced));
    let s = summary(&h);
    assert!(s["stopReason"].as_str().unwrap().contains("maxSyncSeconds"), "{s}");
    assert_eq!(s["complete"], false, "{s}");
}
