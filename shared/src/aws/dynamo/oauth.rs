//! Pending OAuth authorizations: one item per state, taken with a conditional delete so a
//! state works once, and dropped by the main table's TTL when never used.

use super::*;
use crate::domain::oauth::OAuthState;
use crate::ports::OAuthStates;

#[derive(Serialize, Deserialize)]
struct StateItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    data: OAuthState,
    ttl: i64,
}

#[async_trait]
impl OAuthStates for DynamoStore {
    async fn put_oauth_state(&self, state: &OAuthState) -> Result<(), StoreError> {
        let (pk, sk) = keys::oauth_state_key(&state.state);
        let item = StateItem {
            pk,
            sk,
            data: state.clone(),
            ttl: state.expires_at,
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| StoreError::aws("PutItem", e))?;
        Ok(())
    }

    async fn take_oauth_state(&self, state: &str) -> Result<Option<OAuthState>, StoreError> {
        let (pk, sk) = keys::oauth_state_key(state);
        let taken = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match taken {
            Ok(out) => out
                .attributes
                .map(|item| from_item::<StateItem>(item).map(|i| i.data))
                .transpose(),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(StoreError::aws("DeleteItem", e)),
        }
    }
}
