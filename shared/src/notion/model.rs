//! The parts of Notion's objects the crawler reads. Objects stay `serde_json::Value` so an
//! unexpected or new field never breaks a sync; these helpers pull out what matters.

use serde_json::Value;

/// A page (or database row) as search, query or retrieve return it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageInfo {
    /// Dashed UUID.
    pub id: String,
    /// `https://www.notion.so/...`
    pub url: String,
    /// RFC 3339, as Notion writes it.
    pub last_edited_time: String,
    /// Trashed (or archived) pages are gone for the sync.
    pub in_trash: bool,
    /// Plain-text title ("Untitled" when empty).
    pub title: String,
    /// For database rows: every non-title property as `Name: value` lines.
    pub property_lines: Vec<String>,
    /// For database rows: every property as a plain JSON value ([`super::properties`]).
    pub property_values: serde_json::Map<String, Value>,
    /// For database rows: the database.
    pub database_id: Option<String>,
    /// For database rows: the data source.
    pub data_source_id: Option<String>,
    /// The page or database it lives in, when its `parent` names one (a page under a
    /// block, or at the workspace's top, has none).
    pub parent_id: Option<String>,
    /// For database rows: properties cut short (page objects carry at most 25 references).
    pub truncated: Vec<crate::domain::run::TruncatedProperty>,
    /// For database rows: the files of their `files` properties (SPEC §2.6), with the
    /// signed URLs this answer gave.
    pub files: Vec<super::format::media::FileRef>,
}

/// References a page object carries at most per relation or people property ("Page
/// properties": a relation with more says `has_more`).
pub const PAGE_REFERENCE_LIMIT: usize = 25;

/// A database as `GET /v1/databases/{id}` describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// Plain-text title.
    pub title: String,
    /// The page holding it, if its parent is a page.
    pub parent_page: Option<String>,
    /// Its data sources.
    pub sources: Vec<String>,
}

impl DatabaseInfo {
    /// Reads a database object.
    pub fn from_json(db: &Value) -> Self {
        Self {
            title: plain_text(db.get("title")),
            parent_page: db
                .pointer("/parent/page_id")
                .and_then(Value::as_str)
                .map(str::to_string),
            sources: db
                .get("data_sources")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// A page of a paged list.
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    /// The items.
    pub results: Vec<Value>,
    /// Cursor of the next page, when `has_more`.
    pub next_cursor: Option<String>,
    /// Notion capped the whole result set (`request_status.type == "incomplete"`, at its
    /// 10,000-result limit): following cursors will not reach the rest.
    pub capped: bool,
    /// Rows in it carry only their title property (search on `2026-12-01`, which takes no
    /// list of every data source's property ids); their other properties come from their
    /// data source's query or a retrieve.
    pub title_only: bool,
}

impl ListPage {
    /// Reads Notion's list envelope.
    pub fn from_json(v: &Value) -> Self {
        let results = v.get("results").and_then(Value::as_array).cloned().unwrap_or_default();
        let has_more = v.get("has_more").and_then(Value::as_bool).unwrap_or(false);
        let next_cursor = has_more
            .then(|| v.get("next_cursor").and_then(Value::as_str).map(str::to_string))
            .flatten();
        let capped = v.pointer("/request_status/type").and_then(Value::as_str) == Some("incomplete");
        Self {
            results,
            next_cursor,
            capped,
            title_only: false,
        }
    }
}

pub use super::properties::plain_text;
use super::properties::read;

impl PageInfo {
    /// Reads a page object; none when it is not a page.
    pub fn from_json(v: &Value) -> Option<Self> {
        if v.get("object").and_then(Value::as_str) != Some("page") {
            return None;
        }
        let id = v.get("id")?.as_str()?.to_string();
        let properties = v.get("properties").and_then(Value::as_object);
        let mut title = String::new();
        let mut property_lines = Vec::new();
        let mut property_values = serde_json::Map::new();
        let mut truncated = Vec::new();
        let is_row = v
            .pointer("/parent/type")
            .and_then(Value::as_str)
            .is_some_and(|t| t == "data_source_id" || t == "database_id");
        if let Some(props) = properties {
            for (name, property) in props {
                let value = read(property);
                let kind = property.get("type").and_then(Value::as_str).unwrap_or_default();
                let listed = property.get(kind).and_then(Value::as_array).map_or(0, Vec::len);
                let cut = match kind {
                    "relation" => property.get("has_more").and_then(Value::as_bool).unwrap_or(false),
                    "people" => listed >= PAGE_REFERENCE_LIMIT,
                    _ => false,
                };
                if is_row && cut {
                    if let Some(id) = property.get("id").and_then(Value::as_str) {
                        truncated.push(crate::domain::run::TruncatedProperty {
                            name: name.clone(),
                            id: id.to_string(),
                            kind: kind.to_string(),
                        });
                    }
                }
                if is_row {
                    property_values.insert(name.clone(), value.json());
                }
                if property.get("type").and_then(Value::as_str) == Some("title") {
                    title = value.text();
                } else if is_row {
                    let text = value.text();
                    if !text.is_empty() {
                        property_lines.push(format!("{name}: {text}"));
                    }
                }
            }
        }
        property_lines.sort();
        Some(Self {
            url: v
                .get("url")
                .and_then(Value::as_str)
                .map_or_else(|| page_url(&id), str::to_string),
            last_edited_time: v
                .get("last_edited_time")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            in_trash: v.get("in_trash").and_then(Value::as_bool).unwrap_or(false)
                || v.get("archived").and_then(Value::as_bool).unwrap_or(false),
            title: if title.trim().is_empty() {
                "Untitled".into()
            } else {
                title
            },
            property_lines,
            property_values,
            database_id: v
                .pointer("/parent/database_id")
                .and_then(Value::as_str)
                .map(str::to_string),
            data_source_id: v
                .pointer("/parent/data_source_id")
                .and_then(Value::as_str)
                .map(str::to_string),
            truncated,
            files: match (is_row, properties) {
                (true, Some(props)) => super::format::media::files_of_properties(props),
                _ => Vec::new(),
            },
            parent_id: ["/parent/page_id", "/parent/database_id"]
                .iter()
                .find_map(|p| v.pointer(p).and_then(Value::as_str))
                .map(str::to_string),
            id,
        })
    }
}

/// Notion's canonical URL for a page id.
pub fn page_url(id: &str) -> String {
    format!("https://www.notion.so/{}", id.replace('-', ""))
}

/// The dashed UUID in a Notion URL or id (the last 32 hex digits, ignoring dashes), if any.
pub fn id_from_url(url: &str) -> Option<String> {
    let tail = url.rsplit('/').next().unwrap_or(url);
    let tail = tail.split(['?', '#']).next().unwrap_or(tail);
    let hex: String = tail.chars().filter(|c| *c != '-').collect();
    let hex = hex.get(hex.len().checked_sub(32)?..)?;
    hex.chars().all(|c| c.is_ascii_hexdigit()).then(|| dashed(hex))
}

/// The block id after `#` in an `<unknown url="...#id"/>` URL.
pub fn fragment_id(url: &str) -> Option<String> {
    let fragment = url.split_once('#')?.1;
    let hex: String = fragment.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| dashed(&hex))
}

fn dashed(hex: &str) -> String {
    let h = hex.to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_from_urls() {
        let id = "1429989f-e8ac-4eff-bc8f-57f56486db54";
        assert_eq!(
            id_from_url("https://www.notion.so/My-Page-1429989fe8ac4effbc8f57f56486db54").as_deref(),
            Some(id)
        );
        assert_eq!(id_from_url(id).as_deref(), Some(id));
        assert_eq!(id_from_url("https://www.notion.so/short"), None);
        assert_eq!(
            fragment_id("https://www.notion.so/x#1429989fe8ac4effbc8f57f56486db54").as_deref(),
            Some(id)
        );
        assert_eq!(fragment_id("https://www.notion.so/x"), None);
    }

    #[test]
    fn reads_a_database_row() {
        let row = json!({
            "object": "page", "id": "p1", "url": "https://www.notion.so/p1", "last_edited_time": "2025-01-01T00:00:00.000Z",
            "in_trash": false, "parent": {"type": "data_source_id", "data_source_id": "ds"},
            "properties": {
                "Name": {"type": "title", "title": [{"plain_text": "Row one"}]},
                "Price": {"type": "number", "number": 12.5},
                "Tags": {"type": "multi_select", "multi_select": [{"name": "a"}, {"name": "b"}]},
                "Done": {"type": "checkbox", "checkbox": true},
                "When": {"type": "date", "date": {"start": "2025-01-01", "end": null}},
                "Empty": {"type": "rich_text", "rich_text": []}
            }
        });
        let page = PageInfo::from_json(&row).unwrap();
        assert_eq!(page.title, "Row one");
        assert_eq!(
            page.property_lines,
            ["Done: Yes", "Price: 12.5", "Tags: a, b", "When: 2025-01-01"]
        );
    }

    #[test]
    fn a_row_says_which_properties_its_page_object_cut_short() {
        let people: Vec<serde_json::Value> = (0..25)
            .map(|i| json!({"object": "user", "id": format!("u{i}"), "name": format!("P{i}")}))
            .collect();
        let row = json!({
            "object": "page", "id": "p1", "last_edited_time": "2025-01-01T00:00:00.000Z",
            "parent": {"type": "data_source_id", "data_source_id": "ds", "database_id": "db"},
            "properties": {
                "Name": {"id": "title", "type": "title", "title": [{"plain_text": "Row"}]},
                "Cut": {"id": "%3Ac", "type": "relation", "relation": [{"id": "r1"}], "has_more": true},
                "Whole": {"id": "w", "type": "relation", "relation": [{"id": "r2"}], "has_more": false},
                "Crowd": {"id": "cr", "type": "people", "people": people},
                "Few": {"id": "f", "type": "people", "people": [{"object": "user", "id": "u", "name": "A"}]}
            }
        });
        let page = PageInfo::from_json(&row).unwrap();
        let mut cut: Vec<(String, String)> = page.truncated.iter().map(|t| (t.name.clone(), t.id.clone())).collect();
        cut.sort();
        assert_eq!(
            cut,
            [
                ("Crowd".to_string(), "cr".to_string()),
                ("Cut".to_string(), "%3Ac".to_string())
            ]
        );
        assert_eq!(page.parent_id.as_deref(), Some("db"), "a row lives in its database");
    }

    #[test]
    fn list_envelope() {
        let page = ListPage::from_json(&json!({"results": [1, 2], "has_more": true, "next_cursor": "c"}));
        assert_eq!(page.results.len(), 2);
        assert_eq!(page.next_cursor.as_deref(), Some("c"));
        assert_eq!(
            ListPage::from_json(&json!({"results": [], "has_more": false, "next_cursor": "x"})).next_cursor,
            None
        );
    }
}
