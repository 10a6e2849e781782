//! The background purge of a deleted dataset's records: what dataset delete queues. Each
//! message deletes records in pages until the invocation's deadline nears, then queues
//! itself again; when none is left it removes the dataset's purge marker. Redelivery and
//! duplicates are harmless: every step deletes what is still there.

use super::adapters::{Crawler, RunResult};
use crate::domain::integration::SyncStatus;
use crate::domain::sync::PurgeMessage;
use crate::error::StoreError;
use tokio::time::Instant;

/// Records deleted per step (one query page, then batch deletes).
const PURGE_STEP: usize = 1_000;

impl Crawler {
    /// Purges `msg`'s dataset until it is empty or `deadline` nears.
    pub async fn purge(&self, msg: &PurgeMessage, deadline: Instant) -> Result<RunResult, StoreError> {
        let dataset = &msg.purge_dataset_id;
        if self.datasets.get_dataset(&msg.account_id, dataset).await?.is_some() {
            // Only a deleted dataset is purged; a message naming a live one is not ours.
            return Ok(RunResult::Dropped("the dataset exists; nothing to purge"));
        }
        let mut purged = 0u64;
        loop {
            let (deleted, finished) = self.records.purge_records(dataset, PURGE_STEP).await?;
            purged += deleted;
            if finished {
                self.datasets.finish_purge(&msg.account_id, dataset).await?;
                tracing::info!(dataset = %dataset, purged, "dataset purge finished");
                return Ok(RunResult::Finished(SyncStatus::Synced));
            }
            if Instant::now() >= deadline {
                self.queue.send_purge(msg).await?;
                tracing::info!(dataset = %dataset, purged, "dataset purge continues in a new invocation");
                return Ok(RunResult::Continued);
            }
        }
    }
}
