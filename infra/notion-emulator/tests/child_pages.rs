//! A `child_page` block's `last_edited_time` in its parent's children, under both readings
//! of the block reference ("Date and time when this block was last updated"): the child
//! page's own time, or the time of the page holding the block.

use notion_emulator::model::{Parent, Workspace};
use notion_emulator::{Config, Emulator};
use serde_json::Value;

async fn child_block_time(child_page_times_are_the_pages: bool) -> (String, String, String) {
    let mut ws = Workspace::new("secret_a", 1_763_600_000);
    let parent = ws.add_page(Parent::Workspace, "Parent", true);
    let child = ws.add_page(Parent::Page(parent.clone()), "Child", false);
    ws.add_block(&child, "paragraph", "first text", serde_json::json!({}));
    let emulator = Emulator::new(
        ws,
        Config {
            window_budget: None,
            wall_clock: false,
            child_page_times_are_the_pages,
            ..Config::default()
        },
    );
    let url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // The child's content changes a few minutes later; the parent does not.
    emulator.with_workspace(|ws| {
        ws.advance_to(1_763_600_600);
        ws.touch(&child);
    });
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            http.get(path)
                .bearer_auth("secret_a")
                .header("Notion-Version", "2026-12-01")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let listing = get(format!("{url}/v1/blocks/{parent}/children")).await;
    let block = listing["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "child_page")
        .cloned()
        .unwrap();
    assert_eq!(block["id"], child.as_str(), "a child page's block has the page's id");
    let page = get(format!("{url}/v1/pages/{child}")).await;
    let holder = get(format!("{url}/v1/pages/{parent}")).await;
    let text = |v: &Value| v["last_edited_time"].as_str().unwrap().to_string();
    (text(&block), text(&page), text(&holder))
}

#[tokio::test]
async fn a_child_page_block_carries_its_pages_time_under_one_reading_and_its_holders_under_the_other() {
    let (block, page, holder) = child_block_time(true).await;
    assert_ne!(page, holder, "the child was edited after its parent");
    assert_eq!(block, page);
    let (block, page, holder) = child_block_time(false).await;
    assert_ne!(page, holder);
    assert_eq!(block, holder);
}
