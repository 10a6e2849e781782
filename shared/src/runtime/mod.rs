//! Start-up shared by every function binary: tracing, typed config, SDK clients built
//! once outside the handler, and the Lambda runtime loop. A route function's `main` is one
//! call naming its handler type: `serve_keyed::<api::record::Records>(Route::RecordCreate)`.

pub mod adapters;
pub mod aws;

pub use adapters::Adapters;
pub use aws::{install_tls_provider, Aws};

use crate::api::{self, Endpoint, Handler, PublicHandler};
use crate::crawler::{Crawler, CrawlerSettings};
use crate::domain::sync::ScheduleInput;
use crate::http::routes::Route;
use crate::notion::client::HttpNotion;
use crate::ports::Provide;
use crate::sync::schedule::ScheduleTrigger;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::{service_fn, Error, LambdaEvent, Request};
use std::sync::Arc;

/// Every adapter `config` allows (the local stack, tests, benchmarks).
pub fn build_app(config: &crate::config::Config, sdk: &aws_config::SdkConfig) -> Result<Adapters, Error> {
    Ok(Adapters::from_config(config, sdk)?)
}

/// The crawler over `p`'s adapters, reaching Notion over HTTP; `settings` replaces the
/// ones from `config`.
pub fn build_crawler(
    config: &crate::config::Config,
    p: &impl Provide,
    settings: Option<CrawlerSettings>,
) -> Result<Crawler, Error> {
    let settings = settings.unwrap_or_else(|| CrawlerSettings {
        notion_api_url: config.notion_api_url.clone(),
        limits: config.notion_limits(),
        notion_version: config.notion_version,
        concurrency: config.crawler_concurrency,
        attachments: attachment_settings(config),
        ..CrawlerSettings::default()
    });
    let notion = HttpNotion {
        http: aws::notion_http()?,
        base_url: settings.notion_api_url.clone(),
        limits: settings.limits,
        retry: settings.retry,
        version: settings.notion_version,
    };
    Ok(Crawler::build(p, Arc::new(notion), settings)?)
}

/// How the crawler reads attachments under `config` (none when `ATTACHMENTS=off`).
pub fn attachment_settings(config: &crate::config::Config) -> Option<crate::crawler::adapters::AttachmentSettings> {
    let a = &config.attachments;
    if !a.enabled {
        return None;
    }
    let extractor = match &a.extractor {
        Some(path) => std::path::PathBuf::from(path),
        None => std::env::current_exe().ok()?,
    };
    Some(crate::crawler::adapters::AttachmentSettings {
        limits: crate::attachments::Limits {
            max_bytes: a.max_bytes,
            extract_timeout: std::time::Duration::from_secs(a.extract_timeout_secs),
            extract_memory_bytes: a.extract_memory_mb * 1024 * 1024,
            sync_budget_bytes: a.sync_budget_mb * 1_000_000,
            external: a.external,
            ..crate::attachments::Limits::default()
        },
        extractor,
        hosted_http: config.notion_api_url.starts_with("http://"),
    })
}

/// Receives what the queue holds and has the crawler handle it as the Lambda event source
/// would (see [`crate::aws::queue::poll_once`]). Used by the local stack and tests.
pub async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    crawler: &Crawler,
    budget: std::time::Duration,
    wait_seconds: i32,
) -> Result<usize, crate::error::StoreError> {
    crate::aws::queue::poll_once(sqs, queue_url, wait_seconds, |event| {
        crate::crawler::sqs::handle_batch(crawler, event, tokio::time::Instant::now() + budget)
    })
    .await
}

/// Time kept free before the Lambda deadline to checkpoint and queue a continuation.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the crawler Lambda (SQS event source with partial batch failures).
pub async fn run_crawler() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let aws = Aws::from_env().await?;
    let crawler = build_crawler(aws.config(), &aws, None)?;
    let crawler = &crawler;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let remaining = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(DEADLINE_MARGIN);
        let deadline = tokio::time::Instant::now() + remaining;
        Ok::<_, std::convert::Infallible>(crate::crawler::sqs::handle_batch(crawler, event.payload, deadline).await)
    }))
    .await
}

/// Serves `endpoint` as `route` on the Lambda runtime.
async fn serve(route: Route, endpoint: Endpoint) -> Result<(), Error> {
    let endpoint = &endpoint;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(api::handle(endpoint, route, req).await)
    }))
    .await
}

/// Runs an API route's Lambda behind the API key: the whole `main` of a route function.
/// `H` names the route's handler, and so the adapters its function builds.
pub async fn serve_keyed<H: Handler>(route: Route) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let aws = Aws::from_env().await?;
    serve(route, Endpoint::keyed::<H>(&aws)?).await
}

/// Runs a public route's Lambda (Notion's webhook deliveries, its OAuth redirect).
pub async fn serve_public<H: PublicHandler>(route: Route) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let aws = Aws::from_env().await?;
    serve(route, Endpoint::public::<H>(&aws)?).await
}

/// Runs the API Gateway Lambda authorizer.
pub async fn run_authorizer() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let aws = Aws::from_env().await?;
    let accounts = aws.accounts();
    let accounts = accounts.as_ref();
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            Ok::<_, std::convert::Infallible>(crate::authorizer::authorize(accounts, &event.payload).await)
        },
    ))
    .await
}

/// Runs the schedule-trigger Lambda that EventBridge Scheduler invokes.
pub async fn run_schedule_trigger() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let aws = Aws::from_env().await?;
    let trigger = ScheduleTrigger::build(&aws)?;
    let trigger = &trigger;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduleInput>| async move {
        trigger.trigger(&event.payload).await.map_err(|e| {
            // Logged once here; the error makes Scheduler retry the invocation.
            tracing::error!(error = %crate::error::error_chain(&e), "scheduled sync could not be queued");
            Error::from(Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
    }))
    .await
}
