//! What a listing's answer changes in the [`Frontier`] (search, databases found in content,
//! data sources' rows), and which request goes next.

use super::listings::{Listed, Listing};
use super::Frontier;
use crate::domain::run::{SourceCursor, SourceStep};
use crate::notion::api::NotionError;
use crate::notion::model::{DatabaseInfo, ListPage, PageInfo};
use serde_json::Value;

/// How many times one run lists again after Notion invalidates a cursor.
pub(super) const MAX_CURSOR_RESTARTS: u32 = 3;

/// Notion's answer to a cursor it no longer accepts (400 `validation_error`,
/// "start_cursor provided is invalid").
fn is_expired_cursor(e: &NotionError) -> bool {
    matches!(e, NotionError::Invalid { code, message } if code == "validation_error" && message.contains("start_cursor"))
}

impl Frontier {
    /// Applies a listing answer. `Err` carries an error the run must act on (a 401 or a
    /// long `Retry-After` halts it; any other error leaves the enumeration incomplete).
    pub fn apply_listing(&mut self, listed: Listed) -> Result<(), NotionError> {
        if let Some(e) = listed.rate_limited() {
            // Notion asked for a long wait: the listing is asked again, from where it stood,
            // in the invocation after it.
            self.in_flight.remove(&listed.listing());
            return Err(e);
        }
        let result = match listed {
            Listed::Search(result) => {
                self.in_flight.remove(&Listing::Search);
                self.apply_search(result)
            }
            Listed::Database(id, result) => {
                self.in_flight.remove(&Listing::Database(id.clone()));
                self.cp.database_listed(&id);
                // A targeted run lists a database named by an event for rows edited since
                // the last run; one brought in with a page, whole.
                let edited_since = self
                    .cp
                    .targets()
                    .filter(|t| !t.whole_databases.contains(&id))
                    .and_then(|t| t.edited_since.clone());
                self.apply_database(&id, result, edited_since)
            }
            Listed::Source(source, result) => {
                self.in_flight.remove(&Listing::Source(source.id.clone()));
                self.apply_source(source, result)
            }
        };
        if let Err(e) = &result {
            if !matches!(e, NotionError::Unauthorized) {
                tracing::warn!(run = %self.run, error = %e, "listing failed");
                self.cp.mark_incomplete();
            }
        }
        result
    }

    fn apply_database(
        &mut self,
        id: &str,
        result: Result<DatabaseInfo, NotionError>,
        edited_since: Option<String>,
    ) -> Result<(), NotionError> {
        match result {
            Ok(info) => {
                self.cp.note_container(id, Some(info.title), info.parent_page);
                for s in info.sources {
                    self.cp.add_source(&s, edited_since.clone());
                }
                Ok(())
            }
            Err(NotionError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn apply_search(&mut self, result: Result<ListPage, NotionError>) -> Result<(), NotionError> {
        match result {
            Ok(page) => {
                for result in &page.results {
                    match result.get("object").and_then(Value::as_str) {
                        Some("page") => {
                            if let Some(info) = PageInfo::from_json(result).filter(|p| !p.in_trash) {
                                // A row whose properties this answer left out (2026-12-01):
                                // its data source's query gives them, one request per 100
                                // rows, where retrieving it would cost one each. The query
                                // is added here, since the database itself may be one
                                // search does not list, found only in a page's content.
                                let partial = page.title_only && info.data_source_id.is_some();
                                if let (true, Some(source)) = (partial, &info.data_source_id) {
                                    self.cp.add_source(source, None);
                                }
                                self.seen(info, partial);
                            }
                        }
                        Some("data_source") => {
                            if let Some(id) = result.get("id").and_then(Value::as_str) {
                                self.cp.add_source(id, None);
                            }
                            // A data source names its database, with the database's parent.
                            if let Some(db) = result.pointer("/parent/database_id").and_then(Value::as_str) {
                                let title = crate::notion::model::plain_text(result.get("title"));
                                let parent = result
                                    .pointer("/database_parent/page_id")
                                    .and_then(Value::as_str)
                                    .map(str::to_string);
                                self.cp.note_container(db, Some(title), parent);
                            }
                        }
                        _ => {}
                    }
                }
                self.cp.searched(page.next_cursor);
                if page.capped {
                    self.listing_fell_short("Notion's search stopped at its 10,000-result limit");
                }
                Ok(())
            }
            Err(e @ NotionError::Unauthorized) => Err(e),
            Err(e) if is_expired_cursor(&e) && self.cp.restart_cursor(None, MAX_CURSOR_RESTARTS) => {
                // Notion invalidated the cursor (it does after a while): list again from the
                // start; pages already seen this run are not read twice.
                tracing::warn!(run = %self.run, "search cursor expired; listing again from the start");
                Ok(())
            }
            Err(e) => {
                // Cursors that keep expiring, or a persistent failure: the listing is short.
                tracing::warn!(run = %self.run, error = %e, "search failed");
                self.cp.search_abandoned();
                self.listing_fell_short(&format!("Notion's search failed ({e})"));
                Ok(())
            }
        }
    }

    /// A listing returned less than the workspace holds. Known pages it did not return are
    /// checked one by one once the listings are done, so deletions stay exact.
    fn listing_fell_short(&mut self, reason: &str) {
        tracing::warn!(run = %self.run, reason, "listing fell short; known pages will be checked one by one");
        self.cp.fell_short(reason);
    }

    fn apply_source(&mut self, source: SourceCursor, result: Result<ListPage, NotionError>) -> Result<(), NotionError> {
        match result {
            Ok(page) => {
                let mut last_created = source.last_created.clone();
                for row in &page.results {
                    if let Some(created) = row.get("created_time").and_then(Value::as_str) {
                        last_created = Some(created.to_string());
                    }
                    if let Some(info) = PageInfo::from_json(row).filter(|p| !p.in_trash) {
                        self.seen(info, false);
                    }
                }
                // A capped window continues as a new query from its last row's creation minute
                // (rows of that minute are seen twice, harmlessly), unless it cannot advance.
                let next_window = match (page.capped, &last_created) {
                    (true, Some(last)) if source.since.as_deref() != Some(last.as_str()) => Some(last.clone()),
                    (true, _) => {
                        self.listing_fell_short(
                            "a data source holds over 10,000 rows created in one minute, past Notion's per-query limit",
                        );
                        None
                    }
                    _ => None,
                };
                let step = match (page.next_cursor, next_window) {
                    (Some(cursor), _) => SourceStep::Next { cursor, last_created },
                    (None, Some(since)) => {
                        tracing::info!(run = %self.run, source = %source.id, since, "data source capped; reading the next created_time window");
                        SourceStep::Window { since }
                    }
                    (None, None) => SourceStep::Done,
                };
                self.cp.advance_source(&source.id, step);
                Ok(())
            }
            Err(NotionError::NotFound(_)) => {
                self.cp.advance_source(&source.id, SourceStep::Done);
                Ok(())
            }
            Err(e) if is_expired_cursor(&e) && self.cp.restart_cursor(Some(&source.id), MAX_CURSOR_RESTARTS) => {
                tracing::warn!(run = %self.run, source = %source.id, "data source cursor expired; listing it again from the start");
                Ok(())
            }
            Err(e) if is_expired_cursor(&e) => {
                self.cp.advance_source(&source.id, SourceStep::Done);
                self.listing_fell_short(&format!("a data source listing failed ({e})"));
                Ok(())
            }
            Err(e) => {
                self.cp.advance_source(&source.id, SourceStep::Done);
                Err(e)
            }
        }
    }
}
