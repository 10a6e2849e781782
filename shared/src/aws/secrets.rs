//! Notion tokens in AWS Secrets Manager: one secret per integration, named
//! `<SECRET_PREFIX><integration id>`, so IAM policies can be scoped to the prefix; beside
//! it the webhook's verification token, `<SECRET_PREFIX>webhook-<integration id>` (integration
//! ids start with `notion_`, so the webhook function's policy on `webhook-*` reaches no
//! Notion token).

use crate::error::StoreError;
use crate::ports::TokenStore;
use async_trait::async_trait;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;
use std::time::Duration;

/// Secrets Manager-backed [`TokenStore`].
#[derive(Clone, Debug)]
pub struct SecretsManagerTokens {
    client: Client,
    prefix: String,
}

impl SecretsManagerTokens {
    /// An adapter writing secrets under `prefix`.
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
        }
    }

    /// The secret name of an integration's token.
    pub fn secret_name(&self, integration_id: &str) -> String {
        format!("{}{integration_id}", self.prefix)
    }

    /// The secret name of an integration's webhook verification token.
    pub fn webhook_secret_name(&self, integration_id: &str) -> String {
        format!("{}webhook-{integration_id}", self.prefix)
    }

    /// Creates the secret `name`, or stores a new version of it when it exists.
    async fn put_secret(
        &self,
        name: &str,
        value: &str,
        description: &str,
        account_id: &str,
        integration_id: &str,
    ) -> Result<(), StoreError> {
        // A secret deleted a moment ago may still be finishing its deletion; creating one of
        // the same name fails until it has, so retry briefly.
        let mut attempt = 0u32;
        loop {
            let created = self
                .client
                .create_secret()
                .name(name)
                .secret_string(value)
                .description(description)
                .tags(Tag::builder().key("accountId").value(account_id).build())
                .tags(Tag::builder().key("integrationId").value(integration_id).build())
                .send()
                .await;
            let err = match created {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match err.code() {
                Some("ResourceExistsException") => {
                    self.client
                        .put_secret_value()
                        .secret_id(name)
                        .secret_string(value)
                        .send()
                        .await
                        .map_err(|e| StoreError::aws("PutSecretValue", e))?;
                    return Ok(());
                }
                Some("InvalidRequestException") if attempt < 6 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                }
                _ => return Err(StoreError::aws("CreateSecret", err)),
            }
        }
    }

    /// Deletes the secret `name` at once; absent is fine.
    async fn delete_secret(&self, name: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(StoreError::aws("DeleteSecret", e)),
        }
    }

    /// The secret `name`'s value and version id (the current one, or `version`).
    async fn read_secret(&self, name: &str, version: Option<&str>) -> Result<Option<(String, String)>, StoreError> {
        let got = self
            .client
            .get_secret_value()
            .secret_id(name)
            .set_version_id(version.map(str::to_string))
            .send()
            .await;
        match got {
            Ok(out) => Ok(out.secret_string.map(|t| (t, out.version_id.unwrap_or_default()))),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(StoreError::aws("GetSecretValue", e)),
        }
    }
}

#[async_trait]
impl TokenStore for SecretsManagerTokens {
    async fn put_token(&self, account_id: &str, integration_id: &str, token: &str) -> Result<(), StoreError> {
        let name = self.secret_name(integration_id);
        self.put_secret(
            &name,
            token,
            "Notion API token of one integration",
            account_id,
            integration_id,
        )
        .await
    }

    async fn delete_token(&self, integration_id: &str) -> Result<(), StoreError> {
        self.delete_secret(&self.secret_name(integration_id)).await
    }

    async fn rotate_token(&self, integration_id: &str, token: &str) -> Result<String, StoreError> {
        let out = self
            .client
            .put_secret_value()
            .secret_id(self.secret_name(integration_id))
            .secret_string(token)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.version_id.unwrap_or_default()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::aws("PutSecretValue", e)),
        }
    }

    async fn get_token(
        &self,
        integration_id: &str,
        version: Option<&str>,
    ) -> Result<Option<(String, String)>, StoreError> {
        self.read_secret(&self.secret_name(integration_id), version).await
    }
}

#[async_trait]
impl crate::ports::WebhookTokens for SecretsManagerTokens {
    async fn put_webhook_token(&self, account_id: &str, integration_id: &str, token: &str) -> Result<(), StoreError> {
        let name = self.webhook_secret_name(integration_id);
        self.put_secret(
            &name,
            token,
            "Notion webhook verification token of one integration",
            account_id,
            integration_id,
        )
        .await
    }

    async fn get_webhook_token(&self, integration_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .read_secret(&self.webhook_secret_name(integration_id), None)
            .await?
            .map(|(token, _)| token))
    }

    async fn delete_webhook_token(&self, integration_id: &str) -> Result<(), StoreError> {
        self.delete_secret(&self.webhook_secret_name(integration_id)).await
    }
}
