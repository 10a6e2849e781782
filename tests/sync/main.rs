//! The sync end to end: the API's sync route, the SQS queue and the crawler against the
//! AWS emulator, reading a generated workspace from the project's Notion emulator. One file
//! per concern; the set-up they share is here.

mod attachments;
mod content;
mod limits;
mod listings;
mod minutes;
mod recovery;
mod replay;
mod versions;

use integration_tests::TestEnv;
use notion_emulator::generate::{generate, Options};
use notion_emulator::model::Parent;
use notion_emulator::{Config as NotionConfig, Emulator, Fault};
use serde_json::{json, Value};
use shared::crawler::RunResult;
use shared::domain::account::Plan;
use shared::domain::sync::{SyncMessage, Trigger};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "secret_emulated_token_0123456789";
const BUDGET: Duration = Duration::from_secs(600);

struct Setup {
    env: TestEnv,
    emulator: Arc<Emulator>,
    notion_url: String,
    key: String,
    dataset: String,
    integration: String,
}

async fn setup(pages: usize, plan: Plan, notion: NotionConfig) -> Setup {
    let env = TestEnv::with_cooldown(0).await;
    let workspace = generate(&Options {
        pages,
        seed: 42,
        token: TOKEN.into(),
    });
    let emulator = Emulator::new(workspace, notion);
    let notion_url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    let (key, dataset, integration) = env.connected(plan, "Wiki", TOKEN).await;
    Setup {
        env,
        emulator,
        notion_url,
        key,
        dataset,
        integration,
    }
}

/// The emulator allowing `rps` requests a second on average: a budget of `rps` × 60 per
/// 60-second window, as "Request limits" documents the per-connection limit.
fn limited_to(rps: u32) -> NotionConfig {
    NotionConfig {
        window_budget: Some(rps * 60),
        ..NotionConfig::default()
    }
}

/// The emulator's per-connection budget: `budget` requests per window of `window_secs`.
fn budget_of(budget: u32, window_secs: u64) -> NotionConfig {
    NotionConfig {
        window_budget: Some(budget),
        window: Duration::from_secs(window_secs),
        ..NotionConfig::default()
    }
}

/// Threads that keep every core busy until dropped, as a loaded CI machine does: requests
/// the limiter lets go then reach the socket late and arrive bunched.
struct CpuHog {
    stop: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuHog {
    fn start() -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn unlimited() -> NotionConfig {
    limited_to(50)
}

impl Setup {
    async fn sync(&self) -> Value {
        self.env.request_sync(&self.key, &self.integration).await
    }

    async fn sync_and_drain(&self, max_rps: u32) -> Value {
        assert_eq!(self.sync().await["id"], self.integration.as_str());
        let crawler = self.env.crawler(&self.notion_url, max_rps);
        self.env.drain(&crawler, BUDGET).await;
        self.integration_state().await
    }

    async fn integration_state(&self) -> Value {
        self.env.fetch_integration(&self.key, &self.integration).await
    }

    /// Record texts by Notion page id (chunks joined in order).
    async fn texts_by_page(&self) -> HashMap<String, String> {
        chunks_by_page(&self.env, &self.key, &self.dataset)
            .await
            .into_iter()
            .map(|(page, chunks)| (page, chunks.concat()))
            .collect()
    }

    /// Asserts that every live page has a record holding every block's text.
    async fn assert_mirrors_workspace(&self) {
        let texts = self.texts_by_page().await;
        let (live, expected): (Vec<String>, HashMap<String, Vec<String>>) = self.emulator.with_workspace(|ws| {
            let live = ws.live_pages();
            let expected = live.iter().map(|p| (p.clone(), ws.expected_texts(p))).collect();
            (live, expected)
        });
        assert_eq!(texts.len(), live.len(), "one record set per live page");
        for page in &live {
            let text = texts.get(page).unwrap_or_else(|| panic!("no record for page {page}"));
            let title = self.emulator.with_workspace(|ws| ws.pages[page].title.clone());
            assert!(text.starts_with(&format!("# {title}")), "{page}: {text}");
            for fragment in &expected[page] {
                assert!(
                    text.contains(fragment.as_str()),
                    "page {page} misses {fragment:?}:\n{text}"
                );
            }
        }
    }
}

/// The texts of a dataset's records by Notion page id, in chunk order.
async fn chunks_by_page(env: &TestEnv, key: &str, dataset: &str) -> HashMap<String, Vec<String>> {
    let mut parts: HashMap<String, Vec<(u64, String)>> = HashMap::new();
    for record in env.all_records(key, dataset).await {
        if record["meta"]["attachment"] == true {
            // An attachment's records are its own (tests/sync/attachments.rs).
            continue;
        }
        let page = record["meta"]["notionPageId"].as_str().unwrap().to_string();
        let chunk = record["meta"]["chunk"].as_u64().unwrap_or(1);
        parts
            .entry(page)
            .or_default()
            .push((chunk, record["text"].as_str().unwrap().to_string()));
    }
    parts
        .into_iter()
        .map(|(page, mut chunks)| {
            chunks.sort();
            (page, chunks.into_iter().map(|(_, t)| t).collect())
        })
        .collect()
}

fn summary(state: &Value) -> &Value {
    &state["lastSyncSummary"]
}

/// Asserts the last run stopped early at the plan limit named `limit`, deleting nothing.
fn assert_stopped_by(state: &Value, limit: &str) {
    let sum = summary(state);
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert_eq!(sum["complete"], false, "{sum}");
    assert!(sum["stopReason"].as_str().unwrap().contains(limit), "{sum}");
    assert_eq!(sum["recordsDeleted"], 0, "{sum}");
}

/// Asserts the last run was complete and skipped no page.
fn assert_clean(state: &Value) {
    let sum = summary(state);
    assert_eq!(state["syncStatus"], "synced", "{state}");
    assert_eq!(sum["complete"], true, "{sum}");
    assert_eq!(sum["pagesFailed"], 0, "{sum}");
}

async fn account_of(s: &Setup) -> String {
    use shared::ports::AccountStore;
    let hash = shared::domain::account::hash_api_key(&s.key);
    s.env.store.account_id_for_key(&hash).await.unwrap().unwrap()
}

/// Ids of `n` pages search returns, from the end of its order (past a small cap), that
/// have no child pages or databases of their own.
fn searchable_leaves_from_the_end(ws: &notion_emulator::model::Workspace, n: usize) -> Vec<String> {
    let mut ids: Vec<String> = ws
        .pages
        .values()
        .filter(|p| p.in_search && matches!(p.parent, Parent::Page(_) | Parent::Workspace))
        .filter(|p| !ws.pages.values().any(|c| c.parent == Parent::Page(p.id.clone())))
        .filter(|p| {
            !ws.databases
                .values()
                .any(|d| d.parent_page.as_deref() == Some(p.id.as_str()))
        })
        .map(|p| p.id.clone())
        .collect();
    ids.sort();
    ids.into_iter().rev().take(n).collect()
}
