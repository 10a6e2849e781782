//! DynamoDB side of sync bookkeeping ([`SyncStateStore`]): conditional writes on the
//! integration item for the cooldown and the pending flag, the checkpoint item
//! (`ACCOUNT#<account>` / `SYNC#<integration>`) with its lease, and the page index
//! (`SYNCIDX#<integration>` / `PAGE#<page id>`).

use super::{av, from_item, held, key, missing_on_condition, s, to_item, DynamoStore, Item};
use crate::aws::keys;
use crate::domain::integration::SyncStatus;
use crate::domain::run::{Checkpoint, PageEntry, SyncProgress};
use crate::error::StoreError;
use crate::ports::{Acquired, SyncOutcome, SyncStateStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckpointItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    checkpoint: Checkpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease_owner: Option<String>,
    #[serde(default)]
    lease_until: i64,
}

#[derive(Serialize, Deserialize)]
struct PageItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    entry: PageEntry,
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl DynamoStore {
    fn checkpoint_key(account_id: &str, id: &str) -> Item {
        key(keys::account_pk(account_id), keys::sync_sk(id))
    }

    fn integration_key(account_id: &str, id: &str) -> Item {
        key(keys::account_pk(account_id), keys::integration_sk(id))
    }

    async fn get_checkpoint(&self, account_id: &str, id: &str) -> Result<Option<CheckpointItem>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(Self::checkpoint_key(account_id, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        out.item.map(from_item).transpose()
    }

    fn checkpoint_item(
        account_id: &str,
        id: &str,
        checkpoint: &Checkpoint,
        owner: Option<&str>,
        lease_until: i64,
    ) -> CheckpointItem {
        CheckpointItem {
            pk: keys::account_pk(account_id),
            sk: keys::sync_sk(id),
            checkpoint: checkpoint.clone(),
            lease_owner: owner.map(str::to_string),
            lease_until: if owner.is_some() { lease_until } else { 0 },
        }
    }
}

#[async_trait]
impl SyncStateStore for DynamoStore {
    async fn claim_manual_sync(&self, account_id: &str, id: &str, now: i64, cutoff: i64) -> Result<bool, StoreError> {
        self.update_if(
            Self::integration_key(account_id, id),
            "SET lastManualSyncAt = :now",
            "attribute_exists(pk) AND (attribute_not_exists(lastManualSyncAt) OR lastManualSyncAt <= :cutoff)",
            &[(":now", n(now)), (":cutoff", n(cutoff))],
            &[],
        )
        .await
    }

    async fn request_sync(
        &self,
        account_id: &str,
        id: &str,
        run_id: &str,
        now: i64,
        stale_before: i64,
        targeted: bool,
    ) -> Result<bool, StoreError> {
        self.update_if(
            Self::integration_key(account_id, id),
            "SET syncStatus = :pending, pendingRunId = :run, pendingSince = :now, pendingTargeted = :targeted",
            "attribute_exists(pk) AND (attribute_not_exists(syncStatus) OR syncStatus <> :pending OR attribute_not_exists(pendingSince) OR pendingSince < :stale)",
            &[
                (":targeted", AttributeValue::Bool(targeted)),
                (":pending", s("pending")),
                (":run", s(run_id)),
                (":now", n(now)),
                (":stale", n(stale_before)),
            ],
            &[],
        )
        .await
    }

    async fn defer_full_sync(
        &self,
        account_id: &str,
        id: &str,
        trigger: crate::domain::sync::Trigger,
    ) -> Result<bool, StoreError> {
        self.update_if(
            Self::integration_key(account_id, id),
            "SET fullSyncRequested = :trigger",
            "syncStatus = :pending AND pendingTargeted = :yes",
            &[
                (":trigger", av(trigger)?),
                (":pending", s("pending")),
                (":yes", AttributeValue::Bool(true)),
            ],
            &[],
        )
        .await
    }

    async fn cancel_sync_request(&self, account_id: &str, id: &str, run_id: &str) -> Result<(), StoreError> {
        // Not pending for this run any more (the condition fails): nothing to undo.
        self.update_if(
            Self::integration_key(account_id, id),
            "REMOVE pendingRunId, pendingSince, syncStatus",
            "pendingRunId = :run",
            &[(":run", s(run_id))],
            &[],
        )
        .await
        .map(|_| ())
    }

    async fn acquire_run(
        &self,
        account_id: &str,
        id: &str,
        run_id: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Acquired, StoreError> {
        let Some(item) = self.get_checkpoint(account_id, id).await? else {
            return Ok(Acquired::NotStarted(crate::ports::PreviousRun::default()));
        };
        if item.checkpoint.run_id() != run_id {
            return Ok(if !item.checkpoint.is_done() && item.lease_until > now {
                Acquired::Busy
            } else {
                Acquired::NotStarted(crate::ports::PreviousRun::of(&item.checkpoint))
            });
        }
        if item.checkpoint.is_done() {
            return Ok(Acquired::Finished);
        }
        let leased = self
            .update_if(
                Self::checkpoint_key(account_id, id),
                "SET leaseOwner = :me, leaseUntil = :until, invocations = invocations + :one",
                "runId = :run AND #state = :running AND (attribute_not_exists(leaseOwner) OR leaseUntil < :now)",
                &[
                    (":me", s(owner)),
                    (":until", n(lease_until)),
                    (":run", s(run_id)),
                    (":running", s("running")),
                    (":now", n(now)),
                    (":one", n(1)),
                ],
                &[("#state", "state")],
            )
            .await?;
        if !leased {
            return Ok(Acquired::Busy);
        }
        let mut checkpoint = item.checkpoint;
        checkpoint.resumed();
        Ok(Acquired::Resumed(Box::new(checkpoint)))
    }

    async fn start_run(
        &self,
        account_id: &str,
        id: &str,
        checkpoint: &Checkpoint,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let item = Self::checkpoint_item(account_id, id, checkpoint, Some(owner), lease_until);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(pk) OR runId <> :run")
            .expression_attribute_values(":run", s(checkpoint.run_id()))
            .send()
            .await;
        held(result, "PutItem")
    }

    async fn save_checkpoint(
        &self,
        account_id: &str,
        id: &str,
        checkpoint: &Checkpoint,
        holder: &str,
        owner: Option<&str>,
        lease_until: i64,
    ) -> Result<(), StoreError> {
        let item = Self::checkpoint_item(account_id, id, checkpoint, owner, lease_until);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(&item)?))
            .condition_expression("leaseOwner = :me")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        if held(result, "PutItem")? {
            Ok(())
        } else {
            Err(StoreError::Conflict("the run's lease was lost"))
        }
    }

    async fn claim_token_refresh(&self, account_id: &str, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        self.update_if(
            Self::integration_key(account_id, id),
            "SET refreshingUntil = :until",
            "attribute_exists(pk) AND (attribute_not_exists(refreshingUntil) OR refreshingUntil < :now)",
            &[(":until", n(until)), (":now", n(now))],
            &[],
        )
        .await
    }

    async fn release_token_refresh(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        // Conditional, so a deleted integration is not re-created as a bare item.
        self.update_if(
            Self::integration_key(account_id, id),
            "REMOVE refreshingUntil",
            "attribute_exists(pk)",
            &[],
            &[],
        )
        .await
        .map(|_| ())
    }

    async fn workspace_backoff(&self, workspace_id: &str) -> Result<Option<i64>, StoreError> {
        let (pk, sk) = keys::workspace_backoff_key(workspace_id);
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .projection_expression("untilMs")
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        Ok(out.item.and_then(|item| {
            item.get("untilMs")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
        }))
    }

    async fn share_workspace_backoff(&self, workspace_id: &str, until_ms: i64) -> Result<(), StoreError> {
        let (pk, sk) = keys::workspace_backoff_key(workspace_id);
        // Kept a day past the wait, for whoever reads it late; DynamoDB's TTL removes it.
        let ttl = until_ms / 1_000 + 86_400;
        self.update_if(
            key(pk, sk),
            "SET untilMs = :until, #ttl = :ttl",
            "attribute_not_exists(untilMs) OR untilMs < :until",
            &[(":until", n(until_ms)), (":ttl", n(ttl))],
            &[("#ttl", keys::MAIN_TTL_ATTRIBUTE)],
        )
        .await
        .map(|_| ())
    }

    async fn report_progress(&self, account_id: &str, id: &str, progress: &SyncProgress) -> Result<(), StoreError> {
        let updated = self
            .update_if(
                Self::integration_key(account_id, id),
                "SET syncProgress = :p",
                "attribute_exists(pk)",
                &[(":p", av(progress)?)],
                &[],
            )
            .await?;
        if updated {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn finish_sync(
        &self,
        account_id: &str,
        id: &str,
        outcome: &SyncOutcome,
    ) -> Result<Option<crate::domain::sync::Trigger>, StoreError> {
        let status = match outcome.status {
            SyncStatus::Pending => "pending",
            SyncStatus::Synced => "synced",
            SyncStatus::Error => "error",
        };
        let mut expression = String::from("SET syncStatus = :status, lastSyncSummary = :summary");
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(Self::integration_key(account_id, id)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":summary", av(&outcome.summary)?);
        if let Some(at) = &outcome.last_synced_at {
            expression.push_str(", lastSyncedAt = :at");
            request = request.expression_attribute_values(":at", s(at.clone()));
        }
        match &outcome.error {
            Some(error) => {
                expression.push_str(", syncError = :error REMOVE pendingRunId, pendingSince");
                request = request.expression_attribute_values(":error", s(error.clone()));
            }
            None => expression.push_str(" REMOVE syncError, pendingRunId, pendingSince"),
        }
        expression.push_str(", syncProgress, pendingTargeted, fullSyncRequested");
        let out = request
            .update_expression(expression)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
            .send()
            .await
            .map_err(missing_on_condition("UpdateItem"))?;
        let deferred = out
            .attributes
            .and_then(|mut old| old.remove("fullSyncRequested"))
            .map(serde_dynamo::from_attribute_value::<_, crate::domain::sync::Trigger>)
            .transpose()
            .map_err(|e| StoreError::Corrupt(Box::new(e)))?;
        Ok(deferred)
    }

    async fn load_pages(&self, id: &str) -> Result<Vec<PageEntry>, StoreError> {
        let items = self.query_all(self.table(), keys::sync_index_pk(id), None).await?;
        items
            .into_iter()
            .map(|item| from_item::<PageItem>(item).map(|p| p.entry))
            .collect()
    }

    async fn load_page(&self, id: &str, page_id: &str) -> Result<Option<PageEntry>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(keys::PK, AttributeValue::S(keys::sync_index_pk(id)))
            .key(keys::SK, AttributeValue::S(keys::sync_page_sk(page_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        out.item
            .map(|item| from_item::<PageItem>(item).map(|p| p.entry))
            .transpose()
    }

    async fn put_pages(&self, id: &str, pages: &[PageEntry]) -> Result<(), StoreError> {
        let mut requests = Vec::with_capacity(pages.len());
        for entry in pages {
            let item = PageItem {
                pk: keys::sync_index_pk(id),
                sk: keys::sync_page_sk(&entry.page_id),
                entry: entry.clone(),
            };
            let put = PutRequest::builder()
                .set_item(Some(to_item(&item)?))
                .build()
                .map_err(|e| StoreError::aws("BatchWriteItem", e))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(self.table(), requests).await
    }

    async fn delete_pages(&self, id: &str, page_ids: &[String]) -> Result<(), StoreError> {
        let item_keys = page_ids
            .iter()
            .map(|p| key(keys::sync_index_pk(id), keys::sync_page_sk(p)))
            .collect();
        self.batch_delete(self.table(), item_keys).await
    }

    async fn delete_sync_state(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(Self::checkpoint_key(account_id, id)))
            .send()
            .await
            .map_err(|e| StoreError::aws("DeleteItem", e))?;
        let pages: Vec<String> = self.load_pages(id).await?.into_iter().map(|p| p.page_id).collect();
        self.delete_pages(id, &pages).await
    }
}
