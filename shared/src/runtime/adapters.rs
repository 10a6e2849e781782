//! Every adapter at once, for what serves every route in one process: the local stack, the
//! tests and the benchmarks. Lambda functions never hold this: each builds its own
//! handler's adapters from [`super::aws::Aws`].

use crate::api::{Api, Endpoint};
use crate::config::Config;
use crate::domain::time::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::http::routes::Route;
use crate::ports::{
    AccountStore, DatasetStore, EventLog, IntegrationStore, NotionOAuth, OAuthStates, Provide, RecordStore, Settings,
    SyncQueue, SyncScheduler, SyncStateStore, TokenStore, WebhookStore, WebhookTokens,
};
use aws_config::SdkConfig;
use lambda_http::{Body, Request, Response};
use std::sync::Arc;

/// Every port, built once.
#[derive(Clone)]
pub struct Adapters {
    /// API keys and accounts.
    pub accounts: Arc<dyn AccountStore>,
    /// Integration configuration.
    pub integrations: Arc<dyn IntegrationStore>,
    /// Datasets.
    pub datasets: Arc<dyn DatasetStore>,
    /// Records.
    pub records: Arc<dyn RecordStore>,
    /// Sync bookkeeping.
    pub sync_state: Arc<dyn SyncStateStore>,
    /// The event log.
    pub events: Arc<dyn EventLog>,
    /// Pending OAuth authorizations.
    pub oauth_states: Arc<dyn OAuthStates>,
    /// Integrations' webhooks.
    pub webhooks: Arc<dyn WebhookStore>,
    /// Notion tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Webhook verification tokens.
    pub webhook_tokens: Arc<dyn WebhookTokens>,
    /// The sync queue.
    pub queue: Arc<dyn SyncQueue>,
    /// Integration schedules.
    pub scheduler: Arc<dyn SyncScheduler>,
    /// Notion's token endpoint with our client secret, when OAuth is configured.
    pub oauth: Option<Arc<dyn NotionOAuth>>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// The settings.
    pub settings: Settings,
}

impl Adapters {
    /// Every port over one store that implements them all (the in-memory one), on the
    /// system clock, with default settings and no OAuth.
    pub fn over<S>(store: Arc<S>) -> Self
    where
        S: AccountStore
            + IntegrationStore
            + DatasetStore
            + RecordStore
            + SyncStateStore
            + EventLog
            + OAuthStates
            + WebhookStore
            + TokenStore
            + WebhookTokens
            + SyncQueue
            + SyncScheduler
            + 'static,
    {
        Self {
            accounts: store.clone(),
            integrations: store.clone(),
            datasets: store.clone(),
            records: store.clone(),
            sync_state: store.clone(),
            events: store.clone(),
            oauth_states: store.clone(),
            webhooks: store.clone(),
            tokens: store.clone(),
            webhook_tokens: store.clone(),
            queue: store.clone(),
            scheduler: store,
            oauth: None,
            clock: Arc::new(SystemClock),
            settings: Settings::default(),
        }
    }

    /// Every port on AWS (or the emulator) as `config` names them. Schedules are managed
    /// when the target and role are configured, else only removed.
    pub fn from_config(config: &Config, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        use super::aws;
        let store = aws::dynamo(config, sdk);
        let secrets = aws::secrets(config, sdk);
        let scheduler = match aws::schedule_manager(config, sdk) {
            Ok(manager) => manager,
            Err(_) => aws::schedule_remover(config, sdk),
        };
        Ok(Self {
            accounts: store.clone(),
            integrations: store.clone(),
            datasets: store.clone(),
            records: store.clone(),
            sync_state: store.clone(),
            events: store.clone(),
            oauth_states: store.clone(),
            webhooks: store,
            tokens: secrets.clone(),
            webhook_tokens: secrets,
            queue: aws::sqs(config, sdk)?,
            scheduler,
            oauth: aws::notion_oauth(config, sdk),
            clock: Arc::new(SystemClock),
            settings: aws::settings_of(config),
        })
    }

    /// The same adapters with another token store.
    pub fn with_tokens(mut self, tokens: Arc<dyn TokenStore>) -> Self {
        self.tokens = tokens;
        self
    }

    /// The same adapters with another webhook verification token store.
    pub fn with_webhook_tokens(mut self, tokens: Arc<dyn WebhookTokens>) -> Self {
        self.webhook_tokens = tokens;
        self
    }

    /// The same adapters with another sync queue.
    pub fn with_queue(mut self, queue: Arc<dyn SyncQueue>) -> Self {
        self.queue = queue;
        self
    }

    /// The same adapters with another scheduler.
    pub fn with_scheduler(mut self, scheduler: Arc<dyn SyncScheduler>) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// The same adapters on another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Every route's endpoint over these adapters.
    pub fn api(&self) -> Result<Api, ConfigError> {
        Api::build(self)
    }

    /// Serves one request as `route`, with its endpoint built for it (tests).
    pub async fn handle(&self, route: Route, req: Request) -> Response<Body> {
        match Endpoint::of(route, self) {
            Ok(endpoint) => crate::api::handle(&endpoint, route, req).await,
            Err(e) => crate::error::ApiError::Internal(Box::new(e)).into_response(),
        }
    }
}

impl Provide for Adapters {
    fn settings(&self) -> &Settings {
        &self.settings
    }
    fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
    fn accounts(&self) -> Arc<dyn AccountStore> {
        self.accounts.clone()
    }
    fn integrations(&self) -> Arc<dyn IntegrationStore> {
        self.integrations.clone()
    }
    fn datasets(&self) -> Arc<dyn DatasetStore> {
        self.datasets.clone()
    }
    fn records(&self) -> Arc<dyn RecordStore> {
        self.records.clone()
    }
    fn sync_state(&self) -> Arc<dyn SyncStateStore> {
        self.sync_state.clone()
    }
    fn event_log(&self) -> Arc<dyn EventLog> {
        self.events.clone()
    }
    fn oauth_states(&self) -> Arc<dyn OAuthStates> {
        self.oauth_states.clone()
    }
    fn webhooks(&self) -> Arc<dyn WebhookStore> {
        self.webhooks.clone()
    }
    fn tokens(&self) -> Arc<dyn TokenStore> {
        self.tokens.clone()
    }
    fn webhook_tokens(&self) -> Arc<dyn WebhookTokens> {
        self.webhook_tokens.clone()
    }
    fn queue(&self) -> Result<Arc<dyn SyncQueue>, ConfigError> {
        Ok(self.queue.clone())
    }
    fn schedules(&self) -> Result<Arc<dyn SyncScheduler>, ConfigError> {
        Ok(self.scheduler.clone())
    }
    fn schedule_removal(&self) -> Arc<dyn SyncScheduler> {
        self.scheduler.clone()
    }
    fn notion_oauth(&self) -> Option<Arc<dyn NotionOAuth>> {
        self.oauth.clone()
    }
}
