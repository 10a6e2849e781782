//! Minute rounding (SPEC §2, §2.2): Notion stamps `last_edited_time` to the minute, so an edit
//! made after a read but within the same minute leaves the stamp as the read saw it. A read
//! started before the stamp's minute (plus skew) closed is not settled: the next run reads the
//! page again whatever its stamp says, and a targeted run queues one follow-up read for after
//! the minute closes. On tokio's paused clock, starting at 2026-12-01T00:00:00Z.

use super::*;
use shared::crawler::webhook::FlushResult;
use shared::domain::time::NOTION_CLOCK_SKEW_SECS;
use shared::domain::webhook::Work;
use shared::ports::WebhookStore;
use tokio::time::Instant;

/// The minute the harness clock starts in, as Notion stamps it.
const EDIT_MINUTE: &str = "2026-12-01T00:00:00.000Z";

async fn run(h: &Harness, run: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    h.crawler()
        .run(&shared::testing::harness::manual_run(run), deadline)
        .await
        .unwrap();
    h.integration().last_sync_summary.expect("a summary")
}

fn text_of(h: &Harness, name: &str) -> String {
    let texts = h.texts();
    texts
        .iter()
        .find(|t| t.contains(&format!("Title {name}")))
        .cloned()
        .unwrap_or_else(|| panic!("no record of {name} in {texts:?}"))
}

/// Sets page `name`'s body, stamped within [`EDIT_MINUTE`].
fn type_into(h: &Harness, name: &str, body: &str) {
    h.workspace.edit(&page_id(name), |p| {
        p.body = body.into();
        p.edited = EDIT_MINUTE.into();
    });
}

/// Moves the paused clock to `second` seconds past the harness's start (the edit minute's).
async fn at_second(h: &Harness, second: i64) {
    let start = chrono::DateTime::parse_from_rfc3339(EDIT_MINUTE).unwrap().timestamp();
    let now = shared::domain::time::Clock::now(h.clock.as_ref()).timestamp();
    assert!(start + second >= now, "time only moves forward");
    tokio::time::advance(Duration::from_secs((start + second - now) as u64)).await;
}

#[tokio::test(start_paused = true)]
async fn a_second_edit_in_the_minute_of_a_read_reaches_the_records_on_full_and_incremental_runs() {
    let h = Harness::new(Plan::default()).await;
    h.page("a", "first words", &[], true);
    h.page("b", "bravo words", &[], true);
    type_into(&h, "a", "first words");

    at_second(&h, 5).await;
    let s = run(&h, "r1").await;
    assert_eq!(s["pagesRead"], 2, "{s}");
    assert!(text_of(&h, "a").contains("first words"));

    // Typed on 15 s later: Notion's stamp stays in the same minute.
    at_second(&h, 20).await;
    type_into(&h, "a", "second words");
    at_second(&h, 25).await;
    let s = run(&h, "r2").await;
    assert!(text_of(&h, "a").contains("second words"), "the second edit is kept");
    assert_eq!(
        (
            s["pagesRead"].as_u64(),
            s["pagesUnchanged"].as_u64(),
            s["recordsWritten"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "only the unsettled page is read again: {s}"
    );

    // Still inside the minute plus skew: read again, nothing to write.
    at_second(&h, 69).await;
    let s = run(&h, "r3").await;
    assert_eq!(
        (s["pagesRead"].as_u64(), s["recordsWritten"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );

    // The first read after the minute closed settles the page; the next run skips it.
    at_second(&h, 60 + NOTION_CLOCK_SKEW_SECS).await;
    let s = run(&h, "r4").await;
    assert_eq!(s["pagesRead"], 1, "{s}");
    let s = run(&h, "r5").await;
    assert_eq!(
        (s["pagesRead"].as_u64(), s["pagesUnchanged"].as_u64()),
        (Some(0), Some(2)),
        "{s}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_targeted_run_within_the_edit_minute_queues_one_follow_up_read_after_it() {
    let h = Harness::new(Plan::default()).await;
    h.page("a", "first words", &[], true);
    h.page("b", "bravo words", &[], true);
    run(&h, "full").await;
    let crawler = h.crawler();

    // Someone types; the event's targeted run reads the page 10 s into the minute.
    type_into(&h, "a", "typed words");
    at_second(&h, 10).await;
    h.store
        .add_work(INTEGRATION, &[Work::Page(page_id("a")).key()], "2026-12-01T00:00:10Z")
        .await
        .unwrap();
    assert_eq!(crawler.flush(&flush()).await.unwrap(), FlushResult::Queued);
    let ran = h.store.take_messages();
    assert_eq!(ran.len(), 1);
    crawler
        .run(&ran[0], Instant::now() + Duration::from_secs(600))
        .await
        .unwrap();
    assert!(text_of(&h, "a").contains("typed words"));

    // One follow-up is queued, for when the minute (plus skew) has closed.
    let queued = std::mem::take(&mut h.store.state().flush_queue);
    let follow_ups: Vec<_> = queued.iter().filter(|(m, _)| !m.follow_up.is_empty()).collect();
    assert_eq!(follow_ups.len(), 1, "{queued:?}");
    let (message, delay) = follow_ups[0].clone();
    assert_eq!(message.follow_up, [page_id("a")]);
    assert_eq!(
        delay as i64,
        60 + NOTION_CLOCK_SKEW_SECS - 10,
        "delayed until the minute settles"
    );

    // The person keeps typing in the same minute, and Notion sends no further event.
    at_second(&h, 30).await;
    type_into(&h, "a", "typed more words");
    at_second(&h, 10 + i64::from(delay)).await;
    assert_eq!(crawler.flush(&message).await.unwrap(), FlushResult::Queued);
    let ran = h.store.take_messages();
    assert_eq!(ran.len(), 1, "the follow-up is one targeted run");
    crawler
        .run(&ran[0], Instant::now() + Duration::from_secs(600))
        .await
        .unwrap();
    assert!(text_of(&h, "a").contains("typed more words"), "the later edit is kept");
    let s = h.integration().last_sync_summary.unwrap();
    assert_eq!(s["pagesSeen"], 1, "only the page followed up: {s}");
    // Settled now: no second follow-up.
    let queued = std::mem::take(&mut h.store.state().flush_queue);
    assert!(queued.iter().all(|(m, _)| m.follow_up.is_empty()), "{queued:?}");
    assert!(h.no_pending_work().await);
}
