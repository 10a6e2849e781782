//! Reading JSON request bodies field by field, with SPEC's split between `BAD_REQUEST`
//! (not JSON, not an object, unknown fields, wrong types) and `VALIDATION_ERROR` (a value
//! out of range or malformed).

use serde::Serialize;
use serde_json::{Map, Value};

/// A problem with one field of a request, reported in `details`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the client sent it (`syncSchedule`, `meta.owner`, `take`).
    pub field: String,
    /// One sentence saying what is wrong with it.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why client input was refused; the HTTP layer maps it to SPEC's 400 answers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Not JSON, not an object, unknown fields, wrong types (`BAD_REQUEST`).
    #[error("{message}")]
    Malformed {
        /// The sentence returned to the client.
        message: String,
        /// Per-field problems, when the problem is with named fields.
        details: Vec<FieldError>,
    },
    /// A field's value is out of range or malformed (`VALIDATION_ERROR`).
    #[error("request validation failed")]
    Invalid(Vec<FieldError>),
}

impl InputError {
    /// A malformed request without field details.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::Malformed {
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// SPEC's error code for it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "BAD_REQUEST",
            Self::Invalid(_) => "VALIDATION_ERROR",
        }
    }
}

/// Largest request body accepted; larger bodies are refused before parsing.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A field that may be absent, explicitly null, or set.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// Not sent: keep the stored value.
    #[default]
    Absent,
    /// Sent as `null` (or an empty string where that means the same): clear the value.
    Clear,
    /// Sent with a value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the field was sent at all.
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// The value after applying this patch to `current`.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Absent => current,
            Self::Clear => None,
            Self::Set(v) => Some(v),
        }
    }

    /// Maps the set value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Self::Absent => Patch::Absent,
            Self::Clear => Patch::Clear,
            Self::Set(v) => Patch::Set(f(v)),
        }
    }

    /// The set value, if any.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Self::Set(v) => Some(v),
            _ => None,
        }
    }
}

/// Parses a request body that must be a JSON object. An empty body counts as `{}`, since
/// many clients send nothing with a POST that needs no fields.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, InputError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(InputError::malformed(format!(
            "The request body is larger than {} KiB.",
            MAX_BODY_BYTES / 1024
        )));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| InputError::malformed(format!("The request body is not valid JSON ({e}).")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(InputError::malformed("The request body must be a JSON object.")),
    }
}

/// The JSON type name used in error messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads typed fields out of a JSON object, collecting every problem before answering.
pub struct ObjectReader {
    map: Map<String, Value>,
    type_errors: Vec<FieldError>,
    invalid: Vec<FieldError>,
}

impl ObjectReader {
    /// Starts reading `map`; any key not in `allowed` is a `BAD_REQUEST` naming it.
    pub fn new(map: Map<String, Value>, allowed: &[&str]) -> Result<Self, InputError> {
        let unknown: Vec<FieldError> = map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| FieldError::new(k.clone(), "is not a known field"))
            .collect();
        if !unknown.is_empty() {
            let names: Vec<&str> = unknown.iter().map(|f| f.field.as_str()).collect();
            return Err(InputError::Malformed {
                message: format!(
                    "The request has unknown fields: {}. Known fields are: {}.",
                    names.join(", "),
                    allowed.join(", ")
                ),
                details: unknown,
            });
        }
        Ok(Self {
            map,
            type_errors: Vec::new(),
            invalid: Vec::new(),
        })
    }

    fn wrong_type(&mut self, field: &str, expected: &str, got: &Value) {
        self.type_errors.push(FieldError::new(
            field,
            format!("must be {expected}, not {}", type_name(got)),
        ));
    }

    /// Records a validation problem with `field`.
    pub fn invalid(&mut self, field: &str, message: impl Into<String>) {
        self.invalid.push(FieldError::new(field, message));
    }

    /// A string of at most `max_chars` characters; `null` clears it. With `empty_clears`,
    /// `""` clears it too.
    pub fn string(&mut self, field: &str, max_chars: usize, empty_clears: bool) -> Patch<String> {
        match self.map.remove(field) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Clear,
            Some(Value::String(s)) if empty_clears && s.is_empty() => Patch::Clear,
            Some(Value::String(s)) => {
                if s.chars().count() > max_chars {
                    self.invalid(field, format!("must be at most {max_chars} characters long"));
                }
                Patch::Set(s)
            }
            Some(other) => {
                self.wrong_type(field, "a string or null", &other);
                Patch::Absent
            }
        }
    }

    /// A whole number within `min..=max`; `null` clears it.
    pub fn integer(&mut self, field: &str, min: u64, max: u64) -> Patch<u64> {
        match self.map.remove(field) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Clear,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if (min..=max).contains(&v) => Patch::Set(v),
                _ => {
                    self.invalid(field, format!("must be a whole number from {min} to {max}"));
                    Patch::Absent
                }
            },
            Some(other) => {
                self.wrong_type(field, "a number or null", &other);
                Patch::Absent
            }
        }
    }

    /// A JSON object whose serialized form is at most `max_bytes`; `null` clears it.
    pub fn object(&mut self, field: &str, max_bytes: usize) -> Patch<Map<String, Value>> {
        match self.map.remove(field) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Clear,
            Some(Value::Object(m)) => {
                let size = serde_json::to_vec(&m).map(|v| v.len()).unwrap_or(usize::MAX);
                if size > max_bytes {
                    self.invalid(
                        field,
                        format!("must be at most {} KiB once serialized", max_bytes / 1024),
                    );
                }
                Patch::Set(m)
            }
            Some(other) => {
                self.wrong_type(field, "an object or null", &other);
                Patch::Absent
            }
        }
    }

    /// Ends reading: type errors answer `BAD_REQUEST`, then value errors `VALIDATION_ERROR`.
    pub fn finish(self) -> Result<(), InputError> {
        if !self.type_errors.is_empty() {
            let message = match self.type_errors.as_slice() {
                [one] => format!("The field {} {}.", one.field, one.message),
                _ => "Some fields have the wrong type; see details.".to_string(),
            };
            return Err(InputError::Malformed {
                message,
                details: self.type_errors,
            });
        }
        if !self.invalid.is_empty() {
            return Err(InputError::Invalid(self.invalid));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn bodies_that_are_not_objects_are_bad_requests() {
        for body in [&b"not json"[..], b"[1]", b"\"s\"", b"{\"a\":", b"\xff\xfe"] {
            let err = parse_object(body).unwrap_err();
            assert_eq!(err.code(), "BAD_REQUEST", "{body:?}");
        }
        assert!(parse_object(b"").unwrap().is_empty());
        assert!(parse_object(b"  \n").unwrap().is_empty());
        assert_eq!(
            parse_object(&vec![b' '; MAX_BODY_BYTES + 1]).unwrap_err().code(),
            "BAD_REQUEST"
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let Err(InputError::Malformed { message, details }) = ObjectReader::new(obj(json!({"nmae": 1})), &["name"])
        else {
            panic!("expected a bad request");
        };
        assert!(message.contains("nmae"));
        assert_eq!(details[0].field, "nmae");
    }

    #[test]
    fn wrong_types_beat_invalid_values() {
        let mut r = ObjectReader::new(obj(json!({"a": 5, "b": "x".repeat(10)})), &["a", "b"]).unwrap();
        assert_eq!(r.string("a", 5, false), Patch::Absent);
        r.string("b", 5, false);
        assert_eq!(r.finish().unwrap_err().code(), "BAD_REQUEST");
    }

    #[test]
    fn values_are_checked() {
        let mut r = ObjectReader::new(
            obj(json!({"s": "abcdef", "n": -1, "f": 1.5, "big": 11, "ok": 10, "m": {"k": "v".repeat(100)}, "e": ""})),
            &["s", "n", "f", "big", "ok", "m", "e"],
        )
        .unwrap();
        assert_eq!(r.string("s", 5, false), Patch::Set("abcdef".into()));
        assert_eq!(r.integer("n", 0, 10), Patch::Absent);
        assert_eq!(r.integer("f", 0, 10), Patch::Absent);
        assert_eq!(r.integer("big", 0, 10), Patch::Absent);
        assert_eq!(r.integer("ok", 0, 10), Patch::Set(10));
        assert!(r.object("m", 50).is_present());
        assert_eq!(r.string("e", 5, true), Patch::Clear);
        let Err(InputError::Invalid(details)) = r.finish() else {
            panic!("expected validation")
        };
        let fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["s", "n", "f", "big", "m"]);
    }

    #[test]
    fn null_clears() {
        let mut r = ObjectReader::new(obj(json!({"s": null, "n": null, "m": null})), &["s", "n", "m"]).unwrap();
        assert_eq!(r.string("s", 5, false), Patch::Clear);
        assert_eq!(r.integer("n", 0, 1), Patch::Clear);
        assert_eq!(r.object("m", 10), Patch::Clear);
        r.finish().unwrap();
    }

    #[test]
    fn patch_apply() {
        assert_eq!(Patch::Absent.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Clear.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
    }
}

/// Stores a client's `meta` object as JSON text: DynamoDB's native maps refuse some JSON a
/// client may send (numbers beyond 38 digits or 1e±125, empty keys), and `meta` is only
/// ever read whole. Items written as a native map are still read.
pub mod meta_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::{Map, Value};

    /// Writes the object as JSON text.
    pub fn serialize<S: Serializer>(meta: &Map<String, Value>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&to_text(meta))
    }

    /// Reads JSON text, or a native map.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Map<String, Value>, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => serde_json::from_str(&text).map_err(serde::de::Error::custom),
            Value::Object(map) => Ok(map),
            Value::Null => Ok(Map::new()),
            other => Err(serde::de::Error::custom(format!(
                "meta is neither text nor a map: {other}"
            ))),
        }
    }

    /// The stored form.
    pub fn to_text(meta: &Map<String, Value>) -> String {
        Value::Object(meta.clone()).to_string()
    }
}
