//! Listings: expired search cursors, Notion's result cap on search and on data sources (created-time windows), and what a listing that falls short may delete.

use super::*;

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
        .filter(|r| r.path.split('?').next().is_some_and(|p| p.ends_with("/query")))
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

/// A page search misses is known only from its parent's children, where its `child_page`
/// block may or may not carry the page's own edit time (the block reference leaves it
/// open). Under either reading its edits reach the dataset: the crawler retrieves the page
/// for its time rather than trusting the listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_search_misses_keep_their_edits_under_either_reading_of_child_page_times() {
    for own_times in [false, true] {
        let s = setup(
            40,
            Plan::default(),
            NotionConfig {
                child_page_times_are_the_pages: own_times,
                ..unlimited()
            },
        )
        .await;
        assert_eq!(s.sync_and_drain(50).await["syncStatus"], "synced");
        let (page, block) = s.emulator.with_workspace(|ws| {
            ws.editable_paragraphs()
                .into_iter()
                .find(|(page, _)| {
                    let p = &ws.pages[page];
                    !p.in_search && matches!(p.parent, Parent::Page(_))
                })
                .expect("a page search misses, under a page, with a paragraph")
        });
        s.emulator.clear_requests();
        s.emulator
            .with_workspace(|ws| ws.edit_block(&block, "hidden edit osprey"));
        assert_eq!(s.sync_and_drain(50).await["syncStatus"], "synced");
        let texts = s.texts_by_page().await;
        assert!(
            texts[&page].contains("hidden edit osprey"),
            "child page times are the pages': {own_times}"
        );
        let retrieved = s
            .emulator
            .requests()
            .iter()
            .any(|r| r.path == format!("/v1/pages/{page}"));
        assert!(retrieved, "its time came from the page itself ({own_times})");
        s.assert_mirrors_workspace().await;
    }
}
