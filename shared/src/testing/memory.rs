//! [`MemoryStore`]: every storage, secret, queue and scheduler port in memory, with the same
//! conditions as the AWS adapters (leases, coalescing, plan counters, expiry), so handler
//! and crawler logic is tested in-process. The AWS adapters are proven against the emulator.

use crate::domain::account::{Account, Plan};
use crate::domain::dataset::{Dataset, DatasetPatch};
use crate::domain::event::{Event, EventFilter};
use crate::domain::fields::Patch;
use crate::domain::integration::{Integration, IntegrationPatch, SyncStatus};
use crate::domain::paging::{ListQuery, Order};
use crate::domain::record::{Record, RecordPatch};
use crate::domain::run::{Checkpoint, PageEntry, RunState};
use crate::domain::schedule::SyncSchedule;
use crate::domain::sync::{PurgeMessage, SyncMessage};
use crate::error::StoreError;
use crate::ports::{
    AccountStore, Acquired, DatasetStore, EventLog, IntegrationStore, Page, RecordStore, SyncOutcome, SyncQueue,
    SyncScheduler, SyncStateStore, TokenStore,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

#[derive(Clone, Debug)]
struct Lease {
    checkpoint: Checkpoint,
    owner: Option<String>,
    until: i64,
}

/// Everything the store holds.
#[derive(Debug, Default)]
pub struct MemoryState {
    /// API key hash → account id.
    pub keys: HashMap<String, String>,
    /// Accounts and their integration counts.
    pub accounts: HashMap<String, (Account, u64)>,
    /// Integrations by id.
    pub integrations: BTreeMap<String, Integration>,
    /// Datasets by id.
    pub datasets: BTreeMap<String, Dataset>,
    /// Records by (dataset, record id).
    pub records: BTreeMap<(String, String), Record>,
    /// Token versions by integration, the current one last.
    pub tokens: HashMap<String, Vec<(String, String)>>,
    /// Checkpoints with their lease, by integration.
    leases: HashMap<String, Lease>,
    /// Page index by integration.
    pub pages: HashMap<String, BTreeMap<String, PageEntry>>,
    /// Messages sent to the sync queue, oldest first.
    pub queue: Vec<SyncMessage>,
    /// Purge messages sent to the sync queue, oldest first.
    pub purge_queue: Vec<PurgeMessage>,
    /// Purge markers of deleted datasets, by (account, dataset).
    pub purges: std::collections::BTreeSet<(String, String)>,
    /// Schedules by integration.
    pub schedules: HashMap<String, (String, SyncSchedule)>,
    /// Events by id (ids sort by time).
    pub events: BTreeMap<String, Event>,
    /// Token-refresh locks: integration → held until (epoch seconds).
    pub refresh_locks: HashMap<String, i64>,
    /// Pending OAuth states by value.
    pub oauth_states: HashMap<String, crate::domain::oauth::OAuthState>,
    /// Webhooks by integration id.
    pub webhooks: HashMap<String, crate::domain::webhook::WebhookState>,
    /// Event ids seen, by (integration, event id).
    pub webhook_events: std::collections::HashSet<(String, String)>,
    /// Webhook verification tokens by integration id.
    pub webhook_tokens: HashMap<String, String>,
    /// Webhook flushes sent to the sync queue with their delay, oldest first.
    pub flush_queue: Vec<(crate::domain::webhook::WebhookFlush, u32)>,
}

/// In-memory implementation of every port.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

impl MemoryStore {
    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds an account with `plan`, reachable with the API key whose hash is `key_hash`.
    pub fn add_account(&self, account_id: &str, key_hash: &str, plan: Plan) {
        let account = Account {
            id: account_id.into(),
            plan,
            created_at: "2026-01-01T00:00:00Z".into(),
            records_used: 0,
        };
        let mut s = self.state();
        s.accounts.insert(account_id.into(), (account, 0));
        s.keys.insert(key_hash.into(), account_id.into());
    }

    /// Takes the messages queued so far.
    pub fn take_messages(&self) -> Vec<SyncMessage> {
        std::mem::take(&mut self.state().queue)
    }
}

/// Applies a text patch as the adapters do: cleared means `""`.
fn patch_text(target: &mut String, patch: &Patch<String>) {
    match patch {
        Patch::Absent => {}
        Patch::Clear => target.clear(),
        Patch::Set(v) => v.clone_into(target),
    }
}

/// Applies a `meta` patch as the adapters do: cleared means `{}`.
fn patch_meta(
    target: &mut serde_json::Map<String, serde_json::Value>,
    patch: &Patch<serde_json::Map<String, serde_json::Value>>,
) {
    match patch {
        Patch::Absent => {}
        Patch::Clear => target.clear(),
        Patch::Set(m) => m.clone_into(target),
    }
}

fn page_of<T: Clone>(mut items: Vec<(String, T)>, query: &ListQuery) -> Page<T> {
    if query.order == Order::Desc {
        items.reverse();
    }
    let start = match &query.after {
        Some(after) => items.iter().position(|(k, _)| k == after).map_or(0, |i| i + 1),
        None => 0,
    };
    let take = query.take as usize;
    let rest = &items[start.min(items.len())..];
    let next = (rest.len() > take).then(|| rest[take - 1].0.clone());
    Page {
        items: rest.iter().take(take).map(|(_, v)| v.clone()).collect(),
        next,
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn account_id_for_key(&self, key_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state().keys.get(key_hash).cloned())
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.state().accounts.get(account_id).map(|(a, _)| a.clone()))
    }
}

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

#[async_trait]
impl crate::ports::OAuthStates for MemoryStore {
    async fn put_oauth_state(&self, state: &crate::domain::oauth::OAuthState) -> Result<(), StoreError> {
        self.state().oauth_states.insert(state.state.clone(), state.clone());
        Ok(())
    }

    async fn take_oauth_state(&self, state: &str) -> Result<Option<crate::domain::oauth::OAuthState>, StoreError> {
        Ok(self.state().oauth_states.remove(state))
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        self.state().events.insert(event.id.clone(), event.clone());
        Ok(())
    }

    async fn list_events(
        &self,
        account_id: &str,
        query: &ListQuery,
        filter: &EventFilter,
        now: i64,
    ) -> Result<Page<Event>, StoreError> {
        let items = self
            .state()
            .events
            .values()
            .filter(|e| e.account_id == account_id && !e.expired(now) && filter.keeps(e))
            .map(|e| (e.id.clone(), e.clone()))
            .collect();
        Ok(page_of(items, query))
    }
}

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
        if cp.run_id != run_id {
            return Ok(if cp.state == RunState::Running && lease.until > now {
                Acquired::Busy
            } else {
                Acquired::NotStarted(crate::ports::PreviousRun {
                    recent_requests: cp.recent_requests.clone(),
                    started_at: Some(cp.started_at.clone()),
                })
            });
        }
        if cp.state == RunState::Done {
            return Ok(Acquired::Finished);
        }
        if lease.owner.is_some() && lease.until >= now {
            return Ok(Acquired::Busy);
        }
        lease.owner = Some(owner.into());
        lease.until = lease_until;
        cp.invocations += 1;
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
            .is_some_and(|l| l.checkpoint.run_id == checkpoint.run_id)
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

#[async_trait]
impl SyncQueue for MemoryStore {
    async fn send(&self, message: &SyncMessage) -> Result<(), StoreError> {
        self.state().queue.push(message.clone());
        Ok(())
    }

    async fn send_purge(&self, message: &PurgeMessage) -> Result<(), StoreError> {
        self.state().purge_queue.push(message.clone());
        Ok(())
    }

    async fn send_flush(
        &self,
        message: &crate::domain::webhook::WebhookFlush,
        delay_secs: u32,
    ) -> Result<(), StoreError> {
        self.state().flush_queue.push((message.clone(), delay_secs));
        Ok(())
    }
}

#[async_trait]
impl crate::ports::WebhookStore for MemoryStore {
    async fn register_webhook(&self, account_id: &str, integration_id: &str) -> Result<(), StoreError> {
        self.state()
            .webhooks
            .entry(integration_id.to_string())
            .or_insert_with(|| crate::domain::webhook::WebhookState {
                account_id: account_id.to_string(),
                integration_id: integration_id.to_string(),
                ..Default::default()
            });
        Ok(())
    }

    async fn get_webhook(
        &self,
        integration_id: &str,
    ) -> Result<Option<crate::domain::webhook::WebhookState>, StoreError> {
        let mut state = self.state().webhooks.get(integration_id).cloned();
        if let Some(s) = &mut state {
            s.pending.sort();
        }
        Ok(state)
    }

    async fn delete_webhook(&self, integration_id: &str) -> Result<(), StoreError> {
        let mut s = self.state();
        s.webhooks.remove(integration_id);
        s.webhook_events.retain(|(i, _)| i != integration_id);
        Ok(())
    }

    async fn accept_handshake(
        &self,
        integration_id: &str,
        at: &str,
    ) -> Result<crate::domain::webhook::HandshakeOutcome, StoreError> {
        use crate::domain::webhook::HandshakeOutcome;
        let mut s = self.state();
        Ok(match s.webhooks.get_mut(integration_id) {
            None => HandshakeOutcome::Unknown,
            Some(w) if w.verified_at.is_some() => HandshakeOutcome::TokenInUse,
            Some(w) => {
                w.token_at = Some(at.to_string());
                HandshakeOutcome::Accepted
            }
        })
    }

    async fn event_seen(&self, integration_id: &str, event_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .state()
            .webhook_events
            .contains(&(integration_id.to_string(), event_id.to_string())))
    }

    async fn remember_event(&self, integration_id: &str, event_id: &str, _expires_at: i64) -> Result<(), StoreError> {
        self.state()
            .webhook_events
            .insert((integration_id.to_string(), event_id.to_string()));
        Ok(())
    }

    async fn add_work(
        &self,
        integration_id: &str,
        keys: &[String],
        at: &str,
    ) -> Result<crate::domain::webhook::Recorded, StoreError> {
        let mut s = self.state();
        let w = s.webhooks.get_mut(integration_id).ok_or(StoreError::NotFound)?;
        let first_event = w.verified_at.is_none();
        w.verified_at.get_or_insert_with(|| at.to_string());
        w.last_event_at = Some(at.to_string());
        for k in keys {
            if !w.pending.contains(k) {
                w.pending.push(k.clone());
            }
        }
        Ok(crate::domain::webhook::Recorded { first_event })
    }

    async fn claim_flush(&self, integration_id: &str, now: i64, stale_before: i64) -> Result<bool, StoreError> {
        let mut s = self.state();
        let Some(w) = s.webhooks.get_mut(integration_id) else {
            return Ok(false);
        };
        if w.flush_queued_at.is_some_and(|at| at >= stale_before) {
            return Ok(false);
        }
        w.flush_queued_at = Some(now);
        Ok(true)
    }

    async fn release_flush(&self, integration_id: &str) -> Result<(), StoreError> {
        if let Some(w) = self.state().webhooks.get_mut(integration_id) {
            w.flush_queued_at = None;
        }
        Ok(())
    }

    async fn take_work(&self, integration_id: &str, keys: &[String]) -> Result<(), StoreError> {
        if let Some(w) = self.state().webhooks.get_mut(integration_id) {
            w.pending.retain(|k| !keys.contains(k));
        }
        Ok(())
    }

    async fn return_work(&self, integration_id: &str, keys: &[String]) -> Result<(), StoreError> {
        if let Some(w) = self.state().webhooks.get_mut(integration_id) {
            for k in keys {
                if !w.pending.contains(k) {
                    w.pending.push(k.clone());
                }
            }
        }
        Ok(())
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

#[async_trait]
impl SyncScheduler for MemoryStore {
    async fn put_schedule(
        &self,
        account_id: &str,
        integration_id: &str,
        schedule: &SyncSchedule,
    ) -> Result<(), StoreError> {
        self.state()
            .schedules
            .insert(integration_id.into(), (account_id.into(), schedule.clone()));
        Ok(())
    }

    async fn delete_schedule(&self, integration_id: &str) -> Result<(), StoreError> {
        self.state().schedules.remove(integration_id);
        Ok(())
    }
}
