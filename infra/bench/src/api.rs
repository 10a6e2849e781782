//! The API under concurrent load through the local stack's router (event conversion,
//! authorizer, handler), with the time spent waiting on the AWS emulator measured apart by
//! an HTTP connector wrapped around the SDK's own; and a route function's cold start.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

tokio::task_local! {
    /// Nanoseconds the current request spent in AWS calls.
    static AWS_NANOS: Arc<AtomicU64>;
}

#[derive(Debug)]
struct TimedClient(SharedHttpClient);

impl HttpClient for TimedClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(TimedConnector(self.0.http_connector(settings, components)))
    }
}

#[derive(Debug)]
struct TimedConnector(SharedHttpConnector);

/// Calls and nanoseconds by AWS operation (`X-Amz-Target`, or method and path), process-wide.
static CALLS: std::sync::Mutex<BTreeMap<String, (u64, u64)>> = std::sync::Mutex::new(BTreeMap::new());

/// A copy of the per-operation call counts and times so far.
pub fn calls() -> BTreeMap<String, (u64, u64)> {
    CALLS.lock().map(|c| c.clone()).unwrap_or_default()
}

/// What happened between two [`calls`] snapshots, busiest first: `op ×count (ms)`.
pub fn calls_between(before: &BTreeMap<String, (u64, u64)>, after: &BTreeMap<String, (u64, u64)>) -> String {
    let mut rows: Vec<(String, u64, u64)> = after
        .iter()
        .map(|(op, (n, ns))| {
            let (n0, ns0) = before.get(op).copied().unwrap_or_default();
            (op.clone(), n - n0, ns - ns0)
        })
        .filter(|(_, n, _)| *n > 0)
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.2));
    rows.iter()
        .map(|(op, n, ns)| format!("{op} ×{n} ({} ms)", ns / 1_000_000))
        .collect::<Vec<_>>()
        .join(", ")
}

impl HttpConnector for TimedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = request
            .headers()
            .get("x-amz-target")
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| format!("{} {}", request.method(), request.uri()));
        let inner = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let started = Instant::now();
            let out = inner.await;
            let spent = started.elapsed().as_nanos() as u64;
            let _ = AWS_NANOS.try_with(|n| n.fetch_add(spent, Ordering::Relaxed));
            if let Ok(mut calls) = CALLS.lock() {
                let entry = calls.entry(op).or_default();
                entry.0 += 1;
                entry.1 += spent;
            }
            out
        })
    }
}

/// The SDK configuration with every AWS call timed into the current request's counter.
/// (The emulator is plain HTTP, so a plain HTTP client is what the SDK's default would be.)
pub fn timed(sdk: &aws_types::SdkConfig) -> aws_types::SdkConfig {
    let inner = sdk
        .http_client()
        .unwrap_or_else(|| aws_smithy_http_client::Builder::new().build_http());
    sdk.to_builder().http_client(TimedClient(inner)).build()
}

/// One request's figures, in microseconds.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// What was called.
    pub kind: &'static str,
    /// Whole request through the router.
    pub total_us: u64,
    /// Of which waiting on the AWS emulator.
    pub aws_us: u64,
}

/// Runs `f` with a fresh AWS time counter; returns its output, total and AWS time.
pub async fn measure<F: std::future::Future>(f: F) -> (F::Output, Duration, Duration) {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let out = AWS_NANOS.scope(counter.clone(), f).await;
    let total = started.elapsed();
    (out, total, Duration::from_nanos(counter.load(Ordering::Relaxed)))
}

/// The `q` quantile (0..=1) of `values` (sorted in place), nearest rank.
pub fn quantile(values: &mut [u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// Milliseconds from spawning a route function's binary (as the Lambda service does) to its
/// first `GET /runtime/invocation/next`: the init a cold start pays before the first event.
pub async fn cold_start_ms(binary: &std::path::Path, env: &[(String, String)]) -> Result<f64, crate::BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?.to_string();
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "integration-fetch")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let (mut socket, _) = listener.accept().await?;
            let mut buf = vec![0u8; 4096];
            let n = socket.read(&mut buf).await?;
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            if head.starts_with("GET /2018-06-01/runtime/invocation/next") {
                let at = started.elapsed();
                let _ = socket.shutdown().await;
                return Ok::<Duration, std::io::Error>(at);
            }
        }
    })
    .await??;
    let _ = child.kill().await;
    Ok(ready.as_secs_f64() * 1000.0)
}
