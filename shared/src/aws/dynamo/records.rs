//! Records in the records table, counted on their dataset and account in the same
//! transaction; new records are written in shared transactions.

use super::*;

#[async_trait]
impl RecordStore for DynamoStore {
    async fn list_records(&self, dataset_id: &str, query: &ListQuery, now: i64) -> Result<Page<Record>, StoreError> {
        let pk = keys::records_pk(dataset_id);
        let start_pk = pk.clone();
        let listing = Listing {
            table: &self.records_table,
            index: Some(keys::BY_CREATED_INDEX),
            pk,
            sk_prefix: None,
            position_attr: CREATED,
            start_key: Box::new(move |position| {
                keys::record_id_from_created(position).map(|id| {
                    let mut k = key(start_pk.clone(), keys::record_sk(id));
                    k.insert(CREATED.to_string(), s(position));
                    k
                })
            }),
        };
        let page = self
            .list::<RecordItem>(listing, query, |r| {
                !r.data.is_expired(now) && query.matches_meta(&r.data.meta)
            })
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|r| r.data).collect(),
            next: page.next,
        })
    }

    async fn get_record(&self, dataset_id: &str, record_id: &str, now: i64) -> Result<Option<Record>, StoreError> {
        let item = self
            .get(
                &self.records_table,
                key(keys::records_pk(dataset_id), keys::record_sk(record_id)),
            )
            .await?;
        let record = item.map(|i| from_item::<RecordItem>(i).map(|r| r.data)).transpose()?;
        Ok(record.filter(|r| !r.is_expired(now)))
    }

    async fn put_record(&self, account_id: &str, record: &Record) -> Result<bool, StoreError> {
        let put = self.new_record_put(record)?;
        // Named positions of the transaction's items.
        const RECORD: usize = 0;
        const DATASET_COUNT: usize = 1;
        const ACCOUNT_COUNT: usize = 2;
        let dataset_count = counter_update(
            &self.table,
            key(keys::account_pk(account_id), keys::dataset_sk(&record.dataset_id)),
            "recordCount",
            1,
            "attribute_exists(pk)",
            &[],
        )?;
        // The account's plan caps the records it holds across its datasets.
        let account_count = counter_update(
            &self.table,
            key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()),
            "recordCount",
            1,
            "attribute_exists(pk) AND recordCount < maxRecords",
            &[],
        )?;
        let created = self
            .transact(vec![
                TransactWriteItem::builder().put(put).build(),
                dataset_count,
                account_count,
            ])
            .await;
        match created {
            Ok(_) => return Ok(true),
            Err(e) => match cancelled_conditions(&e) {
                Some(failed) if failed.at(RECORD) => {}
                Some(failed) if failed.at(ACCOUNT_COUNT) && !failed.at(DATASET_COUNT) => {
                    return Err(StoreError::LimitExceeded("records"))
                }
                Some(_) => return Err(StoreError::NotFound),
                None => return Err(tx_error(e)),
            },
        }
        // The record exists: replace its content, keep its creation time.
        self.replace_record(record).await.map_err(|e| match e {
            ReplaceError::Missing => StoreError::Conflict("record was deleted while being updated"),
            ReplaceError::Store(e) => e,
        })?;
        Ok(false)
    }

    async fn put_new_records(&self, account_id: &str, records: &[Record]) -> Result<(), (usize, StoreError)> {
        let mut done = 0;
        for group in transaction_groups(records) {
            match self.put_group(account_id, group).await {
                Ok(true) => {}
                Ok(false) => {
                    // Cancelled (a record existed, or the plan's room is short): write one by
                    // one, which updates existing records and stops exactly at the limit.
                    for (i, record) in group.iter().enumerate() {
                        self.put_record(account_id, record).await.map_err(|e| (done + i, e))?;
                    }
                }
                Err(e) => return Err((done, e)),
            }
            done += group.len();
        }
        Ok(())
    }

    async fn update_existing_record(&self, account_id: &str, record: &Record) -> Result<(), StoreError> {
        match self.replace_record(record).await {
            Ok(()) => Ok(()),
            Err(ReplaceError::Missing) => self.put_record(account_id, record).await.map(|_| ()),
            Err(ReplaceError::Store(e)) => Err(e),
        }
    }

    async fn update_record(
        &self,
        dataset_id: &str,
        record_id: &str,
        patch: &RecordPatch,
        updated_at: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut expr = UpdateExpression::default();
        expr.set("updatedAt", s(updated_at));
        expr.set_text("text", &patch.text);
        expr.set_text("source", &patch.source);
        expr.set_meta(&patch.meta);
        let ttl = expr.name(keys::TTL_ATTRIBUTE);
        self.update_with(
            &self.records_table,
            key(keys::records_pk(dataset_id), keys::record_sk(record_id)),
            expr,
            &format!("attribute_exists(pk) AND (attribute_not_exists({ttl}) OR {ttl} > :now)"),
            &[(":now", AttributeValue::N(now.to_string()))],
        )
        .await
    }

    async fn delete_record(&self, account_id: &str, dataset_id: &str, record_id: &str) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.records_table)
            .set_key(Some(key(keys::records_pk(dataset_id), keys::record_sk(record_id))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(tx_error)?;
        let release = |k: Item| counter_update(&self.table, k, "recordCount", -1, "attribute_exists(pk)", &[]);
        let dataset = release(key(keys::account_pk(account_id), keys::dataset_sk(dataset_id)))?;
        let account = release(key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()))?;
        let result = self
            .transact(vec![
                TransactWriteItem::builder().delete(delete).build(),
                dataset,
                account,
            ])
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already gone, or its dataset was deleted (and its records released with it).
            Err(e) if cancelled_conditions(&e).is_some() => Ok(()),
            Err(e) => Err(tx_error(e)),
        }
    }

    async fn purge_records(&self, dataset_id: &str, limit: usize) -> Result<(u64, bool), StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        let finished = loop {
            let out = self
                .client
                .query()
                .table_name(&self.records_table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(keys::records_pk(dataset_id)))
                .projection_expression("pk, sk")
                .limit((limit - keys.len()).min(1_000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            keys.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                None => break true,
                Some(_) if keys.len() >= limit => break false,
                Some(k) => start = Some(k),
            }
        };
        let purged = keys.len() as u64;
        self.batch_delete(&self.records_table, keys).await?;
        Ok((purged, finished))
    }
}

/// Why replacing a record failed.
enum ReplaceError {
    /// It does not exist.
    Missing,
    /// Anything else.
    Store(StoreError),
}

/// Largest records per transaction: DynamoDB takes 100 items, two are the counters.
const MAX_GROUP_RECORDS: usize = 98;
/// Largest transaction payload kept (DynamoDB refuses over 4 MB).
const MAX_GROUP_BYTES: usize = 3_000_000;

/// Splits records into transaction-sized groups, in order.
fn transaction_groups(records: &[Record]) -> Vec<&[Record]> {
    let mut groups = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, record) in records.iter().enumerate() {
        let size = record.text.len() + record.source.len() + 1_024;
        if i > start && (i - start == MAX_GROUP_RECORDS || bytes + size > MAX_GROUP_BYTES) {
            groups.push(&records[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < records.len() {
        groups.push(&records[start..]);
    }
    groups
}

impl DynamoStore {
    /// The transaction item writing `record` only if it does not exist yet.
    fn new_record_put(&self, record: &Record) -> Result<Put, StoreError> {
        let item = RecordItem {
            pk: keys::records_pk(&record.dataset_id),
            sk: keys::record_sk(&record.id),
            created: keys::record_created(&record.created_at, &record.id),
            data: record.clone(),
        };
        insert_put(&self.records_table, &item)
    }

    /// Replaces an existing record's content, keeping its creation time.
    async fn replace_record(&self, record: &Record) -> Result<(), ReplaceError> {
        let mut expr = UpdateExpression::default();
        expr.set("text", s(record.text.clone()));
        expr.set("source", s(record.source.clone()));
        expr.set("meta", s(meta_text::to_text(&record.meta)));
        expr.set("updatedAt", s(record.updated_at.clone()));
        match record.expires_at {
            Some(t) => expr.set(keys::TTL_ATTRIBUTE, AttributeValue::N(t.to_string())),
            None => expr.remove(keys::TTL_ATTRIBUTE),
        }
        self.client
            .update_item()
            .table_name(&self.records_table)
            .set_key(Some(key(
                keys::records_pk(&record.dataset_id),
                keys::record_sk(&record.id),
            )))
            .update_expression(expr.text())
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .send()
            .await
            .map_err(|e| {
                if is_condition_failure(&e) {
                    ReplaceError::Missing
                } else {
                    ReplaceError::Store(StoreError::aws("UpdateItem", e))
                }
            })?;
        Ok(())
    }

    /// Writes new records of one dataset in one transaction with one update of each
    /// counter. `Ok(false)` when cancelled (a record exists, the dataset is gone, or the
    /// plan has no room for all of them): nothing was written.
    async fn put_group(&self, account_id: &str, records: &[Record]) -> Result<bool, StoreError> {
        let Some(first) = records.first() else {
            return Ok(true);
        };
        let n = records.len() as u64;
        // Room for all of them, read first: a condition cannot add to an attribute.
        let account = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::account_pk(account_id), keys::ACCOUNT_SK.into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?
            .item
            .map(from_item::<AccountItem>)
            .transpose()?;
        let Some(account) = account else {
            return Ok(false);
        };
        let Some(room_until) = account.plan.max_records.checked_sub(n) else {
            return Ok(false);
        };
        let mut items = Vec::with_capacity(records.len() + 2);
        for record in records {
            items.push(TransactWriteItem::builder().put(self.new_record_put(record)?).build());
        }
        let dataset = counter_update(
            &self.table,
            key(keys::account_pk(account_id), keys::dataset_sk(&first.dataset_id)),
            "recordCount",
            n as i64,
            "attribute_exists(pk)",
            &[],
        )?;
        let account = counter_update(
            &self.table,
            key(keys::account_pk(account_id), keys::ACCOUNT_SK.into()),
            "recordCount",
            n as i64,
            "attribute_exists(pk) AND recordCount <= :room",
            &[(":room", room_until)],
        )?;
        items.push(dataset);
        items.push(account);
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if cancelled_conditions(&e).is_some() => Ok(false),
            Err(e) => Err(tx_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_expression_uses_placeholders() {
        let mut e = UpdateExpression::default();
        e.set("name", s("x"));
        e.remove("datasetId");
        assert_eq!(e.text(), "SET #a0 = :v0 REMOVE #a1");
        assert_eq!(e.names["#a0"], "name");
        assert_eq!(e.names["#a1"], "datasetId");
    }

    fn record(text_bytes: usize) -> Record {
        Record {
            id: "r".into(),
            dataset_id: "d".into(),
            text: "x".repeat(text_bytes),
            source: String::new(),
            meta: Default::default(),
            created_at: String::new(),
            updated_at: String::new(),
            expires_at: None,
        }
    }

    #[test]
    fn transaction_groups_respect_item_and_size_limits_and_keep_order() {
        let small: Vec<Record> = (0..250).map(|_| record(10)).collect();
        let sizes: Vec<usize> = transaction_groups(&small).iter().map(|g| g.len()).collect();
        assert_eq!(sizes, vec![98, 98, 54]);
        let big: Vec<Record> = (0..40).map(|_| record(100_000)).collect();
        let groups = transaction_groups(&big);
        assert!(
            groups.iter().all(|g| g.len() * 101_024 <= MAX_GROUP_BYTES),
            "{}",
            groups.len()
        );
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), 40);
        assert!(transaction_groups(&[]).is_empty());
        let one = [record(5_000_000)];
        assert_eq!(
            transaction_groups(&one).len(),
            1,
            "an oversized record still goes alone"
        );
    }
}
