//! Accounts and their API keys.

use super::*;

impl DynamoStore {
    /// Creates an account and its API keys (stored hashed). Fails with `Conflict` when a
    /// key is already in use.
    pub async fn create_account(&self, account: &Account, api_keys: &[String]) -> Result<(), StoreError> {
        let item = Keyed {
            pk: keys::account_pk(&account.id),
            sk: keys::ACCOUNT_SK.to_string(),
            data: AccountItem {
                id: account.id.clone(),
                created_at: account.created_at.clone(),
                plan: account.plan,
                integration_count: 0,
                record_count: 0,
            },
        };
        let mut writes = vec![TransactWriteItem::builder()
            .put(insert_put(&self.table, &item)?)
            .build()];
        for api_key in api_keys {
            writes.push(self.api_key_put(&account.id, &hash_api_key(api_key))?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| match cancelled_conditions(&e) {
                Some(_) => StoreError::Conflict("account or API key already exists"),
                None => tx_error(e),
            })?;
        Ok(())
    }

    /// The account an API key belongs to; creates the account (with `plan`) when the key
    /// is new. Used by the local stack so restarts keep a key's data.
    pub async fn ensure_account_for_key(
        &self,
        api_key: &str,
        plan: Plan,
        created_at: &str,
    ) -> Result<String, StoreError> {
        if let Some(id) = self.account_id_for_key(&hash_api_key(api_key)).await? {
            return Ok(id);
        }
        let account = Account {
            id: crate::domain::ids::new_id(IdKind::Account),
            plan,
            created_at: created_at.to_string(),
            records_used: 0,
        };
        self.create_account(&account, &[api_key.to_string()]).await?;
        Ok(account.id)
    }

    /// Adds an API key to an existing account (key rotation: add the new one, then revoke).
    pub async fn add_api_key(&self, account_id: &str, api_key: &str) -> Result<(), StoreError> {
        // Named positions of the transaction's items: the key, then the account check.
        const ACCOUNT_CHECK: usize = 1;
        let write = self.api_key_put(account_id, &hash_api_key(api_key))?;
        self.client
            .transact_write_items()
            .transact_items(write)
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(
                        aws_sdk_dynamodb::types::ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(keys::account_pk(account_id), keys::ACCOUNT_SK.into())))
                            .condition_expression("attribute_exists(pk)")
                            .build()
                            .map_err(tx_error)?,
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| match cancelled_conditions(&e) {
                Some(failed) if failed.at(ACCOUNT_CHECK) => StoreError::NotFound,
                Some(_) => StoreError::Conflict("API key already exists"),
                None => tx_error(e),
            })?;
        Ok(())
    }

    /// Revokes an API key; absent keys are fine.
    pub async fn revoke_api_key(&self, api_key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::api_key_pk(&hash_api_key(api_key)),
                keys::API_KEY_SK.into(),
            )))
            .send()
            .await
            .map_err(|e| StoreError::aws("DeleteItem", e))?;
        Ok(())
    }

    fn api_key_put(&self, account_id: &str, key_hash: &str) -> Result<TransactWriteItem, StoreError> {
        let item = Keyed {
            pk: keys::api_key_pk(key_hash),
            sk: keys::API_KEY_SK.to_string(),
            data: ApiKeyItem {
                account_id: account_id.to_string(),
            },
        };
        Ok(TransactWriteItem::builder()
            .put(insert_put(&self.table, &item)?)
            .build())
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn account_id_for_key(&self, key_hash: &str) -> Result<Option<String>, StoreError> {
        let item = self
            .get(&self.table, key(keys::api_key_pk(key_hash), keys::API_KEY_SK.into()))
            .await?;
        Ok(match item {
            Some(item) => Some(from_item::<ApiKeyItem>(item)?.account_id),
            None => None,
        })
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        let item = self
            .get(&self.table, key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()))
            .await?;
        Ok(match item {
            Some(item) => {
                let a: AccountItem = from_item(item)?;
                Some(Account {
                    id: a.id,
                    plan: a.plan,
                    created_at: a.created_at,
                    records_used: a.record_count,
                })
            }
            None => None,
        })
    }
}
