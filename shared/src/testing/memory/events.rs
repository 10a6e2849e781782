//! The event log and pending OAuth authorizations, in memory.

use super::*;
use crate::domain::event::{Event, EventFilter};
use crate::domain::paging::ListQuery;
use crate::error::StoreError;
use crate::ports::{EventLog, Page};
use async_trait::async_trait;

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
