//! The emulated workspace: pages, blocks, databases and data sources, with the mutations
//! tests need (edit, trash, unshare, add) and the texts a faithful sync must capture.

use std::collections::{BTreeMap, HashMap, HashSet};

/// Where a page lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    /// A top-level workspace page.
    Workspace,
    /// A child page of another page (through a `child_page` block).
    Page(String),
    /// A row of a data source.
    DataSource(String),
}

/// A page or database row.
#[derive(Clone, Debug)]
pub struct Page {
    /// Dashed UUID.
    pub id: String,
    /// Title.
    pub title: String,
    /// Parent.
    pub parent: Parent,
    /// Epoch seconds.
    pub created: i64,
    /// Epoch seconds.
    pub last_edited: i64,
    /// In the trash.
    pub in_trash: bool,
    /// Shared with the integration.
    pub shared: bool,
    /// Returned by search (Notion's search misses some pages).
    pub in_search: bool,
    /// For rows: property values by name, as Notion's property objects.
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Top-level block ids.
    pub children: Vec<String>,
}

/// A block.
#[derive(Clone, Debug)]
pub struct Block {
    /// Dashed UUID (for `child_page`/`child_database`, the page's/database's id).
    pub id: String,
    /// The page or block it belongs to.
    pub parent: String,
    /// Notion block type.
    pub kind: String,
    /// Its text (one plain rich text part), or title for child pages/databases.
    pub text: String,
    /// Type-specific extras (language, checked, url, cells, ...).
    pub extra: serde_json::Value,
    /// Child block ids.
    pub children: Vec<String>,
    /// For a synced block reference: the original block's id.
    pub synced_from: Option<String>,
}

/// A database and its one data source.
#[derive(Clone, Debug)]
pub struct Database {
    /// Database id.
    pub id: String,
    /// Its data source's id.
    pub data_source_id: String,
    /// Title.
    pub title: String,
    /// Page holding its `child_database` block, if any.
    pub parent_page: Option<String>,
    /// Whether search returns its data source.
    pub in_search: bool,
    /// Row page ids.
    pub rows: Vec<String>,
    /// Epoch seconds.
    pub last_edited: i64,
}

/// The emulated workspace's id, as webhook events, OAuth grants and the bot user name it.
pub const WORKSPACE_ID: &str = "ee5e5e5e-0000-4000-8000-000000000001";

/// The whole emulated workspace.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// Pages and rows by id.
    pub pages: BTreeMap<String, Page>,
    /// Blocks by id.
    pub blocks: HashMap<String, Block>,
    /// Databases by id.
    pub databases: BTreeMap<String, Database>,
    /// Data source id → database id.
    pub data_sources: HashMap<String, String>,
    /// Tokens Notion accepts.
    pub tokens: HashSet<String>,
    /// Changes since the emulator last looked, as webhook event types with their entity
    /// (`("page.content_updated", page id, "page")`); the emulator turns them into deliveries.
    pub changes: Vec<(&'static str, String, &'static str)>,
    /// Edits take the time the emulator last set ([`Workspace::advance_to`], the wall clock
    /// when serving), as Notion stamps them, instead of ticking a second each.
    pub wall_clock: bool,
    /// See [`crate::Config::child_page_times_are_the_pages`].
    pub child_page_times_are_the_pages: bool,
    /// Where hosted files are served (the emulator's own base URL once it serves); until
    /// then their URLs name S3 as Notion's do and lead nowhere.
    pub file_base: Option<String>,
    /// Seconds a hosted file's signed URL lives (Notion: one hour; 0 means that).
    pub file_url_lifetime: i64,
    next_id: u64,
    clock: i64,
}

/// Block types whose content the markdown endpoint cannot express.
pub const UNSUPPORTED: [&str; 2] = ["unsupported", "ai_block"];

impl Workspace {
    /// An empty workspace accepting `token`, its clock at `start` (epoch seconds).
    pub fn new(token: &str, start: i64) -> Self {
        Self {
            tokens: HashSet::from([token.to_string()]),
            clock: start,
            ..Self::default()
        }
    }

    /// A fresh dashed UUID, deterministic in creation order.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        let n = self.next_id;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            n ^ 0x5eed_0000,
            n % 0xffff,
            n % 0xfff,
            (n / 7) % 0xfff,
            n
        )
    }

    /// The workspace clock's current time (epoch seconds), without advancing it.
    pub fn now(&self) -> i64 {
        self.clock
    }

    /// Moves the clock forward to `epoch` (never back).
    pub fn advance_to(&mut self, epoch: i64) {
        self.clock = self.clock.max(epoch);
    }

    /// The time of a change: a second past the last one, or under the wall clock the time
    /// the emulator set (several changes in one second share it, as in Notion).
    pub fn tick(&mut self) -> i64 {
        if !self.wall_clock {
            self.clock += 1;
        }
        self.clock
    }

    /// Adds a page; returns its id.
    pub fn add_page(&mut self, parent: Parent, title: &str, in_search: bool) -> String {
        let id = self.new_id();
        let now = self.tick();
        if let Parent::Page(parent_id) = &parent {
            let block = Block {
                id: id.clone(),
                parent: parent_id.clone(),
                kind: "child_page".into(),
                text: title.into(),
                extra: serde_json::Value::Null,
                children: Vec::new(),
                synced_from: None,
            };
            self.blocks.insert(id.clone(), block);
            if let Some(p) = self.pages.get_mut(parent_id) {
                p.children.push(id.clone());
                p.last_edited = now;
            }
            // A child page is a block of its parent: the parent's content changed too.
            self.changes.push(("page.content_updated", parent_id.clone(), "page"));
        }
        let page = Page {
            id: id.clone(),
            title: title.into(),
            parent,
            created: now,
            last_edited: now,
            in_trash: false,
            shared: true,
            in_search,
            properties: serde_json::Map::new(),
            children: Vec::new(),
        };
        self.pages.insert(id.clone(), page);
        self.changes.push(("page.created", id.clone(), "page"));
        id
    }

    /// Appends a block under `parent` (a page or block); returns its id.
    pub fn add_block(&mut self, parent: &str, kind: &str, text: &str, extra: serde_json::Value) -> String {
        let id = self.new_id();
        let block = Block {
            id: id.clone(),
            parent: parent.to_string(),
            kind: kind.into(),
            text: text.into(),
            extra,
            children: Vec::new(),
            synced_from: None,
        };
        self.blocks.insert(id.clone(), block);
        if let Some(p) = self.pages.get_mut(parent) {
            p.children.push(id.clone());
        } else if let Some(b) = self.blocks.get_mut(parent) {
            b.children.push(id.clone());
        }
        if let Some(page) = self.page_of(&id) {
            self.changes.push(("page.content_updated", page, "page"));
        }
        id
    }

    /// Adds a database with a `child_database` block in `page`; returns (database, data source).
    pub fn add_database(&mut self, page: &str, title: &str, in_search: bool) -> (String, String) {
        let id = self.new_id();
        let ds = self.new_id();
        let now = self.tick();
        let block = Block {
            id: id.clone(),
            parent: page.into(),
            kind: "child_database".into(),
            text: title.into(),
            extra: serde_json::Value::Null,
            children: Vec::new(),
            synced_from: None,
        };
        self.blocks.insert(id.clone(), block);
        if let Some(p) = self.pages.get_mut(page) {
            p.children.push(id.clone());
        }
        self.databases.insert(
            id.clone(),
            Database {
                id: id.clone(),
                data_source_id: ds.clone(),
                title: title.into(),
                parent_page: Some(page.into()),
                in_search,
                rows: Vec::new(),
                last_edited: now,
            },
        );
        self.data_sources.insert(ds.clone(), id.clone());
        (id, ds)
    }

    /// Adds a row to a database; returns its page id.
    pub fn add_row(
        &mut self,
        database: &str,
        title: &str,
        properties: serde_json::Map<String, serde_json::Value>,
    ) -> String {
        let ds = self
            .databases
            .get(database)
            .map(|d| d.data_source_id.clone())
            .unwrap_or_default();
        let id = self.add_page(Parent::DataSource(ds), title, true);
        if let Some(p) = self.pages.get_mut(&id) {
            p.properties = properties;
        }
        if let Some(db) = self.databases.get_mut(database) {
            db.rows.push(id.clone());
        }
        id
    }

    /// The page a block belongs to.
    pub fn page_of(&self, block: &str) -> Option<String> {
        let mut current = block.to_string();
        for _ in 0..10_000 {
            if self.pages.contains_key(&current) && self.blocks.get(&current).is_none_or(|b| b.kind != "child_page") {
                return Some(current);
            }
            current = self.blocks.get(&current)?.parent.clone();
            if self.pages.contains_key(&current) {
                return Some(current);
            }
        }
        None
    }

    /// Marks a page edited now.
    pub fn touch(&mut self, page: &str) {
        let now = self.tick();
        if let Some(p) = self.pages.get_mut(page) {
            p.last_edited = now;
        }
    }

    /// Replaces a block's text and marks its page edited.
    pub fn edit_block(&mut self, block: &str, text: &str) {
        if let Some(b) = self.blocks.get_mut(block) {
            b.text = text.into();
        }
        if let Some(page) = self.page_of(block) {
            self.touch(&page);
            self.changes.push(("page.content_updated", page, "page"));
        }
    }

    /// Renames a page (its title property, and the `child_page` block that links it).
    pub fn rename_page(&mut self, page: &str, title: &str) {
        if let Some(p) = self.pages.get_mut(page) {
            p.title = title.into();
        }
        if let Some(b) = self.blocks.get_mut(page) {
            b.text = title.into();
        }
        self.touch(page);
        self.changes.push(("page.properties_updated", page.to_string(), "page"));
    }

    /// Moves a page to the trash.
    pub fn trash_page(&mut self, page: &str) {
        let now = self.tick();
        if let Some(p) = self.pages.get_mut(page) {
            p.in_trash = true;
            p.last_edited = now;
            self.changes.push(("page.deleted", page.to_string(), "page"));
        }
    }

    /// Restores a page from the trash.
    pub fn restore_page(&mut self, page: &str) {
        let now = self.tick();
        if let Some(p) = self.pages.get_mut(page) {
            p.in_trash = false;
            p.last_edited = now;
            self.changes.push(("page.undeleted", page.to_string(), "page"));
        }
    }

    /// Stops sharing a page with the integration.
    pub fn unshare_page(&mut self, page: &str) {
        if let Some(p) = self.pages.get_mut(page) {
            p.shared = false;
        }
    }

    /// Whether the integration can see a page now: shared, and every ancestor too.
    pub fn visible(&self, page: &str) -> bool {
        let mut current = page.to_string();
        for _ in 0..10_000 {
            let Some(p) = self.pages.get(&current) else {
                return false;
            };
            if !p.shared {
                return false;
            }
            match &p.parent {
                Parent::Workspace => return true,
                Parent::Page(parent) => current = parent.clone(),
                Parent::DataSource(ds) => {
                    let db = self.data_sources.get(ds).and_then(|d| self.databases.get(d));
                    match db.and_then(|d| d.parent_page.clone()) {
                        Some(parent) => current = parent,
                        None => return true,
                    }
                }
            }
        }
        false
    }

    /// Whether a visible page is alive (not trashed, nor any ancestor).
    pub fn alive(&self, page: &str) -> bool {
        let mut current = page.to_string();
        for _ in 0..10_000 {
            let Some(p) = self.pages.get(&current) else {
                return false;
            };
            if p.in_trash {
                return false;
            }
            match &p.parent {
                Parent::Workspace => return self.visible(page),
                Parent::Page(parent) => current = parent.clone(),
                Parent::DataSource(ds) => {
                    let db = self.data_sources.get(ds).and_then(|d| self.databases.get(d));
                    match db.and_then(|d| d.parent_page.clone()) {
                        Some(parent) => current = parent,
                        None => return self.visible(page),
                    }
                }
            }
        }
        false
    }

    /// Every page a complete sync must produce a record for.
    pub fn live_pages(&self) -> Vec<String> {
        self.pages.keys().filter(|id| self.alive(id)).cloned().collect()
    }

    /// Live pages (not database rows) with a non-empty top-level paragraph, each with that
    /// paragraph, in page id order: blocks to edit in tests and benchmarks.
    pub fn editable_paragraphs(&self) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = self
            .live_pages()
            .into_iter()
            .filter(|p| matches!(self.pages[p].parent, Parent::Page(_) | Parent::Workspace))
            .filter_map(|p| {
                let block = self.pages[&p]
                    .children
                    .iter()
                    .find(|b| {
                        self.blocks
                            .get(*b)
                            .is_some_and(|b| b.kind == "paragraph" && !b.text.is_empty())
                    })?
                    .clone();
                Some((p, block))
            })
            .collect();
        found.sort();
        found
    }

    /// A block's children as the block API lists them: a synced block reference lists its
    /// original's.
    pub fn children_of(&self, b: &Block) -> Vec<String> {
        match &b.synced_from {
            Some(original) => self
                .blocks
                .get(original)
                .map(|o| o.children.clone())
                .unwrap_or_default(),
            None => b.children.clone(),
        }
    }

    /// The blocks of `page`'s content in document order: a synced block reference's
    /// original content in its place, child pages and databases as links (not entered).
    pub fn content_blocks(&self, page: &str) -> Vec<&Block> {
        let mut out = Vec::new();
        let mut stack: Vec<String> = self.pages.get(page).map(|p| p.children.clone()).unwrap_or_default();
        stack.reverse();
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(block) = self.blocks.get(&id) else {
                continue;
            };
            out.push(block);
            if matches!(block.kind.as_str(), "child_page" | "child_database") {
                continue;
            }
            stack.extend(self.children_of(block).into_iter().rev());
        }
        out
    }

    /// The unique tokens a faithful record of `page` contains, one per text-bearing block
    /// (the generator starts every text with a unique tag): block texts and captions, a
    /// file's name, a link preview's URL, a table row's value cell, and a synced block
    /// reference's original content. Unsupported blocks, breadcrumbs, tables of contents,
    /// dividers and child page links carry none.
    pub fn expected_tokens(&self, page: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        for block in self.content_blocks(page) {
            if matches!(block.kind.as_str(), "child_page" | "child_database") {
                continue;
            }
            tokens.extend(block.text.split_whitespace().next().map(str::to_string));
            if let Some(cells) = block.extra.get("cells").and_then(|c| c.as_array()) {
                tokens.extend(cells.get(1).and_then(|c| c.as_str()).map(str::to_string));
            }
            if block.kind == "file" {
                tokens.extend(block.extra.get("name").and_then(|v| v.as_str()).map(str::to_string));
            }
            if block.kind == "link_preview" {
                tokens.extend(block.extra.get("url").and_then(|v| v.as_str()).map(str::to_string));
            }
            if let Some(caption) = block.extra.get("caption").and_then(|v| v.as_str()) {
                tokens.extend(caption.split_whitespace().next().map(str::to_string));
            }
        }
        tokens.retain(|t| t != "Key");
        tokens
    }

    /// The texts a faithful record of `page` contains: every block's text (child pages and
    /// databases by title), table cells, and synced content, but not unsupported blocks.
    pub fn expected_texts(&self, page: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for block in self.content_blocks(page) {
            if UNSUPPORTED.contains(&block.kind.as_str()) {
                continue;
            }
            if !block.text.is_empty() {
                texts.push(block.text.clone());
            }
            if let Some(caption) = block.extra.get("caption").and_then(|v| v.as_str()) {
                texts.push(caption.to_string());
            }
            if let Some(cells) = block.extra.get("cells").and_then(|c| c.as_array()) {
                texts.extend(cells.iter().filter_map(|c| c.as_str().map(str::to_string)));
            }
        }
        texts
    }
}
