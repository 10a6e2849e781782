//! [`MemoryStore`]: every storage, secret, queue and scheduler port in memory, with the same
//! conditions as the AWS adapters (leases, coalescing, plan counters, expiry), so handler
//! and crawler logic is tested in-process. The AWS adapters are proven against the emulator.

mod accounts;
mod datasets;
mod events;
mod integrations;
mod queue;
mod records;
mod secrets;
mod sync_state;
mod webhooks;

use crate::domain::account::{Account, Plan};
use crate::domain::dataset::Dataset;
use crate::domain::event::Event;
use crate::domain::fields::Patch;
use crate::domain::integration::Integration;
use crate::domain::paging::{ListQuery, Order};
use crate::domain::record::Record;
use crate::domain::run::{Checkpoint, PageEntry};
use crate::domain::schedule::SyncSchedule;
use crate::domain::sync::{PurgeMessage, SyncMessage};
use crate::ports::Page;
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
    /// Runs queued with a delay (`send_after`): run id and seconds.
    pub queue_delays: Vec<(String, u32)>,
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
    /// Notion workspaces' shared backoffs: workspace id → until (epoch ms).
    pub workspace_backoffs: HashMap<String, i64>,
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
