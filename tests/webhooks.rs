//! Webhooks (SPEC §2.2) end to end: the local stack served on a socket, the project's
//! Notion emulator delivering as Notion documents (handshake, signed events, retries,
//! duplicates, reverse order, events for pages the token cannot read), moto for DynamoDB,
//! Secrets Manager and SQS (with its DelaySeconds), and the crawler polling the queue in
//! the background as the Lambda event source does.

use integration_tests::{Answer, TestEnv};
use notion_emulator::generate::{generate, Options};
use notion_emulator::model::Parent;
use notion_emulator::{Config as NotionConfig, Emulator};
use serde_json::{json, Value};
use shared::domain::account::Plan;
use shared::domain::webhook::sign;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "secret_webhook_tests";

struct Stack {
    env: TestEnv,
    emulator: Arc<Emulator>,
    base: String,
    account: String,
    key: String,
    integration: String,
    dataset: String,
}

/// The local stack on a socket (Notion must reach it), a workspace of `pages`, an
/// integration with a dataset, and the crawler polling the queue.
async fn stack(pages: usize, plan: Plan) -> Stack {
    stack_with(pages, plan, NotionConfig::default()).await
}

/// [`stack`] with the emulator's readings of undocumented points set as in `notion`.
async fn stack_with(pages: usize, plan: Plan, notion: NotionConfig) -> Stack {
    stack_at(pages, plan, notion, 50).await
}

/// [`stack_with`], the crawler at `rps` requests a second on average.
async fn stack_at(pages: usize, plan: Plan, notion: NotionConfig, rps: u32) -> Stack {
    let mut env = TestEnv::with_cooldown(0).await;
    let emulator = Emulator::new(
        generate(&Options {
            pages,
            seed: 13,
            token: TOKEN.into(),
        }),
        NotionConfig {
            window_budget: None,
            wall_clock: true,
            ..notion
        },
    );
    emulator.configure_webhooks(|c| c.backoff = Duration::from_millis(50));
    let notion_url = notion_emulator::spawn(emulator.clone()).await.unwrap();
    let base = env
        .serve_on_socket(|config| config.notion_api_url = notion_url.clone())
        .await;
    let crawler = env.crawler(&notion_url, rps);
    let queue_url = env.config.sync_queue_url.clone().unwrap();
    tokio::spawn(local_stack::poll_forever(
        env.sqs.clone(),
        queue_url,
        crawler,
        Duration::from_secs(60),
    ));
    let (account, key) = env.account_with(plan).await;
    let dataset = env.create_dataset(&key, &json!({"name": "wiki"})).await;
    let integration = env
        .create_integration(&key, &json!({"name": "wiki", "token": TOKEN, "datasetId": dataset}))
        .await;
    Stack {
        env,
        emulator,
        base,
        account,
        key,
        integration,
        dataset,
    }
}

/// Waits until `check` holds (up to `secs`), else fails naming `what`.
async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < until {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

impl Stack {
    fn hook_path(&self) -> String {
        format!("/api/v1/integration/notion/{}/webhook", self.integration)
    }

    async fn webhook(&self) -> Value {
        self.env
            .get(&format!("{}/fetch", self.hook_path()), &self.key)
            .await
            .ok()
    }

    async fn state(&self) -> Value {
        self.env.fetch_integration(&self.key, &self.integration).await
    }

    /// Syncs everything once (a manual sync) and waits for it to finish.
    async fn full_sync(&self) {
        let path = format!("/api/v1/integration/notion/{}/sync", self.integration);
        self.env.post(&path, &self.key, &json!({})).await.ok();
        eventually("the full sync", 120, || async {
            let s = self.state().await;
            s["syncStatus"] == "synced" && s["syncProgress"].is_null()
        })
        .await;
    }

    /// Subscribes the endpoint in the emulator (as the user does in Notion's settings) and
    /// returns the verification token once the service shows it.
    async fn subscribe(&self) -> String {
        let url = self.webhook().await["url"].as_str().unwrap().to_string();
        assert_eq!(url, format!("{}{}", self.base, self.hook_path()));
        let token = self.emulator.subscribe_webhook(&url);
        eventually("the handshake's token", 20, || async {
            self.webhook().await["verificationToken"] == token.as_str()
        })
        .await;
        // The handshake's request is over once its event is written too (after the token:
        // a test comparing the tables before and after must start from there).
        eventually("the handshake's event", 20, || async {
            self.events("integration.updated")
                .await
                .iter()
                .any(|e| e["message"].as_str().is_some_and(|m| m.contains("webhook handshake")))
        })
        .await;
        token
    }

    /// Record texts by Notion page id.
    async fn texts(&self) -> std::collections::BTreeMap<String, String> {
        let mut texts = std::collections::BTreeMap::new();
        for r in self.env.all_records(&self.key, &self.dataset).await {
            let page = r["meta"]["notionPageId"].as_str().unwrap_or_default().to_string();
            texts
                .entry(page)
                .and_modify(|t: &mut String| t.push_str(r["text"].as_str().unwrap_or_default()))
                .or_insert_with(|| r["text"].as_str().unwrap_or_default().to_string());
        }
        texts
    }

    async fn events(&self, kind: &str) -> Vec<Value> {
        let path = format!(
            "/api/v1/event/log/list?take=100&type={kind}&notionIntegrationId={}",
            self.integration
        );
        self.env.get(&path, &self.key).await.ok()["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// POSTs `body` to the webhook endpoint, signed with `token` when given.
    async fn deliver(&self, body: &str, token: Option<&str>) -> Answer {
        let signature = token.map(|t| sign(body.as_bytes(), t));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(s) = &signature {
            headers.push(("x-notion-signature", s.as_str()));
        }
        self.env
            .send(
                lambda_http::http::Method::POST,
                &self.hook_path(),
                None,
                &headers,
                body.to_string(),
            )
            .await
    }

    /// The `skip`-th page (in id order) with a top-level paragraph, and that paragraph.
    fn page_with_text(&self, skip: usize) -> (String, String) {
        self.emulator
            .with_workspace(|ws| ws.editable_paragraphs()[skip].clone())
    }
}

fn event(id: &str, kind: &str, entity: &str, entity_type: &str) -> String {
    json!({
        "id": id,
        "timestamp": "2026-12-02T10:00:00.000Z",
        "workspace_id": "ee5e5e5e-0000-4000-8000-000000000001",
        "type": kind,
        "entity": {"id": entity, "type": entity_type},
        "data": {},
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handshake_then_signed_edits_reach_the_dataset_reading_only_that_page() {
    let s = stack(30, Plan::default()).await;
    let view = s.webhook().await;
    assert_eq!(view["status"], "awaiting_token", "{view}");
    assert!(view["verificationToken"].is_null() && view["lastEventAt"].is_null());
    s.full_sync().await;
    let token = s.subscribe().await;
    assert_eq!(s.webhook().await["status"], "awaiting_events");

    let (page, block) = s.page_with_text(0);
    s.emulator.clear_requests();
    s.emulator
        .with_workspace(|ws| ws.edit_block(&block, "Edited by webhook zebra-one"));
    eventually("the edit in the dataset", 30, || async {
        s.texts().await.get(&page).is_some_and(|t| t.contains("zebra-one"))
    })
    .await;
    let view = s.webhook().await;
    assert_eq!(view["status"], "active", "{view}");
    assert!(view["lastEventAt"].is_string());
    assert_eq!(view["verificationToken"], token.as_str());
    eventually("the targeted run's end", 20, || async {
        s.state().await["lastSyncSummary"]["trigger"] == "webhook"
    })
    .await;
    let summary = s.state().await["lastSyncSummary"].clone();
    assert_eq!(summary["pagesRead"], 1, "{summary}");
    // The targeted run asked Notion about this page alone: one retrieve (is it alive, when
    // was it edited), then its content as a full sync reads it (the markdown, plus the
    // block API for blocks the markdown leaves out). No search, no other page.
    let paths: Vec<String> = s.emulator.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        summary["notionRequests"].as_u64(),
        Some(paths.len() as u64),
        "{paths:?}"
    );
    assert!(paths.iter().all(|p| p.contains(&page)), "{paths:?}");
    assert_eq!(paths.iter().filter(|p| **p == format!("/v1/pages/{page}")).count(), 1);
    assert!(paths.iter().any(|p| p.contains("/markdown")), "{paths:?}");
    assert_eq!(s.events("webhook.verified").await.len(), 1);
    let requested = s.events("sync.requested").await;
    assert!(
        requested.iter().any(|e| e["data"]["trigger"] == "webhook"),
        "{requested:?}"
    );
    // The token never shows anywhere but in the owner's webhook view.
    assert!(!s.env.main_table_dump().await.contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_replayed_and_malformed_deliveries_change_nothing() {
    let s = stack(8, Plan::default()).await;
    let token = s.subscribe().await;
    let table = s.env.config.table_name.clone();
    let before = s.env.scan_items(&table).await;
    let page = s.page_with_text(0).0;
    let body = event(
        "e7e7e7e7-0000-4000-8000-00000000aaaa",
        "page.content_updated",
        &page,
        "page",
    );

    s.deliver(&body, Some("secret_forged"))
        .await
        .assert_error(401, "UNAUTHENTICATED");
    s.deliver(&body, None).await.assert_error(401, "UNAUTHENTICATED");
    let mut tampered = body.clone();
    tampered.push(' ');
    let signature = sign(body.as_bytes(), &token);
    let answer = s
        .env
        .send(
            lambda_http::http::Method::POST,
            &s.hook_path(),
            None,
            &[("x-notion-signature", signature.as_str())],
            tampered,
        )
        .await;
    answer.assert_error(401, "UNAUTHENTICATED");
    let big = format!(r#"{{"verification_token": "x", "pad": "{}"}}"#, "a".repeat(300 * 1024));
    s.deliver(&big, None).await.assert_error(400, "BAD_REQUEST");
    s.deliver("[1, 2]", None).await.assert_error(400, "BAD_REQUEST");
    s.deliver(r#"{"verification_token": "has space"}"#, None)
        .await
        .assert_error(400, "BAD_REQUEST");
    let unknown = "/api/v1/integration/notion/notion_01JD0000000000000000000000/webhook";
    let answer = s
        .env
        .send(lambda_http::http::Method::POST, unknown, None, &[], body.clone())
        .await;
    answer.assert_error(404, "NOT_FOUND");
    assert_eq!(
        s.env.scan_items(&table).await,
        before,
        "refused deliveries stored nothing"
    );
    assert_eq!(s.webhook().await["status"], "awaiting_events");
    assert_eq!(s.env.queue_depth().await, 0, "nothing was queued");

    // The genuine event, then its replay: one piece of work, one flush.
    assert_eq!(s.deliver(&body, Some(&token)).await.ok(), json!({}));
    assert_eq!(s.deliver(&body, Some(&token)).await.ok(), json!({}));
    eventually("the targeted run", 30, || async {
        s.state().await["lastSyncSummary"]["trigger"] == "webhook"
    })
    .await;
    assert_eq!(
        s.events("sync.requested").await.len(),
        1,
        "the replay asked for nothing"
    );
    // A handshake after signed events used the token cannot replace it.
    s.deliver(r#"{"verification_token": "secret_attacker"}"#, None)
        .await
        .assert_error(409, "CONFLICT");
    assert_eq!(s.webhook().await["verificationToken"], token.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn out_of_order_duplicated_and_unreadable_events_end_in_the_right_state() {
    let s = stack(10, Plan::default()).await;
    s.full_sync().await;
    s.subscribe().await;
    s.emulator.configure_webhooks(|c| {
        c.reverse = true;
        c.duplicate = true;
    });
    s.emulator.webhook_inaccessible_events(true);
    let before = s.texts().await;
    let parent = s.page_with_text(1).0;
    // One batch: created, then content_updated, delivered newest first, each twice, plus
    // an event for a page the token cannot read.
    let child = s.emulator.with_workspace(|ws| {
        let child = ws.add_page(Parent::Page(parent.clone()), "Late arrival", false);
        ws.add_block(&child, "paragraph", "first words", Value::Null);
        let block = ws.pages[&child].children[0].clone();
        ws.edit_block(&block, "final words quokka");
        child
    });
    eventually("the new page with its final text", 30, || async {
        s.texts().await.get(&child).is_some_and(|t| t.contains("quokka"))
    })
    .await;
    let after = s.texts().await;
    assert!(!after.get(&child).unwrap().contains("first words"));
    for (page, text) in &before {
        if *page != parent {
            assert_eq!(after.get(page), Some(text), "page {page} untouched");
        }
    }
    assert!(!after.contains_key("00000000-dead-4000-8000-000000000000"));
    assert_eq!(after.len(), before.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_page_takes_its_subtree_and_an_undeleted_one_brings_it_back() {
    let s = stack(10, Plan::default()).await;
    let parent = s.page_with_text(2).0;
    let child = s.emulator.with_workspace(|ws| {
        let child = ws.add_page(Parent::Page(parent.clone()), "Nested", false);
        ws.add_block(&child, "paragraph", "nested words narwhal", Value::Null);
        child
    });
    s.full_sync().await;
    s.subscribe().await;
    let synced = s.texts().await;
    assert!(synced.get(&child).is_some_and(|t| t.contains("narwhal")));

    s.emulator.with_workspace(|ws| {
        ws.trash_page(&parent);
        ws.trash_page(&child);
    });
    eventually("the trashed subtree gone", 30, || async {
        let texts = s.texts().await;
        !texts.contains_key(&parent) && !texts.contains_key(&child)
    })
    .await;
    assert_eq!(s.texts().await.len(), synced.len() - 2, "nothing else was deleted");

    s.emulator.with_workspace(|ws| {
        ws.restore_page(&parent);
        ws.restore_page(&child);
    });
    eventually("the restored subtree back", 30, || async {
        let texts = s.texts().await;
        texts.contains_key(&parent) && texts.get(&child).is_some_and(|t| t.contains("narwhal"))
    })
    .await;
    // Exactly as it was once the run that restored it has ended (it settles the restored
    // pages' paths from the stored index last).
    eventually("the restored subtree as it was", 30, || async {
        s.texts().await == synced
    })
    .await;
    assert_eq!(s.texts().await, synced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_during_a_full_sync_is_coalesced_and_nothing_is_lost() {
    let s = stack(60, Plan::default()).await;
    s.full_sync().await;
    s.subscribe().await;
    // Slow Notion down so the next full sync is still running while the edits arrive.
    s.emulator.inject(notion_emulator::Fault {
        path_contains: "/markdown".into(),
        status: 0,
        times: 1_000,
        delay_ms: 40,
        ..Default::default()
    });
    s.emulator.with_workspace(|ws| {
        for page in ws.live_pages() {
            ws.touch(&page);
        }
    });
    let path = format!("/api/v1/integration/notion/{}/sync", s.integration);
    s.env.post(&path, &s.key, &json!({})).await.ok();
    eventually("the full sync running", 30, || async {
        s.state().await["syncProgress"].is_object()
    })
    .await;
    let mut edited = Vec::new();
    for i in 0..10 {
        let (page, block) = s.page_with_text(i);
        s.emulator
            .with_workspace(|ws| ws.edit_block(&block, &format!("burst edit number {i} walrus")));
        edited.push((page, format!("burst edit number {i} walrus")));
    }
    assert!(
        s.state().await["syncProgress"].is_object(),
        "the edits arrived while the full sync ran"
    );
    eventually("every edit in the dataset", 120, || async {
        let texts = s.texts().await;
        edited
            .iter()
            .all(|(page, text)| texts.get(page).is_some_and(|t| t.contains(text.as_str())))
    })
    .await;
    let webhook_runs = s
        .events("sync.requested")
        .await
        .into_iter()
        .filter(|e| e["data"]["trigger"] == "webhook")
        .count();
    assert!(
        (1..=3).contains(&webhook_runs),
        "10 events coalesced into few targeted runs, not {webhook_runs}"
    );
}

/// "Request limits": the per-connection budget "can be spent at any pace within the
/// window". A full crawl keeps to an even 95% of it; a targeted run's few requests go out at
/// once instead of 350 ms apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_targeted_run_spends_the_budget_at_once_where_a_crawl_keeps_an_even_pace() {
    let rps = 3;
    let s = stack_at(8, Plan::default(), NotionConfig::default(), rps).await;
    let spacing = Duration::from_secs(60) / (rps * 60 * 95 / 100);
    s.full_sync().await;
    let crawl: Vec<u64> = s.emulator.requests().iter().map(|r| r.at_ms).collect();
    assert!(crawl.len() >= 10, "{crawl:?}");
    let crawl_span = Duration::from_millis(crawl.iter().max().unwrap() - crawl.iter().min().unwrap());
    assert!(
        crawl_span + Duration::from_millis(50) >= spacing * (crawl.len() as u32 - 1),
        "{} requests in {crawl_span:?}: evenly spaced at {spacing:?}",
        crawl.len()
    );
    s.subscribe().await;
    s.emulator.clear_requests();
    let mut edited = Vec::new();
    for i in 0..4 {
        let (page, block) = s.page_with_text(i);
        let text = format!("quick edit {i} heron");
        s.emulator.with_workspace(|ws| ws.edit_block(&block, &text));
        edited.push((page, text));
    }
    eventually("every edit in the dataset", 60, || async {
        let texts = s.texts().await;
        edited
            .iter()
            .all(|(page, text)| texts.get(page).is_some_and(|t| t.contains(text.as_str())))
    })
    .await;
    let targeted: Vec<u64> = s.emulator.requests().iter().map(|r| r.at_ms).collect();
    assert!(
        targeted.len() >= 8,
        "a retrieve and a markdown per page at least: {targeted:?}"
    );
    let span = Duration::from_millis(targeted.iter().max().unwrap() - targeted.iter().min().unwrap());
    assert!(
        span < spacing * (targeted.len() as u32 - 1) / 2,
        "{} requests in {span:?}, where an even pace takes {:?}",
        targeted.len(),
        spacing * (targeted.len() as u32 - 1)
    );
    assert!(s.emulator.requests().iter().all(|r| r.status != 429));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_of_another_workspace_and_data_source_events() {
    let s = stack(12, Plan::default()).await;
    let (database, source, rows) = s.emulator.with_workspace(|ws| {
        let host = ws
            .live_pages()
            .into_iter()
            .find(|p| matches!(ws.pages[p].parent, Parent::Workspace))
            .unwrap();
        let (db, ds) = ws.add_database(&host, "Tasks", true);
        let rows: Vec<String> = (0..5)
            .map(|i| {
                let row = ws.add_row(&db, &format!("Task {i}"), serde_json::Map::new());
                ws.add_block(&row, "paragraph", &format!("task body {i}"), Value::Null);
                row
            })
            .collect();
        // Rows made an hour ago: the full sync reads them settled, so a later run reads
        // again only what is edited since (a read within a row's edit minute would be read
        // again, whatever the stamp).
        let hour_ago = ws.now() - 3_600;
        for row in &rows {
            let page = ws.pages.get_mut(row).unwrap();
            (page.created, page.last_edited) = (hour_ago, hour_ago);
        }
        (db, ds, rows)
    });
    s.full_sync().await;
    let token = s.subscribe().await;
    assert!(s.texts().await.contains_key(&rows[0]));

    // A row edited, announced as a data source event: only rows edited since the last run
    // are listed, and only the edited one is read.
    let block = s.emulator.with_workspace(|ws| ws.pages[&rows[3]].children[0].clone());
    s.emulator
        .with_workspace(|ws| ws.edit_block(&block, "task body edited ocelot"));
    s.emulator.clear_requests();
    let body = event(
        "e7e7e7e7-0000-4000-8000-00000000bbbb",
        "data_source.content_updated",
        &source,
        "data_source",
    );
    s.deliver(&body, Some(&token)).await.ok();
    eventually("the edited row", 30, || async {
        s.texts().await.get(&rows[3]).is_some_and(|t| t.contains("ocelot"))
    })
    .await;
    let paths: Vec<String> = s.emulator.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.contains(&format!("/v1/data_sources/{source}/query"))),
        "{paths:?}"
    );
    for row in [&rows[0], &rows[1], &rows[2], &rows[4]] {
        assert!(
            !paths
                .iter()
                .any(|p| p.contains(row.as_str()) && p.contains("/markdown")),
            "an unedited row was read: {paths:?}"
        );
    }
    let _ = database;

    // An integration connected to one workspace ignores another's events.
    let workspace = shared::domain::oauth::Workspace {
        id: "aaaaaaaa-0000-4000-8000-000000000001".into(),
        name: "Ours".into(),
    };
    shared::ports::IntegrationStore::connect_workspace(
        &s.env.store,
        &s.account,
        &s.integration,
        &workspace,
        "2026-12-02T00:00:00Z",
    )
    .await
    .unwrap();
    let before = s.events("sync.requested").await.len();
    let body = event(
        "e7e7e7e7-0000-4000-8000-00000000cccc",
        "page.content_updated",
        &rows[0],
        "page",
    );
    s.deliver(&body, Some(&token)).await.ok();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.events("sync.requested").await.len(), before, "nothing was asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_limits_bound_each_targeted_run_and_the_rest_follows() {
    let plan = Plan {
        max_pages_per_sync: 3,
        ..Plan::default()
    };
    let s = stack(12, plan).await;
    s.subscribe().await;
    let mut edited = Vec::new();
    for i in 0..6 {
        let (page, block) = s.page_with_text(i);
        s.emulator
            .with_workspace(|ws| ws.edit_block(&block, &format!("limited {i}")));
        edited.push(page);
    }
    eventually("every edited page synced, by runs that ended", 90, || async {
        let texts = s.texts().await;
        edited.iter().all(|p| texts.contains_key(p))
            && s.events("sync.completed").await.len() == s.events("sync.requested").await.len()
            && s.state().await["syncStatus"] == "synced"
    })
    .await;
    let completed = s.events("sync.completed").await;
    let requested = s.events("sync.requested").await;
    assert!(
        completed.len() >= 2,
        "several targeted runs: {completed:?} {requested:?}"
    );
    for run in &completed {
        assert!(run["data"]["pagesSeen"].as_u64().unwrap() <= 3, "{run}");
    }
}

/// Notion does not document whether the subpages of a trashed page are retrieved as
/// `in_trash`. Under both readings only the parent is trashed (one `page.deleted`): its
/// known subpage is checked, and removed exactly when Notion reports it trashed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trashed_parent_takes_its_subpages_under_either_reading_of_in_trash() {
    for cascades in [false, true] {
        let s = stack_with(
            10,
            Plan::default(),
            NotionConfig {
                trash_cascades: cascades,
                ..NotionConfig::default()
            },
        )
        .await;
        let parent = s.page_with_text(2).0;
        let child = s.emulator.with_workspace(|ws| {
            let child = ws.add_page(Parent::Page(parent.clone()), "Nested", false);
            ws.add_block(&child, "paragraph", "nested words", Value::Null);
            child
        });
        s.full_sync().await;
        s.subscribe().await;
        s.emulator.with_workspace(|ws| ws.trash_page(&parent));
        eventually("the trashed parent gone", 30, || async {
            !s.texts().await.contains_key(&parent)
        })
        .await;
        eventually("the targeted run's end", 30, || async {
            s.state().await["syncStatus"] == "synced" && s.state().await["syncProgress"].is_null()
        })
        .await;
        assert_eq!(
            s.texts().await.contains_key(&child),
            !cascades,
            "with in_trash cascading ({cascades}) the subpage goes exactly when Notion says so"
        );
    }
}
