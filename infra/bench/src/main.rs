//! `bench`: measures the sync against the project's Notion emulator (run as a separate
//! process, so this process's memory is the crawler's) and the local AWS emulator, prints a
//! table and writes `BENCHMARKS.md`. Run it with `infra/bench/run.sh`.
//!
//! For each workspace size: a full sync (requests, requests per page, the floor = minimum
//! requests ÷ rate limit, wall time ÷ floor, the busiest second seen by Notion), an
//! incremental sync after 1% of pages changed, the same workspace read by a naive block walk,
//! and the crawler's peak RSS.

use shared::aws::provision::{ensure_queue, ensure_tables};
use shared::config::Config;
use shared::crawler::message::{SyncMessage, Trigger};
use shared::crawler::run::{Crawler, CrawlerSettings};
use shared::domain::account::{Account, Plan};
use shared::domain::dataset::Dataset;
use shared::domain::integration::Integration;
use shared::ports::{DatasetStore, IntegrationStore};
use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TOKEN: &str = "secret_bench_token";

struct Emulator {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Emulator {
    async fn start(pages: usize, rps: u32) -> Result<Self, BoxError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let binary = std::env::current_exe()?.with_file_name("notion-emulator");
        let child = Command::new(binary)
            .args([
                "--port",
                &port.to_string(),
                "--pages",
                &pages.to_string(),
                "--rps",
                &rps.to_string(),
            ])
            .args(["--seed", "7", "--token", TOKEN])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http.get(format!("{url}/__emulator/requests")).send().await.is_ok() {
                return Ok(Self { child, url, http });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the Notion emulator did not start".into())
    }

    async fn admin(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value, BoxError> {
        Ok(self
            .http
            .post(format!("{}/__emulator/{path}", self.url))
            .json(&body)
            .send()
            .await?
            .json()
            .await?)
    }

    async fn requests(&self) -> Result<serde_json::Value, BoxError> {
        Ok(self
            .http
            .get(format!("{}/__emulator/requests", self.url))
            .send()
            .await?
            .json()
            .await?)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Default, Clone)]
struct SyncFigures {
    requests: u64,
    pages: u64,
    list_requests: u64,
    wall: f64,
    max_per_second: u64,
    rate_limited: u64,
}

impl SyncFigures {
    fn per_page(&self) -> f64 {
        self.requests as f64 / self.pages.max(1) as f64
    }
    fn floor(&self, rps: u32) -> f64 {
        (self.pages + self.list_requests) as f64 / rps as f64
    }
}

struct Bench {
    config: Config,
    app: shared::api::App,
    store: shared::aws::dynamo::DynamoStore,
    sqs: aws_sdk_sqs::Client,
    account: String,
}

impl Bench {
    async fn new(endpoint: &str) -> Result<Self, BoxError> {
        let sdk = shared::aws::clients::sdk_config_for_emulator(endpoint).await;
        let unique = ulid::Ulid::generate().to_string().to_lowercase();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = ensure_queue(&sqs, &format!("bench-{unique}"), 900, 5).await?;
        let config = Config::from_lookup(|name| match name {
            "TABLE_NAME" => Some(format!("bench-{unique}")),
            "RECORDS_TABLE_NAME" => Some(format!("bench-{unique}-records")),
            "SECRET_PREFIX" => Some(format!("bench/{unique}/")),
            "SYNC_QUEUE_URL" => Some(queue.clone()),
            _ => None,
        })?;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        ensure_tables(&dynamodb, &config.table_name, &config.records_table_name).await?;
        let store = shared::aws::dynamo::DynamoStore::new(
            dynamodb,
            config.table_name.clone(),
            config.records_table_name.clone(),
        );
        let app = shared::runtime::build_app(&config, &sdk);
        let account = format!("account_{}", ulid::Ulid::generate());
        let plan = Plan {
            max_records: 10_000_000,
            max_integrations: 1_000,
            max_pages_per_sync: 1_000_000,
            max_sync_seconds: 86_400,
        };
        store
            .create_account(
                &Account {
                    id: account.clone(),
                    plan,
                    created_at: "2025-01-01T00:00:00Z".into(),
                    records_used: 0,
                },
                &[],
            )
            .await?;
        Ok(Self {
            config,
            app,
            store,
            sqs,
            account,
        })
    }

    async fn integration(&self) -> Result<String, BoxError> {
        let now = "2025-01-01T00:00:00Z".to_string();
        let dataset = format!("dataset_{}", ulid::Ulid::generate());
        self.store
            .create_dataset(&Dataset {
                id: dataset.clone(),
                account_id: self.account.clone(),
                name: "bench".into(),
                description: String::new(),
                meta: Default::default(),
                record_count: 0,
                created_at: now.clone(),
                updated_at: now.clone(),
            })
            .await?;
        let id = format!("notion_{}", ulid::Ulid::generate());
        let integration: Integration = serde_json::from_value(serde_json::json!({
            "id": id, "accountId": self.account, "datasetId": dataset, "hasToken": true, "createdAt": now, "updatedAt": now
        }))?;
        self.store.create_integration(&integration).await?;
        self.app.tokens.put_token(&self.account, &id, TOKEN).await?;
        Ok(id)
    }

    fn crawler(&self, notion: &str, rps: u32, block_walk_only: bool) -> Result<Crawler, BoxError> {
        let settings = CrawlerSettings {
            notion_api_url: notion.to_string(),
            max_rps: rps,
            concurrency: 8,
            block_walk_only,
            ..CrawlerSettings::default()
        };
        shared::runtime::build_crawler(&self.config, &self.app, Some(settings))
    }

    async fn sync(&self, emulator: &Emulator, crawler: &Crawler, integration: &str) -> Result<SyncFigures, BoxError> {
        emulator.admin("requests/clear", serde_json::json!({})).await?;
        let queue = self.app.queue.clone().ok_or("no queue")?;
        let message = SyncMessage {
            account_id: self.account.clone(),
            integration_id: integration.to_string(),
            run_id: ulid::Ulid::generate().to_string(),
            trigger: Trigger::Manual,
        };
        let started = Instant::now();
        queue.send(&message).await?;
        let url = self.config.sync_queue_url.clone().ok_or("no queue")?;
        while shared::crawler::sqs::poll_once(&self.sqs, &url, crawler, Duration::from_secs(840), 0).await? > 0 {}
        let wall = started.elapsed().as_secs_f64();
        let stored = self
            .store
            .get_integration(&self.account, integration)
            .await?
            .ok_or("integration vanished")?;
        let summary = stored.last_sync_summary.unwrap_or_default();
        if summary["complete"] != true {
            return Err(format!("the sync was not complete: {summary}").into());
        }
        let log = emulator.requests().await?;
        let requests = log["requests"].as_array().cloned().unwrap_or_default();
        let list_requests = requests
            .iter()
            .filter_map(|r| r["path"].as_str())
            .filter(|p| p.contains("/search") || p.contains("/query") || p.starts_with("/v1/databases/"))
            .count() as u64;
        Ok(SyncFigures {
            requests: requests.len() as u64,
            pages: summary["pagesSeen"].as_u64().unwrap_or(0),
            list_requests,
            wall,
            max_per_second: log["maxPerSecond"].as_u64().unwrap_or(0),
            rate_limited: requests.iter().filter(|r| r["status"] == 429).count() as u64,
        })
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores ({cpu}), {memory:.0} GiB memory")
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL must point at the AWS emulator (infra/bench/run.sh starts one)")?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = match args.iter().position(|a| a == "--sizes") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--sizes needs a value")?
            .split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()?,
        None => vec![100, 1_000, 10_000],
    };
    let out = match args.iter().position(|a| a == "--out") {
        Some(i) => args.get(i + 1).cloned().ok_or("--out needs a value")?,
        None => "BENCHMARKS.md".into(),
    };
    let bench = Bench::new(&endpoint).await?;
    let mut rows = String::new();
    let mut walk_rows = String::new();
    for &pages in &sizes {
        let rps = if pages <= 100 { 3 } else { 300 };
        eprintln!("== {pages} pages at {rps} rps");
        let emulator = Emulator::start(pages, rps).await?;
        let integration = bench.integration().await?;
        let crawler = bench.crawler(&emulator.url, rps, false)?;
        let full = bench.sync(&emulator, &crawler, &integration).await?;
        let rss = peak_rss_mb();
        eprintln!("   full: {full:?}, peak RSS {rss:.1} MB");
        let edited = emulator
            .admin("edit", serde_json::json!({"every": 100, "text": "benchmark edit"}))
            .await?;
        let incremental = bench.sync(&emulator, &crawler, &integration).await?;
        eprintln!("   incremental after {} edits: {incremental:?}", edited["edited"]);
        let walker = bench.crawler(&emulator.url, rps, true)?;
        let walk = bench.sync(&emulator, &walker, &bench.integration().await?).await?;
        eprintln!("   block walk: {walk:?}");
        let floor = full.floor(rps);
        let _ = writeln!(
            rows,
            "| {pages} | {rps} | {} | {:.3} | {:.1} s | {:.1} s | {:.2} | {} | {} | {} ({:.1}%) | {rss:.0} MB |",
            full.requests,
            full.per_page(),
            floor,
            full.wall,
            full.wall / floor,
            full.max_per_second,
            full.rate_limited,
            incremental.requests,
            100.0 * incremental.requests as f64 / full.requests as f64,
        );
        let _ = writeln!(
            walk_rows,
            "| {pages} | {} | {:.2} | {:.1} s | {} | {:.2} | {:.1} s | {:.1}× |",
            full.requests,
            full.per_page(),
            full.wall,
            walk.requests,
            walk.per_page(),
            walk.wall,
            walk.requests as f64 / full.requests as f64
        );
    }
    let report = format!(
        "# Benchmarks\n\nMachine: {}. Produced by `infra/bench/run.sh` (AWS emulator: moto; Notion: the project's emulator, \
         seed 7, as a separate process).\n\n## Sync\n\nFloor = (pages + listing requests) ÷ rate limit: the time the fewest possible \
         requests take at Notion's limit. Targets: ≤ 1.1 requests per page, wall ÷ floor ≤ 1.15, incremental ≤ 5% of full, \
         peak RSS ≤ 128 MB.\n\n| pages | rps | requests | req/page | floor | wall | wall ÷ floor | max req in 1 s | 429s | \
         incremental after 1% edits | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|\n{rows}\n## Markdown endpoint vs naive block walk\n\n\
         | pages | markdown requests | req/page | wall | block-walk requests | req/page | wall | walk ÷ markdown |\n|---|---|---|---|---|---|---|---|\n{walk_rows}",
        machine()
    );
    print!("{report}");
    std::fs::write(&out, report)?;
    eprintln!("written to {out}");
    Ok(())
}
