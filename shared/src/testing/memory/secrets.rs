//! Notion tokens and webhook verification tokens (versioned like Secrets Manager's), in memory.

use super::*;
use crate::error::StoreError;
use crate::ports::TokenStore;
use async_trait::async_trait;

#[async_trait]
impl TokenStore for MemoryStore {
    async fn put_token(&self, _account_id: &str, integration_id: &str, token: &str) -> Result<(), StoreError> {
        let mut s = self.state();
        let versions = s.tokens.entry(integration_id.into()).or_default();
        let version = format!("v{}", versions.len() + 1);
        versions.push((token.into(), version));
        Ok(())
    }

    async fn delete_token(&self, integration_id: &str) -> Result<(), StoreError> {
        self.state().tokens.remove(integration_id);
        Ok(())
    }

    async fn rotate_token(&self, integration_id: &str, token: &str) -> Result<String, StoreError> {
        let mut s = self.state();
        let versions = s.tokens.get_mut(integration_id).ok_or(StoreError::NotFound)?;
        let version = format!("v{}", versions.len() + 1);
        versions.push((token.into(), version.clone()));
        Ok(version)
    }

    async fn get_token(
        &self,
        integration_id: &str,
        version: Option<&str>,
    ) -> Result<Option<(String, String)>, StoreError> {
        let s = self.state();
        let Some(versions) = s.tokens.get(integration_id) else {
            return Ok(None);
        };
        Ok(match version {
            Some(v) => versions.iter().find(|(_, id)| id == v).cloned(),
            None => versions.last().cloned(),
        })
    }
}
#[async_trait]
impl crate::ports::WebhookTokens for MemoryStore {
    async fn put_webhook_token(&self, _account_id: &str, integration_id: &str, token: &str) -> Result<(), StoreError> {
        self.state()
            .webhook_tokens
            .insert(integration_id.to_string(), token.to_string());
        Ok(())
    }

    async fn get_webhook_token(&self, integration_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state().webhook_tokens.get(integration_id).cloned())
    }

    async fn delete_webhook_token(&self, integration_id: &str) -> Result<(), StoreError> {
        self.state().webhook_tokens.remove(integration_id);
        Ok(())
    }
}
