//! An emulator of the Notion API for tests, the local demo and benchmarks: faithful to
//! Notion's shapes (list envelopes, cursors, page/block/database/data source objects,
//! `page_markdown`, error bodies), its search that misses child-only pages, its rate limit
//! (429 with `Retry-After`), and scripted faults (5xx, 529, HTML 502, slow answers).

pub mod files;
pub mod generate;
pub mod model;
pub mod oauth;
pub mod render;
pub mod replay;
pub mod server;
pub mod webhooks;

pub use server::{Config, Emulator, Fault};
use std::net::SocketAddr;
use std::sync::Arc;

/// Serves `emulator` on a free loopback port until the process ends; returns its base URL.
pub async fn spawn(emulator: Arc<Emulator>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    emulator.serve_files_at(&format!("http://{addr}"));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, server::router(emulator)).await {
            tracing::error!(error = %e, "notion emulator stopped");
        }
    });
    Ok(format!("http://{addr}"))
}
