//! The fast test tier: crawler and handler logic in-process over the in-memory ports and
//! Notion workspace (feature `testing`), on tokio's paused clock, with no AWS emulator.
//! `cargo test -p shared --features testing`. The end-to-end tests in `tests/` prove the
//! same paths against moto and the Notion emulator.

mod crawler;
mod handlers;
mod minutes;
mod webhooks;

use shared::crawler::{Crawler, CrawlerSettings};
use shared::domain::account::Plan;
use shared::domain::integration::Integration;
use shared::runtime::Adapters;
use shared::testing::harness::{app_over, crawler_over, seeded_store};
use shared::testing::{MemoryNotion, MemoryPage, MemoryStore, MemoryWorkspace, TokioClock};
use std::sync::Arc;
use std::time::Duration;

pub use shared::testing::harness::{ACCOUNT, API_KEY, DATASET, INTEGRATION};
pub const TOKEN: &str = "secret_fast_tier_token";

/// The Notion page id (a UUID, as Notion writes them) of the page named `name`.
pub fn page_id(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("00000000-0000-4000-8000-{:012x}", hash & 0xffff_ffff_ffff)
}

/// The flush of the harness integration's pending webhook work.
pub fn flush() -> shared::domain::webhook::WebhookFlush {
    shared::domain::webhook::WebhookFlush {
        account_id: ACCOUNT.into(),
        flush_integration_id: INTEGRATION.into(),
        follow_up: Vec::new(),
    }
}

/// One account with a dataset, an integration holding a token, and a Notion workspace.
pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub workspace: MemoryWorkspace,
    pub clock: Arc<TokioClock>,
}

impl Harness {
    pub async fn new(plan: Plan) -> Self {
        let clock = Arc::new(TokioClock::starting_at(
            chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
                .unwrap()
                .into(),
        ));
        let store = seeded_store(plan, TOKEN, clock.as_ref()).await;
        Self {
            store,
            workspace: MemoryWorkspace::new(TOKEN, 3),
            clock,
        }
    }

    /// An app over the in-memory store with every adapter.
    pub fn app(&self) -> Adapters {
        app_over(&self.store, self.clock.clone())
    }

    pub fn crawler(&self) -> Crawler {
        let settings = CrawlerSettings {
            checkpoint_every: Duration::from_secs(1),
            ..CrawlerSettings::default()
        };
        crawler_over(
            &self.store,
            Arc::new(MemoryNotion(self.workspace.clone())),
            self.clock.clone(),
            settings,
        )
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

    /// Whether the integration's webhook holds no pending work.
    pub async fn no_pending_work(&self) -> bool {
        shared::ports::WebhookStore::get_webhook(self.store.as_ref(), INTEGRATION)
            .await
            .unwrap()
            .expect("the integration has a webhook")
            .pending
            .is_empty()
    }

    pub fn integration(&self) -> Integration {
        self.store.state().integrations[INTEGRATION].clone()
    }
}
