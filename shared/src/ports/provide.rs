//! Where a handler's dependencies come from. Each handler names the adapters it uses in
//! its own `build(p: &impl Provide)`, so what a route touches is written once, checked by
//! the compiler, and mirrored by its function's IAM policy. A Lambda's [`Provide`] builds
//! an AWS client only when asked (a binary links the SDKs its route uses, and a missing
//! setting fails its cold start); the local stack's and the tests' hold every adapter.

use super::stores::{
    AccountStore, DatasetStore, EventLog, IntegrationStore, NotionOAuth, OAuthStates, RecordStore, SyncQueue,
    SyncScheduler, SyncStateStore, TokenStore, WebhookStore, WebhookTokens,
};
use crate::domain::event::{Event, EventType, DEFAULT_RETENTION_DAYS};
use crate::domain::time::{Clock, TimestampFormat};
use crate::error::ConfigError;
use std::sync::Arc;

/// The settings handlers read (from the function's configuration).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Seconds between two accepted manual syncs (`MANUAL_SYNC_COOLDOWN_SECS`).
    pub manual_sync_cooldown_secs: i64,
    /// Days an event is kept (`EVENT_LOG_RETENTION_DAYS`).
    pub event_retention_days: u32,
    /// How answers write timestamps (`TIMESTAMP_FORMAT`).
    pub timestamp_format: TimestampFormat,
    /// Seconds webhook events are coalesced (`WEBHOOK_DEBOUNCE_SECS`).
    pub webhook_debounce_secs: u32,
    /// The public connection's client id (`NOTION_OAUTH_CLIENT_ID`), when OAuth is configured.
    pub oauth_client_id: Option<String>,
    /// `NOTION_API_URL`, where the browser is sent to authorize (no trailing slash).
    pub notion_api_url: String,
    /// The API's public origin (`PUBLIC_BASE_URL`); the request's host when none.
    pub public_base_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            manual_sync_cooldown_secs: 900,
            event_retention_days: DEFAULT_RETENTION_DAYS,
            timestamp_format: TimestampFormat::default(),
            webhook_debounce_secs: crate::domain::webhook::DEFAULT_DEBOUNCE_SECS,
            oauth_client_id: None,
            notion_api_url: "https://api.notion.com".into(),
            public_base_url: None,
        }
    }
}

/// Every adapter a handler may ask for. The stores are always there (one DynamoDB client
/// serves them all); the others may be missing from a function's configuration, and
/// asking for one then fails its start-up with the variable that is missing.
pub trait Provide {
    /// The settings.
    fn settings(&self) -> &Settings;
    /// The current time.
    fn clock(&self) -> Arc<dyn Clock>;
    /// API keys and accounts.
    fn accounts(&self) -> Arc<dyn AccountStore>;
    /// Integration configuration.
    fn integrations(&self) -> Arc<dyn IntegrationStore>;
    /// Datasets.
    fn datasets(&self) -> Arc<dyn DatasetStore>;
    /// Records.
    fn records(&self) -> Arc<dyn RecordStore>;
    /// Sync bookkeeping.
    fn sync_state(&self) -> Arc<dyn SyncStateStore>;
    /// The event log.
    fn event_log(&self) -> Arc<dyn EventLog>;
    /// Pending OAuth authorizations.
    fn oauth_states(&self) -> Arc<dyn OAuthStates>;
    /// Integrations' webhooks.
    fn webhooks(&self) -> Arc<dyn WebhookStore>;
    /// Notion tokens (Secrets Manager).
    fn tokens(&self) -> Arc<dyn TokenStore>;
    /// Webhook verification tokens (Secrets Manager, `webhook-*` secrets only).
    fn webhook_tokens(&self) -> Arc<dyn WebhookTokens>;
    /// The sync queue (`SYNC_QUEUE_URL`).
    fn queue(&self) -> Result<Arc<dyn SyncQueue>, ConfigError>;
    /// Schedules to create, change and remove (`SCHEDULE_TARGET_ARN`, `SCHEDULE_ROLE_ARN`).
    fn schedules(&self) -> Result<Arc<dyn SyncScheduler>, ConfigError>;
    /// Schedules to remove only (the schedule group alone).
    fn schedule_removal(&self) -> Arc<dyn SyncScheduler>;
    /// Notion's token endpoint with the client secret, when OAuth is configured.
    fn notion_oauth(&self) -> Option<Arc<dyn NotionOAuth>>;

    /// The event writer over the log, clock and retention.
    fn events(&self) -> EventWriter {
        EventWriter {
            log: self.event_log(),
            clock: self.clock(),
            retention_days: self.settings().event_retention_days,
        }
    }
}

/// Writes the event log's entries, stamped now and kept the configured days.
#[derive(Clone)]
pub struct EventWriter {
    /// The log.
    pub log: Arc<dyn EventLog>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// Days an event is kept.
    pub retention_days: u32,
}

impl EventWriter {
    /// A new event of `account_id`, now.
    pub fn event(
        &self,
        account_id: &str,
        kind: EventType,
        message: impl Into<String>,
        data: serde_json::Value,
    ) -> Event {
        Event::new(account_id, kind, message, data, self.clock.now(), self.retention_days)
    }

    /// Appends `event` to the log (see [`EventLog::record`]).
    pub async fn record(&self, event: Event) {
        self.log.record(&event).await;
    }
}
