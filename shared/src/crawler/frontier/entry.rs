//! What a run's marks and a listing's answer change in one page's index entry.

use crate::domain::run::PageEntry;
use crate::notion::model::PageInfo;

impl PageEntry {
    /// Takes what a listing or retrieval says of the page.
    pub(crate) fn apply_info(&mut self, info: PageInfo) {
        self.title = info.title;
        self.url = info.url;
        self.properties = info.property_lines;
        self.property_values = info.property_values;
        self.truncated_properties = info.truncated;
        self.database_id = info.database_id;
        self.data_source_id = info.data_source_id;
        if info.parent_id.is_some() {
            self.parent_id = info.parent_id;
        }
        self.last_edited = Some(info.last_edited_time);
        if self.database_id.is_some() {
            self.row_files = Some(info.files);
        }
    }

    /// Takes what an answer that left the properties out (search on 2026-12-01) says: what
    /// a full answer said of them stays, their lines, values and which it cut short (read
    /// whole through the property-item endpoint).
    pub(super) fn apply_title_only(&mut self, info: PageInfo) {
        let lines = std::mem::take(&mut self.properties);
        let values = std::mem::take(&mut self.property_values);
        let cut = std::mem::take(&mut self.truncated_properties);
        let files = self.row_files.take();
        self.apply_info(info);
        self.row_files = files;
        self.properties = lines;
        self.property_values = values;
        self.truncated_properties = cut;
    }

    pub(super) fn seen_in(&self, run: &str) -> bool {
        self.seen_run.as_deref() == Some(run)
    }

    pub(super) fn pending_in(&self, run: &str) -> bool {
        self.pending_run.as_deref() == Some(run)
    }

    pub(super) fn done_in(&self, run: &str) -> bool {
        self.done_run.as_deref() == Some(run)
    }

    /// Marks the page processed by `run`.
    pub(super) fn finish_in(&mut self, run: &str) {
        self.pending_run = None;
        self.done_run = Some(run.to_string());
    }
}
