//! What the `Notion-Version` header changes in the emulator's answers, each rule from its
//! upgrade guide: 2026-12-01 answers markdown as v2 by default and refuses v1, and lists
//! rows with their title only unless `filter_properties` names the rest; 2026-03-11 drops
//! `archived`; earlier versions call meeting notes `transcription`.

use notion_emulator::model::{Parent, Workspace};
use notion_emulator::{Config, Emulator};
use serde_json::{json, Map, Value};

const TOKEN: &str = "secret_versions";

struct Api {
    http: reqwest::Client,
    url: String,
}

impl Api {
    async fn call(&self, version: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .header("Notion-Version", version);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// A page with two paragraphs and meeting notes, and a database with one row of two
/// properties.
async fn setup() -> (Api, String, String, String) {
    let mut ws = Workspace::new(TOKEN, 1_763_600_000);
    let page = ws.add_page(Parent::Workspace, "Home", true);
    ws.add_block(&page, "paragraph", "first paragraph", Value::Null);
    ws.add_block(&page, "paragraph", "second paragraph", Value::Null);
    let notes = ws.add_block(&page, "meeting_notes", "standup", Value::Null);
    let summary = ws.add_block(&notes, "paragraph", "", json!({"role": "summary"}));
    ws.add_block(&summary, "paragraph", "all good", Value::Null);
    let (db, ds) = ws.add_database(&page, "Tasks", true);
    let mut props = Map::new();
    props.insert(
        "Status".into(),
        json!({"id": "st", "type": "select", "select": {"name": "Done"}}),
    );
    props.insert("Points".into(), json!({"id": "%3Apt", "type": "number", "number": 3}));
    ws.add_row(&db, "Task one", props);
    let emulator = Emulator::new(
        ws,
        Config {
            window_budget: None,
            ..Config::default()
        },
    );
    let url = notion_emulator::spawn(emulator).await.unwrap();
    // In the workspace build reqwest's rustls has no crypto provider of its own.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let api = Api {
        http: reqwest::Client::new(),
        url,
    };
    (api, page, notes, ds)
}

#[tokio::test]
async fn markdown_is_v2_on_2026_12_01_which_refuses_v1() {
    let (api, page, _, _) = setup().await;
    let get = reqwest::Method::GET;
    let (status, v2) = api
        .call("2026-12-01", get.clone(), &format!("/v1/pages/{page}/markdown"), None)
        .await;
    assert_eq!(status, 200);
    assert!(
        v2["markdown"]
            .as_str()
            .unwrap()
            .contains("first paragraph\n\nsecond paragraph"),
        "v2 separates blocks with a blank line: {v2}"
    );
    let (status, refused) = api
        .call(
            "2026-12-01",
            get.clone(),
            &format!("/v1/pages/{page}/markdown?markdown_version=v1"),
            None,
        )
        .await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("validation_error")));
    let (_, v1) = api
        .call("2026-03-11", get.clone(), &format!("/v1/pages/{page}/markdown"), None)
        .await;
    assert!(
        v1["markdown"]
            .as_str()
            .unwrap()
            .contains("first paragraph\nsecond paragraph"),
        "2026-03-11 still defaults to v1: {v1}"
    );
    let (_, asked) = api
        .call(
            "2026-03-11",
            get,
            &format!("/v1/pages/{page}/markdown?markdown_version=v2"),
            None,
        )
        .await;
    assert_eq!(asked["markdown"], v2["markdown"], "v2 on request, on either version");
}

#[tokio::test]
async fn lists_on_2026_12_01_keep_the_title_and_the_properties_named() {
    let (api, _, _, ds) = setup().await;
    let post = reqwest::Method::POST;
    let properties = |answer: &Value| {
        let mut names: Vec<String> = answer["results"][0]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    };
    let query = format!("/v1/data_sources/{ds}/query");
    let (_, bare) = api.call("2026-12-01", post.clone(), &query, Some(json!({}))).await;
    assert_eq!(properties(&bare), ["Name"]);
    let (_, schema) = api
        .call(
            "2026-12-01",
            reqwest::Method::GET,
            &format!("/v1/data_sources/{ds}"),
            None,
        )
        .await;
    let ids: Vec<String> = schema["properties"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&"%3Apt".to_string()), "{schema}");
    let named: Vec<String> = ids
        .iter()
        .map(|id| format!("filter_properties={}", id.replace('%', "%25")))
        .collect();
    let (_, full) = api
        .call(
            "2026-12-01",
            post.clone(),
            &format!("{query}?{}", named.join("&")),
            Some(json!({})),
        )
        .await;
    assert_eq!(properties(&full), ["Name", "Points", "Status"]);
    let (_, older) = api.call("2026-03-11", post.clone(), &query, Some(json!({}))).await;
    assert_eq!(
        properties(&older),
        ["Name", "Points", "Status"],
        "2026-03-11 lists every property"
    );
    let (_, search) = api
        .call(
            "2026-12-01",
            post,
            "/v1/search",
            Some(json!({"filter": {"property": "object", "value": "page"}})),
        )
        .await;
    let row = search["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["parent"]["type"] == "data_source_id")
        .expect("search returns the row");
    assert_eq!(row["properties"].as_object().unwrap().len(), 1, "{row}");
}

#[tokio::test]
async fn shapes_follow_each_version() {
    let (api, page, notes, _) = setup().await;
    let get = reqwest::Method::GET;
    for (version, archived, kind) in [
        ("2026-12-01", false, "meeting_notes"),
        ("2026-03-11", false, "meeting_notes"),
        ("2025-09-03", true, "transcription"),
    ] {
        let (_, p) = api.call(version, get.clone(), &format!("/v1/pages/{page}"), None).await;
        assert_eq!(p.get("archived").is_some(), archived, "{version}: {p}");
        assert_eq!(p["in_trash"], false);
        let (_, block) = api
            .call(version, get.clone(), &format!("/v1/blocks/{notes}"), None)
            .await;
        assert_eq!(block["type"], kind, "{version}: {block}");
        assert!(block.get(kind).is_some(), "{version}: {block}");
    }
    let (status, answer) = api.call("latest", get, &format!("/v1/pages/{page}"), None).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("validation_error")));
}
