//! Minute rounding end to end: the emulator stamps edits with the wall clock rounded down to
//! the minute, as Notion does, so two edits in one minute carry one `last_edited_time`. The
//! second must reach the records all the same (SPEC §2).

use super::*;

/// The page's `last_edited_time` as the emulator answers it.
fn stamp_of(s: &Setup, page: &str) -> String {
    s.emulator
        .with_workspace(|ws| notion_emulator::render::page(ws, &ws.pages[page])["last_edited_time"].clone())
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_edit_in_the_minute_of_a_sync_reaches_the_records() {
    let s = setup(20, Plan::default(), unlimited()).await;
    assert_clean(&s.sync_and_drain(50).await);
    let (page, block) = s.emulator.with_workspace(|ws| ws.editable_paragraphs()[0].clone());
    // Both edits and the sync between them fit in the same minute: start early in one.
    let second = chrono::Utc::now().timestamp().rem_euclid(60);
    if second > 30 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    s.emulator.with_workspace(|ws| ws.edit_block(&block, "the first edit"));
    let first_stamp = stamp_of(&s, &page);
    let state = s.sync_and_drain(50).await;
    assert_clean(&state);
    assert!(s.texts_by_page().await[&page].contains("the first edit"));

    s.emulator.with_workspace(|ws| ws.edit_block(&block, "the second edit"));
    assert_eq!(stamp_of(&s, &page), first_stamp, "both edits carry one minute's stamp");
    let state = s.sync_and_drain(50).await;
    assert_clean(&state);
    let text = &s.texts_by_page().await[&page];
    assert!(
        text.contains("the second edit") && !text.contains("the first edit"),
        "{text}"
    );
    // Only the page read within its minute is read again; the rest are settled.
    assert_eq!(summary(&state)["pagesRead"], 1, "{}", summary(&state));
    s.assert_mirrors_workspace().await;
}
