//! Start-up shared by every function binary: tracing, typed config, SDK clients built
//! once outside the handler, and the Lambda runtime loop.

use crate::api::{self, App, Needs, Scheduling};
use crate::aws::dynamo::DynamoStore;
use crate::aws::queue::SqsSyncQueue;
use crate::aws::scheduler::EventBridgeScheduler;
use crate::aws::secrets::SecretsManagerTokens;
use crate::config::Config;
use crate::crawler::{Crawler, CrawlerSettings};
use crate::domain::sync::ScheduleInput;
use crate::error::ConfigError;
use crate::http::routes::Route;
use crate::notion::client::HttpNotion;
use crate::ports::{SyncQueue, SyncScheduler};
use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::{service_fn, Error, LambdaEvent, Request};
use std::sync::Arc;

/// Notion's token endpoint with the configured client secret, when OAuth is configured.
fn notion_oauth(config: &Config, sdk: &SdkConfig) -> Option<Arc<dyn crate::ports::NotionOAuth>> {
    use crate::notion::oauth::{HttpNotionOAuth, SecretSource};
    let oauth = config.oauth.as_ref()?;
    install_tls_provider();
    let source = match &oauth.client_secret {
        crate::config::ClientSecret::Value(secret) => SecretSource::Value(secret.0.clone()),
        crate::config::ClientSecret::Arn(arn) => {
            SecretSource::SecretsManager(aws_sdk_secretsmanager::Client::new(sdk), arn.clone())
        }
    };
    let http = reqwest::Client::builder()
        .user_agent(concat!("notion-integrations/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .ok()?;
    Some(Arc::new(HttpNotionOAuth::new(
        http,
        &config.notion_api_url,
        &oauth.client_id,
        source,
    )))
}

/// The app over DynamoDB's stores alone, with the configuration's settings.
fn stores_app(config: &Config, sdk: &SdkConfig) -> App {
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        config.table_name.clone(),
        config.records_table_name.clone(),
    ));
    App::new(store, config.manual_sync_cooldown_secs)
        .with_event_retention_days(config.event_log_retention_days)
        .with_timestamp_format(config.timestamp_format)
        .with_webhook_debounce(config.webhook_debounce_secs)
        .with_oauth(
            config.oauth.as_ref().map(|o| o.client_id.clone()),
            &config.notion_api_url,
            config.public_base_url.clone(),
            None,
        )
}

fn secrets(config: &Config, sdk: &SdkConfig) -> Arc<SecretsManagerTokens> {
    Arc::new(SecretsManagerTokens::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        config.secret_prefix.clone(),
    ))
}

fn sqs(config: &Config, sdk: &SdkConfig) -> Result<Arc<dyn SyncQueue>, ConfigError> {
    let url = config
        .sync_queue_url
        .clone()
        .ok_or(ConfigError::Missing("SYNC_QUEUE_URL"))?;
    Ok(Arc::new(SqsSyncQueue::new(aws_sdk_sqs::Client::new(sdk), url)))
}

fn eventbridge(
    config: &Config,
    sdk: &SdkConfig,
    scheduling: Scheduling,
) -> Result<Arc<dyn SyncScheduler>, ConfigError> {
    let client = aws_sdk_scheduler::Client::new(sdk);
    let group = config.schedule_group.clone();
    Ok(Arc::new(match scheduling {
        Scheduling::Manage => {
            let target = config
                .schedule_target_arn
                .clone()
                .ok_or(ConfigError::Missing("SCHEDULE_TARGET_ARN"))?;
            let role = config
                .schedule_role_arn
                .clone()
                .ok_or(ConfigError::Missing("SCHEDULE_ROLE_ARN"))?;
            EventBridgeScheduler::new(client, group, target, role)
        }
        Scheduling::Remove | Scheduling::None => EventBridgeScheduler::remover(client, group),
    }))
}

/// Which AWS clients a function binary builds. Each function's `main` names one, so a
/// binary links only the SDKs it uses (a route that reads records carries no Scheduler or
/// Secrets Manager code), and its cold start fails when one's configuration is missing.
pub trait Wiring {
    /// What it provides beside DynamoDB.
    const PROVIDES: Needs;

    /// Adds the adapters beside DynamoDB's stores.
    fn wire(app: App, config: &Config, sdk: &SdkConfig) -> Result<App, ConfigError>;
}

/// DynamoDB alone: the list, fetch, dataset and record routes, and the authorizer.
pub struct StoresOnly;

impl Wiring for StoresOnly {
    const PROVIDES: Needs = Needs {
        tokens: false,
        queue: false,
        scheduler: Scheduling::None,
        oauth: false,
        webhook_tokens: false,
    };

    fn wire(app: App, _: &Config, _: &SdkConfig) -> Result<App, ConfigError> {
        Ok(app)
    }
}

/// DynamoDB and the sync queue: the sync route.
pub struct WithQueue;

impl Wiring for WithQueue {
    const PROVIDES: Needs = Needs {
        tokens: false,
        queue: true,
        scheduler: Scheduling::None,
        oauth: false,
        webhook_tokens: false,
    };

    fn wire(app: App, config: &Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        Ok(app.with_queue(sqs(config, sdk)?))
    }
}

/// DynamoDB, the sync queue and schedule removal: the schedule trigger.
pub struct WithQueueAndScheduleRemoval;

impl Wiring for WithQueueAndScheduleRemoval {
    const PROVIDES: Needs = crate::api::SCHEDULE_TRIGGER_NEEDS;

    fn wire(app: App, config: &Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        Ok(app
            .with_queue(sqs(config, sdk)?)
            .with_scheduler(eventbridge(config, sdk, Scheduling::Remove)?))
    }
}

/// DynamoDB, tokens and schedules: the integration create, update and delete routes.
pub struct WithTokensAndSchedules;

impl Wiring for WithTokensAndSchedules {
    const PROVIDES: Needs = Needs {
        tokens: true,
        queue: false,
        scheduler: Scheduling::Manage,
        oauth: false,
        webhook_tokens: true,
    };

    fn wire(app: App, config: &Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        let secrets = secrets(config, sdk);
        Ok(app
            .with_tokens(secrets.clone())
            .with_webhook_tokens(secrets)
            .with_scheduler(eventbridge(config, sdk, Scheduling::Manage)?))
    }
}

/// DynamoDB, webhook verification tokens and the sync queue: the public webhook route.
pub struct WithWebhookTokensAndQueue;

impl Wiring for WithWebhookTokensAndQueue {
    const PROVIDES: Needs = Needs {
        tokens: false,
        queue: true,
        scheduler: Scheduling::None,
        oauth: false,
        webhook_tokens: true,
    };

    fn wire(app: App, config: &Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        Ok(app
            .with_webhook_tokens(secrets(config, sdk))
            .with_queue(sqs(config, sdk)?))
    }
}

/// DynamoDB and webhook verification tokens: the webhook fetch route.
pub struct WithWebhookTokens;

impl Wiring for WithWebhookTokens {
    const PROVIDES: Needs = Needs {
        tokens: false,
        queue: false,
        scheduler: Scheduling::None,
        oauth: false,
        webhook_tokens: true,
    };

    fn wire(app: App, config: &Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        Ok(app.with_webhook_tokens(secrets(config, sdk)))
    }
}

/// DynamoDB, tokens and Notion's token endpoint: the OAuth callback.
pub struct WithTokensAndOAuth;

impl Wiring for WithTokensAndOAuth {
    const PROVIDES: Needs = Needs {
        tokens: true,
        queue: false,
        scheduler: Scheduling::None,
        oauth: true,
        webhook_tokens: false,
    };

    fn wire(app: App, config: &Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        let mut app = app.with_tokens(secrets(config, sdk));
        // Unconfigured, the route answers its 409 page rather than failing to start.
        app.oauth = notion_oauth(config, sdk);
        Ok(app)
    }
}

/// Builds the app a function with `W` needs; fails when `W` does not cover `needs`.
pub fn build_wired<W: Wiring>(config: &Config, sdk: &SdkConfig, needs: Needs) -> Result<App, Error> {
    if !W::PROVIDES.covers(needs) {
        return Err(format!("this function is wired with {:?} but needs {needs:?}", W::PROVIDES).into());
    }
    Ok(W::wire(stores_app(config, sdk), config, sdk)?)
}

/// Builds every adapter the configuration allows (the local stack, tests, benchmarks):
/// tokens always, the queue and the scheduler when configured.
pub fn build_app(config: &Config, sdk: &SdkConfig) -> App {
    let secrets = secrets(config, sdk);
    let mut app = stores_app(config, sdk)
        .with_tokens(secrets.clone())
        .with_webhook_tokens(secrets);
    app.oauth = notion_oauth(config, sdk);
    if let Ok(queue) = sqs(config, sdk) {
        app = app.with_queue(queue);
    }
    let scheduling = match (&config.schedule_target_arn, &config.schedule_role_arn) {
        (Some(_), Some(_)) => Scheduling::Manage,
        _ => Scheduling::Remove,
    };
    if let Ok(scheduler) = eventbridge(config, sdk, scheduling) {
        app = app.with_scheduler(scheduler);
    }
    app
}

/// Builds the crawler from the same adapters; `settings` replaces the ones from `config`.
pub fn build_crawler(config: &Config, app: &App, settings: Option<CrawlerSettings>) -> Result<Crawler, Error> {
    let queue = app.queue.clone();
    let settings = settings.unwrap_or_else(|| CrawlerSettings {
        notion_api_url: config.notion_api_url.clone(),
        max_rps: config.notion_max_rps,
        concurrency: config.crawler_concurrency,
        ..CrawlerSettings::default()
    });
    install_tls_provider();
    let http = reqwest::Client::builder()
        .user_agent(concat!("notion-integrations/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()?;
    let notion = HttpNotion {
        http,
        base_url: settings.notion_api_url.clone(),
        max_rps: settings.max_rps,
        retry: settings.retry,
    };
    Ok(Crawler {
        integrations: app.integrations.clone(),
        accounts: app.accounts.clone(),
        datasets: app.datasets.clone(),
        records: app.records.clone(),
        tokens: app.tokens.clone(),
        state: app.sync_state.clone(),
        events: app.events.clone(),
        event_retention_days: app.event_retention_days,
        queue,
        webhooks: app.webhooks.clone(),
        notion: Arc::new(notion),
        oauth: app.oauth.clone(),
        clock: app.clock.clone(),
        settings,
    })
}

/// Time kept free before the Lambda deadline to checkpoint and queue a continuation.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the crawler Lambda (SQS event source with partial batch failures).
pub async fn run_crawler() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = crate::aws::clients::sdk_config_from_env().await;
    let mut app = stores_app(&config, &sdk)
        .with_tokens(secrets(&config, &sdk))
        .with_queue(sqs(&config, &sdk)?);
    app.oauth = notion_oauth(&config, &sdk);
    let crawler = build_crawler(&config, &app, None)?;
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

async fn app_from_env<W: Wiring>(needs: Needs) -> Result<App, Error> {
    let config = Config::from_env()?;
    let sdk = crate::aws::clients::sdk_config_from_env().await;
    build_wired::<W>(&config, &sdk, needs)
}

/// Runs an API route's Lambda: the whole `main` of a route function. `W` names the AWS
/// clients the function builds; start-up fails when they do not cover the route's needs.
pub async fn run_route<W: Wiring>(route: Route) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = app_from_env::<W>(api::needs(route)).await?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(api::handle(app, route, req).await)
    }))
    .await
}

/// Runs the API Gateway Lambda authorizer.
pub async fn run_authorizer() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = app_from_env::<StoresOnly>(Needs::default()).await?;
    let app = &app;
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            Ok::<_, std::convert::Infallible>(api::authorizer::authorize(app.accounts.as_ref(), &event.payload).await)
        },
    ))
    .await
}

/// Runs the schedule-trigger Lambda that EventBridge Scheduler invokes.
pub async fn run_schedule_trigger() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = app_from_env::<WithQueueAndScheduleRemoval>(crate::api::SCHEDULE_TRIGGER_NEEDS).await?;
    let app = &app;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduleInput>| async move {
        api::schedule::trigger(app, &event.payload).await.map_err(|e| {
            // Logged once here; the error makes Scheduler retry the invocation.
            tracing::error!(error = %crate::error::error_chain(&e), "scheduled sync could not be queued");
            Error::from(Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
    }))
    .await
}

/// Makes aws-lc-rs (the AWS SDK's TLS crypto) the process's rustls provider, which the
/// Notion client's reqwest uses: one crypto library in the binary instead of two. Safe to
/// call more than once.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

#[cfg(test)]
mod tls_tests {
    use tokio::io::AsyncReadExt;

    /// The Notion client speaks TLS with the one provider the binary carries: its first
    /// bytes to an HTTPS address are a TLS ClientHello (key shares made by aws-lc-rs).
    #[tokio::test]
    async fn notion_client_opens_tls_with_the_aws_lc_provider() {
        super::install_tls_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut hello = [0u8; 6];
            socket.read_exact(&mut hello).await.unwrap();
            hello
        });
        let http = reqwest::Client::builder()
            .build()
            .expect("client builds with the installed provider");
        let request =
            tokio::spawn(async move { http.get(format!("https://127.0.0.1:{port}/v1/users/me")).send().await });
        let hello = server.await.unwrap();
        assert_eq!(hello[0], 0x16, "a TLS handshake record");
        assert_eq!(hello[5], 0x01, "a ClientHello");
        assert!(request.await.unwrap().is_err(), "the server never answers TLS");
    }
}
