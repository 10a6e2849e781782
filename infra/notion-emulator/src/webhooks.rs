//! Webhook delivery as Notion documents it (developers.notion.com, "Webhooks" and "Event
//! types & delivery"):
//!
//! - **Subscribing:** Notion first POSTs `{"verification_token": "..."}` to the endpoint, with
//!   no signature; the user pastes that token back into the integration's settings.
//! - **Events:** every later delivery is a POST of one event, signed in
//!   `X-Notion-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the
//!   verification token. The shape ("Event properties"): `id` (UUID), `timestamp` (ISO 8601,
//!   for ordering), `workspace_id`, `workspace_name`, `subscription_id`, `integration_id`,
//!   `type` (`page.created`, `page.content_updated`, `page.deleted`, `page.undeleted`, ...),
//!   `authors` (`[{id, type}]`), `accessible_by` (public connections only), `attempt_number`
//!   (1-8), `api_version`, `entity` (`{id, type}`: page, block or database) and `data`.
//! - **Delivery:** a delivery that is not answered 2xx is retried, up to 8 attempts, with
//!   `attempt_number` counting them ("Delivery retries"); events may arrive out of order
//!   ("Event ordering") and aggregated ones late.
//!
//! Fault modes for tests: every event delivered twice (a retry whose answer was lost),
//! deliveries in reverse order, and events naming pages the token cannot read.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::Duration;

/// One subscription: where to deliver, and the token signing the deliveries.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// The endpoint Notion POSTs to.
    pub url: String,
    /// The token of the handshake, which signs every event.
    pub verification_token: String,
    /// `subscription_id` of the events.
    pub id: String,
}

/// How deliveries behave.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Attempts per event (Notion: up to 8).
    pub max_attempts: u32,
    /// First wait between attempts, doubled each time (Notion's real schedule is longer;
    /// tests shorten it).
    pub backoff: Duration,
    /// Deliver every event twice.
    pub duplicate: bool,
    /// Deliver a batch of events in reverse order.
    pub reverse: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff: Duration::from_millis(100),
            duplicate: false,
            reverse: false,
        }
    }
}

/// `sha256=<hex>` of `body` keyed with `token`.
pub fn signature(body: &[u8], token: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One event in Notion's shape.
pub fn event(
    subscription: &Subscription,
    id: &str,
    kind: &str,
    entity_id: &str,
    entity_type: &str,
    timestamp: &str,
    attempt: u32,
) -> Value {
    json!({
        "id": id,
        "timestamp": timestamp,
        "workspace_id": crate::model::WORKSPACE_ID,
        "workspace_name": "Emulated Workspace",
        "subscription_id": subscription.id,
        "integration_id": "1e1e1e1e-0000-4000-8000-000000000001",
        "type": kind,
        "authors": [{"id": "u5e70000-0000-4000-8000-000000000001", "type": "person"}],
        "attempt_number": attempt,
        "api_version": "2025-09-03",
        "entity": {"id": entity_id, "type": entity_type},
        "data": {},
    })
}

/// What became of one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The event's id (or `handshake`).
    pub event_id: String,
    /// The event's type.
    pub kind: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last status answered (0 when the endpoint could not be reached).
    pub status: u16,
}

/// Sends the handshake: the verification token, unsigned.
pub async fn handshake(http: &reqwest::Client, subscription: &Subscription) -> Delivery {
    let body = json!({"verification_token": subscription.verification_token}).to_string();
    let status = post(http, &subscription.url, body, None).await;
    Delivery {
        event_id: "handshake".into(),
        kind: "handshake".into(),
        attempts: 1,
        status,
    }
}

/// Delivers one event, retrying until a 2xx answer or `max_attempts`.
pub async fn deliver(
    http: &reqwest::Client,
    subscription: &Subscription,
    config: &DeliveryConfig,
    event_id: &str,
    kind: &str,
    entity: (&str, &str),
    timestamp: &str,
) -> Delivery {
    let mut status = 0;
    let mut attempt = 0;
    while attempt < config.max_attempts.max(1) {
        attempt += 1;
        let body = event(subscription, event_id, kind, entity.0, entity.1, timestamp, attempt).to_string();
        let signed = signature(body.as_bytes(), &subscription.verification_token);
        status = post(http, &subscription.url, body, Some(signed)).await;
        if (200..300).contains(&status) {
            break;
        }
        tokio::time::sleep(config.backoff * 2u32.saturating_pow(attempt - 1).min(64)).await;
    }
    Delivery {
        event_id: event_id.into(),
        kind: kind.into(),
        attempts: attempt,
        status,
    }
}

async fn post(http: &reqwest::Client, url: &str, body: String, signature: Option<String>) -> u16 {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(10))
        .body(body);
    if let Some(signature) = signature {
        request = request.header("x-notion-signature", signature);
    }
    match request.send().await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_the_raw_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"what do ya want for nothing?", "Jefe"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn events_have_the_documented_properties() {
        let subscription = Subscription {
            url: "http://127.0.0.1:9/hook".into(),
            verification_token: "secret_whv".into(),
            id: "5b5b5b5b-0000-4000-8000-000000000001".into(),
        };
        let e = event(
            &subscription,
            "e-1",
            "page.created",
            "p-1",
            "page",
            "2026-12-02T10:00:00.000Z",
            3,
        );
        for field in [
            "id",
            "timestamp",
            "workspace_id",
            "workspace_name",
            "subscription_id",
            "integration_id",
            "type",
            "authors",
            "attempt_number",
            "api_version",
            "entity",
            "data",
        ] {
            assert!(e.get(field).is_some(), "{field}");
        }
        assert_eq!(e["entity"], json!({"id": "p-1", "type": "page"}));
        assert_eq!(e["attempt_number"], 3);
    }
}
