//! [`MemoryWorkspace`]: a Notion workspace answering the crawler's calls in-process, with
//! Notion's object shapes (`object`, `id`, `url`, `last_edited_time`, `in_trash`, title
//! properties, `child_page` blocks, paged lists with `next_cursor`). It is for testing the
//! crawler's logic fast; fidelity to Notion's documented rendering is the HTTP emulator's
//! job (`infra/notion-emulator`), which the end-to-end tests use.

use crate::notion::api::NotionError;
use crate::notion::api::{NotionApi, NotionConnector, Traffic};
use crate::notion::model::ListPage;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One page of the workspace.
#[derive(Clone, Debug, Default)]
pub struct MemoryPage {
    /// Title.
    pub title: String,
    /// Markdown body (without child page links, which come from `children`).
    pub body: String,
    /// Child pages, in order.
    pub children: Vec<String>,
    /// `last_edited_time`.
    pub edited: String,
    /// Whether search lists it (Notion's search is known to miss pages).
    pub searchable: bool,
    /// In trash.
    pub in_trash: bool,
}

#[derive(Debug, Default)]
struct Inner {
    pages: BTreeMap<String, MemoryPage>,
    token: String,
    /// Answer every call with 401 (a revoked token).
    revoked: bool,
    /// Answer every markdown request with 404 (the pages and blocks APIs still serve).
    markdown_refused: bool,
    /// Pages whose content (markdown and blocks) answers 404, though the pages API serves them.
    unreadable: std::collections::HashSet<String>,
}

/// A shared in-memory workspace; clones see the same pages.
#[derive(Clone, Debug, Default)]
pub struct MemoryWorkspace {
    inner: Arc<Mutex<Inner>>,
    /// Requests answered, over every session.
    requests: Arc<AtomicU64>,
    /// Requests of this session (one per [`NotionConnector::connect`]).
    session: Arc<AtomicU64>,
    page_size: usize,
}

impl MemoryWorkspace {
    /// An empty workspace answering to `token`, listing `page_size` results per page.
    pub fn new(token: &str, page_size: usize) -> Self {
        let ws = Self {
            page_size: page_size.max(1),
            ..Self::default()
        };
        ws.lock().token = token.into();
        ws
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds or replaces a page.
    pub fn put(&self, id: &str, page: MemoryPage) {
        self.lock().pages.insert(id.into(), page);
    }

    /// Edits a page in place.
    pub fn edit(&self, id: &str, change: impl FnOnce(&mut MemoryPage)) {
        if let Some(p) = self.lock().pages.get_mut(id) {
            change(p);
        }
    }

    /// Removes a page (deleted, or no longer shared).
    pub fn remove(&self, id: &str) {
        self.lock().pages.remove(id);
    }

    /// Makes every call answer 401.
    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    /// Makes the markdown endpoint answer 404 for every page.
    pub fn refuse_markdown(&self) {
        self.lock().markdown_refused = true;
    }

    /// Makes a page's content (markdown and blocks) answer 404; the pages API still lists
    /// and retrieves it.
    pub fn make_unreadable(&self, id: &str) {
        self.lock().unreadable.insert(id.to_string());
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn page_json(id: &str, page: &MemoryPage) -> Value {
        json!({
            "object": "page",
            "id": id,
            "url": format!("https://www.notion.so/{}", id.replace('-', "")),
            "created_time": "2026-01-01T00:00:00.000Z",
            "last_edited_time": page.edited,
            "in_trash": page.in_trash,
            "parent": {"type": "workspace", "workspace": true},
            "properties": {"title": {"id": "title", "type": "title", "title": [
                {"type": "text", "text": {"content": page.title}, "plain_text": page.title}
            ]}},
        })
    }

    /// A paged list of `items` from the position `cursor` names.
    fn paged(&self, items: Vec<Value>, cursor: Option<&str>) -> Result<ListPage, NotionError> {
        let start = match cursor {
            None => 0,
            Some(c) => c.parse::<usize>().map_err(|_| NotionError::Invalid {
                code: "validation_error".into(),
                message: "start_cursor provided is invalid".into(),
            })?,
        };
        let end = (start + self.page_size).min(items.len());
        let next = (end < items.len()).then(|| end.to_string());
        let results: Vec<Value> = items.get(start..end).unwrap_or_default().to_vec();
        Ok(ListPage::from_json(
            &json!({"object": "list", "results": results, "next_cursor": next, "has_more": next.is_some()}),
        ))
    }

    fn begin(&self) -> Result<MutexGuard<'_, Inner>, NotionError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.session.fetch_add(1, Ordering::Relaxed);
        let inner = self.lock();
        if inner.revoked {
            return Err(NotionError::Unauthorized);
        }
        Ok(inner)
    }

    fn page(inner: &Inner, id: &str) -> Result<MemoryPage, NotionError> {
        inner.pages.get(id).cloned().ok_or(NotionError::NotFound(404))
    }
}

/// Opens sessions on a [`MemoryWorkspace`]; a token other than the workspace's gets 401s.
#[derive(Clone, Debug)]
pub struct MemoryNotion(pub MemoryWorkspace);

impl NotionConnector for MemoryNotion {
    fn connect(
        &self,
        token: &str,
        _pace: crate::notion::limiter::Pace,
        _recent_requests: &[i64],
        _now_ms: i64,
    ) -> Arc<dyn NotionApi> {
        let ws = self.0.clone();
        if ws.lock().token != token {
            let refused = MemoryWorkspace::new("", 1);
            refused.revoke();
            return Arc::new(refused);
        }
        Arc::new(MemoryWorkspace {
            session: Arc::new(AtomicU64::new(0)),
            ..ws
        })
    }
}

#[async_trait]
impl NotionApi for MemoryWorkspace {
    async fn search(&self, cursor: Option<&str>) -> Result<ListPage, NotionError> {
        let items: Vec<Value> = {
            let inner = self.begin()?;
            inner
                .pages
                .iter()
                .filter(|(_, p)| p.searchable && !p.in_trash)
                .map(|(id, p)| Self::page_json(id, p))
                .collect()
        };
        self.paged(items, cursor)
    }

    async fn query_data_source(
        &self,
        _id: &str,
        _cursor: Option<&str>,
        _since: Option<&str>,
        _edited_since: Option<&str>,
    ) -> Result<ListPage, NotionError> {
        drop(self.begin()?);
        Err(NotionError::NotFound(404))
    }

    async fn database_data_sources(&self, _id: &str) -> Result<crate::notion::model::DatabaseInfo, NotionError> {
        drop(self.begin()?);
        Err(NotionError::NotFound(404))
    }

    async fn retrieve_page(&self, id: &str) -> Result<Value, NotionError> {
        let inner = self.begin()?;
        let page = Self::page(&inner, id)?;
        Ok(Self::page_json(id, &page))
    }

    async fn page_markdown(&self, id: &str) -> Result<Value, NotionError> {
        let inner = self.begin()?;
        if inner.markdown_refused || inner.unreadable.contains(id) {
            return Err(NotionError::NotFound(404));
        }
        let page = Self::page(&inner, id)?;
        let mut markdown = page.body.clone();
        for child in &page.children {
            let title = inner.pages.get(child).map(|c| c.title.clone()).unwrap_or_default();
            let url = format!("https://www.notion.so/{}", child.replace('-', ""));
            markdown.push_str(&format!("\n<page url=\"{url}\">{title}</page>"));
        }
        Ok(
            json!({"object": "page_markdown", "id": id, "markdown": markdown, "truncated": false, "unknown_block_ids": []}),
        )
    }

    async fn retrieve_block(&self, id: &str) -> Result<Value, NotionError> {
        let inner = self.begin()?;
        let page = Self::page(&inner, id)?;
        Ok(
            json!({"object": "block", "id": id, "type": "child_page", "has_children": true,
                  "child_page": {"title": page.title}}),
        )
    }

    async fn property_items(
        &self,
        _page: &str,
        _property: &str,
        _cursor: Option<&str>,
    ) -> Result<ListPage, NotionError> {
        drop(self.begin()?);
        Err(NotionError::NotFound(404))
    }

    async fn block_children(&self, id: &str, cursor: Option<&str>) -> Result<ListPage, NotionError> {
        let items: Vec<Value> = {
            let inner = self.begin()?;
            if inner.unreadable.contains(id) {
                return Err(NotionError::NotFound(404));
            }
            let page = Self::page(&inner, id)?;
            let text = json!({"object": "block", "id": format!("{id}-body"), "type": "paragraph", "has_children": false,
                "paragraph": {"rich_text": [{"type": "text", "plain_text": page.body, "text": {"content": page.body}}]}});
            std::iter::once(text)
                .chain(page.children.iter().map(|c| {
                    let title = inner.pages.get(c).map(|p| p.title.clone()).unwrap_or_default();
                    json!({"object": "block", "id": c, "type": "child_page", "has_children": true,
                           "child_page": {"title": title}})
                }))
                .collect()
        };
        self.paged(items, cursor)
    }

    fn traffic(&self) -> Traffic {
        Traffic {
            requests: self.session.load(Ordering::Relaxed),
            ..Traffic::default()
        }
    }

    fn recent_requests(&self, _now_ms: i64) -> Vec<i64> {
        Vec::new()
    }
}
