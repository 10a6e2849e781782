//! Integration schedules in EventBridge Scheduler: one schedule per integration, named
//! `sync-<integration id>` in the schedule group, in UTC, targeting the schedule-trigger
//! function with `{"accountId", "integrationId"}` as input.

use crate::domain::schedule::SyncSchedule;
pub use crate::domain::sync::ScheduleInput;
use crate::error::StoreError;
use crate::ports::SyncScheduler;
use async_trait::async_trait;
use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState, Target};
use aws_sdk_scheduler::Client;

/// The schedule name of an integration.
pub fn schedule_name(integration_id: &str) -> String {
    format!("sync-{integration_id}")
}

/// EventBridge Scheduler-backed [`SyncScheduler`].
#[derive(Clone, Debug)]
pub struct EventBridgeScheduler {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
}

impl EventBridgeScheduler {
    /// Schedules in `group`, invoking `target_arn` as `role_arn`.
    pub fn new(
        client: Client,
        group: impl Into<String>,
        target_arn: impl Into<String>,
        role_arn: impl Into<String>,
    ) -> Self {
        Self {
            client,
            group: group.into(),
            target_arn: target_arn.into(),
            role_arn: role_arn.into(),
        }
    }

    /// An adapter that can only remove schedules (the schedule trigger removes a schedule
    /// its integration outlived; it never creates one).
    pub fn remover(client: Client, group: impl Into<String>) -> Self {
        Self::new(client, group, "", "")
    }

    fn target(&self, input: &ScheduleInput) -> Result<Target, StoreError> {
        if self.target_arn.is_empty() || self.role_arn.is_empty() {
            return Err(StoreError::aws(
                "CreateSchedule",
                "SCHEDULE_TARGET_ARN and SCHEDULE_ROLE_ARN are not configured for this function",
            ));
        }
        let input = serde_json::to_string(input).map_err(|e| StoreError::Corrupt(Box::new(e)))?;
        Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(3)
                    .maximum_event_age_in_seconds(3600)
                    .build(),
            )
            .build()
            .map_err(|e| StoreError::aws("CreateSchedule", e))
    }

    fn window() -> Result<FlexibleTimeWindow, StoreError> {
        FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| StoreError::aws("CreateSchedule", e))
    }
}

#[async_trait]
impl SyncScheduler for EventBridgeScheduler {
    async fn put_schedule(
        &self,
        account_id: &str,
        integration_id: &str,
        schedule: &SyncSchedule,
    ) -> Result<(), StoreError> {
        let name = schedule_name(integration_id);
        let input = ScheduleInput {
            account_id: account_id.into(),
            integration_id: integration_id.into(),
        };
        let description = format!("Notion sync of {integration_id} ({})", schedule.as_text());
        // Update, else create; two requests creating at once: the loser updates instead.
        for _ in 0..4 {
            let updated = self
                .client
                .update_schedule()
                .name(&name)
                .group_name(&self.group)
                .schedule_expression(schedule.to_eventbridge())
                .schedule_expression_timezone("UTC")
                .description(&description)
                .state(ScheduleState::Enabled)
                .flexible_time_window(Self::window()?)
                .target(self.target(&input)?)
                .send()
                .await;
            match updated {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(StoreError::aws("UpdateSchedule", e)),
            }
            let created = self
                .client
                .create_schedule()
                .name(&name)
                .group_name(&self.group)
                .schedule_expression(schedule.to_eventbridge())
                .schedule_expression_timezone("UTC")
                .description(&description)
                .state(ScheduleState::Enabled)
                .flexible_time_window(Self::window()?)
                .target(self.target(&input)?)
                .send()
                .await;
            match created {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == Some("ConflictException") => {}
                Err(e) => return Err(StoreError::aws("CreateSchedule", e)),
            }
        }
        Err(StoreError::Conflict(
            "the schedule was created and deleted concurrently, repeatedly",
        ))
    }

    async fn delete_schedule(&self, integration_id: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_schedule()
            .name(schedule_name(integration_id))
            .group_name(&self.group)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(StoreError::aws("DeleteSchedule", e)),
        }
    }
}

/// A schedule as stored, for inspection and local firing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSchedule {
    /// Schedule name.
    pub name: String,
    /// EventBridge expression.
    pub expression: String,
    /// Timezone of the expression.
    pub timezone: Option<String>,
    /// Whether it is enabled.
    pub enabled: bool,
    /// The target's input.
    pub input: Option<ScheduleInput>,
    /// The target's ARN.
    pub target_arn: String,
}

/// Every schedule of `group`.
pub async fn list_schedules(client: &Client, group: &str) -> Result<Vec<StoredSchedule>, StoreError> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .list_schedules()
            .group_name(group)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| StoreError::aws("ListSchedules", e))?;
        names.extend(out.schedules.into_iter().filter_map(|s| s.name));
        match out.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let mut schedules = Vec::with_capacity(names.len());
    for name in names {
        if let Some(s) = get_schedule(client, group, &name).await? {
            schedules.push(s);
        }
    }
    Ok(schedules)
}

/// One schedule, or none.
pub async fn get_schedule(client: &Client, group: &str, name: &str) -> Result<Option<StoredSchedule>, StoreError> {
    let got = client.get_schedule().name(name).group_name(group).send().await;
    match got {
        Ok(out) => Ok(Some(StoredSchedule {
            name: name.to_string(),
            expression: out.schedule_expression.unwrap_or_default(),
            timezone: out.schedule_expression_timezone,
            enabled: out.state != Some(ScheduleState::Disabled),
            input: out
                .target
                .as_ref()
                .and_then(|t| t.input.as_deref())
                .and_then(|i| serde_json::from_str(i).ok()),
            target_arn: out.target.map(|t| t.arn).unwrap_or_default(),
        })),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(StoreError::aws("GetSchedule", e)),
    }
}

/// Creates the schedule group unless it exists.
pub async fn ensure_group(client: &Client, group: &str) -> Result<(), StoreError> {
    match client.create_schedule_group().name(group).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ConflictException") => Ok(()),
        Err(e) => Err(StoreError::aws("CreateScheduleGroup", e)),
    }
}
