//! What a listing's answer changes in the [`Frontier`] (search, databases found in content,
//! data sources' rows), and which request goes next.

use super::listings::{Listed, Listing};
use super::Frontier;
use crate::domain::run::SourceCursor;
use crate::notion::api::NotionError;
use crate::notion::model::{ListPage, PageInfo};
use serde_json::Value;

/// How many times one run lists again after Notion invalidates a cursor.
pub(super) const MAX_CURSOR_RESTARTS: u32 = 3;

/// Notion's answer to a cursor it no longer accepts (400 `validation_error`,
/// "start_cursor provided is invalid").
fn is_expired_cursor(e: &NotionError) -> bool {
    matches!(e, NotionError::Invalid { code, message } if code == "validation_error" && message.contains("start_cursor"))
}

impl Frontier {
    pub(super) fn add_database(&mut self, id: &str) {
        if !self.cp.known_sources.iter().any(|k| k == id) {
            self.cp.known_sources.push(id.to_string());
            self.cp.databases.push(id.to_string());
        }
    }

    fn add_source(&mut self, id: &str, edited_since: Option<String>) {
        if !self.cp.known_sources.iter().any(|k| k == id) {
            self.cp.known_sources.push(id.to_string());
            self.cp.sources.push(SourceCursor {
                id: id.to_string(),
                edited_since,
                ..SourceCursor::default()
            });
        }
    }

    /// Applies a listing answer. `Err` carries an error the run must act on (a 401 halts
    /// it; any other error leaves the enumeration incomplete).
    pub fn apply_listing(&mut self, listed: Listed) -> Result<(), NotionError> {
        let result = match listed {
            Listed::Search(result) => {
                self.in_flight.remove(&Listing::Search);
                self.apply_search(result)
            }
            Listed::Database(id, result) => {
                self.in_flight.remove(&Listing::Database(id.clone()));
                self.cp.databases.retain(|d| *d != id);
                // A targeted run lists a database named by an event for rows edited since
                // the last run; one brought in with a page, whole.
                let edited_since = self
                    .cp
                    .targets
                    .as_ref()
                    .filter(|t| !t.whole_databases.contains(&id))
                    .and_then(|t| t.edited_since.clone());
                self.apply_database(result, edited_since)
            }
            Listed::Source(source, result) => {
                self.in_flight.remove(&Listing::Source(source.id.clone()));
                self.apply_source(source, result)
            }
        };
        if let Err(e) = &result {
            if !matches!(e, NotionError::Unauthorized) {
                tracing::warn!(run = %self.run, error = %e, "listing failed");
                self.cp.incomplete = true;
            }
        }
        result
    }

    fn apply_database(
        &mut self,
        result: Result<Vec<String>, NotionError>,
        edited_since: Option<String>,
    ) -> Result<(), NotionError> {
        match result {
            Ok(sources) => {
                for s in sources {
                    self.add_source(&s, edited_since.clone());
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
                                self.seen(info);
                            }
                        }
                        Some("data_source") => {
                            if let Some(id) = result.get("id").and_then(Value::as_str) {
                                self.add_source(id, None);
                            }
                        }
                        _ => {}
                    }
                }
                self.cp.search_cursor = page.next_cursor;
                self.cp.search_done = self.cp.search_cursor.is_none();
                if page.capped {
                    self.listing_fell_short("Notion's search stopped at its 10,000-result limit");
                }
                Ok(())
            }
            Err(e @ NotionError::Unauthorized) => Err(e),
            Err(e) if is_expired_cursor(&e) && self.cp.cursor_restarts < MAX_CURSOR_RESTARTS => {
                // Notion invalidated the cursor (it does after a while): list again from the
                // start; pages already seen this run are not read twice.
                self.cp.cursor_restarts += 1;
                tracing::warn!(run = %self.run, "search cursor expired; listing again from the start");
                self.cp.search_cursor = None;
                Ok(())
            }
            Err(e) => {
                // Cursors that keep expiring, or a persistent failure: the listing is short.
                tracing::warn!(run = %self.run, error = %e, "search failed");
                self.cp.search_done = true;
                self.cp.search_cursor = None;
                self.listing_fell_short(&format!("Notion's search failed ({e})"));
                Ok(())
            }
        }
    }

    /// A listing returned less than the workspace holds. Known pages it did not return are
    /// checked one by one once the listings are done, so deletions stay exact.
    fn listing_fell_short(&mut self, reason: &str) {
        tracing::warn!(run = %self.run, reason, "listing fell short; known pages will be checked one by one");
        if self.cp.listing_shortfall.is_none() {
            self.cp.listing_shortfall = Some(reason.to_string());
        }
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
                        self.seen(info);
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
                let position = self.cp.sources.iter().position(|s| s.id == source.id);
                match (page.next_cursor, next_window, position.map(|i| &mut self.cp.sources[i])) {
                    (Some(next), _, Some(first)) => {
                        first.cursor = Some(next);
                        first.last_created = last_created;
                    }
                    (None, Some(since), Some(first)) => {
                        tracing::info!(run = %self.run, source = %source.id, since, "data source capped; reading the next created_time window");
                        first.cursor = None;
                        first.since = Some(since);
                        first.last_created = None;
                    }
                    _ => self.cp.sources.retain(|s| s.id != source.id),
                }
                Ok(())
            }
            Err(NotionError::NotFound(_)) => {
                self.cp.sources.retain(|s| s.id != source.id);
                Ok(())
            }
            Err(e) if is_expired_cursor(&e) && self.cp.cursor_restarts < MAX_CURSOR_RESTARTS => {
                self.cp.cursor_restarts += 1;
                tracing::warn!(run = %self.run, source = %source.id, "data source cursor expired; listing it again from the start");
                if let Some(listed) = self.cp.sources.iter_mut().find(|s| s.id == source.id) {
                    listed.cursor = None;
                }
                Ok(())
            }
            Err(e) if is_expired_cursor(&e) => {
                self.cp.sources.retain(|s| s.id != source.id);
                self.listing_fell_short(&format!("a data source listing failed ({e})"));
                Ok(())
            }
            Err(e) => {
                self.cp.sources.retain(|s| s.id != source.id);
                Err(e)
            }
        }
    }
}
