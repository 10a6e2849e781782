//! "Request limits": a per-connection budget per 60-second window that may be spent in one
//! burst, and a per-workspace limit shared by every connection whose `Retry-After` can
//! exceed a minute; each 429 says which limit it was in `additional_data.rate_limit_reason`.

use notion_emulator::model::{Parent, Workspace};
use notion_emulator::{Config, Emulator};
use serde_json::Value;

async fn get(http: &reqwest::Client, url: &str, token: &str, page: &str) -> (u16, Option<String>, Value) {
    let response = http
        .get(format!("{url}/v1/pages/{page}"))
        .bearer_auth(token)
        .header("Notion-Version", "2026-12-01")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

async fn serve(config: Config) -> (reqwest::Client, String, String) {
    let mut ws = Workspace::new("secret_a", 1_763_600_000);
    ws.tokens.insert("secret_b".into());
    let page = ws.add_page(Parent::Workspace, "Home", true);
    let url = notion_emulator::spawn(Emulator::new(ws, config)).await.unwrap();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    (reqwest::Client::new(), url, page)
}

#[tokio::test]
async fn a_connections_window_budget_may_be_spent_in_a_burst_then_waits_for_the_window() {
    let (http, url, page) = serve(Config {
        window_budget: Some(5),
        ..Config::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(get(&http, &url, "secret_a", &page).await.0, 200, "the budget bursts");
    }
    let (status, retry_after, body) = get(&http, &url, "secret_a", &page).await;
    assert_eq!(status, 429);
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["additional_data"]["rate_limit_reason"], "connection_rate_limit");
    let wait: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "until the window resets: {wait}");
    assert_eq!(
        get(&http, &url, "secret_b", &page).await.0,
        200,
        "another connection has its own budget"
    );
}

#[tokio::test]
async fn the_workspace_limit_is_shared_by_every_connection_and_may_ask_for_more_than_a_minute() {
    let (http, url, page) = serve(Config {
        window_budget: None,
        workspace_rps: Some(2),
        workspace_retry_after: 90,
        ..Config::default()
    })
    .await;
    assert_eq!(get(&http, &url, "secret_a", &page).await.0, 200);
    assert_eq!(get(&http, &url, "secret_b", &page).await.0, 200);
    let (status, retry_after, body) = get(&http, &url, "secret_a", &page).await;
    assert_eq!(status, 429, "both connections spent the workspace's second");
    assert_eq!(body["additional_data"]["rate_limit_reason"], "workspace_rate_limit");
    assert_eq!(retry_after.as_deref(), Some("90"));
}
