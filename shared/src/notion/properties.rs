//! Page property values (Notion's "Property values" reference, and the SDK's
//! `…PropertyValueResponse` types) read once into [`Plain`], which gives both the record's
//! `Name: value` line and `meta.properties`' plain JSON, so the two always agree:
//!
//! | type | text | JSON |
//! |---|---|---|
//! | `title`, `rich_text` | the plain text | string |
//! | `number` | the number | number |
//! | `select`, `status` | the option's name | string |
//! | `multi_select` | names, comma-separated | list of strings |
//! | `date` (and a formula's or rollup's date) | `start` or `start – end` | ISO string or `{start, end}` |
//! | `checkbox` (and a formula's boolean) | `Yes` / `No` | boolean |
//! | `url`, `email`, `phone_number` | as is | string |
//! | `created_time`, `last_edited_time` | the ISO time | ISO string |
//! | `people`, `created_by`, `last_edited_by` | names (a person's email when the name is null) | list of strings / string |
//! | `files` | file names | list of strings |
//! | `relation` | page ids | list of ids |
//! | `formula` | by its result type: string, number, boolean, date | likewise |
//! | `rollup` | number, date, or each element of its array as above | likewise, an array a list of strings |
//! | `unique_id` | `PREFIX-number` | string |
//! | `verification` | `verified` / `expired` (with its date) / `unverified` | string |
//! | `place` | its name and address (else `lat, lon`) | string |
//! | `button`, anything unknown | nothing | null |
//!
//! No raw JSON ever reaches the text: a type this table does not know reads as nothing.

use serde_json::{json, Value};

/// Concatenated `plain_text` of a rich text array.
pub fn plain_text(rich_text: Option<&Value>) -> String {
    rich_text
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("plain_text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// One property's value, read.
#[derive(Clone, Debug, PartialEq)]
pub enum Plain {
    /// No value.
    Null,
    /// Text.
    Text(String),
    /// A number.
    Number(serde_json::Number),
    /// A boolean.
    Bool(bool),
    /// Several values (options, people, files, relations, a rollup's array).
    List(Vec<String>),
    /// A date or range.
    Date {
        /// ISO start.
        start: String,
        /// ISO end, for a range.
        end: Option<String>,
    },
}

impl Plain {
    /// The value as a record's text shows it; empty for none.
    pub fn text(&self) -> String {
        match self {
            Plain::Null => String::new(),
            Plain::Text(s) => s.clone(),
            Plain::Number(n) => n.to_string(),
            Plain::Bool(b) => if *b { "Yes" } else { "No" }.to_string(),
            Plain::List(items) => items.join(", "),
            Plain::Date { start, end: None } => start.clone(),
            Plain::Date { start, end: Some(end) } => format!("{start} – {end}"),
        }
    }

    /// The value as `meta.properties` holds it.
    pub fn json(&self) -> Value {
        match self {
            Plain::Null => Value::Null,
            Plain::Text(s) if s.is_empty() => Value::Null,
            Plain::Text(s) => json!(s),
            Plain::Number(n) => Value::Number(n.clone()),
            Plain::Bool(b) => json!(b),
            Plain::List(items) => json!(items),
            Plain::Date { start, end: None } => json!(start),
            Plain::Date { start, end: Some(end) } => json!({"start": start, "end": end}),
        }
    }
}

fn text_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A user's (or group's) name; a person whose name is null by their email.
fn user_name(user: &Value) -> Option<String> {
    text_of(user.get("name")).or_else(|| text_of(user.pointer("/person/email")))
}

fn date(v: Option<&Value>) -> Plain {
    match v.and_then(|d| text_of(d.get("start")).map(|start| (start, text_of(d.get("end"))))) {
        Some((start, end)) => Plain::Date { start, end },
        None => Plain::Null,
    }
}

fn list(items: Option<&Value>, item: impl Fn(&Value) -> Option<String>) -> Plain {
    Plain::List(
        items
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(&item).collect())
            .unwrap_or_default(),
    )
}

fn number(v: Option<&Value>) -> Plain {
    match v {
        Some(Value::Number(n)) => Plain::Number(n.clone()),
        _ => Plain::Null,
    }
}

/// A formula's or rollup's result: its type and its value.
fn typed(value: Option<&Value>) -> (&str, Option<&Value>) {
    let inner = value
        .and_then(|v| v.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    (inner, value.and_then(|v| v.get(inner)))
}

/// Reads one property value object (`{"type": ..., <type>: ...}`).
pub fn read(property: &Value) -> Plain {
    let kind = property.get("type").and_then(Value::as_str).unwrap_or_default();
    let value = property.get(kind);
    match kind {
        "title" | "rich_text" => Plain::Text(plain_text(value)),
        "number" => number(value),
        "select" | "status" => value
            .and_then(|v| text_of(v.get("name")))
            .map_or(Plain::Null, Plain::Text),
        "multi_select" => list(value, |o| text_of(o.get("name"))),
        "date" => date(value),
        "checkbox" => value.and_then(Value::as_bool).map_or(Plain::Null, Plain::Bool),
        "url" | "email" | "phone_number" | "created_time" | "last_edited_time" => {
            text_of(value).map_or(Plain::Null, Plain::Text)
        }
        "people" => list(value, user_name),
        "created_by" | "last_edited_by" => value.and_then(user_name).map_or(Plain::Null, Plain::Text),
        "files" => list(value, |f| text_of(f.get("name"))),
        "relation" => list(value, |r| text_of(r.get("id"))),
        "unique_id" => match value.and_then(|v| v.get("number")).and_then(Value::as_i64) {
            Some(n) => match value.and_then(|v| text_of(v.get("prefix"))) {
                Some(prefix) => Plain::Text(format!("{prefix}-{n}")),
                None => Plain::Text(n.to_string()),
            },
            None => Plain::Null,
        },
        "formula" => {
            let (inner, result) = typed(value);
            match inner {
                "string" => text_of(result).map_or(Plain::Null, Plain::Text),
                "number" => number(result),
                "boolean" => result.and_then(Value::as_bool).map_or(Plain::Null, Plain::Bool),
                "date" => date(result),
                _ => Plain::Null,
            }
        }
        "rollup" => {
            let (inner, result) = typed(value);
            match inner {
                "number" => number(result),
                "date" => date(result),
                "array" => Plain::List(
                    result
                        .and_then(Value::as_array)
                        .map(|items| {
                            items
                                .iter()
                                .flat_map(|item| match read(item) {
                                    Plain::List(inner) => inner,
                                    other => vec![other.text()],
                                })
                                .filter(|t| !t.is_empty())
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => Plain::Null,
            }
        }
        "verification" => match value.and_then(|v| text_of(v.get("state"))) {
            Some(state) => match value.and_then(|v| v.get("date")).map(|d| date(Some(d))) {
                Some(Plain::Date { start, end }) => Plain::Text(match end {
                    Some(end) => format!("{state} ({start} – {end})"),
                    None => format!("{state} ({start})"),
                }),
                _ => Plain::Text(state),
            },
            None => Plain::Null,
        },
        "place" => match value.filter(|v| v.is_object()) {
            Some(place) => {
                let named: Vec<String> = [text_of(place.get("name")), text_of(place.get("address"))]
                    .into_iter()
                    .flatten()
                    .collect();
                if named.is_empty() {
                    match (place.get("lat"), place.get("lon")) {
                        (Some(Value::Number(lat)), Some(Value::Number(lon))) => Plain::Text(format!("{lat}, {lon}")),
                        _ => Plain::Null,
                    }
                } else {
                    Plain::Text(named.join(", "))
                }
            }
            None => Plain::Null,
        },
        _ => Plain::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(property: Value) -> String {
        read(&property).text()
    }

    fn data(property: Value) -> Value {
        read(&property).json()
    }

    #[test]
    fn every_property_type_reads_as_text_and_plain_data() {
        let cases = [
            (
                json!({"type": "place", "place": {"lat": 52.5, "lon": 13.4, "name": "Office", "address": "Main St 1", "google_place_id": "g"}}),
                "Office, Main St 1",
                json!("Office, Main St 1"),
            ),
            (
                json!({"type": "place", "place": {"lat": 52.5, "lon": 13.4}}),
                "52.5, 13.4",
                json!("52.5, 13.4"),
            ),
            (
                json!({"type": "formula", "formula": {"type": "date", "date": {"start": "2024-01-01", "end": null, "time_zone": null}}}),
                "2024-01-01",
                json!("2024-01-01"),
            ),
            (
                json!({"type": "formula", "formula": {"type": "boolean", "boolean": false}}),
                "No",
                json!(false),
            ),
            (json!({"type": "checkbox", "checkbox": false}), "No", json!(false)),
            (
                json!({"type": "formula", "formula": {"type": "number", "number": 4.5}}),
                "4.5",
                json!(4.5),
            ),
            (
                json!({"type": "formula", "formula": {"type": "string", "string": "ok"}}),
                "ok",
                json!("ok"),
            ),
            (
                json!({"type": "rollup", "rollup": {"type": "number", "number": 7, "function": "sum"}}),
                "7",
                json!(7),
            ),
            (
                json!({"type": "rollup", "rollup": {"type": "date", "date": {"start": "2024-02-01", "end": "2024-02-03"}, "function": "date_range"}}),
                "2024-02-01 – 2024-02-03",
                json!({"start": "2024-02-01", "end": "2024-02-03"}),
            ),
            (
                json!({"type": "rollup", "rollup": {"type": "array", "function": "show_original", "array": [
                    {"type": "title", "title": [{"plain_text": "Alpha"}]},
                    {"type": "multi_select", "multi_select": [{"name": "x"}, {"name": "y"}]},
                    {"type": "checkbox", "checkbox": true}
                ]}}),
                "Alpha, x, y, Yes",
                json!(["Alpha", "x", "y", "Yes"]),
            ),
            (
                json!({"type": "unique_id", "unique_id": {"prefix": "TASK", "number": 12}}),
                "TASK-12",
                json!("TASK-12"),
            ),
            (
                json!({"type": "verification", "verification": {"state": "verified", "date": {"start": "2024-03-01", "end": null}, "verified_by": {"object": "user", "id": "u"}}}),
                "verified (2024-03-01)",
                json!("verified (2024-03-01)"),
            ),
            (
                json!({"type": "verification", "verification": {"state": "unverified", "date": null, "verified_by": null}}),
                "unverified",
                json!("unverified"),
            ),
            (
                json!({"type": "status", "status": {"id": "s", "name": "In progress", "color": "blue"}}),
                "In progress",
                json!("In progress"),
            ),
            (
                json!({"type": "people", "people": [
                    {"object": "user", "id": "u1", "name": "Ada", "type": "person", "person": {"email": "ada@x.io"}},
                    {"object": "user", "id": "u2", "name": null, "type": "person", "person": {"email": "grace@x.io"}},
                    {"object": "user", "id": "u3"}
                ]}),
                "Ada, grace@x.io",
                json!(["Ada", "grace@x.io"]),
            ),
            (
                json!({"type": "created_by", "created_by": {"object": "user", "id": "u1", "name": "Ada"}}),
                "Ada",
                json!("Ada"),
            ),
            (
                json!({"type": "files", "files": [{"name": "spec.pdf", "type": "file", "file": {"url": "https://prod-files-secure.s3.amazonaws.com/x?X-Amz-Signature=s"}}]}),
                "spec.pdf",
                json!(["spec.pdf"]),
            ),
            (
                json!({"type": "relation", "relation": [{"id": "r1"}, {"id": "r2"}], "has_more": false}),
                "r1, r2",
                json!(["r1", "r2"]),
            ),
            (json!({"type": "button", "button": {}}), "", Value::Null),
            (json!({"type": "select", "select": null}), "", Value::Null),
            (json!({"type": "number", "number": null}), "", Value::Null),
            (
                json!({"type": "some_future_type", "some_future_type": {"deep": [1, 2]}}),
                "",
                Value::Null,
            ),
        ];
        for (property, expected_text, expected_json) in cases {
            assert_eq!(text(property.clone()), expected_text, "{property}");
            assert_eq!(data(property.clone()), expected_json, "{property}");
        }
    }

    #[test]
    fn no_raw_json_reaches_the_text_whatever_the_value() {
        // Every documented type with odd, nested or missing values: the text never looks
        // like JSON.
        let odd = [
            json!({"type": "formula", "formula": {"type": "date", "date": {"start": "2024-01-01", "end": null, "time_zone": "Europe/Berlin"}}}),
            json!({"type": "formula", "formula": {"type": "unsupported", "unsupported": {}}}),
            json!({"type": "rollup", "rollup": {"type": "incomplete", "incomplete": {}}}),
            json!({"type": "rollup", "rollup": {"type": "array", "array": [{"type": "formula", "formula": {"type": "date", "date": {"start": "2024-05-05"}}}]}}),
            json!({"type": "place", "place": null}),
            json!({"type": "verification", "verification": null}),
            json!({"type": "unique_id", "unique_id": {"prefix": null, "number": null}}),
            json!({"type": "date", "date": {"start": null}}),
        ];
        for property in odd {
            let t = text(property.clone());
            assert!(
                !t.contains('{') && !t.contains('[') && !t.contains('"'),
                "{property} -> {t}"
            );
        }
        assert_eq!(
            text(
                json!({"type": "rollup", "rollup": {"type": "array", "array": [{"type": "formula", "formula": {"type": "date", "date": {"start": "2024-05-05"}}}]}})
            ),
            "2024-05-05"
        );
    }
}
