//! The freshness benchmark (SPEC §2.2): from an edit in Notion to the record updated in the
//! dataset, through the webhook path as deployed: the Notion emulator delivers the signed
//! event over HTTP to the local stack's router (the public webhook route's code), the work is
//! coalesced on the AWS emulator's SQS queue for `WEBHOOK_DEBOUNCE_SECS` (DelaySeconds), and
//! the crawler, polling that queue as the event source does, runs the targeted sync at
//! Notion's rate limit (3 requests per second). For each workspace size: 50 edits one after
//! another, each timed from the edit until the record holds the new text, and the Notion
//! requests each one cost.
//!
//! `infra/bench/run.sh --freshness` (needs the AWS emulator: `AWS_ENDPOINT_URL`), or
//! `target/release/freshness [--sizes 100,10000] [--edits 50] [--debounce 2] [--interval 5] [--write BENCHMARKS.md]`.

use notion_emulator::generate::{generate, Options};
use notion_emulator::{Config as NotionConfig, Emulator};
use shared::aws::provision::{ensure_queue, ensure_tables};
use shared::config::Config;
use shared::crawler::records::{chunk_id, record_base_id};
use shared::crawler::CrawlerSettings;
use shared::domain::account::{Account, Plan};
use shared::domain::dataset::Dataset;
use shared::domain::integration::Integration;
use shared::ports::{DatasetStore, IntegrationStore};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TOKEN: &str = "secret_freshness";

struct Size {
    pages: usize,
    initial_sync: Duration,
    latencies: Vec<f64>,
    /// Per edit: the Notion requests that read the edited page.
    requests: Vec<usize>,
    /// Per edit: the fewest requests a targeted read of the page needs (the emulator's count:
    /// a retrieve, the markdown, the block reads of what it leaves out).
    fewest: Vec<u64>,
    /// Requests of the edits' phase that were no edit's own read: follow-up reads.
    follow_ups: usize,
    runs: usize,
}

/// The object a Notion request names: `/v1/pages/{id}`, `/v1/pages/{id}/markdown`,
/// `/v1/blocks/{id}`, `/v1/blocks/{id}/children?...`.
fn request_object(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/v1/pages/")
        .or_else(|| path.strip_prefix("/v1/blocks/"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn measure(
    endpoint: &str,
    pages: usize,
    edits: usize,
    debounce: u32,
    interval: Duration,
) -> Result<Size, BoxError> {
    let sdk = shared::aws::clients::sdk_config_for_emulator(endpoint).await;
    let unique = ulid::Ulid::generate().to_string().to_lowercase();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = ensure_queue(&sqs, &format!("fresh-{unique}"), 900, 5).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let emulator = Emulator::new(
        generate(&Options {
            pages,
            seed: 7,
            token: TOKEN.into(),
        }),
        NotionConfig {
            window_budget: None,
            wall_clock: true,
            ..NotionConfig::default()
        },
    );
    let notion_url = notion_emulator::spawn(emulator.clone()).await?;
    let config = Config::from_lookup(|name| match name {
        "TABLE_NAME" => Some(format!("fresh-{unique}")),
        "RECORDS_TABLE_NAME" => Some(format!("fresh-{unique}-records")),
        "SECRET_PREFIX" => Some(format!("fresh/{unique}/")),
        "SYNC_QUEUE_URL" => Some(queue.clone()),
        "NOTION_API_URL" => Some(notion_url.clone()),
        "PUBLIC_BASE_URL" => Some(base.clone()),
        "WEBHOOK_DEBOUNCE_SECS" => Some(debounce.to_string()),
        _ => None,
    })?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    ensure_tables(&dynamodb, &config.table_name, &config.records_table_name).await?;
    let app = shared::runtime::build_app(&config, &sdk)?;
    let router = local_stack::router(&app)?;
    tokio::spawn(async move { axum::serve(listener, router).await });

    // An account, a dataset and an integration, synced once in full (unthrottled: the
    // initial sync is what the main benchmark measures).
    let now = "2026-01-01T00:00:00Z".to_string();
    let account = format!("account_{}", ulid::Ulid::generate());
    let store = shared::aws::dynamo::DynamoStore::new(
        dynamodb.clone(),
        config.table_name.clone(),
        config.records_table_name.clone(),
    );
    let plan = Plan {
        max_records: 10_000_000,
        max_integrations: 10,
        max_pages_per_sync: 1_000_000,
        max_sync_seconds: 86_400,
    };
    store
        .create_account(
            &Account {
                id: account.clone(),
                plan,
                created_at: now.clone(),
                records_used: 0,
            },
            &[],
        )
        .await?;
    let dataset = format!("dataset_{}", ulid::Ulid::generate());
    store
        .create_dataset(&Dataset {
            id: dataset.clone(),
            account_id: account.clone(),
            name: "freshness".into(),
            description: String::new(),
            meta: Default::default(),
            record_count: 0,
            created_at: now.clone(),
            updated_at: now.clone(),
        })
        .await?;
    let id = format!("notion_{}", ulid::Ulid::generate());
    let integration: Integration = serde_json::from_value(serde_json::json!({
        "id": id, "accountId": account, "datasetId": dataset, "hasToken": true, "createdAt": now, "updatedAt": now
    }))?;
    store.create_integration(&integration).await?;
    app.webhooks.register_webhook(&account, &id).await?;
    app.tokens.put_token(&account, &id, TOKEN).await?;
    let crawler = |rps: u32| {
        shared::runtime::build_crawler(
            &config,
            &app,
            Some(CrawlerSettings {
                notion_api_url: notion_url.clone(),
                limits: shared::notion::limiter::RequestLimits::per_second(rps),
                concurrency: 8,
                ..CrawlerSettings::default()
            }),
        )
    };
    let started = Instant::now();
    let message = shared::domain::sync::SyncMessage {
        account_id: account.clone(),
        integration_id: id.clone(),
        run_id: ulid::Ulid::generate().to_string(),
        trigger: shared::domain::sync::Trigger::Manual,
    };
    app.queue.send(&message).await?;
    let full = crawler(100_000)?;
    while shared::runtime::poll_once(&sqs, &queue, &full, Duration::from_secs(840), 0).await? > 0 {}
    let initial_sync = started.elapsed();
    eprintln!(
        "   initial full sync of {pages} pages: {:.1} s",
        initial_sync.as_secs_f64()
    );
    // The full sync handed its requests' answer times over to the next invocation, which
    // holds them against Notion's 60-second window: at the real budget the first targeted
    // run would rightly wait for that window to pass. Let it pass before timing edits.
    tokio::time::sleep(Duration::from_secs(61)).await;

    // From here on Notion's real limit, and the crawler polling the queue in the background.
    emulator.configure(|c| c.window_budget = Some(180));
    tokio::spawn(local_stack::poll_forever(
        sqs.clone(),
        queue.clone(),
        crawler(3)?,
        Duration::from_secs(840),
    ));
    let hook = format!("{base}/api/v1/integration/notion/{id}/webhook");
    let token = emulator.subscribe_webhook(&hook);
    for _ in 0..200 {
        if app.webhook_tokens.get_webhook_token(&id).await?.as_deref() == Some(token.as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Pages to edit: spread over the workspace, each with a top-level paragraph.
    let targets: Vec<(String, String)> = emulator.with_workspace(|ws| {
        let all = ws.editable_paragraphs();
        let step = (all.len() / edits).max(1);
        all.into_iter().step_by(step).take(edits).collect()
    });
    let fewest: Vec<u64> = emulator.with_workspace(|ws| {
        let (_, by_page) = notion_emulator::render::minimal_requests_by_page(ws, 1_000, Default::default(), true);
        targets
            .iter()
            .map(|(page, _)| {
                // A full sync's share already holds a retrieve for a page search misses.
                let hidden = ws.pages.get(page).is_some_and(|p| {
                    !p.in_search && !matches!(p.parent, notion_emulator::model::Parent::DataSource(_))
                });
                by_page.get(page).copied().unwrap_or_default() + u64::from(!hidden)
            })
            .collect()
    });
    let mut latencies = Vec::new();
    let mut requests = Vec::new();
    emulator.clear_requests();
    let mut last_edit: Option<Instant> = None;
    for (n, (page, block)) in targets.iter().enumerate() {
        // One edit per `interval` (from one edit to the next), and at least 1.2 s after the
        // previous record updated, so its run has released its lease.
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        if let Some(at) = last_edit {
            tokio::time::sleep_until((at + interval).into()).await;
        }
        let from = emulator.requests().len();
        let marker = format!("freshness edit {n} {}", ulid::Ulid::generate());
        let record = chunk_id(&record_base_id(&id, page), 0);
        let edited = Instant::now();
        last_edit = Some(edited);
        emulator.with_workspace(|ws| ws.edit_block(block, &marker));
        let deadline = edited + Duration::from_secs(120);
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs() as i64;
            if let Some(r) = app.records.get_record(&dataset, &record, now).await? {
                if r.text.contains(&marker) {
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err(format!("edit {n} on {page} never reached the dataset").into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        latencies.push(edited.elapsed().as_secs_f64());
        // The run may still be finishing its bookkeeping: its Notion requests are done.
        let log = emulator.requests().split_off(from);
        if std::env::var_os("FRESHNESS_TRACE").is_some() {
            eprintln!(
                "edit {n} on {page}: {:.2} s, {} requests",
                edited.elapsed().as_secs_f64(),
                log.len()
            );
            for r in &log {
                eprintln!("    {} {} {} {}", r.at_ms, r.method, r.status, r.path);
            }
        }
        let own = emulator.with_workspace(|ws| {
            log.iter()
                .filter(|r| {
                    request_object(&r.path).is_some_and(|o| {
                        let o = notion_emulator::replay::hyphenated(o);
                        o == *page || ws.page_of(&o).is_some_and(|p| p == *page)
                    })
                })
                .count()
        });
        requests.push(own);
    }
    // Follow-up reads come once the last edit's minute has closed: let them end, then every
    // request of the edits' phase that was not an edit's own read is one.
    tokio::time::sleep(Duration::from_secs(65)).await;
    let follow_ups = emulator.requests().len() - requests.iter().sum::<usize>();
    // Runs that ended: the initial one and the targeted ones (events are listed 100 a page).
    let filter = shared::domain::event::EventFilter {
        integration_id: Some(id.clone()),
        kind: Some(shared::domain::event::EventType::SyncCompleted),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let mut runs = 0;
    let mut query = shared::domain::paging::ListQuery::from_params([("take", "100")])?;
    loop {
        let page = app.events.list_events(&account, &query, &filter, now).await?;
        runs += page.items.len();
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    Ok(Size {
        pages,
        initial_sync,
        latencies,
        requests,
        fewest,
        follow_ups,
        runs,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    shared::runtime::install_tls_provider();
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL must point at the AWS emulator (infra/bench/run.sh starts one)")?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = arg(&args, "--sizes")
        .unwrap_or_else(|| "100,10000".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let edits: usize = arg(&args, "--edits").unwrap_or_else(|| "50".into()).parse()?;
    let debounce: u32 = arg(&args, "--debounce").unwrap_or_else(|| "2".into()).parse()?;
    // Each edit costs its page's read and, a minute later, the follow-up read: about 8
    // requests here. One every 5 s keeps that at half of Notion's 3 per second, so the
    // figures measure latency, not a workspace edited faster than Notion lets it be read.
    let interval = Duration::from_secs_f64(arg(&args, "--interval").unwrap_or_else(|| "5".into()).parse()?);
    let mut rows = String::new();
    for &pages in &sizes {
        eprintln!("== freshness at {pages} pages");
        let size = measure(&endpoint, pages, edits, debounce, interval).await?;
        let total: usize = size.requests.iter().sum();
        let fewest: u64 = size.fewest.iter().sum();
        let mut all = size.latencies.clone();
        all.sort_by(f64::total_cmp);
        // Edits of pages with nothing left out of their markdown: 2 requests at the fewest.
        let plain: Vec<usize> = size
            .requests
            .iter()
            .zip(&size.fewest)
            .filter(|(_, f)| **f <= 2)
            .map(|(r, _)| *r)
            .collect();
        let follow_ups = size.follow_ups;
        let _ = writeln!(
            rows,
            "| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} | {:.3} | {} of {} | {} | {} | {:.1} s |",
            size.pages,
            all.len(),
            percentile(&all, 50.0),
            percentile(&all, 99.0),
            all.last().copied().unwrap_or_default(),
            total as f64 / size.requests.len().max(1) as f64,
            total as f64 / fewest.max(1) as f64,
            plain.iter().filter(|r| **r <= 2).count(),
            plain.len(),
            follow_ups,
            size.runs.saturating_sub(1),
            size.initial_sync.as_secs_f64(),
        );
        eprint!("{rows}");
    }
    let section = format!(
        "## Freshness\n\n\
         From an edit in Notion to the record updated, through webhooks (SPEC §2.2): the Notion emulator delivers each \
         signed event over HTTP to the local stack's router (the public webhook route's code), the work waits \
         `WEBHOOK_DEBOUNCE_SECS` = {debounce} s on moto's SQS queue (DelaySeconds), and the crawler, polling that queue \
         as the event source does, runs the targeted sync at Notion's 3 requests per second. Edits one after another, \
         each timed from the edit until the record's text holds it; Notion requests counted per edit. Produced by \
         `infra/bench/run.sh --freshness`, one edit every {interval:?}. Goals (issue #23): p50 ≤ debounce + 0.5 s, p99 ≤ debounce + 1.5 s, ≤ 2 \
         requests per changed page with nothing left out of its markdown, the same at both sizes.\n\n\
         Requests are counted per edit from the emulator's log: those naming the edited page or one of its blocks are \
         the edit's own; \"fewest\" is the emulator's count for a targeted read of that page (a retrieve, the \
         markdown, the block reads of what it leaves out). The rest are follow-up reads of earlier edits: a page read \
         less than 60 s after the start of its edit minute is read once more after the minute closes (SPEC §2), the \
         price of Notion rounding `last_edited_time` down to the minute.\n\n\
         | pages | edits | p50 | p99 | max | Notion requests per changed page | ÷ fewest | pages with nothing left out read in 2 requests | follow-up requests | targeted runs | initial full sync (unthrottled) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n{rows}\n\
         A targeted run asks Notion for the page alone: `GET /v1/pages/{{id}}` (alive? edited when? its title and properties, which the markdown does not carry) and its markdown, plus the block reads that page's content needs, as a full sync would spend them. It reads only the index entries of the pages it touches, so nothing in it grows with the workspace.\n\n"
    );
    print!("{section}");
    if let Some(out) = arg(&args, "--write") {
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        let new = match old.find("## Freshness") {
            Some(at) => {
                let end = old[at + 3..].find("\n## ").map_or(old.len(), |e| at + 3 + e + 1);
                format!("{}{section}{}", &old[..at], &old[end..])
            }
            None => format!("{old}\n{section}"),
        };
        std::fs::write(&out, new)?;
        eprintln!("written to {out}");
    }
    Ok(())
}
