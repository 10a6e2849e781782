//! Notion's token endpoint (`POST /v1/oauth/token`, HTTP Basic with our public connection's
//! client id and secret), as the "Create a token" and "Refresh a token" references describe.
//! The client secret never leaves this type: not in its `Debug`, errors or logs.

use crate::domain::oauth::TokenGrant;
use crate::domain::version::NotionVersion;
use crate::ports::{NotionOAuth, OAuthError};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::time::Duration;

/// Where the client secret comes from.
pub enum SecretSource {
    /// The value itself (the local stack's `NOTION_OAUTH_CLIENT_SECRET`).
    Value(String),
    /// A Secrets Manager secret, read once on first use (deployed: the stack's parameter).
    SecretsManager(aws_sdk_secretsmanager::Client, String),
}

/// The token endpoint over HTTP.
pub struct HttpNotionOAuth {
    http: reqwest::Client,
    base_url: String,
    client_id: String,
    source: SecretSource,
    client_secret: tokio::sync::OnceCell<String>,
    version: NotionVersion,
}

impl std::fmt::Debug for HttpNotionOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpNotionOAuth")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"********")
            .finish()
    }
}

impl HttpNotionOAuth {
    /// A client of `base_url` (`NOTION_API_URL`) for the public connection `client_id`.
    pub fn new(http: reqwest::Client, base_url: &str, client_id: &str, source: SecretSource) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            source,
            client_secret: tokio::sync::OnceCell::new(),
            version: NotionVersion::default(),
        }
    }

    /// The same client speaking `version` (`NOTION_VERSION`).
    pub fn with_version(mut self, version: NotionVersion) -> Self {
        self.version = version;
        self
    }

    async fn secret(&self) -> Result<&str, OAuthError> {
        self.client_secret
            .get_or_try_init(|| async {
                match &self.source {
                    SecretSource::Value(value) => Ok(value.clone()),
                    SecretSource::SecretsManager(client, arn) => client
                        .get_secret_value()
                        .secret_id(arn)
                        .send()
                        .await
                        .map_err(|e| {
                            OAuthError::Unavailable(format!(
                                "the OAuth client secret could not be read: {}",
                                crate::error::error_chain(&e)
                            ))
                        })?
                        .secret_string
                        .ok_or_else(|| OAuthError::Unavailable("the OAuth client secret is empty".into())),
                }
            })
            .await
            .map(String::as_str)
    }

    async fn grant(&self, body: Value) -> Result<TokenGrant, OAuthError> {
        let secret = self.secret().await?;
        let response = self
            .http
            .post(format!("{}/v1/oauth/token", self.base_url))
            .basic_auth(&self.client_id, Some(secret))
            .header("Notion-Version", self.version.header())
            .timeout(Duration::from_secs(15))
            .json(&body)
            .send()
            .await
            .map_err(|e| OAuthError::Unavailable(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| OAuthError::Unavailable(e.without_url().to_string()))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text)
                .map_err(|_| OAuthError::Unavailable("the token endpoint answered an unreadable grant".into()));
        }
        // Notion's error object carries `code`; OAuth's own shape carries `error`.
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = body
            .get("code")
            .or_else(|| body.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .chars()
            .take(64)
            .collect();
        Err(OAuthError::Refused { status, code })
    }
}

#[async_trait]
impl NotionOAuth for HttpNotionOAuth {
    async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<TokenGrant, OAuthError> {
        self.grant(json!({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}))
            .await
    }

    async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, OAuthError> {
        self.grant(json!({"grant_type": "refresh_token", "refresh_token": refresh_token}))
            .await
    }
}
