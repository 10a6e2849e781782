//! The adapters a Lambda function builds, each only when its handler asks for it
//! ([`Provide`]): one DynamoDB client for every store, and the Secrets Manager, SQS and
//! Scheduler clients, and Notion's token endpoint, on demand. A handler that asks for the
//! queue in a function without `SYNC_QUEUE_URL` fails its cold start with that name.

use crate::aws::dynamo::DynamoStore;
use crate::aws::queue::SqsSyncQueue;
use crate::aws::scheduler::EventBridgeScheduler;
use crate::aws::secrets::SecretsManagerTokens;
use crate::config::{ClientSecret, Config};
use crate::domain::time::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::ports::{
    AccountStore, DatasetStore, EventLog, IntegrationStore, NotionOAuth, OAuthStates, Provide, RecordStore, Settings,
    SyncQueue, SyncScheduler, SyncStateStore, TokenStore, WebhookStore, WebhookTokens,
};
use aws_config::SdkConfig;
use std::sync::{Arc, OnceLock};

/// The settings handlers read, from the configuration.
pub fn settings_of(config: &Config) -> Settings {
    Settings {
        manual_sync_cooldown_secs: config.manual_sync_cooldown_secs,
        event_retention_days: config.event_log_retention_days,
        timestamp_format: config.timestamp_format,
        webhook_debounce_secs: config.webhook_debounce_secs,
        oauth_client_id: config.oauth.as_ref().map(|o| o.client_id.clone()),
        notion_api_url: config.notion_api_url.trim_end_matches('/').to_string(),
        public_base_url: config.public_base_url.clone(),
    }
}

/// A reqwest client for Notion, with the process's one TLS provider.
pub fn notion_http() -> Result<reqwest::Client, reqwest::Error> {
    install_tls_provider();
    reqwest::Client::builder()
        .user_agent(concat!("notion-integrations/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
}

/// Notion's token endpoint with the configured client secret, when OAuth is configured.
pub fn notion_oauth(config: &Config, sdk: &SdkConfig) -> Option<Arc<dyn NotionOAuth>> {
    use crate::notion::oauth::{HttpNotionOAuth, SecretSource};
    let oauth = config.oauth.as_ref()?;
    let source = match &oauth.client_secret {
        ClientSecret::Value(secret) => SecretSource::Value(secret.0.clone()),
        ClientSecret::Arn(arn) => SecretSource::SecretsManager(aws_sdk_secretsmanager::Client::new(sdk), arn.clone()),
    };
    let http = notion_http().ok()?;
    Some(Arc::new(
        HttpNotionOAuth::new(http, &config.notion_api_url, &oauth.client_id, source)
            .with_version(config.notion_version),
    ))
}

/// The SQS sync queue of `config`.
pub fn sqs(config: &Config, sdk: &SdkConfig) -> Result<Arc<dyn SyncQueue>, ConfigError> {
    let url = config
        .sync_queue_url
        .clone()
        .ok_or(ConfigError::Missing("SYNC_QUEUE_URL"))?;
    Ok(Arc::new(SqsSyncQueue::new(aws_sdk_sqs::Client::new(sdk), url)))
}

/// EventBridge Scheduler to create, change and remove schedules.
pub fn schedule_manager(config: &Config, sdk: &SdkConfig) -> Result<Arc<dyn SyncScheduler>, ConfigError> {
    let target = config
        .schedule_target_arn
        .clone()
        .ok_or(ConfigError::Missing("SCHEDULE_TARGET_ARN"))?;
    let role = config
        .schedule_role_arn
        .clone()
        .ok_or(ConfigError::Missing("SCHEDULE_ROLE_ARN"))?;
    Ok(Arc::new(EventBridgeScheduler::new(
        aws_sdk_scheduler::Client::new(sdk),
        config.schedule_group.clone(),
        target,
        role,
    )))
}

/// EventBridge Scheduler to remove schedules only.
pub fn schedule_remover(config: &Config, sdk: &SdkConfig) -> Arc<dyn SyncScheduler> {
    Arc::new(EventBridgeScheduler::remover(
        aws_sdk_scheduler::Client::new(sdk),
        config.schedule_group.clone(),
    ))
}

/// Secrets Manager, holding Notion and webhook verification tokens.
pub fn secrets(config: &Config, sdk: &SdkConfig) -> Arc<SecretsManagerTokens> {
    Arc::new(SecretsManagerTokens::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        config.secret_prefix.clone(),
    ))
}

/// DynamoDB's stores of `config`.
pub fn dynamo(config: &Config, sdk: &SdkConfig) -> Arc<DynamoStore> {
    Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        config.table_name.clone(),
        config.records_table_name.clone(),
    ))
}

/// A Lambda function's adapters, built on demand from its configuration.
pub struct Aws {
    config: Config,
    sdk: SdkConfig,
    settings: Settings,
    dynamo: Arc<DynamoStore>,
    secrets: OnceLock<Arc<SecretsManagerTokens>>,
}

impl Aws {
    /// Over `config`, with clients from `sdk`.
    pub fn new(config: Config, sdk: SdkConfig) -> Self {
        Self {
            settings: settings_of(&config),
            dynamo: dynamo(&config, &sdk),
            secrets: OnceLock::new(),
            config,
            sdk,
        }
    }

    /// Reads the configuration and the SDK's from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = crate::aws::clients::sdk_config_from_env().await;
        Ok(Self::new(config, sdk))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn secrets(&self) -> Arc<SecretsManagerTokens> {
        self.secrets.get_or_init(|| secrets(&self.config, &self.sdk)).clone()
    }
}

impl Provide for Aws {
    fn settings(&self) -> &Settings {
        &self.settings
    }
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }
    fn accounts(&self) -> Arc<dyn AccountStore> {
        self.dynamo.clone()
    }
    fn integrations(&self) -> Arc<dyn IntegrationStore> {
        self.dynamo.clone()
    }
    fn datasets(&self) -> Arc<dyn DatasetStore> {
        self.dynamo.clone()
    }
    fn records(&self) -> Arc<dyn RecordStore> {
        self.dynamo.clone()
    }
    fn sync_state(&self) -> Arc<dyn SyncStateStore> {
        self.dynamo.clone()
    }
    fn event_log(&self) -> Arc<dyn EventLog> {
        self.dynamo.clone()
    }
    fn oauth_states(&self) -> Arc<dyn OAuthStates> {
        self.dynamo.clone()
    }
    fn webhooks(&self) -> Arc<dyn WebhookStore> {
        self.dynamo.clone()
    }
    fn tokens(&self) -> Arc<dyn TokenStore> {
        self.secrets()
    }
    fn webhook_tokens(&self) -> Arc<dyn WebhookTokens> {
        self.secrets()
    }
    fn queue(&self) -> Result<Arc<dyn SyncQueue>, ConfigError> {
        sqs(&self.config, &self.sdk)
    }
    fn schedules(&self) -> Result<Arc<dyn SyncScheduler>, ConfigError> {
        schedule_manager(&self.config, &self.sdk)
    }
    fn schedule_removal(&self) -> Arc<dyn SyncScheduler> {
        schedule_remover(&self.config, &self.sdk)
    }
    fn notion_oauth(&self) -> Option<Arc<dyn NotionOAuth>> {
        notion_oauth(&self.config, &self.sdk)
    }
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
