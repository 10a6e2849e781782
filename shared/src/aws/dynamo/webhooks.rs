//! Integrations' webhooks: one item per integration id (`WEBHOOK#<id>`), written when the
//! integration is created (or its webhook first fetched) and deleted with it, holding the
//! owner, the state and the pending work as a string set, so adding work is one `ADD` and
//! a targeted run removes exactly what it took with one `DELETE`. Event ids already handled
//! are items of the same partition, put conditionally and dropped by the TTL.

use super::*;
use crate::domain::webhook::{HandshakeOutcome, Recorded, WebhookState};
use crate::ports::WebhookStore;

/// The string-set attribute of pending work keys.
const PENDING: &str = "pending";

fn webhook_item_key(integration_id: &str) -> Item {
    let (pk, sk) = keys::webhook_key(integration_id);
    key(pk, sk)
}

fn string_set(values: &[String]) -> AttributeValue {
    AttributeValue::Ss(values.to_vec())
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn register_webhook(&self, account_id: &str, integration_id: &str) -> Result<(), StoreError> {
        let (pk, sk) = keys::webhook_key(integration_id);
        let item = Keyed {
            pk,
            sk,
            data: WebhookState {
                account_id: account_id.to_string(),
                integration_id: integration_id.to_string(),
                ..WebhookState::default()
            },
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        held(put, "PutItem").map(|_| ())
    }

    async fn get_webhook(&self, integration_id: &str) -> Result<Option<WebhookState>, StoreError> {
        let Some(mut item) = self.get(&self.table, webhook_item_key(integration_id)).await? else {
            return Ok(None);
        };
        let mut pending = match item.remove(PENDING) {
            Some(AttributeValue::Ss(set)) => set,
            _ => Vec::new(),
        };
        pending.sort();
        let mut state = from_item::<Keyed<WebhookState>>(item)?.data;
        state.pending = pending;
        Ok(Some(state))
    }

    async fn delete_webhook(&self, integration_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(webhook_item_key(integration_id)))
            .send()
            .await
            .map_err(|e| StoreError::aws("DeleteItem", e))?;
        Ok(())
    }

    async fn accept_handshake(&self, integration_id: &str, at: &str) -> Result<HandshakeOutcome, StoreError> {
        let mut expr = UpdateExpression::default();
        expr.set("tokenAt", s(at));
        let updated = self
            .update(
                &self.table,
                webhook_item_key(integration_id),
                expr,
                "attribute_exists(pk) AND attribute_not_exists(verifiedAt)",
            )
            .await;
        match updated {
            Ok(()) => Ok(HandshakeOutcome::Accepted),
            Err(StoreError::NotFound) => Ok(match self.get_webhook(integration_id).await? {
                Some(_) => HandshakeOutcome::TokenInUse,
                None => HandshakeOutcome::Unknown,
            }),
            Err(e) => Err(e),
        }
    }

    async fn event_seen(&self, integration_id: &str, event_id: &str) -> Result<bool, StoreError> {
        let (pk, sk) = keys::webhook_event_key(integration_id, event_id);
        Ok(self.get(&self.table, key(pk, sk)).await?.is_some())
    }

    async fn remember_event(&self, integration_id: &str, event_id: &str, expires_at: i64) -> Result<(), StoreError> {
        let (pk, sk) = keys::webhook_event_key(integration_id, event_id);
        let mut item = key(pk, sk);
        item.insert(
            keys::MAIN_TTL_ATTRIBUTE.into(),
            AttributeValue::N(expires_at.to_string()),
        );
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        // A concurrent repeat of the event recorded it first: same outcome.
        held(put, "PutItem").map(|_| ())
    }

    async fn add_work(&self, integration_id: &str, keys: &[String], at: &str) -> Result<Recorded, StoreError> {
        let mut text = "SET #last = :at, #verified = if_not_exists(#verified, :at)".to_string();
        let mut names = HashMap::from([
            ("#last".to_string(), "lastEventAt".to_string()),
            ("#verified".to_string(), "verifiedAt".to_string()),
        ]);
        let mut values = HashMap::from([(":at".to_string(), s(at))]);
        if !keys.is_empty() {
            text.push_str(" ADD #pending :keys");
            names.insert("#pending".into(), PENDING.into());
            values.insert(":keys".into(), string_set(keys));
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(webhook_item_key(integration_id)))
            .update_expression(text)
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await
            .map_err(missing_on_condition("UpdateItem"))?;
        let was_verified = out.attributes.is_some_and(|old| old.contains_key("verifiedAt"));
        Ok(Recorded {
            first_event: !was_verified,
        })
    }

    async fn claim_flush(&self, integration_id: &str, now: i64, stale_before: i64) -> Result<bool, StoreError> {
        let mut expr = UpdateExpression::default();
        expr.set("flushQueuedAt", AttributeValue::N(now.to_string()));
        let claimed = self
            .update_with(
                &self.table,
                webhook_item_key(integration_id),
                expr,
                "attribute_exists(pk) AND (attribute_not_exists(flushQueuedAt) OR flushQueuedAt < :stale)",
                &[(":stale", AttributeValue::N(stale_before.to_string()))],
            )
            .await;
        match claimed {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn release_flush(&self, integration_id: &str) -> Result<(), StoreError> {
        self.update_if(
            webhook_item_key(integration_id),
            "REMOVE flushQueuedAt",
            "attribute_exists(pk)",
            &[],
            &[],
        )
        .await
        .map(|_| ())
    }

    async fn return_work(&self, integration_id: &str, keys: &[String]) -> Result<(), StoreError> {
        self.change_pending(integration_id, "ADD", keys).await
    }

    async fn take_work(&self, integration_id: &str, keys: &[String]) -> Result<(), StoreError> {
        self.change_pending(integration_id, "DELETE", keys).await
    }
}

impl DynamoStore {
    /// `ADD` or `DELETE` keys of the pending set, a few hundred per request.
    async fn change_pending(&self, integration_id: &str, action: &str, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        // A few hundred keys per request keeps each one far below DynamoDB's limits.
        for chunk in keys.chunks(200) {
            self.update_if(
                webhook_item_key(integration_id),
                &format!("{action} #pending :keys"),
                "attribute_exists(pk)",
                &[(":keys", string_set(chunk))],
                &[("#pending", PENDING)],
            )
            .await?;
        }
        Ok(())
    }
}
