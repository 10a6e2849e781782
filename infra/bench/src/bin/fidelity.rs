//! The fidelity benchmark: how much of a generated workspace's text a sync captures, and
//! how many content requests it spends against the fewest a perfect crawl needs, for the
//! markdown path under every reading of Notion's documents the emulator offers and for the
//! block walk. Prints a Markdown table for BENCHMARKS.md.
//!
//! `cargo run --release -p bench --bin fidelity [-- --pages 1000 --seed 7 --reading NAME]`
//! (the requests of each run by kind go to stderr)
//!
//! Notion: the project's emulator in-process (no rate limit); stores: in memory (the AWS
//! side is what the main benchmark measures).

use notion_emulator::generate::{generate, Options};
use notion_emulator::render::{minimal_requests, Reading};
use notion_emulator::{Config, Emulator};
use shared::domain::account::Plan;
use shared::domain::time::SystemClock;
use shared::notion::client::RetryPolicy;
use shared::testing::harness::{has_token, http_crawler, seeded_store, sync_to_end, texts_by_page};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TOKEN: &str = "secret_bench";

struct Figures {
    tokens: usize,
    found: usize,
    content_requests: u64,
    minimal: u64,
    wall: f64,
}

async fn measure(pages: usize, seed: u64, limit: usize, reading: Reading, walk: bool) -> Result<Figures, BoxError> {
    let workspace = generate(&Options {
        pages,
        seed,
        token: TOKEN.into(),
    });
    let config = Config {
        window_budget: None,
        markdown_block_limit: limit,
        reading,
        ..Config::default()
    };
    let emulator = Emulator::new(workspace, config);
    let url = notion_emulator::spawn(emulator.clone()).await?;
    let plan = Plan {
        max_records: 10_000_000,
        max_pages_per_sync: 1_000_000,
        ..Plan::default()
    };
    let store = seeded_store(plan, TOKEN, &SystemClock).await;
    let crawler = http_crawler(&store, &url, walk, RetryPolicy::default(), Default::default());
    let started = Instant::now();
    let (_, summary) = sync_to_end(&crawler, &store, "bench", Duration::from_secs(3600)).await;
    let wall = started.elapsed().as_secs_f64();
    if summary["complete"] != true {
        return Err(format!("the sync was not complete: {summary}").into());
    }
    let texts = texts_by_page(&store);
    let (expected, minimal) = emulator.with_workspace(|ws| {
        let expected: Vec<(String, Vec<String>)> = ws
            .live_pages()
            .into_iter()
            .map(|p| (p.clone(), ws.expected_tokens(&p)))
            .collect();
        // The crawler speaks 2026-12-01 (its default): data sources' schemas are read.
        (expected, minimal_requests(ws, limit, reading, true))
    });
    let mut tokens = 0;
    let mut found = 0;
    for (page, page_tokens) in &expected {
        tokens += page_tokens.len();
        if let Some(text) = texts.get(page) {
            found += page_tokens.iter().filter(|t| has_token(text, t)).count();
        }
    }
    let is_listing =
        |path: &str| path.contains("/search") || path.contains("/query") || path.starts_with("/v1/databases/");
    let content: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|r| !is_listing(&r.path))
        .map(|r| r.path)
        .collect();
    let content_requests = content.len() as u64;
    let mut kinds: std::collections::BTreeMap<&str, u64> = Default::default();
    for path in &content {
        let kind = if path.contains("/markdown") {
            "page markdown"
        } else if path.contains("/children") {
            "children listing"
        } else if path.contains("/properties/") {
            "property item"
        } else if path.starts_with("/v1/blocks/") {
            "block retrieve"
        } else if path.starts_with("/v1/pages/") {
            "page retrieve"
        } else if path.starts_with("/v1/data_sources/") {
            "data source schema"
        } else {
            "other"
        };
        *kinds.entry(kind).or_default() += 1;
    }
    eprintln!("limit {limit}, reading {reading:?}, walk {walk}: {kinds:?}");
    // `FIDELITY_DIFF=N`: the N pages whose content cost most above their minimal share,
    // with the requests they took (each request is put on the page holding its block).
    if let (Ok(n), false) = (
        std::env::var("FIDELITY_DIFF").map(|v| v.parse::<usize>().unwrap_or(10)),
        walk,
    ) {
        emulator.with_workspace(|ws| {
            let (_, fewest) = notion_emulator::render::minimal_requests_by_page(ws, limit, reading, true);
            // A synced reference's original content is read for the page holding the
            // reference (where the minimal count puts it), not the original's page.
            let mut read_for: std::collections::HashMap<String, String> = Default::default();
            for b in ws.blocks.values() {
                if let (Some(original), Some(page)) = (&b.synced_from, ws.page_of(&b.id)) {
                    let mut stack = vec![original.clone()];
                    while let Some(id) = stack.pop() {
                        if let Some(o) = ws.blocks.get(&id) {
                            stack.extend(o.children.iter().cloned());
                        }
                        read_for.entry(id).or_insert_with(|| page.clone());
                    }
                }
            }
            let mut ours: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
            for path in &content {
                let id = path
                    .split('/')
                    .nth(3)
                    .map(|id| id.split('?').next().unwrap_or(id).to_string())
                    .unwrap_or_default();
                let page = if ws.pages.contains_key(&id) {
                    Some(id)
                } else {
                    read_for.get(&id).cloned().or_else(|| ws.page_of(&id))
                };
                ours.entry(page.unwrap_or_else(|| "?".into())).or_default().push(path);
            }
            let mut over: Vec<(i64, &String)> = ours
                .iter()
                .map(|(page, paths)| (paths.len() as i64 - *fewest.get(page).unwrap_or(&0) as i64, page))
                .filter(|(d, _)| *d != 0)
                .collect();
            over.sort_by_key(|o| std::cmp::Reverse(o.0));
            let total: i64 = over.iter().map(|(d, _)| d).sum();
            eprintln!(
                "   {} pages off their minimal share, {total} requests in all",
                over.len()
            );
            for (d, page) in over.iter().take(n) {
                eprintln!(
                    "   {d:+} {page} (minimal {}): {:?}",
                    fewest.get(*page).unwrap_or(&0),
                    ours[*page]
                );
            }
        });
    }
    Ok(Figures {
        tokens,
        found,
        content_requests,
        minimal: if walk { minimal.block_walk } else { minimal.markdown },
        wall,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    shared::runtime::install_tls_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str, default: u64| -> Result<u64, BoxError> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).ok_or(format!("{name} needs a value"))?.parse()?),
            None => Ok(default),
        }
    };
    let pages = value("--pages", 1_000)? as usize;
    // `--reading NAME` measures the markdown path under that reading alone (and the walk).
    let only = args
        .iter()
        .position(|a| a == "--reading")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let seed = value("--seed", 7)?;
    println!("| answers | path | reading | tokens found | content requests | minimal | requests ÷ minimal | wall |");
    println!("|---|---|---|---|---|---|---|---|");
    for (limit, label) in [(1_000, "whole (≤ 1,000 blocks)"), (25, "truncated (≤ 25 blocks)")] {
        let mut runs: Vec<(&str, &str, Reading, bool)> = vec![("block walk", "—", Reading::DOCUMENTED, true)];
        runs.extend(
            Reading::ALL
                .iter()
                .filter(|(name, _)| only.as_deref().is_none_or(|o| o == *name))
                .map(|(name, r)| ("markdown", *name, *r, false)),
        );
        for (path, name, reading, walk) in runs {
            let f = measure(pages, seed, limit, reading, walk).await?;
            println!(
                "| {label} | {path} | {name} | {}/{} ({:.2}%) | {} | {} | {:.3} | {:.1} s |",
                f.found,
                f.tokens,
                100.0 * f.found as f64 / f.tokens.max(1) as f64,
                f.content_requests,
                f.minimal,
                f.content_requests as f64 / f.minimal.max(1) as f64,
                f.wall
            );
        }
    }
    Ok(())
}
