//! The narrow capabilities handlers depend on. Each route uses only the traits it needs;
//! the AWS adapters in [`crate::aws`] implement them.

use crate::domain::account::Account;
use crate::domain::dataset::Dataset;
use crate::domain::integration::{Integration, IntegrationPatch};
use crate::domain::paging::ListQuery;
use crate::domain::record::Record;
use crate::error::StoreError;
use async_trait::async_trait;

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items, in the requested order.
    pub items: Vec<T>,
    /// Store position to continue after, when more items may follow.
    pub next: Option<String>,
}

/// Resolving API keys to accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The account id an API key hash belongs to.
    async fn account_id_for_key(&self, key_hash: &str) -> Result<Option<String>, StoreError>;
    /// An account by id.
    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError>;
}

/// Integration configuration storage.
#[async_trait]
pub trait IntegrationStore: Send + Sync {
    /// Stores a new integration; `LimitExceeded` when the plan's integration count is reached.
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError>;
    /// An integration of `account_id`, or none (also for another account's id).
    async fn get_integration(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<Integration>, StoreError>;
    /// A page of the account's integrations.
    async fn list_integrations(
        &self,
        account_id: &str,
        query: &ListQuery,
    ) -> Result<Page<Integration>, StoreError>;
    /// Atomically applies the fields `patch` sets, plus `has_token` when given;
    /// `NotFound` when the integration is gone.
    async fn update_integration(
        &self,
        account_id: &str,
        id: &str,
        patch: &IntegrationPatch,
        has_token: Option<bool>,
        updated_at: &str,
    ) -> Result<(), StoreError>;
    /// Deletes an integration; `NotFound` when it is already gone.
    async fn delete_integration(&self, account_id: &str, id: &str) -> Result<(), StoreError>;
}

/// Dataset storage.
#[async_trait]
pub trait DatasetStore: Send + Sync {
    /// Stores a new dataset.
    async fn create_dataset(&self, dataset: &Dataset) -> Result<(), StoreError>;
    /// A dataset of `account_id`, or none.
    async fn get_dataset(&self, account_id: &str, id: &str) -> Result<Option<Dataset>, StoreError>;
    /// A page of the account's datasets.
    async fn list_datasets(
        &self,
        account_id: &str,
        query: &ListQuery,
    ) -> Result<Page<Dataset>, StoreError>;
    /// Deletes a dataset and releases its records from the account's record count;
    /// `NotFound` when it is already gone. Records are purged separately.
    async fn delete_dataset(&self, account_id: &str, id: &str) -> Result<(), StoreError>;
}

/// Record storage.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// A page of a dataset's unexpired records at `now` (epoch seconds).
    async fn list_records(
        &self,
        dataset_id: &str,
        query: &ListQuery,
        now: i64,
    ) -> Result<Page<Record>, StoreError>;
    /// A record, or none when missing or expired at `now`.
    async fn get_record(
        &self,
        dataset_id: &str,
        record_id: &str,
        now: i64,
    ) -> Result<Option<Record>, StoreError>;
    /// Writes a record, counting it against the dataset and account when it is new;
    /// `NotFound` when the dataset is gone. Returns whether the record was new.
    async fn put_record(&self, account_id: &str, record: &Record) -> Result<bool, StoreError>;
    /// Deletes every record of a dataset that no longer exists; returns how many.
    async fn purge_records(&self, dataset_id: &str) -> Result<u64, StoreError>;
}

/// Notion tokens, one secret per integration.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Creates or replaces the integration's token.
    async fn put_token(
        &self,
        account_id: &str,
        integration_id: &str,
        token: &str,
    ) -> Result<(), StoreError>;
    /// Deletes the integration's token at once (no recovery window); absent is fine.
    async fn delete_token(&self, integration_id: &str) -> Result<(), StoreError>;
    /// The integration's token, if one is stored.
    async fn get_token(&self, integration_id: &str) -> Result<Option<String>, StoreError>;
}
