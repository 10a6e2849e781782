//! The sync queue and the schedules, in memory.

use super::*;
use crate::domain::schedule::SyncSchedule;
use crate::domain::sync::{PurgeMessage, SyncMessage};
use crate::error::StoreError;
use crate::ports::{SyncQueue, SyncScheduler};
use async_trait::async_trait;

#[async_trait]
impl SyncQueue for MemoryStore {
    async fn send(&self, message: &SyncMessage) -> Result<(), StoreError> {
        self.state().queue.push(message.clone());
        Ok(())
    }

    async fn send_after(&self, message: &SyncMessage, delay_secs: u32) -> Result<(), StoreError> {
        let mut state = self.state();
        state.queue.push(message.clone());
        state.queue_delays.push((message.run_id.clone(), delay_secs));
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
