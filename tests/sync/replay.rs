//! Replay: answers recorded from a real Notion workspace, served as one, synced through the
//! API, the queue and the crawler; every piece of their text must reach its page's records.
//!
//! The recordings are another project's test data, kept in `tests/recordings/ultimate-notion`
//! with their source and licence (`NOTICE.md`, `LICENSE.txt`). `REPLAY_RECORDINGS` points the
//! test at another folder of recordings in the same form (`infra/replay/convert.py` makes one
//! from VCR cassettes). A missing folder fails the test: a replay that checks nothing is no test.

use super::*;
use notion_emulator::replay::{serve, Recordings};
use shared::domain::version::NotionVersion;
use std::path::PathBuf;

fn recordings_dir() -> PathBuf {
    std::env::var_os("REPLAY_RECORDINGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recordings/ultimate-notion"))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_answers_of_a_real_workspace_reach_the_dataset_whole() {
    let dir = recordings_dir();
    assert!(dir.is_dir(), "no recordings at {}", dir.display());
    let recordings = Recordings::load(&dir).expect("recordings load");
    assert_eq!(recordings.version, "2026-03-11", "the recordings' version");
    let live = recordings.live_pages();
    assert!(
        recordings.interactions > 1_000,
        "{} interactions",
        recordings.interactions
    );
    assert!(live.len() > 50, "{} live pages", live.len());
    let expected: HashMap<String, Vec<String>> = live
        .iter()
        .map(|p| (p.clone(), recordings.expected_fragments(p)))
        .collect();
    let fragments: usize = expected.values().map(Vec::len).sum();
    assert!(fragments > 300, "{fragments} fragments");
    // The oracle covers what real workspaces showed lost: a tab's children (the tab titles of
    // `test_create_tab_blocks`) and a code block's caption (`test_modify_basic_blocks`).
    for piece in ["Overview", "Details", "JavaScript Code"] {
        assert!(
            expected.values().any(|f| f.iter().any(|x| x == piece)),
            "the recordings' {piece:?} is expected of some page"
        );
    }

    let env = TestEnv::with_cooldown(0).await;
    let served = serve(recordings, TOKEN).await.unwrap();
    let (key, dataset, integration) = env.connected(Plan::default(), "Replay", TOKEN).await;
    assert_eq!(env.request_sync(&key, &integration).await["id"], integration.as_str());
    let crawler = env.crawler_speaking(&served.url, 200, NotionVersion::V2026_03_11);
    env.drain(&crawler, BUDGET).await;
    let state = env.fetch_integration(&key, &integration).await;
    assert_clean(&state);

    let texts = chunks_by_page(&env, &key, &dataset).await;
    let mut missing = Vec::new();
    for page in &live {
        let Some(chunks) = texts.get(page) else {
            missing.push(format!("{page}: no record"));
            continue;
        };
        let text = collapse(&chunks.join(" "));
        for fragment in &expected[page] {
            if !text.contains(fragment.as_str()) {
                missing.push(format!("{page}: {fragment:?} not in {text:?}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {fragments} fragments lost:\n{}",
        missing.len(),
        missing.join("\n")
    );
    let requests = served.requests();
    assert!(
        requests.iter().any(|r| r.contains("/children")),
        "the block walk read the pages"
    );
    eprintln!(
        "replay: {} pages, {fragments} fragments, {} requests, all text kept",
        live.len(),
        requests.len()
    );
}
