//! Sync bookkeeping: leases, checkpoints, the page index, outcomes, in memory.

use super::*;
use crate::domain::integration::SyncStatus;
use crate::domain::run::{Checkpoint, PageEntry};
use crate::error::StoreError;
use crate::ports::{Acquired, SyncOutcome, SyncStateStore};
use async_trait::async_trait;

#[async_trait]
impl SyncStateStore for MemoryStore {
    async fn claim_manual_sync(&self, account_id: &str, id: &str, now: i64, cutoff: i64) -> Result<bool, StoreError> {
        let mut s = self.state();
        let Some(i) = s.integrations.get_mut(id).filter(|i| i.account_id == account_id) else {
            return Ok(false);
        };
        if i.last_manual_sync_at.is_some_and(|last| last > cutoff) {
            return Ok(false);
        }
        i.last_manual_sync_at = Some(now);
        Ok(true)
    }

    async fn request_sync(
        &self,
        account_id: &str,
        id: &str,
        run_id: &str,
        now: i64,
        stale_before: i64,
        targeted: bool,
    ) -> Result<bool, StoreError> {
        let mut s = self.state();
        let Some(i) = s.integrations.get_mut(id).filter(|i| i.account_id == account_id) else {
            return Ok(false);
        };
        let pending = i.sync_status == Some(SyncStatus::Pending) && i.pending_since.is_some_and(|t| t >= stale_before);
        if pending {
            return Ok(false);
        }
        i.sync_status = Some(SyncStatus::Pending);
        i.pending_run_id = Some(run_id.into());
        i.pending_since = Some(now);
        i.pending_targeted = targeted;
        Ok(true)
    }

    async fn defer_full_sync(
        &self,
        account_id: &str,
        id: &str,
        trigger: crate::domain::sync::Trigger,
    ) -> Result<bool, StoreError> {
        let mut s = self.state();
        let Some(i) = s.integrations.get_mut(id).filter(|i| i.account_id == account_id) else {
            return Ok(false);
        };
        if i.sync_status != Some(SyncStatus::Pending) || !i.pending_targeted {
            return Ok(false);
        }
        i.full_sync_requested = Some(trigger);
        Ok(true)
    }

    async fn cancel_sync_request(&self, account_id: &str, id: &str, run_id: &str) -> Result<(), StoreError> {
        let mut s = self.state();
        if let Some(i) = s.integrations.get_mut(id).filter(|i| i.account_id == account_id) {
            if i.pending_run_id.as_deref() == Some(run_id) {
                i.pending_run_id = None;
                i.pending_since = None;
                i.sync_status = None;
            }
        }
        Ok(())
    }

    async fn acquire_run(
        &self,
        _account_id: &str,
        id: &str,
        run_id: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Acquired, StoreError> {
        let mut s = self.state();
        let Some(lease) = s.leases.get_mut(id) else {
            return Ok(Acquired::NotStarted(crate::ports::PreviousRun::default()));
        };
        let cp = &mut lease.checkpoint;
        if cp.run_id() != run_id {
            return Ok(if !cp.is_done() && lease.until > now {
                Acquired::Busy
            } else {
                Acquired::NotStarted(crate::ports::PreviousRun::of(cp))
            });
        }
        if cp.is_done() {
            return Ok(Acquired::Finished);
        }
        if lease.owner.is_some() && lease.until >= now {
            return Ok(Acquired::Busy);
        }
        lease.owner = Some(owner.into());
        lease.until = lease_until;
        cp.resumed();
        Ok(Acquired::Resumed(Box::new(cp.clone())))
    }

    async fn start_run(
        &self,
        _account_id: &str,
        id: &str,
        checkpoint: &Checkpoint,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let mut s = self.state();
        if s.leases
            .get(id)
            .is_some_and(|l| l.checkpoint.run_id() == checkpoint.run_id())
        {
            return Ok(false);
        }
        let lease = Lease {
            checkpoint: checkpoint.clone(),
            owner: Some(owner.into()),
            until: lease_until,
        };
        s.leases.insert(id.into(), lease);
        Ok(true)
    }

    async fn save_checkpoint(
        &self,
        _account_id: &str,
        id: &str,
        checkpoint: &Checkpoint,
        holder: &str,
        owner: Option<&str>,
        lease_until: i64,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        let Some(lease) = s.leases.get_mut(id).filter(|l| l.owner.as_deref() == Some(holder)) else {
            return Err(StoreError::Conflict("the run's lease was lost"));
        };
        lease.checkpoint = checkpoint.clone();
        lease.owner = owner.map(str::to_string);
        lease.until = if owner.is_some() { lease_until } else { 0 };
        Ok(())
    }

    async fn finish_sync(
        &self,
        account_id: &str,
        id: &str,
        outcome: &SyncOutcome,
    ) -> Result<Option<crate::domain::sync::Trigger>, StoreError> {
        let mut s = self.state();
        let i = s
            .integrations
            .get_mut(id)
            .filter(|i| i.account_id == account_id)
            .ok_or(StoreError::NotFound)?;
        i.sync_status = Some(outcome.status);
        i.last_sync_summary = serde_json::to_value(&outcome.summary).ok();
        if let Some(at) = &outcome.last_synced_at {
            i.last_synced_at = Some(at.clone());
        }
        i.sync_error = outcome.error.clone();
        i.pending_run_id = None;
        i.pending_since = None;
        i.sync_progress = None;
        i.pending_targeted = false;
        Ok(i.full_sync_requested.take())
    }

    async fn workspace_backoff(&self, workspace_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.state().workspace_backoffs.get(workspace_id).copied())
    }

    async fn share_workspace_backoff(&self, workspace_id: &str, until_ms: i64) -> Result<(), StoreError> {
        let mut s = self.state();
        let until = s.workspace_backoffs.entry(workspace_id.to_string()).or_insert(until_ms);
        *until = (*until).max(until_ms);
        Ok(())
    }

    async fn claim_token_refresh(&self, account_id: &str, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let mut s = self.state();
        // As the adapter's condition: a missing integration is a lock not taken.
        if s.integrations.get(id).is_none_or(|i| i.account_id != account_id) {
            return Ok(false);
        }
        if s.refresh_locks.get(id).is_some_and(|held| *held >= now) {
            return Ok(false);
        }
        s.refresh_locks.insert(id.to_string(), until);
        Ok(true)
    }

    async fn release_token_refresh(&self, _account_id: &str, id: &str) -> Result<(), StoreError> {
        self.state().refresh_locks.remove(id);
        Ok(())
    }

    async fn report_progress(
        &self,
        account_id: &str,
        id: &str,
        progress: &crate::domain::run::SyncProgress,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        let i = s
            .integrations
            .get_mut(id)
            .filter(|i| i.account_id == account_id)
            .ok_or(StoreError::NotFound)?;
        i.sync_progress = Some(progress.clone());
        Ok(())
    }

    async fn load_page(&self, id: &str, page_id: &str) -> Result<Option<PageEntry>, StoreError> {
        Ok(self.state().pages.get(id).and_then(|p| p.get(page_id).cloned()))
    }

    async fn load_pages(&self, id: &str) -> Result<Vec<PageEntry>, StoreError> {
        Ok(self
            .state()
            .pages
            .get(id)
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn put_pages(&self, id: &str, pages: &[PageEntry]) -> Result<(), StoreError> {
        let mut s = self.state();
        let index = s.pages.entry(id.into()).or_default();
        for p in pages {
            index.insert(p.page_id.clone(), p.clone());
        }
        Ok(())
    }

    async fn delete_pages(&self, id: &str, page_ids: &[String]) -> Result<(), StoreError> {
        if let Some(index) = self.state().pages.get_mut(id) {
            for p in page_ids {
                index.remove(p);
            }
        }
        Ok(())
    }

    async fn delete_sync_state(&self, _account_id: &str, id: &str) -> Result<(), StoreError> {
        let mut s = self.state();
        s.leases.remove(id);
        s.pages.remove(id);
        Ok(())
    }
}
