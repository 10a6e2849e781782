//! Resource ids: a kind prefix plus a ULID, so ids sort by creation time.

use ulid::Ulid;

/// The kinds of resource with generated ids, and their prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// `notion_…`
    Integration,
    /// `dataset_…`
    Dataset,
    /// `account_…`
    Account,
    /// `event_…`
    Event,
    /// `record_…` (records written through the API; synced records have derived ids)
    Record,
}

impl IdKind {
    /// The id prefix, including the underscore.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Integration => "notion_",
            Self::Dataset => "dataset_",
            Self::Account => "account_",
            Self::Event => "event_",
            Self::Record => "record_",
        }
    }
}

/// ULIDs of this process, strictly increasing even within one millisecond, so two
/// events (or integrations) made back to back list in the order they happened.
static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

/// A new id of `kind`.
pub fn new_id(kind: IdKind) -> String {
    let mut generator = GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Overflow needs 2^80 ids in one millisecond; a fresh random ULID is then still unique.
    let ulid = generator.generate().unwrap_or_else(|_| Ulid::generate());
    format!("{}{}", kind.prefix(), ulid)
}

/// Whether `id` has the shape of an id of `kind` (prefix plus a canonical ULID).
pub fn is_valid(kind: IdKind, id: &str) -> bool {
    id.strip_prefix(kind.prefix())
        .is_some_and(|rest| rest.len() == 26 && Ulid::from_string(rest).is_ok_and(|u| u.to_string() == rest))
}

/// Whether `id` is a well-formed record id: 1 to 128 of `[A-Za-z0-9_-]`.
pub fn is_valid_record_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_time_ordered() {
        let a = new_id(IdKind::Integration);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(IdKind::Integration);
        assert!(is_valid(IdKind::Integration, &a));
        assert!(a < b);
        assert!(a.starts_with("notion_"));
    }

    #[test]
    fn ids_made_back_to_back_keep_their_order() {
        let ids: Vec<String> = (0..1_000).map(|_| new_id(IdKind::Event)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn rejects_foreign_and_malformed_ids() {
        let id = new_id(IdKind::Dataset);
        assert!(!is_valid(IdKind::Integration, &id));
        assert!(!is_valid(IdKind::Dataset, "dataset_"));
        assert!(!is_valid(IdKind::Dataset, &format!("{}x", id)));
        assert!(!is_valid(IdKind::Dataset, &id.to_lowercase()));
        assert!(!is_valid(IdKind::Dataset, "dataset_../../etc/passwd________"));
    }

    #[test]
    fn record_ids() {
        assert!(is_valid_record_id("record_abc-123"));
        assert!(!is_valid_record_id(""));
        assert!(!is_valid_record_id("a/b"));
        assert!(!is_valid_record_id(&"a".repeat(129)));
    }
}
