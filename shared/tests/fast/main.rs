//! The fast test tier: crawler and handler logic in-process over the in-memory ports and
//! Notion workspace (feature `testing`), on tokio's paused clock, with no AWS emulator.
//! `cargo test -p shared --features testing`. The end-to-end tests in `tests/` prove the
//! same paths against moto and the Notion emulator.

mod crawler;
mod handlers;

use shared::api::App;
use shared::crawler::{Crawler, CrawlerSettings};
use shared::domain::account::{hash_api_key, Plan};
use shared::domain::dataset::Dataset;
use shared::domain::integration::Integration;
use shared::domain::time::Clock;
use shared::ports::{DatasetStore, IntegrationStore, TokenStore};
use shared::testing::{MemoryNotion, MemoryPage, MemoryStore, MemoryWorkspace, TokioClock};
use std::sync::Arc;
use std::time::Duration;

pub const ACCOUNT: &str = "acct_1";
pub const API_KEY: &str = "nik_fast_tier_key";
pub const TOKEN: &str = "secret_fast_tier_token";
pub const INTEGRATION: &str = "notion_01JF00000000000000000000AB";
pub const DATASET: &str = "dataset_01JF00000000000000000000CD";

/// The Notion page id (a UUID, as Notion writes them) of the page named `name`.
pub fn page_id(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("00000000-0000-4000-8000-{:012x}", hash & 0xffff_ffff_ffff)
}

/// One account with a dataset, an integration holding a token, and a Notion workspace.
pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub workspace: MemoryWorkspace,
    pub clock: Arc<TokioClock>,
}

impl Harness {
    pub async fn new(plan: Plan) -> Self {
        let store = Arc::new(MemoryStore::default());
        store.add_account(ACCOUNT, &hash_api_key(API_KEY), plan);
        let clock = Arc::new(TokioClock::starting_at(
            chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
                .unwrap()
                .into(),
        ));
        let now = shared::domain::time::rfc3339(clock.now());
        store
            .create_dataset(&Dataset {
                id: DATASET.into(),
                account_id: ACCOUNT.into(),
                name: "Wiki".into(),
                description: String::new(),
                meta: Default::default(),
                record_count: 0,
                created_at: now.clone(),
                updated_at: now.clone(),
            })
            .await
            .unwrap();
        let integration: Integration = serde_json::from_value(serde_json::json!({
            "id": INTEGRATION, "accountId": ACCOUNT, "name": "Wiki", "datasetId": DATASET,
            "hasToken": true, "createdAt": now, "updatedAt": now,
        }))
        .unwrap();
        store.create_integration(&integration).await.unwrap();
        store.put_token(ACCOUNT, INTEGRATION, TOKEN).await.unwrap();
        Self {
            store,
            workspace: MemoryWorkspace::new(TOKEN, 3),
            clock,
        }
    }

    /// An app over the in-memory store with every adapter.
    pub fn app(&self) -> App {
        App::new(self.store.clone(), 900)
            .with_tokens(self.store.clone())
            .with_queue(self.store.clone())
            .with_scheduler(self.store.clone())
            .with_clock(self.clock.clone())
    }

    pub fn crawler(&self) -> Crawler {
        let app = self.app();
        Crawler {
            integrations: app.integrations.clone(),
            accounts: app.accounts.clone(),
            datasets: app.datasets.clone(),
            records: app.records.clone(),
            tokens: app.tokens.clone(),
            state: app.sync_state.clone(),
            queue: app.queue.clone(),
            notion: Arc::new(MemoryNotion(self.workspace.clone())),
            clock: self.clock.clone(),
            settings: CrawlerSettings {
                checkpoint_every: Duration::from_secs(1),
                ..CrawlerSettings::default()
            },
        }
    }

    /// Adds a page named `name` (its id is [`page_id`]); `searchable` false hides it from
    /// search (found only through content).
    pub fn page(&self, name: &str, body: &str, children: &[&str], searchable: bool) {
        self.workspace.put(
            &page_id(name),
            MemoryPage {
                title: format!("Title {name}"),
                body: body.into(),
                children: children.iter().map(|c| page_id(c)).collect(),
                edited: "2026-11-01T00:00:00.000Z".into(),
                searchable,
                in_trash: false,
            },
        );
    }

    /// The texts of the dataset's records, sorted.
    pub fn texts(&self) -> Vec<String> {
        let mut texts: Vec<String> = self.store.state().records.values().map(|r| r.text.clone()).collect();
        texts.sort();
        texts
    }

    pub fn integration(&self) -> Integration {
        self.store.state().integrations[INTEGRATION].clone()
    }
}
