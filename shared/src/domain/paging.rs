//! List parameters shared by every list route: `take`, `order`, an opaque `cursor`, and
//! `meta.KEY=VALUE` filters.

use crate::domain::fields::{FieldError, InputError};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{Map, Value};

/// Items per page when `take` is not given.
pub const DEFAULT_TAKE: u32 = 20;
/// Largest `take`.
pub const MAX_TAKE: u32 = 100;

/// Listing order by creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first (the default).
    #[default]
    Desc,
}

/// A parsed list request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Items wanted, 1..=100.
    pub take: u32,
    /// Order by creation.
    pub order: Order,
    /// The store position after which to continue (decoded from `cursor`).
    pub after: Option<String>,
    /// `meta.KEY=VALUE` filters; every one must match.
    pub meta_filters: Vec<(String, String)>,
    /// The listing's own filters (`type=`, ...), by name, from those it declares.
    pub filters: Vec<(String, String)>,
    /// The cursor is the one a last page carries in `epoch_ms` mode: the page is empty.
    pub past_end: bool,
}

/// The store position of the cursor past a listing's end; no store key looks like it.
pub const END_POSITION: &str = "~end";

impl ListQuery {
    /// Parses query parameters; unknown parameters are refused so a typo never silently
    /// lists everything.
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, InputError> {
        Self::with_filters(params, &[])
    }

    /// Parses query parameters of a listing that also takes the filters named in
    /// `filters` (each at most once) instead of `meta.KEY`.
    pub fn with_filters<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        filters: &[&str],
    ) -> Result<Self, InputError> {
        let mut query = Self {
            take: DEFAULT_TAKE,
            order: Order::Desc,
            after: None,
            meta_filters: Vec::new(),
            filters: Vec::new(),
            past_end: false,
        };
        let mut invalid = Vec::new();
        let mut unknown = Vec::new();
        for (key, value) in params {
            match key {
                "take" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_TAKE).contains(&n) => query.take = n,
                    _ => invalid.push(FieldError::new(
                        "take",
                        format!("must be a whole number from 1 to {MAX_TAKE}"),
                    )),
                },
                "order" => match value {
                    "asc" => query.order = Order::Asc,
                    "desc" => query.order = Order::Desc,
                    _ => invalid.push(FieldError::new("order", "must be asc or desc")),
                },
                "cursor" if value.is_empty() => {}
                "cursor" => match decode_cursor(value) {
                    Some(position) if position == END_POSITION => query.past_end = true,
                    Some(position) => query.after = Some(position),
                    None => {
                        return Err(InputError::Malformed {
                            message: "The cursor is not valid for this listing.".into(),
                            details: vec![FieldError::new("cursor", "is not a cursor returned by this listing")],
                        })
                    }
                },
                _ if filters.contains(&key) => {
                    if query.filter(key).is_some() {
                        invalid.push(FieldError::new(key, "may be given once"));
                    } else {
                        query.filters.push((key.to_string(), value.to_string()));
                    }
                }
                _ => match key.strip_prefix("meta.") {
                    Some(name) if !name.is_empty() && filters.is_empty() => {
                        query.meta_filters.push((name.to_string(), value.to_string()))
                    }
                    _ => unknown.push(FieldError::new(key, "is not a known query parameter")),
                },
            }
        }
        if !unknown.is_empty() {
            let known = if filters.is_empty() {
                "cursor, order, take and meta.KEY".to_string()
            } else {
                format!("cursor, order, take, {}", filters.join(", "))
            };
            return Err(InputError::Malformed {
                message: format!("The query has unknown parameters; known ones are {known}."),
                details: unknown,
            });
        }
        if !invalid.is_empty() {
            return Err(InputError::Invalid(invalid));
        }
        Ok(query)
    }

    /// The value of the listing's own filter `name`, when given.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether any filter may drop items, so a page may need more than `take` reads.
    pub fn is_filtered(&self) -> bool {
        !self.meta_filters.is_empty() || !self.filters.is_empty()
    }

    /// Whether `meta` satisfies every filter. A string value matches its text; any other
    /// value matches its JSON form (`meta.count=3`, `meta.public=true`).
    pub fn matches_meta(&self, meta: &Map<String, Value>) -> bool {
        self.meta_filters.iter().all(|(key, wanted)| match meta.get(key) {
            Some(Value::String(s)) => s == wanted,
            Some(other) => serde_json::to_string(other).is_ok_and(|text| text == *wanted),
            None => false,
        })
    }
}

/// Encodes a store position as an opaque cursor.
pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position.as_bytes())
}

/// Decodes a cursor into a store position; the store still checks it belongs to the listing.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > 1024 {
        return None;
    }
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults() {
        let q = ListQuery::from_params([]).unwrap();
        assert_eq!((q.take, q.order, q.after), (20, Order::Desc, None));
    }

    #[test]
    fn parses_everything() {
        let c = encode_cursor("NOTION#X");
        let q = ListQuery::from_params([
            ("take", "5"),
            ("order", "asc"),
            ("cursor", c.as_str()),
            ("meta.team", "eng"),
        ])
        .unwrap();
        assert_eq!(q.take, 5);
        assert_eq!(q.order, Order::Asc);
        assert_eq!(q.after.as_deref(), Some("NOTION#X"));
        assert_eq!(q.meta_filters, vec![("team".to_string(), "eng".to_string())]);
    }

    #[test]
    fn refuses_bad_values() {
        for (k, v) in [
            ("take", "0"),
            ("take", "-1"),
            ("take", "101"),
            ("take", "1e9"),
            ("order", "up"),
        ] {
            assert_eq!(
                ListQuery::from_params([(k, v)]).unwrap_err().code(),
                "VALIDATION_ERROR",
                "{k}={v}"
            );
        }
        assert_eq!(
            ListQuery::from_params([("cursor", "!!!")]).unwrap_err().code(),
            "BAD_REQUEST"
        );
        assert_eq!(
            ListQuery::from_params([("ordr", "asc")]).unwrap_err().code(),
            "BAD_REQUEST"
        );
        assert_eq!(
            ListQuery::from_params([("meta.", "x")]).unwrap_err().code(),
            "BAD_REQUEST"
        );
    }

    #[test]
    fn meta_filters_match_strings_and_json_values() {
        let q = ListQuery::from_params([("meta.team", "eng"), ("meta.n", "3")]).unwrap();
        let meta = json!({"team": "eng", "n": 3}).as_object().unwrap().clone();
        assert!(q.matches_meta(&meta));
        let meta = json!({"team": "ops", "n": 3}).as_object().unwrap().clone();
        assert!(!q.matches_meta(&meta));
        assert!(!q.matches_meta(&Map::new()));
    }
}
