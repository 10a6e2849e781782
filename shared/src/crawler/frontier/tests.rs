//! Unit tests of [`Frontier`]: every rule of a run, with no I/O.

use super::listing::MAX_CURSOR_RESTARTS;
use super::*;
use crate::domain::run::{Checkpoint, RunStart, SourceCursor};
use crate::notion::api::NotionError;
use crate::notion::model::ListPage;
use serde_json::json;
use serde_json::Value;

/// An outcome as the tests make them: nothing to write.
type PageOutcome = Outcome<()>;

const RUN: &str = "run-2";

pub(super) fn checkpoint() -> Checkpoint {
    Checkpoint::start(RunStart {
        run_id: RUN.into(),
        dataset_id: "dataset_1".into(),
        ..RunStart::default()
    })
}

fn page_json(id: &str, edited: &str) -> Value {
    json!({
        "object": "page", "id": id, "url": format!("https://www.notion.so/{id}"),
        "last_edited_time": edited, "in_trash": false,
        "properties": {"title": {"type": "title", "title": [{"plain_text": format!("Page {id}")}]}},
    })
}

fn search_page(ids: &[&str], next: Option<&str>) -> Listed {
    let results: Vec<Value> = ids.iter().map(|id| page_json(id, "2026-01-01T00:00:00.000Z")).collect();
    Listed::Search(Ok(ListPage::from_json(
        &json!({"results": results, "next_cursor": next, "has_more": next.is_some()}),
    )))
}

pub(super) fn entry(id: &str) -> PageEntry {
    PageEntry {
        page_id: id.into(),
        ..PageEntry::default()
    }
}

/// A page's outcome after reading, with the children its content points at.
pub(super) fn read(mut entry: PageEntry, children: &[&str]) -> PageOutcome {
    entry.children = children.iter().map(|c| c.to_string()).collect();
    PageOutcome::Read {
        entry,
        write: None,
        counts: ReadCounts {
            written: 1,
            ..ReadCounts::default()
        },
        unsettled_until: None,
        unknown_tags: Default::default(),
        unknown_block_types: Default::default(),
    }
}

/// Lists search to its end with one page of `ids`.
fn list_all(f: &mut Frontier, ids: &[&str]) {
    assert_eq!(f.next_listing(), Some(ListingRequest::Search(None)));
    f.apply_listing(search_page(ids, None)).unwrap();
}

/// Reads every page the frontier hands out, answering each with `children_of`, until it
/// has nothing more; returns the ids in the order read.
fn drain(f: &mut Frontier, children_of: impl Fn(&str) -> Vec<&'static str>) -> Vec<String> {
    let mut order = Vec::new();
    while let Some(e) = f.next_page() {
        order.push(e.page_id.clone());
        let kids = children_of(&e.page_id);
        f.apply_outcome(read(e, &kids)).unwrap();
    }
    order
}

#[test]
fn search_pages_are_queued_and_read_once_then_the_run_is_complete() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    assert_eq!(f.completion(), Completion::Pending);
    list_all(&mut f, &["a", "b"]);
    assert_eq!(f.next_listing(), None, "search is done");
    assert_eq!(drain(&mut f, |_| vec![]), ["a", "b"]);
    assert_eq!(f.completion(), Completion::Complete);
    let c = &f.checkpoint().counters();
    assert_eq!((c.pages_seen, c.pages_read, c.records_written), (2, 2, 1 + 1));
}

#[test]
fn one_listing_request_at_a_time_per_cursor_and_listings_run_side_by_side() {
    let mut cp = checkpoint();
    cp.add_database("db1");
    cp.add_source("ds1", None);
    let mut f = Frontier::new(cp, vec![], 100);
    let first: Vec<Listing> = std::iter::from_fn(|| f.next_listing()).map(|r| r.listing()).collect();
    assert_eq!(
        first,
        [
            Listing::Search,
            Listing::Database("db1".into()),
            Listing::Source("ds1".into())
        ]
    );
    assert_eq!(f.next_listing(), None, "each listing already has its request in flight");
    f.apply_listing(search_page(&["a"], Some("c2"))).unwrap();
    assert_eq!(f.next_listing(), Some(ListingRequest::Search(Some("c2".into()))));
}

#[test]
fn pages_found_in_content_wait_for_the_listings_and_a_listing_saves_their_retrieve() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    assert!(f.next_listing().is_some());
    f.apply_listing(search_page(&["a"], Some("c2"))).unwrap();
    let a = f.next_page().unwrap();
    f.apply_outcome(read(a, &["hidden", "b"])).unwrap();
    assert!(
        f.next_page().is_none(),
        "unseen pages are held back while search still lists"
    );
    // Search then returns b: b is read as a seen page (no retrieve needed), hidden still waits.
    f.next_listing().unwrap();
    f.apply_listing(search_page(&["b"], None)).unwrap();
    let mut order = Vec::new();
    while let Some(e) = f.next_page() {
        order.push((e.page_id.clone(), e.seen_run.as_deref() == Some(RUN)));
        f.apply_outcome(read(e, &[])).unwrap();
    }
    // Both waited for search; b was then confirmed by it (no retrieve needed), hidden was not.
    assert_eq!(order, [("hidden".to_string(), false), ("b".to_string(), true)]);
    assert_eq!(
        f.checkpoint().counters().pages_seen,
        2,
        "hidden is not counted until confirmed"
    );
}

#[test]
fn a_page_confirmed_while_read_is_counted_once() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    list_all(&mut f, &["a"]);
    let a = f.next_page().unwrap();
    f.apply_outcome(read(a, &["x"])).unwrap();
    let mut x = f.next_page().unwrap();
    assert_ne!(x.seen_run.as_deref(), Some(RUN));
    // The read confirmed it (retrieve), and the outcome carries the mark.
    x.seen_run = Some(RUN.into());
    f.apply_outcome(read(x, &[])).unwrap();
    assert_eq!(f.checkpoint().counters().pages_seen, 2);
}

#[test]
fn the_page_limit_stops_listing_and_reading_unseen_pages_and_blocks_deletion() {
    let mut f = Frontier::new(checkpoint(), vec![entry("old")], 2);
    assert!(f.next_listing().is_some());
    f.apply_listing(search_page(&["a", "b", "c"], Some("more"))).unwrap();
    assert_eq!(
        f.checkpoint().counters().pages_seen,
        2,
        "the third page is past the limit"
    );
    assert!(f.checkpoint().stop_reason().unwrap().contains("maxPagesPerSync (2)"));
    assert_eq!(f.next_listing(), None, "a stopped run lists no more");
    assert_eq!(drain(&mut f, |_| vec!["d"]), ["a", "b"], "counted pages are still read");
    assert_eq!(f.completion(), Completion::Partial);
    assert!(f.gone_pages().is_empty(), "a stopped run deletes nothing");
}

#[test]
fn unseen_pages_are_read_only_while_the_limit_has_room_beside_reservations() {
    let mut f = Frontier::new(checkpoint(), vec![], 3);
    list_all(&mut f, &["a"]);
    let a = f.next_page().unwrap();
    f.apply_outcome(read(a, &["x", "y", "z"])).unwrap();
    let x = f.next_page().unwrap();
    let y = f.next_page().unwrap();
    assert_eq!((x.page_id.as_str(), y.page_id.as_str()), ("x", "y"));
    assert!(f.next_page().is_none(), "a + x + y reserved fill the limit of 3");
    assert!(f.checkpoint().stop_reason().is_some());
}

#[test]
fn a_failed_search_falls_short_and_known_unseen_pages_are_checked_before_deleting() {
    let mut f = Frontier::new(checkpoint(), vec![entry("known"), entry("gone")], 100);
    f.next_listing().unwrap();
    let failure = NotionError::Exhausted {
        attempts: 7,
        last: "503".into(),
    };
    f.apply_listing(Listed::Search(Err(failure))).unwrap();
    assert!(f.checkpoint().listing_shortfall().is_some());
    assert_eq!(f.completion(), Completion::Pending, "the check of known pages is due");
    assert!(f.gone_pages().is_empty());
    assert!(f.queue_verification());
    assert!(!f.queue_verification(), "queued once");
    let mut checked = Vec::new();
    while let Some(mut e) = f.next_page() {
        checked.push(e.page_id.clone());
        if e.page_id == "known" {
            e.seen_run = Some(RUN.into());
            f.apply_outcome(read(e, &[])).unwrap();
        } else {
            f.apply_outcome(PageOutcome::Gone(e)).unwrap();
        }
    }
    assert_eq!(checked, ["gone", "known"]);
    assert_eq!(f.completion(), Completion::Complete);
    let gone: Vec<String> = f.gone_pages().into_iter().map(|e| e.page_id).collect();
    assert_eq!(gone, ["gone"]);
}

#[test]
fn an_expired_cursor_restarts_the_listing_a_bounded_number_of_times() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    let expired = || NotionError::Invalid {
        code: "validation_error".into(),
        message: "start_cursor provided is invalid".into(),
    };
    for _ in 0..MAX_CURSOR_RESTARTS {
        f.next_listing().unwrap();
        f.apply_listing(Listed::Search(Err(expired()))).unwrap();
        assert_eq!(f.checkpoint().search_cursor(), None);
        assert!(!f.checkpoint().search_done());
    }
    f.next_listing().unwrap();
    f.apply_listing(Listed::Search(Err(expired()))).unwrap();
    assert!(f.checkpoint().search_done(), "past the bound the listing gives up");
    assert!(f.checkpoint().listing_shortfall().is_some());
}

#[test]
fn a_failed_data_source_listing_leaves_the_run_incomplete() {
    let mut cp = checkpoint();
    cp.search_abandoned();
    cp.add_source("ds", None);
    let mut f = Frontier::new(cp, vec![entry("old")], 100);
    let Some(ListingRequest::Source(source)) = f.next_listing() else {
        panic!("the data source is listed")
    };
    let failure = NotionError::Exhausted {
        attempts: 7,
        last: "500".into(),
    };
    assert!(f.apply_listing(Listed::Source(source, Err(failure))).is_err());
    assert_eq!(f.completion(), Completion::Partial);
    assert!(f.gone_pages().is_empty());
}

#[test]
fn a_401_halts_and_a_record_limit_stops_reading() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    list_all(&mut f, &["a", "b", "c"]);
    assert!(matches!(
        f.apply_outcome(PageOutcome::Unauthorized),
        Err(OutcomeHalt::Unauthorized)
    ));
    let a = f.next_page().unwrap();
    f.apply_outcome(PageOutcome::RecordLimit(a)).unwrap();
    assert!(
        f.next_page().is_none(),
        "nothing more is read once records cannot be written"
    );
    assert_eq!(f.completion(), Completion::Partial);
}

#[test]
fn unchanged_pages_still_queue_their_children_and_databases() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    list_all(&mut f, &["a"]);
    let mut a = f.next_page().unwrap();
    a.children = vec!["child".into()];
    a.databases = vec!["db".into()];
    f.apply_outcome(PageOutcome::Unchanged(a)).unwrap();
    assert_eq!(f.next_listing(), Some(ListingRequest::Database("db".into())));
    f.apply_listing(Listed::Database(
        "db".into(),
        Ok(crate::notion::model::DatabaseInfo {
            sources: vec!["ds".into()],
            ..Default::default()
        }),
    ))
    .unwrap();
    assert!(matches!(f.next_listing(), Some(ListingRequest::Source(s)) if s.id == "ds"));
    f.apply_listing(Listed::Source(
        SourceCursor {
            id: "ds".into(),
            ..SourceCursor::default()
        },
        Ok(ListPage::from_json(
            &json!({"results": [page_json("row", "2026-01-02T00:00:00.000Z")]}),
        )),
    ))
    .unwrap();
    let order = drain(&mut f, |_| vec![]);
    assert_eq!(order, ["child", "row"]);
    assert_eq!(f.checkpoint().counters().pages_unchanged, 1);
}

#[test]
fn a_resumed_run_requeues_its_pending_pages_and_keeps_done_ones() {
    let pending = PageEntry {
        pending_run: Some(RUN.into()),
        seen_run: Some(RUN.into()),
        ..entry("p")
    };
    let done = PageEntry {
        done_run: Some(RUN.into()),
        seen_run: Some(RUN.into()),
        ..entry("d")
    };
    let mut cp = checkpoint();
    cp.search_abandoned();
    let mut f = Frontier::new(cp, vec![done, pending], 100);
    assert_eq!(
        drain(&mut f, |_| vec!["d"]),
        ["p"],
        "d was done: its mention does not queue it again"
    );
}

#[test]
fn run_marks_alone_wait_for_the_hand_over_lasting_changes_do_not() {
    let known = PageEntry {
        title: "Page a".into(),
        url: "https://www.notion.so/a".into(),
        last_edited: Some("2026-01-01T00:00:00.000Z".into()),
        ..entry("a")
    };
    let mut f = Frontier::new(checkpoint(), vec![known], 100);
    list_all(&mut f, &["a", "new"]);
    let changed: Vec<String> = f.take_changed(false).into_iter().map(|e| e.page_id).collect();
    assert_eq!(changed, ["new"], "a's lasting fields did not change");
    assert!(!f.checkpoint().marks_flushed());
    let marks: Vec<String> = f.take_changed(true).into_iter().map(|e| e.page_id).collect();
    assert_eq!(marks, ["a"]);
    assert!(f.checkpoint().marks_flushed());
}

#[test]
fn done_entries_are_taken_in_batches_and_pending_ones_wait() {
    let mut f = Frontier::new(checkpoint(), vec![], 1_000);
    let ids: Vec<String> = (0..5).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    list_all(&mut f, &refs);
    assert!(
        f.take_done_entries(3).is_empty(),
        "every changed entry is still pending"
    );
    for _ in 0..3 {
        let e = f.next_page().unwrap();
        f.apply_outcome(read(e, &[])).unwrap();
    }
    let done = f.take_done_entries(3);
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|e| e.done_run.as_deref() == Some(RUN)));
}

/// A small deterministic generator, so the property tests need no extra crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Properties over random workspaces: pages link to random others (cycles included),
/// search lists a random subset in random pages, listings and reads interleave at random,
/// and some listings fail. Whatever happens: no page is handed out twice, the page limit
/// holds, and pages are deleted only when the enumeration completed; when it completed,
/// exactly the known pages nobody can reach are deleted.
#[test]
fn property_no_page_read_twice_and_no_deletion_without_a_complete_enumeration() {
    for seed in 0..300u64 {
        let mut rng = Lcg(seed);
        let n = 2 + rng.next(40) as usize;
        let ids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
        let links: Vec<Vec<&'static str>> = (0..n)
            .map(|_| {
                (0..rng.next(4))
                    .map(|_| &*Box::leak(format!("p{}", rng.next(n as u64)).into_boxed_str()))
                    .collect()
            })
            .collect();
        let in_search: Vec<&str> = ids.iter().filter(|_| rng.next(3) > 0).map(String::as_str).collect();
        let stale: Vec<PageEntry> = (0..rng.next(4)).map(|i| entry(&format!("stale{i}"))).collect();
        let max_pages = if rng.next(4) == 0 {
            1 + rng.next(n as u64)
        } else {
            1_000
        };
        let fail_search = rng.next(6) == 0;
        let mut f = Frontier::new(checkpoint(), stale.clone(), max_pages);
        let chunks: Vec<&[&str]> = in_search.chunks(1 + rng.next(5) as usize).collect();
        let mut next_chunk = 0;
        let mut in_flight_listing: Option<ListingRequest> = None;
        let mut in_flight_reads: Vec<PageEntry> = Vec::new();
        let mut handed_out = std::collections::HashSet::new();
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 10_000, "seed {seed}: the run does not converge");
            if in_flight_listing.is_none() {
                in_flight_listing = f.next_listing();
            }
            while in_flight_reads.len() < 3 {
                let Some(e) = f.next_page() else { break };
                assert!(
                    handed_out.insert(e.page_id.clone()),
                    "seed {seed}: {} handed out twice",
                    e.page_id
                );
                in_flight_reads.push(e);
            }
            let listing_turn = in_flight_listing.is_some() && (in_flight_reads.is_empty() || rng.next(2) == 0);
            if listing_turn {
                let request = in_flight_listing.take().unwrap();
                let ListingRequest::Search(_) = request else {
                    panic!("seed {seed}: only search is listed here")
                };
                if fail_search && next_chunk == chunks.len() / 2 {
                    let failure = NotionError::Exhausted {
                        attempts: 1,
                        last: "503".into(),
                    };
                    f.apply_listing(Listed::Search(Err(failure))).unwrap();
                    continue;
                }
                let chunk = chunks.get(next_chunk).copied().unwrap_or(&[]);
                next_chunk += 1;
                let next = (next_chunk < chunks.len()).then(|| format!("c{next_chunk}"));
                f.apply_listing(search_page(chunk, next.as_deref())).unwrap();
            } else if !in_flight_reads.is_empty() {
                let i = rng.next(in_flight_reads.len() as u64) as usize;
                let mut e = in_flight_reads.swap_remove(i);
                let Some(index) = ids.iter().position(|id| *id == e.page_id) else {
                    // A stale page: gone in Notion.
                    f.apply_outcome(PageOutcome::Gone(e)).unwrap();
                    continue;
                };
                e.seen_run = Some(RUN.into());
                f.apply_outcome(read(e, &links[index])).unwrap();
            } else if !f.queue_verification() {
                break;
            }
        }
        let cp = f.checkpoint();
        assert!(
            cp.counters().pages_seen <= max_pages,
            "seed {seed}: page limit exceeded"
        );
        let gone: Vec<String> = f.gone_pages().into_iter().map(|e| e.page_id).collect();
        match f.completion() {
            Completion::Complete => {
                assert!(cp.stop_reason().is_none() && !cp.incomplete(), "seed {seed}");
                // Every page reachable from search (through links) was read, so only the
                // stale ones and the unreachable known ones are deleted.
                let stale_ids: Vec<String> = stale.iter().map(|e| e.page_id.clone()).collect();
                assert_eq!(gone, stale_ids, "seed {seed}");
            }
            Completion::Partial => assert!(gone.is_empty(), "seed {seed}: deleted after a partial run"),
            Completion::Pending => panic!("seed {seed}: work left after the loop ended"),
        }
    }
}

/// A targeted run's checkpoint, as `Crawler::target` builds it.
fn targeted(pages: &[&str], subtrees: &[&str], rows_of: &[&str]) -> Checkpoint {
    let strings = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut cp = checkpoint();
    let targets = crate::domain::webhook::Targets {
        pages: strings(pages),
        subtrees: strings(subtrees),
        rows_of: strings(rows_of),
        ..Default::default()
    };
    cp.target(targets, vec![], vec![]);
    cp
}

#[test]
fn a_targeted_run_reads_the_pages_named_and_expands_only_named_subtrees() {
    let mut f = Frontier::new(targeted(&["edited"], &["moved"], &[]), vec![], 100);
    assert!(f.is_targeted());
    assert_eq!(f.next_listing(), None, "no search");
    let order = drain(&mut f, |id| match id {
        "edited" => vec!["child-of-edited"],
        "moved" => vec!["child-of-moved"],
        "child-of-moved" => vec!["grandchild"],
        _ => vec![],
    });
    assert_eq!(order, ["edited", "moved", "child-of-moved", "grandchild"]);
    assert_eq!(f.completion(), Completion::Complete);
    assert!(
        f.gone_pages().is_empty(),
        "nothing Notion did not confirm gone is deleted"
    );
}

#[test]
fn a_targeted_run_deletes_only_confirmed_pages_with_their_known_children() {
    let mut known = entry("parent");
    known.children = vec!["kid".into()];
    known.dataset_id = Some("dataset_1".into());
    let index = vec![known, entry("kid"), entry("unrelated")];
    let mut f = Frontier::new(targeted(&[], &["parent"], &[]), index, 100);
    let parent = f.next_page().unwrap();
    f.apply_outcome(PageOutcome::Gone(parent)).unwrap();
    let kid = f.next_page().unwrap();
    assert_eq!(kid.page_id, "kid", "a deleted page's known children are confirmed too");
    f.apply_outcome(PageOutcome::Gone(kid)).unwrap();
    assert!(f.next_page().is_none());
    let gone: Vec<String> = f.gone_pages().into_iter().map(|e| e.page_id).collect();
    assert_eq!(gone, ["kid", "parent"], "never the unrelated page the run did not see");
    assert!(!f.queue_verification(), "a targeted run never checks the whole index");
}

#[test]
fn a_targeted_run_confirms_the_known_rows_of_a_deleted_data_source() {
    let mut row = entry("row-1");
    row.data_source_id = Some("ds-1".into());
    let mut other = entry("row-2");
    other.data_source_id = Some("ds-2".into());
    let mut f = Frontier::new(targeted(&[], &[], &["ds-1"]), vec![row, other], 100);
    let next = f.next_page().unwrap();
    assert_eq!(next.page_id, "row-1");
    assert!(f.next_page().is_none(), "rows of other data sources are left alone");
}

#[test]
fn a_plan_limited_targeted_run_hands_back_what_it_did_not_do() {
    let mut f = Frontier::new(targeted(&["a", "b", "c"], &[], &[]), vec![], 1);
    let first = f.next_page().unwrap();
    let mut seen = first.clone();
    seen.seen_run = Some(RUN.into());
    f.apply_outcome(read(seen, &[])).unwrap();
    assert!(f.next_page().is_none(), "the page limit stops the run");
    assert!(f.checkpoint().stop_reason().is_some());
    let mut left = f.unfinished_targets();
    left.sort();
    assert_eq!(left, ["page:b", "page:c"]);
}

#[test]
fn a_token_is_refreshed_at_most_once_per_run_and_the_run_goes_on_with_it() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    assert!(f.may_refresh_token());
    f.token_refreshed("v2".into());
    assert!(!f.may_refresh_token(), "a second 401 ends the run");
    assert_eq!(f.checkpoint().secret_version(), Some("v2"));
    // The rule survives a continuation: it is in the checkpoint.
    let resumed = Frontier::new(f.checkpoint().clone(), vec![], 100);
    assert!(!resumed.may_refresh_token());
}

#[test]
fn traffic_and_deletions_add_up_across_calls_and_done_ends_the_run() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    f.add_traffic(10, 2, 1, vec![1, 2, 3]);
    f.add_traffic(5, 0, 1, vec![4]);
    f.record_deleted();
    f.record_deleted();
    let counters = &f.checkpoint().counters();
    assert_eq!(
        (
            counters.notion_requests,
            counters.retries,
            counters.rate_limited,
            counters.records_deleted
        ),
        (15, 2, 2, 2)
    );
    assert_eq!(f.checkpoint().recent_requests(), [4], "the latest window, not a sum");
    assert!(!f.checkpoint().is_done());
    f.mark_done();
    assert!(f.checkpoint().is_done());
}
