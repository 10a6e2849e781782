//! `GET /event/log/list`: the account's event log (SPEC §2.3), newest first by default,
//! with the same paging and JSON Lines as the other lists and two filters:
//! `notionIntegrationId=` (also for a deleted integration: its events outlive it) and
//! `type=`.

use super::{not_served, Answers, Call, Handler};
use crate::domain::event::{Event, EventFilter, EventType};
use crate::domain::fields::{FieldError, InputError};
use crate::domain::ids::{self, IdKind};
use crate::domain::paging::ListQuery;
use crate::domain::time::Clock;
use crate::error::{ApiError, ConfigError};
use crate::http::request::list_query_with;
use crate::http::routes::Route;
use crate::ports::{EventLog, Provide};
use lambda_http::{Body, Response};
use std::sync::Arc;

/// What the event log route uses.
pub struct EventLogList {
    /// The event log.
    pub events: Arc<dyn EventLog>,
    /// The current time (expired events are never listed).
    pub clock: Arc<dyn Clock>,
    /// How answers present resources.
    pub answers: Answers,
}

#[async_trait::async_trait]
impl Handler for EventLogList {
    fn build(p: &impl Provide) -> Result<Self, ConfigError> {
        Ok(Self {
            events: p.event_log(),
            clock: p.clock(),
            answers: Answers::of(p),
        })
    }

    async fn handle(&self, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
        match call.route {
            Route::EventLogList => list(self, call).await,
            other => not_served(other),
        }
    }
}

const INTEGRATION_FILTER: &str = "notionIntegrationId";
const TYPE_FILTER: &str = "type";

/// Reads the listing's filters; a malformed one is a validation error, never an empty list.
fn event_filter(query: &ListQuery) -> Result<EventFilter, InputError> {
    let mut invalid = Vec::new();
    let integration_id = query.filter(INTEGRATION_FILTER).map(str::to_string);
    if integration_id
        .as_deref()
        .is_some_and(|id| !ids::is_valid(IdKind::Integration, id))
    {
        invalid.push(FieldError::new(INTEGRATION_FILTER, "is not an integration id"));
    }
    let kind = match query.filter(TYPE_FILTER) {
        None => None,
        Some(name) => {
            let kind = EventType::parse(name);
            if kind.is_none() {
                let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                invalid.push(FieldError::new(
                    TYPE_FILTER,
                    format!("must be one of {}", known.join(", ")),
                ));
            }
            kind
        }
    };
    if invalid.is_empty() {
        Ok(EventFilter { integration_id, kind })
    } else {
        Err(InputError::Invalid(invalid))
    }
}

/// `GET /event/log/list`
pub async fn list(deps: &EventLogList, call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let query = list_query_with(call.req, &[INTEGRATION_FILTER, TYPE_FILTER])?;
    let filter = event_filter(&query)?;
    let now = deps.clock.now().timestamp();
    deps.answers
        .list(call, &query, Event::to_resource, || {
            deps.events.list_events(&call.account_id, &query, &filter, now)
        })
        .await
}
