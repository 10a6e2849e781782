//! Datasets and their purge markers, in memory.

use super::*;
use crate::domain::dataset::{Dataset, DatasetPatch};
use crate::domain::paging::ListQuery;
use crate::error::StoreError;
use crate::ports::{DatasetStore, Page};
use async_trait::async_trait;

#[async_trait]
impl DatasetStore for MemoryStore {
    async fn create_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        self.state().datasets.insert(dataset.id.clone(), dataset.clone());
        Ok(())
    }

    async fn get_dataset(&self, account_id: &str, id: &str) -> Result<Option<Dataset>, StoreError> {
        Ok(self
            .state()
            .datasets
            .get(id)
            .filter(|d| d.account_id == account_id)
            .cloned())
    }

    async fn list_datasets(&self, account_id: &str, query: &ListQuery) -> Result<Page<Dataset>, StoreError> {
        let items = self
            .state()
            .datasets
            .values()
            .filter(|d| d.account_id == account_id && query.matches_meta(&d.meta))
            .map(|d| (d.id.clone(), d.clone()))
            .collect();
        Ok(page_of(items, query))
    }

    async fn update_dataset(
        &self,
        account_id: &str,
        id: &str,
        patch: &DatasetPatch,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        let dataset = s
            .datasets
            .get_mut(id)
            .filter(|d| d.account_id == account_id)
            .ok_or(StoreError::NotFound)?;
        patch_text(&mut dataset.name, &patch.name);
        patch_text(&mut dataset.description, &patch.description);
        patch_meta(&mut dataset.meta, &patch.meta);
        dataset.updated_at = updated_at.into();
        Ok(())
    }

    async fn delete_dataset(&self, account_id: &str, id: &str) -> Result<u64, StoreError> {
        let mut s = self.state();
        let dataset = s
            .datasets
            .get(id)
            .filter(|d| d.account_id == account_id)
            .cloned()
            .ok_or(StoreError::NotFound)?;
        s.datasets.remove(id);
        if let Some((account, _)) = s.accounts.get_mut(account_id) {
            account.records_used = account.records_used.saturating_sub(dataset.record_count);
        }
        s.purges.insert((account_id.to_string(), id.to_string()));
        Ok(dataset.record_count)
    }

    async fn purge_pending(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.state().purges.contains(&(account_id.to_string(), id.to_string())))
    }

    async fn finish_purge(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        self.state().purges.remove(&(account_id.to_string(), id.to_string()));
        Ok(())
    }
}
