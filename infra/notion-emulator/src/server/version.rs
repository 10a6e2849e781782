//! What the `Notion-Version` header changes in an answer, applied to the answer the routes
//! render (which is the newest shape): each rule cites its upgrade guide.
//!
//! - Before `2026-03-11` ("Upgrade guide", 2026-03-11): objects carry `archived` beside
//!   `in_trash`, and the meeting notes block is called `transcription`.
//! - From `2026-12-01` (its "Upgrade guide"): markdown is Notion-flavored Markdown (v2)
//!   unless asked otherwise, and `markdown_version=v1` is refused; search and "Query a data
//!   source" return only the title property unless `filter_properties` names others.

use serde_json::Value;
use std::collections::HashSet;

/// The API versions whose answers differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    /// Before 2026-03-11 (2025-09-03 and earlier).
    Before2026_03_11,
    /// 2026-03-11 up to 2026-12-01.
    V2026_03_11,
    /// 2026-12-01 and later.
    V2026_12_01,
}

impl ApiVersion {
    /// The version a `Notion-Version` header names; none when it is not a date.
    pub fn from_header(header: &str) -> Option<Self> {
        let h = header.trim();
        let bytes = h.as_bytes();
        let is_date = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && h.chars()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !is_date {
            return None;
        }
        Some(if h >= "2026-12-01" {
            ApiVersion::V2026_12_01
        } else if h >= "2026-03-11" {
            ApiVersion::V2026_03_11
        } else {
            ApiVersion::Before2026_03_11
        })
    }

    /// The markdown format an answer uses when the request names none.
    pub fn default_markdown_v2(self) -> bool {
        self == ApiVersion::V2026_12_01
    }

    /// Whether lists return only the title property unless `filter_properties` names others.
    pub fn lists_title_only(self) -> bool {
        self == ApiVersion::V2026_12_01
    }
}

/// Rewrites an answer rendered in the newest shape into `version`'s.
pub fn adapt(value: &mut Value, version: ApiVersion) {
    if version >= ApiVersion::V2026_03_11 {
        strip_archived(value);
    } else {
        rename_meeting_notes(value);
    }
}

fn strip_archived(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("archived");
            map.values_mut().for_each(strip_archived);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_archived),
        _ => {}
    }
}

fn rename_meeting_notes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("meeting_notes") {
                map.insert("type".into(), Value::from("transcription"));
                if let Some(data) = map.remove("meeting_notes") {
                    map.insert("transcription".into(), data);
                }
            }
            map.values_mut().for_each(rename_meeting_notes);
        }
        Value::Array(items) => items.iter_mut().for_each(rename_meeting_notes),
        _ => {}
    }
}

/// Keeps, in every page of a list answer, only the title property and those whose id is
/// in `keep` (2026-12-01's search and data source query).
pub fn keep_properties(list: &mut Value, keep: &HashSet<String>) {
    let Some(results) = list.get_mut("results").and_then(Value::as_array_mut) else {
        return;
    };
    for page in results {
        if let Some(props) = page.get_mut("properties").and_then(Value::as_object_mut) {
            props.retain(|_, p| {
                p.get("type").and_then(Value::as_str) == Some("title")
                    || p.get("id").and_then(Value::as_str).is_some_and(|id| keep.contains(id))
            });
        }
    }
}

/// The property ids a query string's `filter_properties` names (repeated, with or without
/// `[]`, percent-encoded as a client sends an id that is itself percent-encoded).
pub fn filter_properties(query: &str) -> HashSet<String> {
    super::query::pairs(query)
        .filter(|(k, _)| k == "filter_properties" || k == "filter_properties[]")
        .map(|(_, v)| v)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_from_headers() {
        assert_eq!(ApiVersion::from_header("2026-12-01"), Some(ApiVersion::V2026_12_01));
        assert_eq!(ApiVersion::from_header("2026-03-11"), Some(ApiVersion::V2026_03_11));
        assert_eq!(
            ApiVersion::from_header("2025-09-03"),
            Some(ApiVersion::Before2026_03_11)
        );
        assert_eq!(ApiVersion::from_header("latest"), None);
    }

    #[test]
    fn shapes_follow_the_version() {
        let answer = json!({"object": "block", "type": "meeting_notes", "meeting_notes": {"title": []}, "archived": false, "in_trash": false});
        let mut old = answer.clone();
        adapt(&mut old, ApiVersion::Before2026_03_11);
        assert_eq!(old["type"], "transcription");
        assert!(old.get("transcription").is_some() && old.get("archived").is_some());
        let mut new = answer;
        adapt(&mut new, ApiVersion::V2026_12_01);
        assert_eq!(new["type"], "meeting_notes");
        assert!(new.get("archived").is_none() && new.get("in_trash").is_some());
    }

    #[test]
    fn lists_keep_the_title_and_the_properties_named() {
        let mut list = json!({"results": [{"properties": {
            "Name": {"id": "title", "type": "title"}, "Status": {"id": "st", "type": "select"},
            "Odd": {"id": "%3AUPp", "type": "number"}}}]});
        let keep = filter_properties("filter_properties=st&filter_properties%5B%5D=%253AUPp");
        keep_properties(&mut list, &keep);
        let props = list["results"][0]["properties"].as_object().unwrap();
        assert_eq!(props.len(), 3, "{props:?}");
        keep_properties(&mut list, &HashSet::new());
        assert_eq!(list["results"][0]["properties"].as_object().unwrap().len(), 1);
    }
}
