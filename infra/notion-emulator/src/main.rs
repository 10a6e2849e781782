//! `notion-emulator`: serves a generated Notion workspace on 127.0.0.1.
//!
//! ```text
//! notion-emulator [--port 4010] [--pages 200] [--seed 1] [--token secret_local]
//!                 [--window-budget 180 --window-secs 60] [--rps N]
//!                 [--workspace-rps N --workspace-retry-after SECS] [--markdown-block-limit 1000]
//!                 [--reading documented] [--oauth-client-id ID --oauth-client-secret SECRET]
//! ```
//! `--window-budget` is "Request limits"' per-connection budget per 60-second window (0: none),
//! `--rps` the older per-second reading (off unless given), `--workspace-rps` the per-workspace limit shared by every
//! token (answered with `Retry-After` `--workspace-retry-after`, default 90). `--reading` picks how the markdown endpoint reads
//! the points Notion's documents leave open (`notion_emulator::render::Reading::ALL`). Faults: `POST /__emulator/faults` with
//! `[{"path_contains": "/markdown", "status": 502, "times": 3, "html": true}]`; the request
//! log: `GET /__emulator/requests`. Webhooks: `POST /__emulator/webhooks` with `{"url": ...}`
//! subscribes an endpoint (the handshake is sent, the token answered); every later edit
//! (`POST /__emulator/edit`) is delivered to it, signed; `GET /__emulator/webhooks/deliveries`
//! lists the deliveries.

use notion_emulator::generate::{generate, Options};
use notion_emulator::{server, Config, Emulator};
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let mut port = 4010u16;
    let mut options = Options {
        pages: 200,
        seed: 1,
        token: "secret_local".into(),
    };
    let mut rps = 0u32;
    let mut window_budget = 180u32;
    let mut window_secs = 60u64;
    let mut workspace_rps: Option<u32> = None;
    let mut workspace_retry_after = 90u64;
    let mut markdown_block_limit = Config::default().markdown_block_limit;
    let mut reading = notion_emulator::render::Reading::DOCUMENTED;
    let mut oauth_id: Option<String> = None;
    let mut oauth_secret: Option<String> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).ok_or_else(|| format!("{} needs a value", args[i]))?;
        match args[i].as_str() {
            "--port" => port = value.parse()?,
            "--pages" => options.pages = value.parse()?,
            "--seed" => options.seed = value.parse()?,
            "--token" => options.token = value.clone(),
            "--rps" => rps = value.parse()?,
            "--window-budget" => window_budget = value.parse()?,
            "--window-secs" => window_secs = value.parse()?,
            "--workspace-rps" => workspace_rps = Some(value.parse()?),
            "--workspace-retry-after" => workspace_retry_after = value.parse()?,
            "--markdown-block-limit" => markdown_block_limit = value.parse()?,
            "--oauth-client-id" => oauth_id = Some(value.clone()),
            "--oauth-client-secret" => oauth_secret = Some(value.clone()),
            "--reading" => {
                reading = notion_emulator::render::Reading::named(value).ok_or_else(|| {
                    let names: Vec<&str> = notion_emulator::render::Reading::ALL.iter().map(|(n, _)| *n).collect();
                    format!("--reading is one of {}", names.join(", "))
                })?
            }
            other => return Err(format!("unknown option {other}").into()),
        }
        i += 2;
    }
    let workspace = generate(&options);
    let pages = workspace.pages.len();
    let config = Config {
        rps: (rps > 0).then_some(rps),
        window_budget: (window_budget > 0).then_some(window_budget),
        window: std::time::Duration::from_secs(window_secs.max(1)),
        workspace_rps,
        workspace_retry_after,
        markdown_block_limit,
        reading,
        // Served to a person: edits carry today's time, as Notion's do.
        wall_clock: true,
        ..Config::default()
    };
    let emulator = Emulator::new(workspace, config);
    if let (Some(id), Some(secret)) = (&oauth_id, &oauth_secret) {
        // A public connection: GET /v1/oauth/authorize approves at once, POST /v1/oauth/token
        // exchanges codes (see notion_emulator::oauth).
        emulator.enable_oauth(id, secret);
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let port = listener.local_addr()?.port();
    emulator.serve_files_at(&format!("http://127.0.0.1:{port}"));
    println!(
        "Notion emulator at http://127.0.0.1:{port} ({pages} pages, token {}, {window_budget} requests per {window_secs} s)",
        options.token
    );
    axum::serve(listener, server::router(emulator))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
