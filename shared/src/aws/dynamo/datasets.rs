//! Dataset items; deleting one releases its records from the account's count and leaves
//! a purge marker (`PURGE#<dataset>`) until the background purge has removed the records.

use super::*;

#[async_trait]
impl DatasetStore for DynamoStore {
    async fn create_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        let item = Keyed {
            pk: keys::account_pk(&dataset.account_id),
            sk: keys::dataset_sk(&dataset.id),
            data: dataset,
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| {
                if is_condition_failure(&e) {
                    StoreError::Conflict("dataset id already exists")
                } else {
                    StoreError::aws("PutItem", e)
                }
            })?;
        Ok(())
    }

    async fn get_dataset(&self, account_id: &str, id: &str) -> Result<Option<Dataset>, StoreError> {
        let item = self
            .get(&self.table, key(keys::account_pk(account_id), keys::dataset_sk(id)))
            .await?;
        item.map(|i| from_item::<Keyed<Dataset>>(i).map(|k| k.data)).transpose()
    }

    async fn list_datasets(&self, account_id: &str, query: &ListQuery) -> Result<Page<Dataset>, StoreError> {
        let listing = self.account_listing(account_id, keys::DATASET_PREFIX, IdKind::Dataset);
        let page = self
            .list::<Keyed<Dataset>>(listing, query, |d| query.matches_meta(&d.data.meta))
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|k| k.data).collect(),
            next: page.next,
        })
    }

    async fn update_dataset(
        &self,
        account_id: &str,
        id: &str,
        patch: &DatasetPatch,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        let mut expr = UpdateExpression::default();
        expr.set("updatedAt", s(updated_at));
        expr.set_text("name", &patch.name);
        expr.set_text("description", &patch.description);
        expr.set_meta(&patch.meta);
        self.update(
            &self.table,
            key(keys::account_pk(account_id), keys::dataset_sk(id)),
            expr,
            "attribute_exists(pk)",
        )
        .await
    }

    async fn delete_dataset(&self, account_id: &str, id: &str) -> Result<u64, StoreError> {
        // The count read here must still hold when the delete commits, or a record written
        // in between would be released from the account's count twice or not at all.
        for _ in 0..5 {
            let Some(dataset) = self.get_dataset(account_id, id).await? else {
                return Err(StoreError::NotFound);
            };
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::account_pk(account_id), keys::dataset_sk(id))))
                .condition_expression("recordCount = :n")
                .expression_attribute_values(":n", AttributeValue::N(dataset.record_count.to_string()))
                .build()
                .map_err(tx_error)?;
            let release = counter_update(
                &self.table,
                key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()),
                "recordCount",
                -(dataset.record_count as i64),
                "attribute_exists(pk)",
                &[],
            )?;
            let marker = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&Keyed {
                    pk: keys::account_pk(account_id),
                    sk: keys::purge_sk(id),
                    data: PurgeMarker {
                        dataset_id: id.to_string(),
                        record_count: dataset.record_count,
                    },
                })?))
                .build()
                .map_err(tx_error)?;
            let result = self
                .transact(vec![
                    TransactWriteItem::builder().delete(delete).build(),
                    release,
                    TransactWriteItem::builder().put(marker).build(),
                ])
                .await;
            match result {
                Ok(_) => return Ok(dataset.record_count),
                Err(e) if cancelled_conditions(&e).is_some() => continue,
                Err(e) => return Err(tx_error(e)),
            }
        }
        Err(StoreError::Conflict("records are being written to the dataset"))
    }

    async fn purge_pending(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let item = self
            .get(&self.table, key(keys::account_pk(account_id), keys::purge_sk(id)))
            .await?;
        Ok(item.is_some())
    }

    async fn finish_purge(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::account_pk(account_id), keys::purge_sk(id))))
            .send()
            .await
            .map_err(|e| StoreError::aws("DeleteItem", e))?;
        Ok(())
    }
}

/// What a purge marker holds, for an operator reading the table.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PurgeMarker {
    dataset_id: String,
    record_count: u64,
}
