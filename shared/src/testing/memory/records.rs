//! Records, with the plan's record counter, in memory.

use super::*;
use crate::domain::paging::ListQuery;
use crate::domain::record::{Record, RecordPatch};
use crate::error::StoreError;
use crate::ports::{Page, RecordStore};
use async_trait::async_trait;

#[async_trait]
impl RecordStore for MemoryStore {
    async fn list_records(&self, dataset_id: &str, query: &ListQuery, now: i64) -> Result<Page<Record>, StoreError> {
        let items = self
            .state()
            .records
            .iter()
            .filter(|((d, _), r)| d == dataset_id && !r.is_expired(now))
            .map(|((_, id), r)| (id.clone(), r.clone()))
            .collect();
        Ok(page_of(items, query))
    }

    async fn get_record(&self, dataset_id: &str, record_id: &str, now: i64) -> Result<Option<Record>, StoreError> {
        let key = (dataset_id.to_string(), record_id.to_string());
        Ok(self.state().records.get(&key).filter(|r| !r.is_expired(now)).cloned())
    }

    async fn put_record(&self, account_id: &str, record: &Record) -> Result<bool, StoreError> {
        let mut s = self.state();
        if !s.datasets.contains_key(&record.dataset_id) {
            return Err(StoreError::NotFound);
        }
        let key = (record.dataset_id.clone(), record.id.clone());
        if let Some(existing) = s.records.get_mut(&key) {
            *existing = record.clone();
            return Ok(false);
        }
        let (account, _) = s.accounts.get_mut(account_id).ok_or(StoreError::NotFound)?;
        if account.records_used >= account.plan.max_records {
            return Err(StoreError::LimitExceeded("records"));
        }
        account.records_used += 1;
        if let Some(d) = s.datasets.get_mut(&record.dataset_id) {
            d.record_count += 1;
        }
        s.records.insert(key, record.clone());
        Ok(true)
    }

    async fn update_record(
        &self,
        dataset_id: &str,
        record_id: &str,
        patch: &RecordPatch,
        updated_at: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        let record = s
            .records
            .get_mut(&(dataset_id.to_string(), record_id.to_string()))
            .filter(|r| !r.is_expired(now))
            .ok_or(StoreError::NotFound)?;
        patch_text(&mut record.text, &patch.text);
        patch_text(&mut record.source, &patch.source);
        patch_meta(&mut record.meta, &patch.meta);
        record.updated_at = updated_at.into();
        Ok(())
    }

    async fn delete_record(&self, account_id: &str, dataset_id: &str, record_id: &str) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.records
            .remove(&(dataset_id.to_string(), record_id.to_string()))
            .is_some()
        {
            if let Some((account, _)) = s.accounts.get_mut(account_id) {
                account.records_used = account.records_used.saturating_sub(1);
            }
            if let Some(d) = s.datasets.get_mut(dataset_id) {
                d.record_count = d.record_count.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn purge_records(&self, dataset_id: &str, limit: usize) -> Result<(u64, bool), StoreError> {
        let mut s = self.state();
        let doomed: Vec<(String, String)> = s
            .records
            .keys()
            .filter(|(d, _)| d == dataset_id)
            .take(limit)
            .cloned()
            .collect();
        for key in &doomed {
            s.records.remove(key);
        }
        let finished = !s.records.keys().any(|(d, _)| d == dataset_id);
        Ok((doomed.len() as u64, finished))
    }
}
