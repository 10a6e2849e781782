//! Integration configuration, in memory.

use super::*;
use crate::domain::integration::{Integration, IntegrationPatch};
use crate::domain::paging::ListQuery;
use crate::error::StoreError;
use crate::ports::{IntegrationStore, Page};
use async_trait::async_trait;

#[async_trait]
impl IntegrationStore for MemoryStore {
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let mut s = self.state();
        let (account, count) = s
            .accounts
            .get_mut(&integration.account_id)
            .ok_or(StoreError::NotFound)?;
        if *count >= account.plan.max_integrations {
            return Err(StoreError::LimitExceeded("integrations"));
        }
        *count += 1;
        s.integrations.insert(integration.id.clone(), integration.clone());
        Ok(())
    }

    async fn get_integration(&self, account_id: &str, id: &str) -> Result<Option<Integration>, StoreError> {
        Ok(self
            .state()
            .integrations
            .get(id)
            .filter(|i| i.account_id == account_id)
            .cloned())
    }

    async fn list_integrations(&self, account_id: &str, query: &ListQuery) -> Result<Page<Integration>, StoreError> {
        let items = self
            .state()
            .integrations
            .values()
            .filter(|i| i.account_id == account_id && query.matches_meta(&i.meta))
            .map(|i| (i.id.clone(), i.clone()))
            .collect();
        Ok(page_of(items, query))
    }

    async fn update_integration(
        &self,
        account_id: &str,
        id: &str,
        patch: &IntegrationPatch,
        has_token: Option<bool>,
        updated_at: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        let integration = s
            .integrations
            .get_mut(id)
            .filter(|i| i.account_id == account_id && i.version == version)
            .ok_or(StoreError::Conflict("the integration changed or is gone"))?;
        integration.version += 1;
        patch.apply_to(integration);
        if let Some(has) = has_token {
            integration.has_token = has;
            integration.workspace = None;
        }
        integration.updated_at = updated_at.into();
        Ok(())
    }

    async fn connect_workspace(
        &self,
        account_id: &str,
        id: &str,
        workspace: &crate::domain::oauth::Workspace,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        let integration = s
            .integrations
            .get_mut(id)
            .filter(|i| i.account_id == account_id)
            .ok_or(StoreError::NotFound)?;
        integration.has_token = true;
        integration.workspace = Some(workspace.clone());
        integration.updated_at = updated_at.into();
        integration.version += 1;
        Ok(())
    }

    async fn delete_integration(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.integrations.get(id).is_none_or(|i| i.account_id != account_id) {
            return Err(StoreError::NotFound);
        }
        s.integrations.remove(id);
        if let Some((_, count)) = s.accounts.get_mut(account_id) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }
}
