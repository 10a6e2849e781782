//! Reading one page's content with as few Notion requests as possible: one
//! `GET /v1/pages/{id}/markdown`; one more per subtree it left out (its `unknown_block_ids`,
//! and `<unknown>` tags without `alt`), placed where each stood; the blocks the markdown
//! leaves out that have text (bookmarks, embeds, link previews, synced block references,
//! ...) read with the block API (one children listing when several stand at the page's top
//! level, else `GET /v1/blocks/{id}`); and a block walk (`GET /v1/blocks/{id}/children`,
//! one request per container, iterative and cycle-safe) where the markdown endpoint fails.

use crate::notion::api::NotionApi;
use crate::notion::api::NotionError;
use crate::notion::format::flavored::{self, block_marker, hole_marker, truncated_ids, Context, Parsed};
use crate::notion::format::markdown::{render_blocks, BlockNode, Rendered};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Subtrees fetched for one page at most; beyond, they are left out with a warning.
const MAX_HOLES_PER_PAGE: usize = 500;

/// A page's content and what reading it cost.
#[derive(Clone, Debug, Default)]
pub struct PageContent {
    /// Clean Markdown.
    pub text: String,
    /// Child pages found.
    pub child_pages: Vec<String>,
    /// Child databases found.
    pub child_databases: Vec<String>,
    /// Blocks left out.
    pub skipped: u64,
    /// Times the block walk replaced the markdown endpoint.
    pub fallbacks: u64,
    /// Requests made (first attempts; retries are counted by the client).
    pub requests: u64,
    /// Tags the markdown parser did not know, with how often they occurred.
    pub unknown_tags: BTreeMap<String, u64>,
    /// Block types the block renderer did not know, with how often they occurred.
    pub unknown_block_types: BTreeMap<String, u64>,
    /// Files whose contents may be read (SPEC §2.6), in the order found.
    pub files: Vec<crate::notion::format::media::FileRef>,
}

impl PageContent {
    /// Adds what a piece of content points at and left out.
    fn absorb_links(&mut self, pages: &[String], databases: &[String], skipped: usize) {
        for id in pages {
            if !self.child_pages.contains(id) {
                self.child_pages.push(id.clone());
            }
        }
        for id in databases {
            if !self.child_databases.contains(id) {
                self.child_databases.push(id.clone());
            }
        }
        self.skipped += skipped as u64;
    }

    fn absorb_files(&mut self, files: &[crate::notion::format::media::FileRef]) {
        for f in files {
            if !self.files.contains(f) {
                self.files.push(f.clone());
            }
        }
    }

    fn absorb(&mut self, rendered: &Rendered) {
        self.absorb_files(&rendered.files);
        self.absorb_links(&rendered.child_pages, &rendered.child_databases, rendered.skipped.len());
        for kind in &rendered.unknown_types {
            *self.unknown_block_types.entry(kind.clone()).or_default() += 1;
        }
    }

    fn absorb_parsed(&mut self, parsed: &Parsed) {
        self.absorb_files(&parsed.files);
        self.absorb_links(&parsed.child_pages, &parsed.child_databases, parsed.skipped.len());
        for tag in &parsed.unknown_tags {
            *self.unknown_tags.entry(tag.clone()).or_default() += 1;
        }
    }
}

/// Parses one markdown answer of `page_id` (the page's, or a subtree's).
fn parse_answer(answer: &Value, page_id: &str) -> Parsed {
    let ctx = Context {
        page_id,
        truncated: truncated_ids(answer),
    };
    let mut parsed = flavored::parse(answer.get("markdown").and_then(Value::as_str).unwrap_or_default(), &ctx);
    // Ids Notion lists as left out but whose tag the text does not show still get read,
    // at the end of the text rather than not at all. (A tag the text shows was taken care
    // of where it stands: a subtree to fetch, a block to read, or one without text.)
    for id in ctx.truncated {
        if !parsed.tagged.contains(&id) {
            parsed.text.push('\n');
            parsed.text.push_str(&hole_marker(&id));
            parsed.holes.push(id);
        }
    }
    parsed
}

/// Reads a page's content. `NotFound`/`Invalid` mean the page itself cannot be read.
pub async fn read_page(client: &dyn NotionApi, page_id: &str) -> Result<PageContent, NotionError> {
    let mut content = PageContent::default();
    content.requests += 1;
    let first = match client.page_markdown(page_id).await {
        Ok(v) => v,
        // The pages API served this page (it was listed or retrieved): a markdown answer
        // of 400, 403 or 404 is the markdown endpoint's problem, not the page's. Its blocks
        // are walked; only when they too are out of reach is the page unreadable.
        Err(e @ (NotionError::Invalid { .. } | NotionError::NotFound(_))) => {
            tracing::warn!(page = page_id, error = %e, "markdown endpoint refused the page; walking its blocks");
            content.fallbacks += 1;
            let rendered = walk_blocks(client, page_id, WalkRoot::ChildrenOf(page_id), &mut content).await?;
            content.absorb(&rendered);
            content.text = rendered.text;
            return Ok(content);
        }
        Err(e) => return Err(e),
    };
    let parsed = parse_answer(&first, page_id);
    content.absorb_parsed(&parsed);
    let mut text = parsed.text;
    let mut block_reads = parsed.block_reads;
    let top_level = parsed.top_level_reads;
    let mut holes: Vec<String> = parsed.holes;
    // Blocks of the page's top level, from one children listing when it costs fewer requests
    // than what it saves: the subtrees a truncated answer left out (one request each
    // otherwise) and the blocks the markdown cannot render.
    let truncated = first.get("truncated").and_then(Value::as_bool).unwrap_or(false);
    let listing_pages = top_level_blocks(&first).div_ceil(100).max(1);
    let list_holes = truncated && parsed.top_level_holes.len() > listing_pages;
    let mut listed: HashMap<String, Value> = HashMap::new();
    if list_holes || top_level.len() >= 2 {
        let mut wanted: HashSet<String> = top_level.iter().cloned().collect();
        if list_holes {
            wanted.extend(parsed.top_level_holes.iter().cloned());
        }
        listed = list_children(client, page_id, &wanted, &mut content).await?;
    }
    let mut fetched = HashSet::new();
    while let Some(hole) = holes.pop() {
        if !fetched.insert(hole.clone()) {
            text = text.replace(&hole_marker(&hole), "");
            continue;
        }
        if fetched.len() > MAX_HOLES_PER_PAGE {
            tracing::warn!(page = page_id, "too many left-out subtrees; the rest stay out");
            content.skipped += 1;
            text = text.replace(&hole_marker(&hole), "");
            continue;
        }
        let piece = read_hole(client, page_id, &hole, listed.remove(&hole), &mut content).await?;
        content.absorb_parsed(&piece);
        holes.extend(piece.holes.iter().cloned());
        block_reads.extend(piece.block_reads.iter().cloned());
        text = text.replace(&hole_marker(&hole), piece.text.trim_end());
    }
    if !block_reads.is_empty() {
        let rendered = read_left_out_blocks(client, page_id, &block_reads, listed, &mut content).await?;
        for id in &block_reads {
            let piece = rendered.get(id).map(|r| r.text.trim_end()).unwrap_or_default();
            text = text.replace(&block_marker(id), piece);
        }
    }
    content.text = flavored::collapse_blank_lines(text.lines());
    Ok(content)
}

/// Reads the blocks the markdown left out (`<unknown alt>` with text) with the block API:
/// those the page's children listing already returned (`found`, listed when several stand
/// at its top level), the rest one `GET /v1/blocks/{id}` each; a synced block reference's
/// original is walked. Returns each block rendered; a block that cannot be read is skipped
/// with a warning.
async fn read_left_out_blocks(
    client: &dyn NotionApi,
    page_id: &str,
    ids: &[String],
    mut found: HashMap<String, Value>,
    content: &mut PageContent,
) -> Result<HashMap<String, Rendered>, NotionError> {
    let mut out = HashMap::new();
    for id in ids {
        let Some(block) = left_out_block(client, page_id, id, found.remove(id), content).await? else {
            continue;
        };
        let original = block
            .pointer("/synced_block/synced_from/block_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let rendered = match original {
            // A synced block reference: the original's content.
            Some(original) => match walk_blocks(client, page_id, WalkRoot::ChildrenOf(&original), content).await {
                Ok(r) => r,
                Err(e @ (NotionError::NotFound(_) | NotionError::Invalid { .. })) => {
                    tracing::warn!(page = page_id, block = %id, error = %e, "synced block original could not be read; skipped");
                    content.skipped += 1;
                    continue;
                }
                Err(e) => return Err(e),
            },
            // Its children are content too (a tab's, a type Notion added later...).
            None if block.get("has_children").and_then(Value::as_bool).unwrap_or(false) => {
                walk_blocks(client, page_id, WalkRoot::Retrieved(block), content).await?
            }
            None => render_block(block, page_id),
        };
        content.absorb(&rendered);
        out.insert(id.clone(), rendered);
    }
    Ok(out)
}

/// Depth-0 lines of a markdown answer that are not blank: at least as many as the blocks at
/// its top level, to price a children listing of the page (one request per 100).
fn top_level_blocks(answer: &Value) -> usize {
    let markdown = answer.get("markdown").and_then(Value::as_str).unwrap_or_default();
    markdown
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(['\t', ' ']))
        .count()
}

/// Lists `parent`'s children (every page of them) and keeps the blocks whose ids are wanted.
async fn list_children(
    client: &dyn NotionApi,
    parent: &str,
    wanted: &HashSet<String>,
    content: &mut PageContent,
) -> Result<HashMap<String, Value>, NotionError> {
    let mut found = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        content.requests += 1;
        let page = client.block_children(parent, cursor.as_deref()).await?;
        for block in page.results {
            if let Some(id) = block.get("id").and_then(Value::as_str).and_then(flavored::canonical_id) {
                if wanted.contains(&id) {
                    found.insert(id, block);
                }
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// Reads one subtree an answer left out. Its block first (from the page's listing, else
/// `GET /v1/blocks/{id}`), since the markdown endpoint would answer a child page's id with
/// that page's own content: a child page or database becomes a link and is crawled as a page
/// of its own; a block without children is rendered as it is; a container is fetched as
/// markdown, or walked when that answer leaves it out again.
async fn read_hole(
    client: &dyn NotionApi,
    page_id: &str,
    hole: &str,
    listed: Option<Value>,
    content: &mut PageContent,
) -> Result<Parsed, NotionError> {
    let Some(block) = left_out_block(client, page_id, hole, listed, content).await? else {
        return Ok(Parsed::default());
    };
    let kind = block.get("type").and_then(Value::as_str).unwrap_or_default();
    let has_children = block.get("has_children").and_then(Value::as_bool).unwrap_or(false);
    if matches!(kind, "child_page" | "child_database") || !has_children {
        return Ok(parsed_of(render_block(block, page_id), content));
    }
    // A container of a type the markdown cannot render (a tab...) would answer with itself
    // left out again: it is walked at once.
    let renders = crate::notion::format::markdown_renders(kind);
    let answer = if renders {
        content.requests += 1;
        match client.page_markdown(hole).await {
            Ok(v) => {
                let p = parse_answer(&v, page_id);
                // A hole that answers with itself again cannot be read this way.
                let again = p.holes.iter().chain(&p.block_reads).any(|h| h == hole);
                (!again).then_some(p)
            }
            Err(NotionError::NotFound(_)) | Err(NotionError::Invalid { .. }) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    if let Some(parsed) = answer {
        return Ok(parsed);
    }
    if renders {
        content.fallbacks += 1;
    }
    let rendered = match walk_blocks(client, page_id, WalkRoot::Retrieved(block), content).await {
        Ok(r) => r,
        Err(e @ (NotionError::NotFound(_) | NotionError::Invalid { .. })) => {
            tracing::warn!(page = page_id, block = hole, error = %e, "left-out subtree could not be read; skipped");
            content.skipped += 1;
            Rendered::default()
        }
        Err(e) => return Err(e),
    };
    Ok(parsed_of(rendered, content))
}

/// A block the markdown left out: as a listing of its parent returned it (`listed`), else
/// `GET /v1/blocks/{id}`. None, with a warning and the block counted as skipped, when
/// Notion answers 404 or 400 for it.
async fn left_out_block(
    client: &dyn NotionApi,
    page_id: &str,
    id: &str,
    listed: Option<Value>,
    content: &mut PageContent,
) -> Result<Option<Value>, NotionError> {
    if listed.is_some() {
        return Ok(listed);
    }
    content.requests += 1;
    match client.retrieve_block(id).await {
        Ok(b) => Ok(Some(b)),
        Err(e @ (NotionError::NotFound(_) | NotionError::Invalid { .. })) => {
            tracing::warn!(page = page_id, block = id, error = %e, "left-out block could not be read; skipped");
            content.skipped += 1;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// One block without its children, rendered as content of `page_id`.
fn render_block(block: Value, page_id: &str) -> Rendered {
    render_blocks(
        &[BlockNode {
            block,
            children: Vec::new(),
        }],
        page_id,
    )
}

/// A block-API rendering as a parsed piece, its unknown block types counted.
fn parsed_of(rendered: Rendered, content: &mut PageContent) -> Parsed {
    for kind in &rendered.unknown_types {
        *content.unknown_block_types.entry(kind.clone()).or_default() += 1;
    }
    Parsed {
        text: rendered.text,
        child_pages: rendered.child_pages,
        child_databases: rendered.child_databases,
        skipped: rendered.skipped,
        ..Parsed::default()
    }
}

/// Reads a page by block walk alone, one request per container block.
pub async fn read_page_by_walk(client: &dyn NotionApi, page_id: &str) -> Result<PageContent, NotionError> {
    let mut content = PageContent::default();
    let rendered = walk_blocks(client, page_id, WalkRoot::ChildrenOf(page_id), &mut content).await?;
    content.absorb(&rendered);
    content.text = rendered.text;
    Ok(content)
}

/// Where a block walk starts.
pub enum WalkRoot<'a> {
    /// The children of this page or block (the container's own text is not rendered).
    ChildrenOf(&'a str),
    /// This block, retrieved first, then its children.
    Block(&'a str),
    /// This block, already retrieved, then its children.
    Retrieved(Value),
}

/// Walks the block tree under `root`, one request per page of children, rendered as content
/// of the page `page_id`. A subtree answering 404/400 is skipped with a warning; the root's
/// own failure is returned.
pub async fn walk_blocks(
    client: &dyn NotionApi,
    page_id: &str,
    root: WalkRoot<'_>,
    content: &mut PageContent,
) -> Result<Rendered, NotionError> {
    // Arena of (block, children indexes); children always come after their parent.
    let mut arena: Vec<(Value, Vec<usize>)> = Vec::new();
    let mut roots: Vec<usize> = Vec::new();
    let mut stack: Vec<(Option<usize>, String)> = Vec::new();
    let (root, block) = match root {
        WalkRoot::ChildrenOf(id) => (id.to_string(), None),
        WalkRoot::Block(id) => {
            // A left-out subtree is rooted at a block whose own text matters too.
            content.requests += 1;
            (id.to_string(), Some(client.retrieve_block(id).await?))
        }
        WalkRoot::Retrieved(block) => {
            let id = block.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            (id, Some(block))
        }
    };
    let root_is_container = block.is_none();
    let mut visited: HashSet<String> = HashSet::from([root.clone()]);
    match block {
        None => stack.push((None, root.clone())),
        Some(block) => {
            let has_children = block.get("has_children").and_then(Value::as_bool).unwrap_or(false);
            arena.push((block, Vec::new()));
            roots.push(0);
            if has_children {
                stack.push((Some(0), root.clone()));
            }
        }
    }
    while let Some((parent, container)) = stack.pop() {
        let mut cursor: Option<String> = None;
        loop {
            content.requests += 1;
            let page = match client.block_children(&container, cursor.as_deref()).await {
                Ok(p) => p,
                Err(e @ (NotionError::NotFound(_) | NotionError::Invalid { .. })) => {
                    if parent.is_none() || (!root_is_container && parent == Some(0) && container == root) {
                        return Err(e);
                    }
                    tracing::warn!(block = container, error = %e, "subtree could not be read; skipped");
                    content.skipped += 1;
                    break;
                }
                Err(e) => return Err(e),
            };
            for block in page.results {
                let index = arena.len();
                let id = block.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                let kind = block
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let has_children = block.get("has_children").and_then(Value::as_bool).unwrap_or(false);
                arena.push((block, Vec::new()));
                match parent {
                    Some(p) => arena[p].1.push(index),
                    None => roots.push(index),
                }
                let descend = has_children && kind != "child_page" && kind != "child_database";
                if descend && visited.insert(id.clone()) {
                    stack.push((Some(index), id));
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    // Build the tree bottom-up: the last nodes have no unbuilt children.
    let mut built: Vec<Option<BlockNode>> = (0..arena.len()).map(|_| None).collect();
    for index in (0..arena.len()).rev() {
        let children = arena[index].1.iter().filter_map(|c| built[*c].take()).collect();
        built[index] = Some(BlockNode {
            block: std::mem::take(&mut arena[index].0),
            children,
        });
    }
    let tree: Vec<BlockNode> = roots.iter().filter_map(|r| built[*r].take()).collect();
    Ok(render_blocks(&tree, page_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notion::format::flavored::canonical_id;
    use serde_json::json;

    const SHOWN: &str = "1429989fe8ac4effbc8f57f56486db54";
    const HIDDEN: &str = "2429989fe8ac4effbc8f57f56486db54";

    fn dashed(id: &str) -> String {
        canonical_id(id).unwrap()
    }

    #[test]
    fn a_left_out_block_shown_in_the_text_is_read_where_it_stands() {
        let answer = json!({
            "markdown": format!("Before\n<unknown url=\"https://www.notion.so/p#{SHOWN}\" alt=\"paragraph\"/>\nAfter"),
            "truncated": true,
            "unknown_block_ids": [SHOWN],
        });
        let parsed = parse_answer(&answer, "p");
        assert_eq!(parsed.holes, [dashed(SHOWN)]);
        assert_eq!(parsed.text, format!("Before\n{}\nAfter", hole_marker(&dashed(SHOWN))));
    }

    #[test]
    fn a_left_out_block_the_text_does_not_show_is_still_read_at_the_end() {
        let answer = json!({
            "markdown": "Only text",
            "truncated": true,
            "unknown_block_ids": [SHOWN, HIDDEN],
        });
        let parsed = parse_answer(&answer, "p");
        let mut holes = parsed.holes.clone();
        holes.sort();
        assert_eq!(holes, [dashed(SHOWN), dashed(HIDDEN)], "every listed id is read once");
        assert!(parsed.text.starts_with("Only text\n"), "{}", parsed.text);
        for id in [SHOWN, HIDDEN] {
            assert_eq!(
                parsed.text.matches(&hole_marker(&dashed(id))).count(),
                1,
                "{}",
                parsed.text
            );
        }
    }

    #[test]
    fn an_answer_with_nothing_left_out_has_no_holes() {
        let parsed = parse_answer(&json!({"markdown": "# Title\n\nBody"}), "p");
        assert!(parsed.holes.is_empty());
        assert_eq!(parsed.text, "# Title\n\nBody");
    }
}
