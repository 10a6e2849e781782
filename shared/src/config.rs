//! Typed configuration, read once at cold start from the environment.

use crate::domain::request_limits::RequestLimits;
use crate::domain::version::NotionVersion;
use crate::error::ConfigError;

/// A secret value: its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

/// Where the OAuth client secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientSecret {
    /// `NOTION_OAUTH_CLIENT_SECRET` (the local stack).
    Value(Secret),
    /// `NOTION_OAUTH_CLIENT_SECRET_ARN`: read from Secrets Manager at cold start (deployed).
    Arn(String),
}

/// The public Notion connection behind "Connect with Notion" (SPEC §2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthConfig {
    /// `NOTION_OAUTH_CLIENT_ID`.
    pub client_id: String,
    /// The client secret, or where to read it.
    pub client_secret: ClientSecret,
}

/// Names of the AWS resources a function works with.
#[derive(Clone, Debug)]
pub struct Config {
    /// DynamoDB table holding accounts, API keys, integrations and datasets (`TABLE_NAME`).
    pub table_name: String,
    /// DynamoDB table holding dataset records (`RECORDS_TABLE_NAME`).
    pub records_table_name: String,
    /// Prefix of every integration's Secrets Manager secret name (`SECRET_PREFIX`).
    pub secret_prefix: String,
    /// URL of the sync queue (`SYNC_QUEUE_URL`); needed by the sync route and the crawler.
    pub sync_queue_url: Option<String>,
    /// Seconds between two accepted manual syncs of one integration (`MANUAL_SYNC_COOLDOWN_SECS`).
    pub manual_sync_cooldown_secs: i64,
    /// Notion API base URL (`NOTION_API_URL`).
    pub notion_api_url: String,
    /// Notion requests per second per integration, on average (`NOTION_MAX_RPS`).
    pub notion_max_rps: u32,
    /// Notion requests per integration per window, spent at any pace
    /// (`NOTION_WINDOW_BUDGET`; default and ceiling `NOTION_MAX_RPS` × the window).
    pub notion_window_budget: Option<u32>,
    /// The length of Notion's per-connection window in seconds (`NOTION_WINDOW_SECS`, 60).
    pub notion_window_secs: u32,
    /// The `Notion-Version` the crawler speaks (`NOTION_VERSION`: `2026-12-01`, the default,
    /// or `2026-03-11`).
    pub notion_version: NotionVersion,
    /// Pages the crawler reads at once (`CRAWLER_CONCURRENCY`).
    pub crawler_concurrency: usize,
    /// EventBridge Scheduler group of integration schedules (`SCHEDULE_GROUP`).
    pub schedule_group: String,
    /// ARN the schedules invoke: the schedule-trigger function (`SCHEDULE_TARGET_ARN`).
    pub schedule_target_arn: Option<String>,
    /// Role EventBridge Scheduler assumes to invoke it (`SCHEDULE_ROLE_ARN`).
    pub schedule_role_arn: Option<String>,
    /// Days an event-log entry is kept (`EVENT_LOG_RETENTION_DAYS`, 1 or more).
    pub event_log_retention_days: u32,
    /// How answers write timestamps (`TIMESTAMP_FORMAT`: `rfc3339` or `epoch_ms`).
    pub timestamp_format: crate::domain::time::TimestampFormat,
    /// The public connection, when both its id and secret are configured.
    pub oauth: Option<OAuthConfig>,
    /// The API's public origin (`PUBLIC_BASE_URL`); the request's own host when unset.
    pub public_base_url: Option<String>,
    /// Seconds webhook events are coalesced before their targeted run
    /// (`WEBHOOK_DEBOUNCE_SECS`, 0 to 900).
    pub webhook_debounce_secs: u32,
    /// How attachments' text is read (SPEC §2.6).
    pub attachments: AttachmentConfig,
}

/// `ATTACHMENTS`, `ATTACHMENTS_EXTERNAL` and the `ATTACHMENT_*` limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentConfig {
    /// `ATTACHMENTS`: `on` (default) or `off` (files stay caption and name).
    pub enabled: bool,
    /// `ATTACHMENTS_EXTERNAL`: also read external `https` file URLs (default `false`).
    pub external: bool,
    /// `ATTACHMENT_MAX_BYTES`: the largest file downloaded (default 50,000,000).
    pub max_bytes: u64,
    /// `ATTACHMENT_EXTRACT_TIMEOUT_SECS`: one file's extraction at most (default 30).
    pub extract_timeout_secs: u64,
    /// `ATTACHMENT_EXTRACT_MEMORY_MB`: the extraction process's address space (default 256).
    pub extract_memory_mb: u64,
    /// `ATTACHMENT_SYNC_BUDGET_MB`: bytes one run downloads at most (default 1,000).
    pub sync_budget_mb: u64,
    /// `ATTACHMENT_EXTRACTOR`: the binary the sandbox starts (default: the running one).
    pub extractor: Option<String>,
}

impl Config {
    /// Notion's per-connection limit as configured.
    pub fn notion_limits(&self) -> RequestLimits {
        RequestLimits::new(self.notion_max_rps, self.notion_window_budget, self.notion_window_secs)
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let optional = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        fn number<T: std::str::FromStr>(
            name: &'static str,
            value: Option<String>,
            default: T,
        ) -> Result<T, ConfigError> {
            match value {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid(name, v)),
            }
        }
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            records_table_name: required("RECORDS_TABLE_NAME")?,
            secret_prefix: required("SECRET_PREFIX")?,
            sync_queue_url: optional("SYNC_QUEUE_URL"),
            manual_sync_cooldown_secs: number("MANUAL_SYNC_COOLDOWN_SECS", optional("MANUAL_SYNC_COOLDOWN_SECS"), 900)?,
            notion_api_url: optional("NOTION_API_URL").unwrap_or_else(|| "https://api.notion.com".into()),
            notion_max_rps: number("NOTION_MAX_RPS", optional("NOTION_MAX_RPS"), 3)?,
            // 0 (the stack parameter's default) or unset: `NOTION_MAX_RPS` × the window.
            notion_window_budget: match optional("NOTION_WINDOW_BUDGET") {
                None => None,
                v => Some(number("NOTION_WINDOW_BUDGET", v, 0u32)?).filter(|b| *b > 0),
            },
            notion_window_secs: match number("NOTION_WINDOW_SECS", optional("NOTION_WINDOW_SECS"), 60)? {
                0 => return Err(ConfigError::Invalid("NOTION_WINDOW_SECS", "0".into())),
                secs => secs,
            },
            notion_version: match optional("NOTION_VERSION") {
                None => NotionVersion::default(),
                Some(v) => v.parse().map_err(|_| {
                    let allowed: Vec<&str> = NotionVersion::ALL.iter().map(|v| v.header()).collect();
                    ConfigError::NotOneOf("NOTION_VERSION", v, allowed.join(", "))
                })?,
            },
            crawler_concurrency: number("CRAWLER_CONCURRENCY", optional("CRAWLER_CONCURRENCY"), 4)?,
            schedule_group: optional("SCHEDULE_GROUP").unwrap_or_else(|| "notion-sync".into()),
            schedule_target_arn: optional("SCHEDULE_TARGET_ARN"),
            schedule_role_arn: optional("SCHEDULE_ROLE_ARN"),
            event_log_retention_days: match number(
                "EVENT_LOG_RETENTION_DAYS",
                optional("EVENT_LOG_RETENTION_DAYS"),
                crate::domain::event::DEFAULT_RETENTION_DAYS,
            )? {
                0 => return Err(ConfigError::Invalid("EVENT_LOG_RETENTION_DAYS", "0".into())),
                days => days,
            },
            oauth: match (
                optional("NOTION_OAUTH_CLIENT_ID"),
                optional("NOTION_OAUTH_CLIENT_SECRET"),
                optional("NOTION_OAUTH_CLIENT_SECRET_ARN"),
            ) {
                (Some(client_id), Some(secret), _) => Some(OAuthConfig {
                    client_id,
                    client_secret: ClientSecret::Value(Secret(secret)),
                }),
                (Some(client_id), None, Some(arn)) => Some(OAuthConfig {
                    client_id,
                    client_secret: ClientSecret::Arn(arn),
                }),
                _ => None,
            },
            public_base_url: optional("PUBLIC_BASE_URL").map(|u| u.trim_end_matches('/').to_string()),
            webhook_debounce_secs: match number(
                "WEBHOOK_DEBOUNCE_SECS",
                optional("WEBHOOK_DEBOUNCE_SECS"),
                crate::domain::webhook::DEFAULT_DEBOUNCE_SECS,
            )? {
                secs if secs > crate::domain::webhook::MAX_DEBOUNCE_SECS => {
                    return Err(ConfigError::Invalid("WEBHOOK_DEBOUNCE_SECS", secs.to_string()))
                }
                secs => secs,
            },
            attachments: AttachmentConfig {
                enabled: match optional("ATTACHMENTS").as_deref().map(str::trim) {
                    None | Some("on") => true,
                    Some("off") => false,
                    Some(other) => return Err(ConfigError::Invalid("ATTACHMENTS", other.to_string())),
                },
                external: match optional("ATTACHMENTS_EXTERNAL").as_deref().map(str::trim) {
                    None | Some("false") => false,
                    Some("true") => true,
                    Some(other) => return Err(ConfigError::Invalid("ATTACHMENTS_EXTERNAL", other.to_string())),
                },
                max_bytes: number("ATTACHMENT_MAX_BYTES", optional("ATTACHMENT_MAX_BYTES"), 50_000_000)?,
                extract_timeout_secs: number(
                    "ATTACHMENT_EXTRACT_TIMEOUT_SECS",
                    optional("ATTACHMENT_EXTRACT_TIMEOUT_SECS"),
                    30,
                )?,
                extract_memory_mb: number(
                    "ATTACHMENT_EXTRACT_MEMORY_MB",
                    optional("ATTACHMENT_EXTRACT_MEMORY_MB"),
                    256,
                )?,
                sync_budget_mb: number(
                    "ATTACHMENT_SYNC_BUDGET_MB",
                    optional("ATTACHMENT_SYNC_BUDGET_MB"),
                    1_000,
                )?,
                extractor: optional("ATTACHMENT_EXTRACTOR"),
            },
            timestamp_format: match optional("TIMESTAMP_FORMAT") {
                None => Default::default(),
                Some(name) => crate::domain::time::TimestampFormat::parse(&name)
                    .ok_or(ConfigError::Invalid("TIMESTAMP_FORMAT", name))?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variable_is_an_error_naming_it() {
        let err = Config::from_lookup(|n| (n == "TABLE_NAME").then(|| "t".to_string())).unwrap_err();
        assert_eq!(err.to_string(), "environment variable RECORDS_TABLE_NAME is not set");
    }

    #[test]
    fn attachment_settings_are_checked_and_defaulted() {
        let with = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Config::from_lookup(move |name| match name {
                "TABLE_NAME" | "RECORDS_TABLE_NAME" | "SECRET_PREFIX" => Some("x".into()),
                _ => pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            })
        };
        let a = with(&[]).unwrap().attachments;
        assert!(a.enabled && !a.external);
        assert_eq!(
            (
                a.max_bytes,
                a.extract_timeout_secs,
                a.extract_memory_mb,
                a.sync_budget_mb
            ),
            (50_000_000, 30, 256, 1_000)
        );
        let a = with(&[
            ("ATTACHMENTS", "off"),
            ("ATTACHMENTS_EXTERNAL", "true"),
            ("ATTACHMENT_MAX_BYTES", "1000"),
        ])
        .unwrap()
        .attachments;
        assert!(!a.enabled && a.external && a.max_bytes == 1000);
        for (k, v) in [
            ("ATTACHMENTS", "yes"),
            ("ATTACHMENTS_EXTERNAL", "1"),
            ("ATTACHMENT_MAX_BYTES", "50MB"),
        ] {
            assert!(
                matches!(with(&[(k, v)]), Err(ConfigError::Invalid(name, _)) if name == k),
                "{k}={v}"
            );
        }
    }

    #[test]
    fn numbers_are_checked_and_defaulted() {
        let base = |extra: Option<(&'static str, &'static str)>| {
            move |n: &str| match (n, extra) {
                ("TABLE_NAME" | "RECORDS_TABLE_NAME" | "SECRET_PREFIX", _) => Some("x".to_string()),
                (name, Some((k, v))) if name == k => Some(v.to_string()),
                _ => None,
            }
        };
        let c = Config::from_lookup(base(None)).unwrap();
        assert_eq!(
            (c.manual_sync_cooldown_secs, c.notion_max_rps, c.crawler_concurrency),
            (900, 3, 4)
        );
        assert_eq!(c.notion_api_url, "https://api.notion.com");
        assert_eq!(c.notion_version, NotionVersion::V2026_12_01);
        let older = Config::from_lookup(base(Some(("NOTION_VERSION", "2026-03-11")))).unwrap();
        assert_eq!(older.notion_version, NotionVersion::V2026_03_11);
        let err = Config::from_lookup(base(Some(("NOTION_VERSION", "2025-09-03")))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable NOTION_VERSION is \"2025-09-03\"; it must be one of: 2026-12-01, 2026-03-11"
        );
        assert_eq!(c.sync_queue_url, None);
        assert_eq!(c.notion_limits(), RequestLimits::new(3, None, 60));
        assert_eq!(c.notion_limits().budget, 180);
        assert!(Config::from_lookup(base(Some(("NOTION_WINDOW_SECS", "0")))).is_err());
        let zero = Config::from_lookup(base(Some(("NOTION_WINDOW_BUDGET", "0")))).unwrap();
        assert_eq!(zero.notion_limits().budget, 180, "0 is the default");
        let plan = Config::from_lookup(base(Some(("NOTION_WINDOW_BUDGET", "90")))).unwrap();
        assert_eq!(plan.notion_limits().budget, 90);
        assert_eq!(c.event_log_retention_days, 90);
        assert_eq!(c.oauth, None);
        let oauth = Config::from_lookup(|n| match n {
            "TABLE_NAME" | "RECORDS_TABLE_NAME" | "SECRET_PREFIX" => Some("x".to_string()),
            "NOTION_OAUTH_CLIENT_ID" => Some("cid".into()),
            "NOTION_OAUTH_CLIENT_SECRET" => Some("very-secret".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(oauth.oauth.as_ref().unwrap().client_id, "cid");
        assert!(
            !format!("{oauth:?}").contains("very-secret"),
            "Debug never shows the secret"
        );
        assert_eq!(c.timestamp_format, crate::domain::time::TimestampFormat::Rfc3339);
        let epoch = Config::from_lookup(base(Some(("TIMESTAMP_FORMAT", "epoch_ms")))).unwrap();
        assert_eq!(epoch.timestamp_format, crate::domain::time::TimestampFormat::EpochMs);
        assert!(Config::from_lookup(base(Some(("TIMESTAMP_FORMAT", "unix")))).is_err());
        assert!(Config::from_lookup(base(Some(("EVENT_LOG_RETENTION_DAYS", "0")))).is_err());
        let err = Config::from_lookup(base(Some(("NOTION_MAX_RPS", "fast")))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable NOTION_MAX_RPS is not a valid number: \"fast\""
        );
    }

    #[test]
    fn reads_every_variable() {
        let c = Config::from_lookup(|n| match n {
            "MANUAL_SYNC_COOLDOWN_SECS"
            | "NOTION_MAX_RPS"
            | "NOTION_WINDOW_BUDGET"
            | "NOTION_WINDOW_SECS"
            | "CRAWLER_CONCURRENCY"
            | "EVENT_LOG_RETENTION_DAYS"
            | "WEBHOOK_DEBOUNCE_SECS"
            | "ATTACHMENT_MAX_BYTES"
            | "ATTACHMENT_EXTRACT_TIMEOUT_SECS"
            | "ATTACHMENT_EXTRACT_MEMORY_MB"
            | "ATTACHMENT_SYNC_BUDGET_MB" => Some("7".into()),
            "TIMESTAMP_FORMAT" => Some("epoch_ms".into()),
            "NOTION_VERSION" => Some("2026-03-11".into()),
            "ATTACHMENTS" => Some("off".into()),
            "ATTACHMENTS_EXTERNAL" => Some("true".into()),
            other => Some(format!("v-{other}")),
        })
        .unwrap();
        assert_eq!(
            c.attachments,
            AttachmentConfig {
                enabled: false,
                external: true,
                max_bytes: 7,
                extract_timeout_secs: 7,
                extract_memory_mb: 7,
                sync_budget_mb: 7,
                extractor: Some("v-ATTACHMENT_EXTRACTOR".into()),
            }
        );
        assert_eq!(c.table_name, "v-TABLE_NAME");
        assert_eq!(c.records_table_name, "v-RECORDS_TABLE_NAME");
        assert_eq!(c.secret_prefix, "v-SECRET_PREFIX");
        assert_eq!(c.sync_queue_url.as_deref(), Some("v-SYNC_QUEUE_URL"));
        assert_eq!(c.notion_api_url, "v-NOTION_API_URL");
        assert_eq!(
            (c.manual_sync_cooldown_secs, c.notion_max_rps, c.crawler_concurrency),
            (7, 7, 7)
        );
        assert_eq!(c.event_log_retention_days, 7);
        assert_eq!(c.webhook_debounce_secs, 7);
        assert_eq!((c.notion_window_budget, c.notion_window_secs), (Some(7), 7));
        assert_eq!(c.notion_limits(), RequestLimits::new(7, Some(7), 7));
        assert_eq!(c.notion_version, NotionVersion::V2026_03_11);
        let too_long = Config::from_lookup(|n| match n {
            "WEBHOOK_DEBOUNCE_SECS" => Some("901".into()),
            "NOTION_VERSION" | "ATTACHMENTS" | "ATTACHMENTS_EXTERNAL" => None,
            other => Some(format!("v-{other}")),
        });
        assert!(too_long.is_err(), "SQS cannot delay a message past 900 s");
    }
}
