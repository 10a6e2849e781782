//! Event log items, under the account's partition, dropped by the main table's TTL.

use super::*;
use crate::domain::event::{Event, EventFilter};
use crate::ports::EventLog;

#[async_trait]
impl EventLog for DynamoStore {
    async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        let item = Keyed {
            pk: keys::account_pk(&event.account_id),
            sk: keys::event_sk(&event.id),
            data: event,
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .send()
            .await
            .map_err(|e| StoreError::aws("PutItem", e))?;
        Ok(())
    }

    async fn list_events(
        &self,
        account_id: &str,
        query: &ListQuery,
        filter: &EventFilter,
        now: i64,
    ) -> Result<Page<Event>, StoreError> {
        let listing = self.account_listing(account_id, keys::EVENT_PREFIX, IdKind::Event);
        let page = self
            .list::<Keyed<Event>>(listing, query, |k| !k.data.expired(now) && filter.keeps(&k.data))
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|k| k.data).collect(),
            next: page.next,
        })
    }
}
