//! What starts a run: the sync queue's message, its trigger, and what a fired schedule
//! hands the schedule trigger.

use serde::{Deserialize, Serialize};

/// Why a run was started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// `POST /integration/notion/{id}/sync`.
    #[default]
    Manual,
    /// The integration's schedule.
    Scheduled,
}

/// One message on the sync queue: run `run_id` of an integration (a new run, or the
/// continuation of one that checkpointed before its Lambda's deadline).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncMessage {
    /// The owning account.
    pub account_id: String,
    /// The integration to sync.
    pub integration_id: String,
    /// The run this message belongs to.
    pub run_id: String,
    /// What started the run.
    pub trigger: Trigger,
}

/// What a fired schedule hands the trigger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInput {
    /// The owning account.
    pub account_id: String,
    /// The integration to sync.
    pub integration_id: String,
}
