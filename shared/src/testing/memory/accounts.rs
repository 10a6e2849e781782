//! API keys and accounts, in memory.

use super::*;
use crate::domain::account::Account;
use crate::error::StoreError;
use crate::ports::AccountStore;
use async_trait::async_trait;

#[async_trait]
impl AccountStore for MemoryStore {
    async fn account_id_for_key(&self, key_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state().keys.get(key_hash).cloned())
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.state().accounts.get(account_id).map(|(a, _)| a.clone()))
    }
}
