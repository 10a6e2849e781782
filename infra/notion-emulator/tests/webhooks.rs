//! The emulator's webhook delivery against a receiver: the unsigned handshake first, then
//! events signed with its token on every mutation, retried until answered 2xx (at most 8
//! attempts, `attempt_number` counting), and the fault modes (duplicates, reverse order,
//! events for pages the token cannot read).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use notion_emulator::generate::{generate, Options};
use notion_emulator::webhooks::signature;
use notion_emulator::{Config, Emulator};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A delivery as received: its signature header and raw body.
type Received = (Option<String>, Vec<u8>);

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answers this many 500s before answering 200.
    failures: Arc<Mutex<u32>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get("x-notion-signature")
        .map(|v| v.to_str().unwrap().to_string());
    r.received.lock().unwrap().push((signature, body.to_vec()));
    let mut failures = r.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::OK
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let app = Router::new().route("/hook", post(receive)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, url)
}

async fn wait_for(r: &Receiver, n: usize) -> Vec<(Option<String>, Value)> {
    for _ in 0..200 {
        if r.received.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    r.received
        .lock()
        .unwrap()
        .iter()
        .map(|(s, b)| (s.clone(), serde_json::from_slice(b).unwrap()))
        .collect()
}

fn emulator() -> Arc<Emulator> {
    Emulator::new(
        generate(&Options {
            pages: 4,
            seed: 1,
            token: "secret_x".into(),
        }),
        Config::default(),
    )
}

#[tokio::test]
async fn handshake_then_signed_events_with_retries() {
    let (r, url) = receiver().await;
    let emu = emulator();
    emu.configure_webhooks(|c| c.backoff = Duration::from_millis(5));
    let token = emu.subscribe_webhook(&url);
    let handshake = wait_for(&r, 1).await;
    assert_eq!(handshake[0].0, None, "the handshake is not signed");
    assert_eq!(handshake[0].1["verification_token"], token.as_str());

    *r.failures.lock().unwrap() = 2;
    let page = emu.with_workspace(|ws| {
        let page = ws.pages.keys().next().unwrap().clone();
        let block = ws.pages[&page].children[0].clone();
        ws.edit_block(&block, "edited");
        page
    });
    let got = wait_for(&r, 4).await;
    let events = &got[1..];
    assert_eq!(events.len(), 3, "two failed attempts, then the delivery");
    for (i, (signed, event)) in events.iter().enumerate() {
        assert_eq!(event["type"], "page.content_updated");
        assert_eq!(event["entity"]["id"], page.as_str());
        assert_eq!(event["attempt_number"], i as u64 + 1);
        assert!(
            signed.as_deref().is_some_and(|s| s.starts_with("sha256=")),
            "every event is signed"
        );
    }
    // The signature is over the raw body as sent.
    let (signed, raw) = r.received.lock().unwrap()[3].clone();
    assert_eq!(signed.unwrap(), signature(&raw, &token));
    assert_ne!(signature(&raw, "another token"), signature(&raw, &token));
    let deliveries = emu.webhook_deliveries();
    assert!(deliveries
        .iter()
        .any(|d| d.kind == "page.content_updated" && d.attempts == 3 && d.status == 200));
}

#[tokio::test]
async fn fault_modes_duplicate_reverse_and_inaccessible() {
    let (r, url) = receiver().await;
    let emu = emulator();
    emu.configure_webhooks(|c| {
        c.duplicate = true;
        c.reverse = true;
    });
    emu.webhook_inaccessible_events(true);
    emu.subscribe_webhook(&url);
    wait_for(&r, 1).await;
    let (created, trashed) = emu.with_workspace(|ws| {
        let root = ws.pages.keys().next().unwrap().clone();
        let created = ws.add_page(notion_emulator::model::Parent::Page(root), "New", false);
        ws.trash_page(&created);
        (created.clone(), created)
    });
    // page.content_updated (the parent), page.created, page.deleted, the inaccessible one:
    // each twice, in reverse order.
    let got = wait_for(&r, 1 + 8).await;
    let kinds: Vec<&str> = got[1..].iter().map(|(_, e)| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    assert_eq!(
        kinds[0], "page.content_updated",
        "the extra event comes first when reversed"
    );
    assert_eq!(got[1].1["entity"]["id"], "00000000-dead-4000-8000-000000000000");
    assert_eq!(got[1].1["id"], got[2].1["id"], "duplicated");
    assert!(kinds.contains(&"page.deleted") && kinds.contains(&"page.created"));
    let deleted = got[1..].iter().position(|(_, e)| e["type"] == "page.deleted").unwrap();
    let made = got[1..].iter().position(|(_, e)| e["type"] == "page.created").unwrap();
    assert!(deleted < made, "out of order: the delete arrives before the create");
    assert_eq!(created, trashed);
}

/// The admin routes the local stack uses in place of Notion's settings page: subscribe an
/// endpoint over HTTP (the handshake goes out, the token comes back), edit through
/// `/__emulator/edit` (each edit delivered, signed), list the deliveries.
#[tokio::test]
async fn admin_routes_subscribe_an_endpoint_and_list_deliveries() {
    let (r, url) = receiver().await;
    let emu = emulator();
    let base = notion_emulator::spawn(emu.clone()).await.unwrap();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{base}/__emulator/webhooks"))
        .json(&serde_json::json!({"url": url}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["verificationToken"].as_str().unwrap().to_string();
    let handshake = wait_for(&r, 1).await;
    assert_eq!(handshake[0].1["verification_token"], token.as_str());
    let refused = http
        .post(format!("{base}/__emulator/webhooks"))
        .json(&serde_json::json!({"url": "ftp://nowhere"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    let edited: Value = http
        .post(format!("{base}/__emulator/edit"))
        .json(&serde_json::json!({"every": 1, "text": "admin edit"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = edited["edited"].as_u64().unwrap() as usize;
    assert!(n >= 1);
    let got = wait_for(&r, 1 + n).await;
    for (signed, raw) in r.received.lock().unwrap()[1..].iter() {
        assert_eq!(signed.clone().unwrap(), signature(raw, &token));
    }
    assert!(got[1..].iter().all(|(_, e)| e["type"] == "page.content_updated"));
    let listed: Value = http
        .get(format!("{base}/__emulator/webhooks/deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deliveries = listed["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1 + n, "{listed}");
    assert!(deliveries.iter().all(|d| d["status"] == 200));
}
