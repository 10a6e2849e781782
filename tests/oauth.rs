//! Connect with Notion (SPEC §2.5) end to end: the local stack served on a socket, the
//! project's Notion emulator as Notion (its documented OAuth endpoints), and an HTTP client
//! that follows redirects as a browser does: authenticate, Notion's authorize, our callback,
//! connected, then a sync with the granted token. Every failure path answers a page and
//! stores nothing; states are single-use and bound to their account and integration.

use integration_tests::TestEnv;
use notion_emulator::generate::{generate, Options};
use notion_emulator::{Config as NotionConfig, Emulator, Fault};
use serde_json::{json, Value};
use shared::config::{ClientSecret, OAuthConfig, Secret};
use shared::domain::account::Plan;
use std::sync::Arc;
use std::time::Duration;

const CLIENT_ID: &str = "client-0a1b2c3d";
const CLIENT_SECRET: &str = "client-secret-never-shown-5e6f";

struct Stack {
    env: TestEnv,
    emulator: Arc<Emulator>,
    notion_url: String,
    base: String,
    account: String,
    key: String,
}

/// The local stack on a socket (Notion's redirect must reach it), OAuth configured or not.
async fn stack(configured: bool) -> Stack {
    let mut env = TestEnv::with_cooldown(0).await;
    let emulator = Emulator::new(
        generate(&Options {
            pages: 6,
            seed: 11,
            token: "secret_internal_unused".into(),
        }),
        NotionConfig::default(),
    );
    emulator.enable_oauth(CLIENT_ID, CLIENT_SECRET);
    let notion_url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    let base = env
        .serve_on_socket(|config| {
            config.notion_api_url = notion_url.clone();
            config.oauth = configured.then(|| OAuthConfig {
                client_id: CLIENT_ID.into(),
                client_secret: ClientSecret::Value(Secret(CLIENT_SECRET.into())),
            });
        })
        .await;
    let (account, key) = env.account_with(Plan::default()).await;
    Stack {
        env,
        emulator,
        notion_url,
        base,
        account,
        key,
    }
}

/// A browser: follows redirects, except to `stop_port` (an app's returnUrl nobody serves).
fn browser(stop_port: Option<u16>) -> reqwest::Client {
    shared::runtime::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if stop_port.is_some() && attempt.url().port() == stop_port {
                attempt.stop()
            } else if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        }))
        .build()
        .unwrap()
}

impl Stack {
    async fn integration(&self) -> String {
        let dataset = self.env.create_dataset(&self.key, &json!({"name": "Wiki"})).await;
        self.env
            .create_integration(&self.key, &json!({"name": "Wiki", "datasetId": dataset}))
            .await
    }

    async fn authenticate(&self, id: &str, body: Value) -> String {
        let answer = self
            .env
            .post(
                &format!("/api/v1/integration/notion/{id}/authenticate"),
                &self.key,
                &body,
            )
            .await
            .ok();
        answer["url"].as_str().unwrap().to_string()
    }

    async fn secret(&self, id: &str) -> Option<String> {
        self.env.secret_value(id).await
    }

    /// Asserts that a failed flow stored nothing on the integration or in its secret.
    async fn assert_unchanged(&self, id: &str, before: &Value, label: &str) {
        let now = self.env.fetch_integration(&self.key, id).await;
        assert_eq!(now["token"], Value::Null, "{label}");
        assert_eq!(now["workspace"], Value::Null, "{label}");
        assert_eq!(now["updatedAt"], before["updatedAt"], "{label}");
        assert_eq!(self.secret(id).await, None, "{label}");
    }
}

async fn page(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_through_notion_then_sync_with_the_granted_token() {
    let s = stack(true).await;
    let id = s.integration().await;
    let url = s.authenticate(&id, json!({})).await;
    assert!(
        url.starts_with(&format!(
            "{}/v1/oauth/authorize?client_id={CLIENT_ID}&response_type=code&owner=user&redirect_uri=",
            s.notion_url
        )),
        "{url}"
    );
    assert!(
        url.contains(&format!(
            "redirect_uri={}",
            form(&format!("{}/api/v1/integration/notion/oauth/callback", s.base))
        )),
        "{url}"
    );

    let response = browser(None).get(&url).send().await.unwrap();
    let landed = response.url().to_string();
    let (status, content_type, html) = page(response).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        landed.starts_with(&format!("{}/api/v1/integration/notion/oauth/callback?code=", s.base)),
        "{landed}"
    );
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(html.contains("Emulated Workspace is connected"), "{html}");

    let fetched = s.env.fetch_integration(&s.key, &id).await;
    assert_eq!(fetched["token"], "********");
    assert_eq!(fetched["workspace"]["name"], "Emulated Workspace");
    assert!(fetched["workspace"]["id"].as_str().is_some_and(|w| !w.is_empty()));
    let secret = s.secret(&id).await.unwrap();
    let stored: Value = serde_json::from_str(&secret).unwrap();
    assert!(
        stored["accessToken"].as_str().unwrap().starts_with("ntn_oauth_"),
        "{secret}"
    );
    assert!(stored["refreshToken"].as_str().unwrap().starts_with("nrt_"), "{secret}");
    assert_eq!(s.emulator.oauth_exchanges("authorization_code"), 1);

    // The granted token syncs the workspace.
    s.env
        .post(&format!("/api/v1/integration/notion/{id}/sync"), &s.key, &json!({}))
        .await
        .ok();
    let crawler = s.env.crawler(&s.notion_url, 50);
    s.env.drain(&crawler, Duration::from_secs(120)).await;
    let state = s.env.fetch_integration(&s.key, &id).await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert!(
        state["lastSyncSummary"]["recordsWritten"].as_u64().unwrap() >= 6,
        "{state}"
    );

    // Pasting a token replaces the connection.
    s.env
        .post(
            &format!("/api/v1/integration/notion/{id}/update"),
            &s.key,
            &json!({"token": "secret_pasted_123"}),
        )
        .await
        .ok();
    assert_eq!(s.env.fetch_integration(&s.key, &id).await["workspace"], Value::Null);
    assert_eq!(s.secret(&id).await.as_deref(), Some("secret_pasted_123"));

    // Nothing secret in any answer or event.
    let events = s.env.get("/api/v1/event/log/list?take=100", &s.key).await.text;
    for text in [&html, &events, &fetched.to_string(), &url] {
        for secret_text in [
            CLIENT_SECRET,
            stored["accessToken"].as_str().unwrap(),
            stored["refreshToken"].as_str().unwrap(),
        ] {
            assert!(!text.contains(secret_text), "{secret_text} leaked: {text}");
        }
    }
}

fn form(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_url_gets_the_browser_back_and_is_validated() {
    let s = stack(true).await;
    let id = s.integration().await;
    let url = s
        .authenticate(&id, json!({"returnUrl": "http://127.0.0.1:1/settings?tab=notion"}))
        .await;
    let response = browser(Some(1)).get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        format!("http://127.0.0.1:1/settings?tab=notion&connected={id}").as_str()
    );
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(s.env.fetch_integration(&s.key, &id).await["token"], "********");
    for bad in [
        "http://evil.example.com/",
        "javascript:alert(1)",
        "https://u:p@x.example/",
    ] {
        let a = s
            .env
            .post(
                &format!("/api/v1/integration/notion/{id}/authenticate"),
                &s.key,
                &json!({"returnUrl": bad}),
            )
            .await;
        assert_eq!(
            a.assert_error(400, "VALIDATION_ERROR")["details"][0]["field"],
            "returnUrl",
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_answers_a_page_and_stores_nothing() {
    let s = stack(true).await;
    let id = s.integration().await;
    let before = s.env.fetch_integration(&s.key, &id).await;
    let callback = format!("{}/api/v1/integration/notion/oauth/callback", s.base);

    // The user cancels at Notion's consent page.
    s.emulator.oauth_deny(true);
    let url = s.authenticate(&id, json!({})).await;
    let (status, _, html) = page(browser(None).get(&url).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(html.contains("Access was not granted"), "{html}");
    s.assert_unchanged(&id, &before, "access_denied").await;
    s.emulator.oauth_deny(false);

    // A state used twice: the second use is refused.
    let url = s.authenticate(&id, json!({})).await;
    let first = browser(None).get(&url).send().await.unwrap();
    let landed = first.url().to_string();
    assert_eq!(first.status(), 200);
    let (status, _, html) = page(browser(None).get(&landed).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(html.contains("already used"), "{html}");
    // (Undo the successful connection for the checks below.)
    s.env
        .post(
            &format!("/api/v1/integration/notion/{id}/update"),
            &s.key,
            &json!({"token": null}),
        )
        .await
        .ok();
    let before = s.env.fetch_integration(&s.key, &id).await;

    // Unknown and malformed states.
    for query in [
        "?code=x&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "?code=x&state=short",
        "?code=x",
        "",
    ] {
        let (status, content_type, html) =
            page(browser(None).get(format!("{callback}{query}")).send().await.unwrap()).await;
        assert_eq!(status, 400, "{query}: {html}");
        assert!(content_type.starts_with("text/html"), "{query}");
        assert!(html.contains("<h1>Notion was not connected</h1>"), "{query}: {html}");
    }
    s.assert_unchanged(&id, &before, "bad states").await;

    // An expired state.
    let expired = shared::domain::oauth::OAuthState::new(
        &s.account,
        &id,
        None,
        callback.clone(),
        chrono::Utc::now().timestamp() - 601,
    );
    s.env.app.oauth_states.put_oauth_state(&expired).await.unwrap();
    let (status, _, html) = page(
        browser(None)
            .get(format!("{callback}?code=x&state={}", expired.state))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("expired"), "{html}");

    // Notion refuses the exchange.
    s.emulator.inject(Fault {
        path_contains: "/v1/oauth/token".into(),
        status: 500,
        times: 1,
        ..Fault::default()
    });
    let url = s.authenticate(&id, json!({})).await;
    let (status, _, html) = page(browser(None).get(&url).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(html.contains("did not accept"), "{html}");
    s.assert_unchanged(&id, &before, "failed exchange").await;

    // Another account cannot start a flow for this integration.
    let (_, stranger) = s.env.account_with(Plan::default()).await;
    s.env
        .post(
            &format!("/api/v1/integration/notion/{id}/authenticate"),
            &stranger,
            &json!({}),
        )
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfigured_oauth_answers_409_and_flows_never_cross() {
    let off = stack(false).await;
    let id = off.integration().await;
    let a = off
        .env
        .post(
            &format!("/api/v1/integration/notion/{id}/authenticate"),
            &off.key,
            &json!({}),
        )
        .await;
    assert!(a.assert_error(409, "CONFLICT")["message"]
        .as_str()
        .unwrap()
        .contains("OAuth is not configured"));
    let (status, _, html) = page(
        browser(None)
            .get(format!(
                "{}/api/v1/integration/notion/oauth/callback?code=x&state=y",
                off.base
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "{html}");

    // Two integrations connected at once: each secret holds its own grant.
    let s = stack(true).await;
    let (one, two) = (s.integration().await, s.integration().await);
    let (url_one, url_two) = (
        s.authenticate(&one, json!({})).await,
        s.authenticate(&two, json!({})).await,
    );
    let (a, b) = tokio::join!(browser(None).get(&url_one).send(), browser(None).get(&url_two).send());
    assert_eq!((a.unwrap().status().as_u16(), b.unwrap().status().as_u16()), (200, 200));
    let (secret_one, secret_two) = (s.secret(&one).await.unwrap(), s.secret(&two).await.unwrap());
    assert_ne!(secret_one, secret_two);
    assert_eq!(s.emulator.oauth_exchanges("authorization_code"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_once_then_the_sync_goes_on_and_a_failed_refresh_asks_to_reauthenticate() {
    let s = stack(true).await;
    let id = s.integration().await;
    let url = s.authenticate(&id, json!({})).await;
    assert_eq!(browser(None).get(&url).send().await.unwrap().status(), 200);
    let granted: Value = serde_json::from_str(&s.secret(&id).await.unwrap()).unwrap();
    // The access token expires.
    s.emulator.revoke_token(granted["accessToken"].as_str().unwrap());
    s.env
        .post(&format!("/api/v1/integration/notion/{id}/sync"), &s.key, &json!({}))
        .await
        .ok();
    let crawler = s.env.crawler(&s.notion_url, 50);
    s.env.drain(&crawler, Duration::from_secs(120)).await;
    let state = s.env.fetch_integration(&s.key, &id).await;
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert_eq!(s.emulator.oauth_exchanges("refresh_token"), 1);
    let refreshed: Value = serde_json::from_str(&s.secret(&id).await.unwrap()).unwrap();
    assert_ne!(refreshed["accessToken"], granted["accessToken"]);
    assert_ne!(
        refreshed["refreshToken"], granted["refreshToken"],
        "both new tokens stored"
    );

    // Concurrent refreshes of one integration: only one reaches Notion.
    s.emulator.revoke_token(refreshed["accessToken"].as_str().unwrap());
    let (_, version) = s.env.app.tokens.get_token(&id, None).await.unwrap().unwrap();
    let message = shared::domain::sync::SyncMessage {
        account_id: s.account.clone(),
        integration_id: id.clone(),
        run_id: "01CONCURRENTREFRESH0000000".into(),
        trigger: shared::domain::sync::Trigger::Manual,
    };
    let refreshes =
        futures::future::join_all((0..8).map(|_| crawler.refresh_token_for_tests(&message, Some(&version)))).await;
    let versions: std::collections::HashSet<_> = refreshes
        .into_iter()
        .map(|r| r.unwrap().expect("a new version"))
        .collect();
    assert_eq!(versions.len(), 1, "every caller got the one new version");
    assert_eq!(
        s.emulator.oauth_exchanges("refresh_token"),
        2,
        "one more refresh, not eight"
    );

    // A refresh Notion refuses: the run ends asking to re-authenticate.
    let now: Value = serde_json::from_str(&s.secret(&id).await.unwrap()).unwrap();
    s.emulator.revoke_token(now["accessToken"].as_str().unwrap());
    s.emulator.inject(Fault {
        path_contains: "/v1/oauth/token".into(),
        status: 400,
        times: 1,
        ..Fault::default()
    });
    s.env
        .post(&format!("/api/v1/integration/notion/{id}/sync"), &s.key, &json!({}))
        .await
        .ok();
    s.env.drain(&crawler, Duration::from_secs(120)).await;
    let state = s.env.fetch_integration(&s.key, &id).await;
    assert_eq!(state["syncStatus"], "error", "{state}");
    assert!(
        state["syncError"].as_str().unwrap().contains("re-authenticate"),
        "{state}"
    );
}
