//! The checkpoint's invariants, one test each.

use super::*;

fn started() -> Checkpoint {
    Checkpoint::start(RunStart {
        run_id: "r1".into(),
        trigger: Trigger::Manual,
        dataset_id: "d1".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        started_epoch: 100,
        recent_requests: vec![5, 6],
        ..RunStart::default()
    })
}

#[test]
fn a_run_starts_running_in_its_first_invocation_with_nothing_listed() {
    let cp = started();
    assert!(!cp.is_done());
    assert_eq!(cp.invocations(), 1);
    assert!(!cp.search_done());
    assert!(cp.search_cursor().is_none());
    assert!(cp.may_refresh_token());
    assert_eq!(cp.recent_requests(), &[5, 6]);
    assert_eq!(cp.counters(), &Counters::default());
}

#[test]
fn a_source_or_database_is_listed_once_per_run() {
    let mut cp = started();
    assert!(cp.add_source("s1", None));
    assert!(!cp.add_source("s1", Some("2026-01-01T00:00:00.000Z".into())));
    assert!(cp.add_database("db1"));
    assert!(!cp.add_database("db1"));
    assert!(!cp.add_source("db1", None), "ids share one set");
    cp.database_listed("db1");
    assert!(!cp.add_database("db1"), "a listed database is not listed again");
    cp.advance_source("s1", SourceStep::Done);
    assert!(cp.sources().is_empty());
    assert!(!cp.add_source("s1", None), "a listed source is not listed again");
}

#[test]
fn search_is_done_exactly_when_it_has_no_cursor() {
    let mut cp = started();
    cp.searched(Some("c1".into()));
    assert_eq!((cp.search_done(), cp.search_cursor()), (false, Some("c1")));
    cp.searched(None);
    assert_eq!((cp.search_done(), cp.search_cursor()), (true, None));
    let mut abandoned = started();
    abandoned.searched(Some("c1".into()));
    abandoned.search_abandoned();
    assert_eq!((abandoned.search_done(), abandoned.search_cursor()), (true, None));
}

#[test]
fn a_source_advances_by_cursor_then_window_then_ends() {
    let mut cp = started();
    cp.add_source("s1", None);
    cp.advance_source(
        "s1",
        SourceStep::Next {
            cursor: "c1".into(),
            last_created: Some("t1".into()),
        },
    );
    assert_eq!(cp.sources()[0].cursor.as_deref(), Some("c1"));
    assert_eq!(cp.sources()[0].last_created.as_deref(), Some("t1"));
    cp.advance_source("s1", SourceStep::Window { since: "t1".into() });
    let s = &cp.sources()[0];
    assert_eq!(
        (s.cursor.as_deref(), s.since.as_deref(), s.last_created.as_deref()),
        (None, Some("t1"), None)
    );
    cp.advance_source("nope", SourceStep::Done);
    assert_eq!(cp.sources().len(), 1, "an unknown source changes nothing");
    cp.advance_source("s1", SourceStep::Done);
    assert!(cp.sources().is_empty());
}

#[test]
fn cursor_restarts_are_capped_and_clear_only_the_restarted_listing() {
    let mut cp = started();
    cp.searched(Some("c".into()));
    cp.add_source("s1", None);
    cp.advance_source(
        "s1",
        SourceStep::Next {
            cursor: "sc".into(),
            last_created: None,
        },
    );
    assert!(cp.restart_cursor(Some("s1"), 2));
    assert_eq!(cp.sources()[0].cursor, None);
    assert_eq!(cp.search_cursor(), Some("c"));
    assert!(cp.restart_cursor(None, 2));
    assert_eq!(cp.search_cursor(), None);
    assert!(!cp.restart_cursor(None, 2), "the cap holds across listings");
}

#[test]
fn a_stop_makes_the_run_incomplete_and_keeps_its_first_reason() {
    let mut cp = started();
    assert!(cp.stop("first".into()));
    assert!(!cp.stop("second".into()));
    assert!(cp.incomplete());
    assert_eq!(cp.stop_reason(), Some("first"));
}

#[test]
fn a_shortfall_keeps_its_first_reason_and_lost_marks_requeue_the_check() {
    let mut cp = started();
    cp.fell_short("capped");
    cp.fell_short("other");
    assert_eq!(cp.listing_shortfall(), Some("capped"));
    cp.verification_queued();
    assert!(cp.verify_queued());
    cp.set_marks_flushed(false);
    assert!(cp.check_lost_marks());
    assert!(!cp.verify_queued(), "the check runs again after lost marks");
    assert_eq!(cp.listing_shortfall(), Some("capped"));
    cp.set_marks_flushed(true);
    assert!(!cp.check_lost_marks());
    let mut fresh = started();
    assert!(fresh.check_lost_marks());
    assert_eq!(fresh.listing_shortfall(), Some("an interrupted invocation was resumed"));
}

#[test]
fn a_targeted_run_lists_no_search_and_keeps_its_marks_on_resume() {
    let mut cp = started();
    let targets = Targets {
        edited_since: Some("2026-01-01T00:00:00.000Z".into()),
        ..Targets::default()
    };
    cp.target(targets, vec!["s1".into(), "s1".into()], vec!["db1".into()]);
    assert!(cp.search_done());
    assert_eq!(cp.sources().len(), 1, "a source named twice is listed once");
    assert_eq!(
        cp.sources()[0].edited_since.as_deref(),
        Some("2026-01-01T00:00:00.000Z")
    );
    assert_eq!(cp.databases(), &["db1".to_string()]);
    assert!(
        !cp.check_lost_marks(),
        "a targeted run queues its targets again instead"
    );
}

#[test]
fn counters_add_up_and_the_token_refreshes_once() {
    let mut cp = started();
    let mut tags = std::collections::BTreeMap::new();
    tags.insert("x".to_string(), 2);
    let delta = Counters {
        pages_read: 1,
        notion_requests: 3,
        unknown_tags: tags,
        ..Counters::default()
    };
    cp.count(&delta);
    cp.count(&delta);
    assert_eq!(cp.counters().pages_read, 2);
    assert_eq!(cp.counters().notion_requests, 6);
    assert_eq!(cp.counters().unknown_tags["x"], 4);
    cp.token_refreshed("v2".into());
    assert!(!cp.may_refresh_token());
    assert_eq!(cp.secret_version(), Some("v2"));
}

#[test]
fn serialized_fields_keep_their_stored_names() {
    let mut cp = started();
    cp.searched(Some("c".into()));
    let json = serde_json::to_value(&cp).unwrap();
    for name in [
        "runId",
        "state",
        "trigger",
        "datasetId",
        "startedAt",
        "startedEpoch",
        "searchCursor",
        "invocations",
    ] {
        assert!(json.get(name).is_some(), "{name} missing from {json}");
    }
    let back: Checkpoint = serde_json::from_value(json).unwrap();
    assert_eq!(back, cp);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "changed after it finished")]
fn a_finished_checkpoint_does_not_change() {
    let mut cp = started();
    cp.finish();
    cp.mark_incomplete();
}
