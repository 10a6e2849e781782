//! Integrations' webhooks: owners, pending work, seen events, flush claims, in memory.

use super::*;
use crate::error::StoreError;
use async_trait::async_trait;

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
