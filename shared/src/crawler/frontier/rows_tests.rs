//! Rows that a listing returns without their properties (search on 2026-12-01).

use super::tests::{checkpoint, entry, read};
use super::*;
use crate::notion::model::ListPage;
use serde_json::{json, Value};

/// A row as a listing returns it: with its properties, or (search on 2026-12-01) its title only.
fn row_json(id: &str, with_properties: bool) -> Value {
    let mut properties =
        json!({"Name": {"id": "title", "type": "title", "title": [{"plain_text": format!("Row {id}")}]}});
    if with_properties {
        properties["Status"] = json!({"id": "st", "type": "select", "select": {"name": "Done"}});
    }
    json!({"object": "page", "id": id, "url": format!("https://www.notion.so/{id}"),
           "last_edited_time": "2026-01-01T00:00:00.000Z", "in_trash": false,
           "parent": {"type": "data_source_id", "data_source_id": "ds1", "database_id": "db1"},
           "properties": properties})
}

#[test]
fn a_row_search_lists_by_title_only_waits_for_its_data_source_or_is_retrieved() {
    let mut cp = checkpoint();
    cp.add_source("ds1", None);
    let mut f = Frontier::new(cp, vec![], 100);
    // Search (title only) returns both rows first.
    let Some(ListingRequest::Search(_)) = f.next_listing() else {
        panic!("search first")
    };
    let mut search =
        ListPage::from_json(&json!({"results": [row_json("r1", false), row_json("r2", false)], "has_more": false}));
    search.title_only = true;
    f.apply_listing(Listed::Search(Ok(search))).unwrap();
    // Nothing is read while the data source is still to list.
    let Some(ListingRequest::Source(source)) = f.next_listing() else {
        panic!("then the data source")
    };
    assert!(f.next_page().is_none(), "title-only rows wait for their data source");
    // The data source gives r1 with its properties; r2 is not in it (say, filtered out).
    let rows = ListPage::from_json(&json!({"results": [row_json("r1", true)], "has_more": false}));
    f.apply_listing(Listed::Source(source, Ok(rows))).unwrap();
    let mut handed_out = Vec::new();
    while let Some(e) = f.next_page() {
        handed_out.push((e.page_id.clone(), e.properties.clone(), e.needs_properties));
        f.apply_outcome(read(e, &[])).unwrap();
    }
    handed_out.sort();
    assert_eq!(
        handed_out,
        [
            ("r1".to_string(), vec!["Status: Done".to_string()], false),
            ("r2".to_string(), vec![], true),
        ],
        "r1 is read with its properties; r2's reader must retrieve them"
    );
    // A later title-only answer never wipes properties the run already has.
    let stored = PageEntry {
        properties: vec!["Status: Done".into()],
        ..entry("r1")
    };
    let mut f = Frontier::new(checkpoint(), vec![stored], 100);
    let mut search = ListPage::from_json(&json!({"results": [row_json("r1", false)], "has_more": false}));
    search.title_only = true;
    f.next_listing();
    f.apply_listing(Listed::Search(Ok(search))).unwrap();
    // Its data source is listed (it brought it in) and does not return it this time.
    let Some(ListingRequest::Source(source)) = f.next_listing() else {
        panic!("the row's data source")
    };
    let empty = ListPage::from_json(&json!({"results": [], "has_more": false}));
    f.apply_listing(Listed::Source(source, Ok(empty))).unwrap();
    let e = f.next_page().expect("read once the listings are done");
    assert_eq!(e.properties, ["Status: Done"]);
    assert!(e.needs_properties, "not seen in full this run: read before writing");
}

/// A row search lists by title only, in a data source no listing named yet (its database is
/// one search does not list): the row's parent names the data source, whose query gives the
/// row's properties for one request per 100 rows instead of a retrieve each.
#[test]
fn a_title_only_row_brings_its_data_source_query_in() {
    let mut f = Frontier::new(checkpoint(), vec![], 100);
    let Some(ListingRequest::Search(_)) = f.next_listing() else {
        panic!("search first")
    };
    let mut search = ListPage::from_json(&json!({"results": [row_json("r1", false)], "has_more": false}));
    search.title_only = true;
    f.apply_listing(Listed::Search(Ok(search))).unwrap();
    let Some(ListingRequest::Source(source)) = f.next_listing() else {
        panic!("the row's data source is listed")
    };
    assert_eq!(source.id, "ds1");
    assert!(f.next_page().is_none(), "the row waits for it");
    let rows = ListPage::from_json(&json!({"results": [row_json("r1", true)], "has_more": false}));
    f.apply_listing(Listed::Source(source, Ok(rows))).unwrap();
    let e = f.next_page().expect("then read");
    assert_eq!(e.properties, ["Status: Done"]);
    assert!(!e.needs_properties, "no retrieve needed");
}

/// The data source's query answers first, with a people list cut at 25; search's title-only
/// answer for the same row afterwards keeps what the query said was cut short, so the
/// reader still reads that property whole.
#[test]
fn a_title_only_answer_after_the_query_keeps_the_properties_cut_short() {
    let mut cp = checkpoint();
    cp.add_source("ds1", None);
    let mut f = Frontier::new(cp, vec![], 100);
    let people: Vec<Value> = (0..25)
        .map(|i| json!({"object": "user", "id": format!("u{i}")}))
        .collect();
    let mut full = row_json("r1", true);
    full["properties"]["Owners"] = json!({"id": "ow", "type": "people", "people": people});
    let mut source = None;
    let mut searched = false;
    while let Some(listing) = f.next_listing() {
        match listing {
            ListingRequest::Source(s) => source = Some(s),
            ListingRequest::Search(_) => searched = true,
            _ => {}
        }
    }
    assert!(searched);
    // The query's answer lands first, then search's.
    let rows = ListPage::from_json(&json!({"results": [full], "has_more": false}));
    f.apply_listing(Listed::Source(source.expect("the source is listed"), Ok(rows)))
        .unwrap();
    let mut search = ListPage::from_json(&json!({"results": [row_json("r1", false)], "has_more": false}));
    search.title_only = true;
    f.apply_listing(Listed::Search(Ok(search))).unwrap();
    let e = f.next_page().expect("read once the listings are done");
    let cut: Vec<&str> = e.truncated_properties.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(cut, ["ow"], "{e:?}");
}
