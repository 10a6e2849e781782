//! One account, one dataset and one integration holding a token, in a [`MemoryStore`], and a
//! crawler over it: the set-up the fast tier, the fidelity tests and the fidelity benchmark
//! share.

use super::{MemoryNotion, MemoryPage, MemoryStore, MemoryWorkspace, TokioClock};
use crate::crawler::{Crawler, CrawlerSettings, RunResult};
use crate::domain::account::{hash_api_key, Plan};
use crate::domain::dataset::Dataset;
use crate::domain::integration::{Integration, SyncStatus};
use crate::domain::sync::{SyncMessage, Trigger};
use crate::domain::time::Clock;
use crate::notion::api::NotionConnector;
use crate::ports::{DatasetStore, IntegrationStore, TokenStore};
use crate::runtime::Adapters;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The account.
pub const ACCOUNT: &str = "acct_1";
/// Its API key.
pub const API_KEY: &str = "nik_fast_tier_key";
/// The integration.
pub const INTEGRATION: &str = "notion_01JF00000000000000000000AB";
/// The dataset.
pub const DATASET: &str = "dataset_01JF00000000000000000000CD";

/// The message of a manual run `run_id` of the integration.
pub fn manual_run(run_id: &str) -> SyncMessage {
    SyncMessage {
        account_id: ACCOUNT.into(),
        integration_id: INTEGRATION.into(),
        run_id: run_id.into(),
        trigger: Trigger::Manual,
    }
}

/// A store holding the account (on `plan`), the dataset, and the integration with `token`.
pub async fn seeded_store(plan: Plan, token: &str, clock: &dyn Clock) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::default());
    store.add_account(ACCOUNT, &hash_api_key(API_KEY), plan);
    let now = crate::domain::time::rfc3339(clock.now());
    let dataset = Dataset {
        id: DATASET.into(),
        account_id: ACCOUNT.into(),
        name: "Wiki".into(),
        description: String::new(),
        meta: Default::default(),
        record_count: 0,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let integration: Result<Integration, _> = serde_json::from_value(serde_json::json!({
        "id": INTEGRATION, "accountId": ACCOUNT, "name": "Wiki", "datasetId": DATASET,
        "hasToken": true, "createdAt": now, "updatedAt": now,
    }));
    // The fixtures are constants: these cannot fail on a memory store.
    if let Ok(integration) = integration {
        let _ = store.create_dataset(&dataset).await;
        let _ = store.create_integration(&integration).await;
        let _ = store.put_token(ACCOUNT, INTEGRATION, token).await;
        let _ = crate::ports::WebhookStore::register_webhook(store.as_ref(), ACCOUNT, INTEGRATION).await;
    }
    store
}

/// Every adapter over `store`, on `clock`.
pub fn app_over(store: &Arc<MemoryStore>, clock: Arc<dyn Clock>) -> Adapters {
    Adapters::over(store.clone()).with_clock(clock)
}

/// A crawler over `store` reaching Notion through `notion`.
pub fn crawler_over(
    store: &Arc<MemoryStore>,
    notion: Arc<dyn NotionConnector>,
    clock: Arc<dyn Clock>,
    settings: CrawlerSettings,
) -> Crawler {
    Crawler::build(&app_over(store, clock), notion, settings).expect("the in-memory adapters are all there")
}

/// The id of the `n`th page of [`small_workspace`] (from 1).
pub fn page_id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A workspace answering to `token` with `pages` top-level pages ([`page_id`] 1 to
/// `pages`, titled "Page n", body "body n"), listed `page_size` per answer.
pub fn small_workspace(token: &str, pages: usize, page_size: usize) -> MemoryWorkspace {
    let workspace = MemoryWorkspace::new(token, page_size);
    for n in 1..=pages {
        workspace.put(
            &page_id(n),
            MemoryPage {
                title: format!("Page {n}"),
                body: format!("body {n}"),
                children: vec![],
                edited: "2026-11-01T00:00:00.000Z".into(),
                searchable: true,
                in_trash: false,
            },
        );
    }
    workspace
}

/// A store seeded on `plan` with `token`, and a crawler over it reaching `workspace`, on a
/// paused-time clock starting 2026-12-01.
pub async fn memory_crawler(plan: Plan, token: &str, workspace: &MemoryWorkspace) -> (Arc<MemoryStore>, Crawler) {
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .map(Into::into)
        .unwrap_or_default();
    let clock = Arc::new(TokioClock::starting_at(start));
    let store = seeded_store(plan, token, clock.as_ref()).await;
    let crawler = crawler_over(
        &store,
        Arc::new(MemoryNotion(workspace.clone())),
        clock,
        CrawlerSettings::default(),
    );
    (store, crawler)
}

/// Runs a sync of the integration to its end, continuations included, each invocation with
/// `budget`; returns the final status and the run summary.
pub async fn sync_to_end(
    crawler: &Crawler,
    store: &MemoryStore,
    run_id: &str,
    budget: Duration,
) -> (SyncStatus, serde_json::Value) {
    let mut message = manual_run(run_id);
    let status = loop {
        let deadline = tokio::time::Instant::now() + budget;
        match crawler.run(&message, deadline).await {
            Ok(RunResult::Finished(status)) => break status,
            Ok(RunResult::Continued) => match store.take_messages().into_iter().next() {
                Some(next) => message = next,
                None => break SyncStatus::Error,
            },
            Ok(RunResult::Dropped(_)) | Err(_) => break SyncStatus::Error,
        }
    };
    let summary = store
        .state()
        .integrations
        .get(INTEGRATION)
        .and_then(|i| i.last_sync_summary.clone())
        .unwrap_or_default();
    (status, summary)
}

/// The dataset's record texts by Notion page (chunks joined in order).
pub fn texts_by_page(store: &MemoryStore) -> BTreeMap<String, String> {
    let mut parts: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for record in store.state().records.values() {
        let page = record
            .meta
            .get("notionPageId")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let chunk = record.meta.get("chunk").and_then(|c| c.as_u64()).unwrap_or(1);
        parts.entry(page).or_default().push((chunk, record.text.clone()));
    }
    parts
        .into_iter()
        .map(|(page, mut chunks)| {
            chunks.sort();
            (page, chunks.into_iter().map(|(_, t)| t).collect())
        })
        .collect()
}

/// Whether `token` stands in `text` as a whole word (not as the prefix of a longer tag).
pub fn has_token(text: &str, token: &str) -> bool {
    text.match_indices(token).any(|(at, _)| {
        let next = text[at + token.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// A crawler over `store` reaching the Notion API at `notion_url` over HTTP (the real
/// client), with no rate limit of its own and 8 reads in flight: for runs against the
/// project's emulator.
pub fn http_crawler(
    store: &Arc<MemoryStore>,
    notion_url: &str,
    block_walk_only: bool,
    retry: crate::notion::client::RetryPolicy,
    version: crate::domain::version::NotionVersion,
) -> Crawler {
    crate::runtime::install_tls_provider();
    let limits = crate::notion::limiter::RequestLimits::per_second(100_000);
    let notion = crate::notion::client::HttpNotion {
        http: reqwest::Client::new(),
        base_url: notion_url.to_string(),
        limits,
        retry,
        version,
    };
    let settings = CrawlerSettings {
        notion_api_url: notion_url.to_string(),
        limits,
        notion_version: version,
        concurrency: 8,
        block_walk_only,
        retry,
        ..CrawlerSettings::default()
    };
    crawler_over(
        store,
        Arc::new(notion),
        Arc::new(crate::domain::time::SystemClock),
        settings,
    )
}
