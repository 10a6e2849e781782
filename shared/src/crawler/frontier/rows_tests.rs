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
    let e = f.next_page().expect("read once the listings are done");
    assert_eq!(e.properties, ["Status: Done"]);
    assert!(e.needs_properties, "not seen in full this run: read before writing");
}
