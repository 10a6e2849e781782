//! Webhook coalescing rules over the in-memory ports: work waits for a pending run, a full
//! sync asked for during a targeted run follows it, and a targeted run touches only the
//! pages named.

use super::*;
use shared::domain::sync::{SyncMessage, Trigger};
use shared::domain::webhook::Work;
use shared::ports::{SyncStateStore, WebhookStore};

/// An event naming page `name`, then its flush; returns what the flush did.
async fn event_then_flush(h: &Harness, crawler: &Crawler, name: &str) -> shared::crawler::webhook::FlushResult {
    h.store
        .add_work(INTEGRATION, &[Work::Page(page_id(name)).key()], "2026-12-01T00:00:00Z")
        .await
        .unwrap();
    crawler.flush(&flush()).await.unwrap()
}

async fn run_all(h: &Harness, crawler: &Crawler) -> Vec<SyncMessage> {
    let mut ran = Vec::new();
    for _ in 0..20 {
        let messages = h.store.take_messages();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
            crawler.run(&m, deadline).await.unwrap();
            ran.push(m);
        }
    }
    ran
}

#[tokio::test(start_paused = true)]
async fn a_full_sync_asked_for_during_a_targeted_run_follows_it() {
    let h = Harness::new(Plan::default()).await;
    h.page("a", "alpha words", &[], true);
    h.page("b", "beta words", &[], true);
    let crawler = h.crawler();
    let app = h.app();
    // A first full sync, so the targeted run has something to compare with.
    let path = format!("/api/v1/integration/notion/{INTEGRATION}/sync");
    let sync = || {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!("https://api.example.com{path}"))
            .header("authorization", format!("Bearer {API_KEY}"))
            .body(lambda_http::Body::from("{}"))
            .unwrap()
    };
    let answer = app.handle(shared::http::routes::Route::IntegrationSync, sync()).await;
    assert_eq!(answer.status(), 200);
    run_all(&h, &crawler).await;

    // An event names page a; its flush queues a targeted run.
    assert_eq!(
        event_then_flush(&h, &crawler, "a").await,
        shared::crawler::webhook::FlushResult::Queued
    );
    // While it is pending, a manual sync is asked for (past the cooldown): not absorbed.
    tokio::time::advance(Duration::from_secs(1_000)).await;
    let answer = app.handle(shared::http::routes::Route::IntegrationSync, sync()).await;
    assert_eq!(answer.status(), 200);
    let pending = h.store.state().integrations[INTEGRATION].clone();
    assert!(pending.pending_targeted);
    assert_eq!(pending.full_sync_requested, Some(Trigger::Manual));

    let ran = run_all(&h, &crawler).await;
    let triggers: Vec<Trigger> = ran.iter().map(|m| m.trigger).collect();
    assert_eq!(triggers, [Trigger::Webhook, Trigger::Manual], "the full sync followed");
    let integration = h.store.state().integrations[INTEGRATION].clone();
    assert_eq!(integration.full_sync_requested, None);
    assert_eq!(integration.last_sync_summary.unwrap()["trigger"], "manual");
}

#[tokio::test(start_paused = true)]
async fn work_arriving_during_a_run_waits_for_it_and_runs_right_after() {
    let h = Harness::new(Plan::default()).await;
    h.page("a", "alpha words", &[], true);
    h.page("b", "beta words", &[], true);
    let crawler = h.crawler();
    // A full sync is pending (queued, not yet run).
    let account = shared::ports::AccountStore::get_account(h.store.as_ref(), ACCOUNT)
        .await
        .unwrap()
        .unwrap();
    let requests = shared::sync::request::SyncRequests::build(&h.app()).unwrap();
    requests
        .enqueue(
            ACCOUNT,
            INTEGRATION,
            &account,
            Trigger::Manual,
            shared::domain::time::Clock::now(h.clock.as_ref()).timestamp(),
        )
        .await
        .unwrap();
    assert_eq!(
        event_then_flush(&h, &crawler, "b").await,
        shared::crawler::webhook::FlushResult::Waiting
    );
    let retry = h.store.state().flush_queue.pop().unwrap();
    assert_eq!(retry.1, shared::crawler::webhook::BUSY_RETRY_SECS, "retried later");
    assert!(!h
        .store
        .get_webhook(INTEGRATION)
        .await
        .unwrap()
        .unwrap()
        .pending
        .is_empty());

    // The full run ends and queues the flush at once.
    let ran = run_all(&h, &crawler).await;
    assert_eq!(ran.len(), 1);
    let (now, delay) = h.store.state().flush_queue.pop().unwrap();
    assert_eq!((now, delay), (flush(), 0));
    assert_eq!(
        crawler.flush(&flush()).await.unwrap(),
        shared::crawler::webhook::FlushResult::Queued
    );
    let ran = run_all(&h, &crawler).await;
    assert_eq!(ran[0].trigger, Trigger::Webhook);
    let summary = h.store.state().integrations[INTEGRATION]
        .last_sync_summary
        .clone()
        .unwrap();
    assert_eq!(summary["pagesSeen"], 1, "only the page named: {summary}");
    assert!(h.no_pending_work().await);
    assert_eq!(
        h.store.load_pages(INTEGRATION).await.unwrap().len(),
        2,
        "the index kept both pages"
    );
}

#[tokio::test(start_paused = true)]
async fn work_past_the_pending_limit_becomes_one_full_sync() {
    use shared::domain::webhook::{sign, MAX_PENDING_KEYS};
    let h = Harness::new(Plan::default()).await;
    for name in ["a", "b", "c"] {
        h.page(name, &format!("{name} words"), &[], true);
    }
    let crawler = h.crawler();
    let app = h.app();
    shared::ports::WebhookTokens::put_webhook_token(h.store.as_ref(), ACCOUNT, INTEGRATION, "secret_whv")
        .await
        .unwrap();
    // A bulk import's worth of events already waiting.
    let flood: Vec<String> = (0..MAX_PENDING_KEYS)
        .map(|i| Work::Page(format!("{i:08x}-0000-4000-8000-000000000000")).key())
        .collect();
    h.store
        .add_work(INTEGRATION, &flood, "2026-12-01T00:00:00Z")
        .await
        .unwrap();
    let event = serde_json::json!({
        "id": "e-overflow", "type": "page.content_updated",
        "entity": {"id": page_id("b"), "type": "page"},
    })
    .to_string();
    let request = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!(
            "https://api.example.com/api/v1/integration/notion/{INTEGRATION}/webhook"
        ))
        .header("x-notion-signature", sign(event.as_bytes(), "secret_whv"))
        .body(lambda_http::Body::from(event))
        .unwrap();
    let answer = app.handle(shared::http::routes::Route::WebhookReceive, request).await;
    assert_eq!(answer.status(), 200);
    let pending = h.store.get_webhook(INTEGRATION).await.unwrap().unwrap().pending;
    assert!(pending.contains(&Work::Everything.key()));
    assert!(
        !pending.contains(&Work::Page(page_id("b")).key()),
        "no more names past the limit"
    );

    assert_eq!(
        crawler.flush(&flush()).await.unwrap(),
        shared::crawler::webhook::FlushResult::Queued
    );
    run_all(&h, &crawler).await;
    let summary = h.store.state().integrations[INTEGRATION]
        .last_sync_summary
        .clone()
        .unwrap();
    assert_eq!(summary["trigger"], "webhook");
    assert_eq!(
        summary["pagesSeen"], 3,
        "a full sync: search listed every page: {summary}"
    );
    assert_eq!(summary["complete"], true);
    assert!(h.no_pending_work().await);
}

#[tokio::test(start_paused = true)]
async fn a_targeted_run_takes_at_most_its_share_and_the_next_takes_the_rest() {
    use shared::domain::webhook::MAX_TARGET_KEYS;
    let h = Harness::new(Plan::default()).await;
    h.page("a", "alpha words", &[], true);
    let crawler = h.crawler();
    // Pages Notion does not know (404): each is confirmed gone, nothing else happens.
    let many: Vec<String> = (0..MAX_TARGET_KEYS + 10)
        .map(|i| Work::Page(format!("{i:08x}-0000-4000-8000-00000000dead")).key())
        .collect();
    h.store
        .add_work(INTEGRATION, &many, "2026-12-01T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(
        crawler.flush(&flush()).await.unwrap(),
        shared::crawler::webhook::FlushResult::Queued
    );
    let first = h.store.take_messages();
    for m in &first {
        crawler
            .run(m, tokio::time::Instant::now() + Duration::from_secs(600))
            .await
            .unwrap();
    }
    let left = h.store.get_webhook(INTEGRATION).await.unwrap().unwrap().pending;
    assert_eq!(left.len(), 10, "one run took {MAX_TARGET_KEYS}");
    let (next, delay) = h.store.state().flush_queue.pop().unwrap();
    assert_eq!((next, delay), (flush(), 0), "the run's end queued the rest at once");
}

/// Counts reads of verification tokens (Secrets Manager calls in AWS).
struct CountingTokens {
    inner: Arc<MemoryStore>,
    reads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl shared::ports::WebhookTokens for CountingTokens {
    async fn put_webhook_token(&self, a: &str, i: &str, t: &str) -> Result<(), shared::error::StoreError> {
        self.inner.put_webhook_token(a, i, t).await
    }
    async fn get_webhook_token(&self, i: &str) -> Result<Option<String>, shared::error::StoreError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get_webhook_token(i).await
    }
    async fn delete_webhook_token(&self, i: &str) -> Result<(), shared::error::StoreError> {
        self.inner.delete_webhook_token(i).await
    }
}

#[tokio::test(start_paused = true)]
async fn verification_tokens_are_read_once_and_again_only_on_a_mismatch() {
    use shared::domain::webhook::sign;
    use shared::ports::WebhookTokens;
    let h = Harness::new(Plan::default()).await;
    let tokens = Arc::new(CountingTokens {
        inner: h.store.clone(),
        reads: Default::default(),
    });
    // One endpoint for every delivery, as one Lambda instance serves them.
    let api = Arc::new(h.app().with_webhook_tokens(tokens.clone()).api().unwrap());
    let deliver = |body: String, token: &str| {
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!(
                "https://api.example.com/api/v1/integration/notion/{INTEGRATION}/webhook"
            ))
            .header("x-notion-signature", sign(body.as_bytes(), token))
            .body(lambda_http::Body::from(body))
            .unwrap();
        let api = api.clone();
        async move {
            api.handle(shared::http::routes::Route::WebhookReceive, request)
                .await
                .status()
                .as_u16()
        }
    };
    let event = |n: u32| format!(r#"{{"id": "e-{n}", "type": "comment.created"}}"#);
    let reads = || tokens.reads.load(std::sync::atomic::Ordering::SeqCst);
    tokens
        .put_webhook_token(ACCOUNT, INTEGRATION, "secret_one")
        .await
        .unwrap();
    for n in 0..5 {
        assert_eq!(deliver(event(n), "secret_one").await, 200);
    }
    assert_eq!(reads(), 1, "five events, one read");
    // A forged signature reads the secret again, and is still refused.
    assert_eq!(deliver(event(9), "secret_forged").await, 401);
    assert_eq!(reads(), 2);
    // Another process stored a new token (before any event verified it, here directly):
    // the mismatch reads it and the event is accepted.
    h.store
        .put_webhook_token(ACCOUNT, INTEGRATION, "secret_two")
        .await
        .unwrap();
    assert_eq!(deliver(event(10), "secret_two").await, 200);
    assert_eq!(reads(), 3);
    assert_eq!(
        deliver(event(11), "secret_one").await,
        401,
        "the old token no longer works"
    );
    // Past the cache's lifetime the token is read again.
    tokio::time::advance(Duration::from_secs(301)).await;
    assert_eq!(deliver(event(12), "secret_two").await, 200);
    assert_eq!(reads(), 5);
}

/// Found in the freshness benchmark: an edit right after a run that a flush had found busy
/// waited for that flush's 30-second retry, whose claim kept the edit's own flush from
/// being queued.
#[tokio::test(start_paused = true)]
async fn an_event_after_a_busy_run_ends_is_flushed_at_the_debounce_not_the_retry() {
    let h = Harness::new(Plan::default()).await;
    h.page("a", "alpha words", &[], true);
    h.page("b", "beta words", &[], true);
    h.page("c", "gamma words", &[], true);
    let crawler = h.crawler();
    let path = format!("/api/v1/integration/notion/{INTEGRATION}/sync");
    let sync = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://api.example.com{path}"))
        .header("authorization", format!("Bearer {API_KEY}"))
        .body(lambda_http::Body::from("{}"))
        .unwrap();
    assert_eq!(
        h.app()
            .handle(shared::http::routes::Route::IntegrationSync, sync)
            .await
            .status(),
        200
    );
    run_all(&h, &crawler).await;

    // A targeted run is queued for a; b's flush finds it pending and retries later.
    assert_eq!(
        event_then_flush(&h, &crawler, "a").await,
        shared::crawler::webhook::FlushResult::Queued
    );
    assert_eq!(
        event_then_flush(&h, &crawler, "b").await,
        shared::crawler::webhook::FlushResult::Waiting
    );
    let retry = h.store.state().flush_queue.pop().unwrap();
    assert_eq!(retry.1, shared::crawler::webhook::BUSY_RETRY_SECS);
    // The run takes a and b; nothing is left pending.
    run_all(&h, &crawler).await;
    assert!(h.no_pending_work().await);
    h.store.state().flush_queue.clear();

    // c is edited: the webhook route queues its flush at the debounce.
    h.store
        .add_work(INTEGRATION, &[Work::Page(page_id("c")).key()], "2026-12-01T00:00:00Z")
        .await
        .unwrap();
    let now = shared::domain::time::Clock::now(h.clock.as_ref()).timestamp();
    shared::sync::flush::queue_flush(h.store.as_ref(), h.store.as_ref(), ACCOUNT, INTEGRATION, 2, now)
        .await
        .unwrap();
    let queued = h.store.state().flush_queue.clone();
    assert_eq!(queued.len(), 1, "c's own flush is on its way: {queued:?}");
    assert_eq!(queued[0].1, 2, "at the debounce, not the busy retry");
}
