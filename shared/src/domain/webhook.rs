//! Notion webhooks (SPEC §2.2): what Notion delivers, how a delivery is authenticated, and
//! what an event asks the crawler to do.
//!
//! Notion's documents (developers.notion.com, "Webhooks", "Event types & delivery"):
//! - subscribing sends one unsigned POST `{"verification_token": "..."}`;
//! - every event after that is one POST signed `X-Notion-Signature: sha256=<hex>`, the
//!   HMAC-SHA256 of the raw body keyed with that token;
//! - an event is `{id, timestamp, workspace_id, type, entity: {id, type}, data, ...}`;
//!   deliveries are retried (up to 8 attempts), may repeat and may arrive out of order.
//!
//! An event becomes [`Work`]: pages to read (and whether their children must be discovered),
//! data sources or databases to query for rows edited since the last run, and containers
//! whose known rows must be confirmed. Work is kept per integration as a set of keys
//! ([`Work::key`]) until a targeted run takes it ([`Targets`]).

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// Largest body the webhook route accepts (SPEC: over 256 KiB answers 400).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Seconds an event id is remembered to drop repeated deliveries (Notion retries for
/// hours, never for days).
pub const EVENT_ID_TTL_SECS: i64 = 7 * 24 * 3600;

/// Default coalescing window (`WEBHOOK_DEBOUNCE_SECS`).
pub const DEFAULT_DEBOUNCE_SECS: u32 = 2;

/// The longest SQS delays a message on the sync queue (`DelaySeconds`, 15 minutes): a
/// flush, a follow-up read or a run's continuation.
pub const MAX_QUEUE_DELAY_SECS: u32 = 900;

/// Largest coalescing window: as long as SQS delays a message.
pub const MAX_DEBOUNCE_SECS: u32 = MAX_QUEUE_DELAY_SECS;

/// Pending work keys past which an integration's events become one full sync instead: the
/// set lives in one DynamoDB item (400 KB), and a burst that large (a bulk import, a moved
/// teamspace) is cheaper to sync whole than page by page.
pub const MAX_PENDING_KEYS: usize = 5_000;

/// Work keys one targeted run takes (the rest wait for the next one): they ride in its
/// checkpoint, one DynamoDB item.
pub const MAX_TARGET_KEYS: usize = 1_000;

/// Longest verification token accepted from a handshake (Notion's are ~50 characters).
const MAX_TOKEN_CHARS: usize = 512;

/// Longest entity id accepted (Notion ids are 36-character UUIDs).
const MAX_ENTITY_ID_CHARS: usize = 64;

/// The signature header Notion sends.
pub const SIGNATURE_HEADER: &str = "x-notion-signature";

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` keyed with `token`,
/// compared in constant time.
pub fn signature_matches(body: &[u8], header: &str, token: &str) -> bool {
    let Some(hex_digest) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(token.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// `sha256=<hex>` of `body` keyed with `token` (what Notion sends; for tests and tools).
pub fn sign(body: &[u8], token: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a delivery's body is refused (answered 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not a JSON object.
    #[error("The body must be a JSON object.")]
    NotAnObject,
    /// A handshake whose token is empty, too long or not printable.
    #[error("verification_token must be a non-empty printable string of at most 512 characters.")]
    BadToken,
    /// An event without a string `id` or `type`.
    #[error("A Notion event needs a string id and type.")]
    NotAnEvent,
}

/// The handshake's verification token, when `body` is one: an object whose only field is
/// a string `verification_token`.
pub fn handshake_token(body: &Value) -> Result<Option<String>, BodyError> {
    let object = body.as_object().ok_or(BodyError::NotAnObject)?;
    let Some(token) = object.get("verification_token") else {
        return Ok(None);
    };
    if object.len() != 1 {
        return Ok(None);
    }
    let token = token.as_str().ok_or(BodyError::BadToken)?;
    let printable = token.chars().all(|c| c.is_ascii_graphic());
    if token.is_empty() || token.chars().count() > MAX_TOKEN_CHARS || !printable {
        return Err(BodyError::BadToken);
    }
    Ok(Some(token.to_string()))
}

/// One Notion event, as much of it as the service uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The event's id (repeated deliveries carry the same one).
    pub id: String,
    /// `page.created`, `data_source.content_updated`, ...
    pub kind: String,
    /// What it is about: `entity.id`, when it is a usable id.
    pub entity_id: Option<String>,
    /// `entity.type`: `page`, `database`, `data_source`, `block`, `comment`...
    pub entity_type: Option<String>,
    /// The workspace it happened in.
    pub workspace_id: Option<String>,
    /// When it happened (ISO 8601).
    pub timestamp: Option<String>,
}

/// Whether `id` can be a Notion id: UUID characters only, so it is safe in keys and URLs.
fn usable_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ENTITY_ID_CHARS && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

impl WebhookEvent {
    /// Reads an event from a delivery's body.
    pub fn parse(body: &Value) -> Result<Self, BodyError> {
        let object = body.as_object().ok_or(BodyError::NotAnObject)?;
        let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(id), Some(kind)) = (text("id"), text("type")) else {
            return Err(BodyError::NotAnEvent);
        };
        if id.is_empty() || id.len() > 128 {
            return Err(BodyError::NotAnEvent);
        }
        let entity = object.get("entity");
        let entity_text = |name: &str| entity.and_then(|e| e.get(name)).and_then(Value::as_str);
        Ok(Self {
            id,
            kind,
            entity_id: entity_text("id").filter(|i| usable_id(i)).map(str::to_string),
            entity_type: entity_text("type").map(str::to_string),
            workspace_id: text("workspace_id"),
            timestamp: text("timestamp"),
        })
    }

    /// What the event asks of the crawler; nothing for events the service ignores
    /// (`comment.*`, `page.locked`, unknown types) or without a usable entity id.
    pub fn work(&self) -> Vec<Work> {
        let Some(id) = self.entity_id.clone() else {
            return Vec::new();
        };
        let (family, action) = self.kind.split_once('.').unwrap_or((self.kind.as_str(), ""));
        match (family, action) {
            // A page that appeared (or came back, or moved in or out of what the token can
            // see) brings its subtree; a deleted one takes its known subtree with it, each
            // page confirmed gone before its records go.
            ("page", "created" | "moved" | "undeleted" | "deleted") => vec![Work::Subtree(id)],
            ("page", "content_updated" | "properties_updated") => vec![Work::Page(id)],
            ("data_source", "deleted") | ("database", "deleted") => vec![Work::Rows(id)],
            ("data_source", _) => vec![Work::Source(id)],
            ("database", _) => vec![Work::Database(id)],
            _ => Vec::new(),
        }
    }
}

/// One thing a targeted run must do.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Work {
    /// Read this page (confirming it first).
    Page(String),
    /// Read this page and discover its children (or, when it is gone, confirm its known
    /// children gone too).
    Subtree(String),
    /// Query this data source for rows edited since the last run.
    Source(String),
    /// Resolve this database to its data sources and query each as [`Work::Source`].
    Database(String),
    /// Confirm every known row of this deleted data source or database.
    Rows(String),
    /// Too much to name: sync everything (a full run).
    Everything,
}

impl Work {
    /// The key stored in the integration's pending set.
    pub fn key(&self) -> String {
        match self {
            Self::Page(id) => format!("page:{id}"),
            Self::Subtree(id) => format!("subtree:{id}"),
            Self::Source(id) => format!("source:{id}"),
            Self::Database(id) => format!("database:{id}"),
            Self::Rows(id) => format!("rows:{id}"),
            Self::Everything => "everything:all".to_string(),
        }
    }

    /// Reads a key back; none for a key this version does not know.
    pub fn from_key(key: &str) -> Option<Self> {
        if key == "everything:all" {
            return Some(Self::Everything);
        }
        let (kind, id) = key.split_once(':')?;
        if !usable_id(id) {
            return None;
        }
        let id = id.to_string();
        Some(match kind {
            "page" => Self::Page(id),
            "subtree" => Self::Subtree(id),
            "source" => Self::Source(id),
            "database" => Self::Database(id),
            "rows" => Self::Rows(id),
            _ => return None,
        })
    }
}

/// What a targeted run was asked to do, taken from the pending set when it started and
/// kept in its checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    /// The pending keys this run took (removed from the set once the run has them).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Pages to read.
    #[serde(default)]
    pub pages: Vec<String>,
    /// Pages whose children are discovered too; grows as their children are found.
    #[serde(default)]
    pub subtrees: Vec<String>,
    /// Containers whose known rows are confirmed one by one.
    #[serde(default)]
    pub rows_of: Vec<String>,
    /// Rows edited from this minute on are listed (the start of the previous run); none
    /// lists every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_since: Option<String>,
    /// Pages Notion confirmed gone or in trash during this run: their records go.
    #[serde(default)]
    pub gone: Vec<String>,
    /// Databases found below a named subtree: listed whole, not since `edited_since`.
    #[serde(default)]
    pub whole_databases: Vec<String>,
    /// Pages this run read within their edit minute, with the time (epoch seconds) it
    /// settles: the run's end queues one follow-up read of each for then (SPEC §2.2).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub follow_ups: std::collections::BTreeMap<String, i64>,
}

impl Targets {
    /// The targets of a set of pending keys (unknown keys are dropped), with data sources
    /// and databases returned apart for the run's listings.
    pub fn from_keys(keys: Vec<String>, edited_since: Option<String>) -> (Self, Vec<String>, Vec<String>) {
        let mut targets = Targets {
            edited_since,
            ..Targets::default()
        };
        let (mut sources, mut databases) = (Vec::new(), Vec::new());
        let mut work: Vec<Work> = keys.iter().filter_map(|k| Work::from_key(k)).collect();
        work.sort();
        work.dedup();
        for w in work {
            match w {
                Work::Page(id) => targets.pages.push(id),
                Work::Subtree(id) => targets.subtrees.push(id),
                Work::Source(id) => sources.push(id),
                Work::Database(id) => databases.push(id),
                Work::Rows(id) => targets.rows_of.push(id),
                Work::Everything => {}
            }
        }
        targets.keys = keys;
        (targets, sources, databases)
    }

    /// Whether `page_id`'s children are discovered.
    pub fn expands(&self, page_id: &str) -> bool {
        self.subtrees.iter().any(|s| s == page_id)
    }

    /// Notes that `page_id`'s children are discovered too.
    pub fn expand(&mut self, page_id: &str) {
        if !self.expands(page_id) {
            self.subtrees.push(page_id.to_string());
        }
    }
}

/// The minute `rfc3339` falls in, as Notion's timestamp filters compare (Notion keeps
/// `last_edited_time` to the minute).
pub fn minute_of(rfc3339: &str) -> Option<String> {
    let at = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    let secs = at.timestamp();
    let minute = chrono::DateTime::from_timestamp(secs - secs.rem_euclid(60), 0)?;
    Some(minute.format("%Y-%m-%dT%H:%M:%S.000Z").to_string())
}

/// Where an integration's webhook stands (`webhook/fetch`'s `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    /// No handshake yet.
    AwaitingToken,
    /// A token is stored; no signed event has arrived yet.
    AwaitingEvents,
    /// Signed events arrive.
    Active,
}

/// What the service keeps of an integration's webhook: the integration id's owner (the
/// public route knows only the id), its state, and the work events left for a targeted run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookState {
    /// The owning account.
    pub account_id: String,
    /// The integration.
    pub integration_id: String,
    /// When the last handshake stored a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_at: Option<String>,
    /// When the first signed event proved the token in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    /// When the last signed event arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<String>,
    /// Work keys ([`Work::key`]) not yet taken by a targeted run (stored as a string set
    /// by the DynamoDB adapter, so never written as a list here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
    /// When a flush of the pending work was last queued (epoch seconds); none when no
    /// flush is on its way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_queued_at: Option<i64>,
}

impl WebhookState {
    /// The status, given whether a token is stored.
    pub fn status(&self, has_token: bool) -> WebhookStatus {
        match (has_token, &self.verified_at) {
            (false, _) => WebhookStatus::AwaitingToken,
            (true, None) => WebhookStatus::AwaitingEvents,
            (true, Some(_)) => WebhookStatus::Active,
        }
    }
}

/// How a handshake went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeOutcome {
    /// The token may be stored (none stored yet, or one no signed event used).
    Accepted,
    /// A signed event already used the stored token: it is kept.
    TokenInUse,
    /// The integration has no webhook (deleted).
    Unknown,
}

/// What recording an event's work returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// This was the first signed event: the webhook just became active.
    pub first_event: bool,
}

/// The message that turns an integration's pending work into a targeted run, queued on
/// the sync queue with a delay of `WEBHOOK_DEBOUNCE_SECS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookFlush {
    /// The owning account.
    pub account_id: String,
    /// The integration whose pending work is due (its `flushIntegrationId` tells this
    /// message apart on the queue).
    pub flush_integration_id: String,
    /// Pages a targeted run read within their edit minute: added to the pending work when
    /// this flush arrives (sent delayed until the minute closed), so they are read again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_up: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    const RFC4231_2: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn signatures_match_rfc_4231_and_refuse_anything_else() {
        let body = b"what do ya want for nothing?";
        assert_eq!(sign(body, "Jefe"), format!("sha256={RFC4231_2}"));
        assert!(signature_matches(body, &format!("sha256={RFC4231_2}"), "Jefe"));
        assert!(signature_matches(body, &format!(" sha256={RFC4231_2} "), "Jefe"));
        let mut wrong = RFC4231_2.to_string();
        wrong.replace_range(0..1, "6");
        for header in [
            format!("sha256={wrong}"),
            RFC4231_2.to_string(),
            format!("sha1={RFC4231_2}"),
            format!("sha256={}", &RFC4231_2[..62]),
            "sha256=zz".into(),
            String::new(),
        ] {
            assert!(!signature_matches(body, &header, "Jefe"), "{header}");
        }
        assert!(!signature_matches(
            b"what do ya want for nothing!",
            &sign(body, "Jefe"),
            "Jefe"
        ));
        assert!(!signature_matches(body, &sign(body, "Jefe"), "jefe"));
    }

    #[test]
    fn a_handshake_is_an_object_with_only_a_printable_token() {
        assert_eq!(
            handshake_token(&json!({"verification_token": "secret_abc"})),
            Ok(Some("secret_abc".into()))
        );
        assert_eq!(handshake_token(&json!({"id": "e", "type": "page.created"})), Ok(None));
        assert_eq!(
            handshake_token(&json!({"verification_token": "s", "type": "page.created"})),
            Ok(None)
        );
        for bad in [json!(""), json!(7), json!("has space"), json!("x".repeat(513))] {
            assert_eq!(
                handshake_token(&json!({ "verification_token": bad })),
                Err(BodyError::BadToken)
            );
        }
        assert_eq!(handshake_token(&json!([1])), Err(BodyError::NotAnObject));
    }

    fn event(kind: &str, entity_type: &str) -> WebhookEvent {
        WebhookEvent::parse(&json!({
            "id": "e7e7e7e7-0000-4000-8000-000000000001",
            "timestamp": "2026-12-02T10:00:00.000Z",
            "workspace_id": "ws",
            "type": kind,
            "entity": {"id": "0a0b0c0d-0000-4000-8000-000000000001", "type": entity_type},
            "data": {},
        }))
        .unwrap()
    }

    #[test]
    fn events_become_work_as_spec_says() {
        let id = "0a0b0c0d-0000-4000-8000-000000000001".to_string();
        for kind in ["page.created", "page.moved", "page.undeleted", "page.deleted"] {
            assert_eq!(event(kind, "page").work(), vec![Work::Subtree(id.clone())], "{kind}");
        }
        for kind in ["page.content_updated", "page.properties_updated"] {
            assert_eq!(event(kind, "page").work(), vec![Work::Page(id.clone())], "{kind}");
        }
        for kind in [
            "data_source.content_updated",
            "data_source.schema_updated",
            "data_source.created",
        ] {
            assert_eq!(event(kind, "data_source").work(), vec![Work::Source(id.clone())]);
        }
        assert_eq!(
            event("database.content_updated", "database").work(),
            vec![Work::Database(id.clone())]
        );
        assert_eq!(
            event("database.deleted", "database").work(),
            vec![Work::Rows(id.clone())]
        );
        assert_eq!(event("data_source.deleted", "data_source").work(), vec![Work::Rows(id)]);
        for ignored in [
            "comment.created",
            "page.locked",
            "page.unlocked",
            "file_upload.completed",
            "x",
        ] {
            assert!(event(ignored, "page").work().is_empty(), "{ignored}");
        }
    }

    #[test]
    fn events_need_an_id_and_a_type_and_unsafe_entity_ids_are_dropped() {
        assert_eq!(
            WebhookEvent::parse(&json!({"type": "page.created"})),
            Err(BodyError::NotAnEvent)
        );
        assert_eq!(
            WebhookEvent::parse(&json!({"id": 1, "type": "x"})),
            Err(BodyError::NotAnEvent)
        );
        let e = WebhookEvent::parse(
            &json!({"id": "e", "type": "page.created", "entity": {"id": "../x#y", "type": "page"}}),
        )
        .unwrap();
        assert_eq!(e.entity_id, None);
        assert!(e.work().is_empty());
    }

    #[test]
    fn work_keys_round_trip_and_unknown_ones_are_dropped() {
        let id = "0a0b0c0d-0000-4000-8000-000000000001".to_string();
        for w in [
            Work::Everything,
            Work::Page(id.clone()),
            Work::Subtree(id.clone()),
            Work::Source(id.clone()),
            Work::Database(id.clone()),
            Work::Rows(id.clone()),
        ] {
            assert_eq!(Work::from_key(&w.key()), Some(w));
        }
        assert_eq!(Work::from_key("block:abc"), None);
        assert_eq!(Work::from_key("page:a/b"), None);
        let (t, sources, dbs) = Targets::from_keys(
            vec![
                format!("page:{id}"),
                format!("page:{id}"),
                "source:aa".into(),
                "database:bb".into(),
                "rows:cc".into(),
                "subtree:dd".into(),
                "junk".into(),
            ],
            Some("2026-12-02T10:00:00.000Z".into()),
        );
        assert_eq!(t.pages, vec![id]);
        assert_eq!(t.subtrees, vec!["dd".to_string()]);
        assert_eq!(t.rows_of, vec!["cc".to_string()]);
        assert_eq!((sources, dbs), (vec!["aa".to_string()], vec!["bb".to_string()]));
        assert_eq!(t.keys.len(), 7, "every key taken is removed, even unknown ones");
    }

    #[test]
    fn minutes_are_floored() {
        assert_eq!(
            minute_of("2026-12-02T10:07:59.999Z").as_deref(),
            Some("2026-12-02T10:07:00.000Z")
        );
        assert_eq!(
            minute_of("2026-12-02T11:07:30+01:00").as_deref(),
            Some("2026-12-02T10:07:00.000Z")
        );
        assert_eq!(minute_of("yesterday"), None);
    }

    #[test]
    fn status_follows_token_and_first_event() {
        let mut state = WebhookState::default();
        assert_eq!(state.status(false), WebhookStatus::AwaitingToken);
        assert_eq!(state.status(true), WebhookStatus::AwaitingEvents);
        state.verified_at = Some("t".into());
        assert_eq!(state.status(true), WebhookStatus::Active);
        assert_eq!(state.status(false), WebhookStatus::AwaitingToken);
    }
}
