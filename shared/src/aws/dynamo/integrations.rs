//! Integration items, counted against the account's plan.

use super::*;

#[async_trait]
impl IntegrationStore for DynamoStore {
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let item = Keyed {
            pk: keys::account_pk(&integration.account_id),
            sk: keys::integration_sk(&integration.id),
            data: integration,
        };
        let put = insert_put(&self.table, &item)?;
        // Named position of the account counter in the transaction (the item comes first).
        const ACCOUNT_COUNT: usize = 1;
        let count = counter_update(
            &self.table,
            key(keys::account_pk(&integration.account_id), keys::ACCOUNT_SK.into()),
            "integrationCount",
            1,
            "attribute_exists(pk) AND integrationCount < maxIntegrations",
            &[],
        )?;
        self.transact(vec![TransactWriteItem::builder().put(put).build(), count])
            .await
            .map_err(|e| match cancelled_conditions(&e) {
                Some(failed) if failed.at(ACCOUNT_COUNT) => StoreError::LimitExceeded("integrations"),
                Some(_) => StoreError::Conflict("integration id already exists"),
                None => tx_error(e),
            })?;
        Ok(())
    }

    async fn get_integration(&self, account_id: &str, id: &str) -> Result<Option<Integration>, StoreError> {
        let item = self
            .get(&self.table, key(keys::account_pk(account_id), keys::integration_sk(id)))
            .await?;
        item.map(|i| from_item::<Keyed<Integration>>(i).map(|k| k.data))
            .transpose()
    }

    async fn list_integrations(&self, account_id: &str, query: &ListQuery) -> Result<Page<Integration>, StoreError> {
        let listing = self.account_listing(account_id, keys::INTEGRATION_PREFIX, IdKind::Integration);
        let page = self
            .list::<Keyed<Integration>>(listing, query, |i| query.matches_meta(&i.data.meta))
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|k| k.data).collect(),
            next: page.next,
        })
    }

    async fn update_integration(
        &self,
        account_id: &str,
        id: &str,
        patch: &IntegrationPatch,
        has_token: Option<bool>,
        updated_at: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut expr = UpdateExpression::default();
        expr.set("updatedAt", s(updated_at));
        expr.set_text("name", &patch.name);
        expr.set_text("description", &patch.description);
        let optional = |expr: &mut UpdateExpression, name: &'static str, p: Patch<AttributeValue>| match p {
            Patch::Absent => {}
            Patch::Clear => expr.remove(name),
            Patch::Set(v) => expr.set(name, v),
        };
        optional(&mut expr, "datasetId", patch.dataset_id.clone().map(s));
        optional(&mut expr, "blueprintId", patch.blueprint_id.clone().map(s));
        optional(
            &mut expr,
            "syncSchedule",
            patch.sync_schedule.clone().map(|v| s(v.as_text())),
        );
        optional(
            &mut expr,
            "expiresIn",
            patch.expires_in.clone().map(|v| AttributeValue::N(v.to_string())),
        );
        expr.set_meta(&patch.meta);
        if let Some(has) = has_token {
            expr.set("hasToken", AttributeValue::Bool(has));
            // A pasted (or removed) token ends an OAuth connection.
            expr.remove("workspace");
        }
        expr.set("version", AttributeValue::N((version + 1).to_string()));
        let version_attr = expr.name("version");
        let condition = if version == 0 {
            // Items written before versions existed have none.
            format!("attribute_exists(pk) AND (attribute_not_exists({version_attr}) OR {version_attr} = :read)")
        } else {
            format!("attribute_exists(pk) AND {version_attr} = :read")
        };
        self.update_with(
            &self.table,
            key(keys::account_pk(account_id), keys::integration_sk(id)),
            expr,
            &condition,
            &[(":read", AttributeValue::N(version.to_string()))],
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => StoreError::Conflict("the integration changed or is gone"),
            other => other,
        })
    }

    async fn connect_workspace(
        &self,
        account_id: &str,
        id: &str,
        workspace: &crate::domain::oauth::Workspace,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::account_pk(account_id), keys::integration_sk(id))))
            .update_expression(
                "SET hasToken = :t, workspace = :w, updatedAt = :u, version = if_not_exists(version, :zero) + :one",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":w", av(workspace)?)
            .expression_attribute_values(":u", s(updated_at))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .map_err(missing_on_condition("UpdateItem"))?;
        Ok(())
    }

    async fn delete_integration(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::account_pk(account_id), keys::integration_sk(id))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(tx_error)?;
        let count = counter_update(
            &self.table,
            key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()),
            "integrationCount",
            -1,
            "attribute_exists(pk)",
            &[],
        )?;
        self.transact(vec![TransactWriteItem::builder().delete(delete).build(), count])
            .await
            .map_err(|e| match cancelled_conditions(&e) {
                Some(_) => StoreError::NotFound,
                None => tx_error(e),
            })?;
        Ok(())
    }
}
