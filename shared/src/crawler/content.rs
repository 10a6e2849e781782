//! Reading one page's content with as few Notion requests as possible: one
//! `GET /v1/pages/{id}/markdown`, then one more per subtree it left out
//! (`unknown_block_ids`); a block walk (`GET /v1/blocks/{id}/children`, one request per
//! container, iterative and cycle-safe) where the markdown endpoint fails.

use crate::notion::api::NotionApi;
use crate::notion::client::NotionError;
use crate::notion::markdown::{hole_marker, normalize_enhanced, render_blocks, BlockNode, Rendered};
use serde_json::Value;
use std::collections::HashSet;

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
}

impl PageContent {
    fn absorb(&mut self, rendered: &Rendered) {
        for id in &rendered.child_pages {
            if !self.child_pages.contains(id) {
                self.child_pages.push(id.clone());
            }
        }
        for id in &rendered.child_databases {
            if !self.child_databases.contains(id) {
                self.child_databases.push(id.clone());
            }
        }
        self.skipped += rendered.skipped.len() as u64;
    }
}

/// Reads a page's content. `NotFound`/`Invalid` mean the page itself cannot be read.
pub async fn read_page(client: &dyn NotionApi, page_id: &str) -> Result<PageContent, NotionError> {
    let mut content = PageContent::default();
    content.requests += 1;
    let first = match client.page_markdown(page_id).await {
        Ok(v) => v,
        Err(NotionError::Invalid { code, message }) => {
            tracing::warn!(
                page = page_id,
                code,
                message,
                "markdown endpoint refused the page; walking its blocks"
            );
            content.fallbacks += 1;
            let rendered = walk_blocks(client, page_id, true, &mut content).await?;
            content.absorb(&rendered);
            content.text = rendered.text;
            return Ok(content);
        }
        Err(e) => return Err(e),
    };
    let rendered = normalize_enhanced(first.get("markdown").and_then(Value::as_str).unwrap_or_default());
    content.absorb(&rendered);
    let mut text = rendered.text;
    let mut holes: Vec<String> = rendered.holes;
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
        content.requests += 1;
        let piece = match client.page_markdown(&hole).await {
            Ok(v) => {
                let r = normalize_enhanced(v.get("markdown").and_then(Value::as_str).unwrap_or_default());
                // A hole that answers with itself again cannot be read this way.
                if r.holes.contains(&hole) {
                    None
                } else {
                    Some(r)
                }
            }
            Err(NotionError::NotFound(_)) | Err(NotionError::Invalid { .. }) => None,
            Err(e) => return Err(e),
        };
        let piece = match piece {
            Some(r) => r,
            None => {
                content.fallbacks += 1;
                match walk_blocks(client, &hole, false, &mut content).await {
                    Ok(r) => r,
                    Err(NotionError::NotFound(_)) | Err(NotionError::Invalid { .. }) => {
                        tracing::warn!(
                            page = page_id,
                            block = hole,
                            "left-out subtree could not be read; skipped"
                        );
                        content.skipped += 1;
                        Rendered::default()
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        content.absorb(&piece);
        holes.extend(piece.holes.iter().cloned());
        text = text.replace(&hole_marker(&hole), piece.text.trim_end());
    }
    content.text = text;
    Ok(content)
}

/// Reads a page by block walk alone, one request per container block.
pub async fn read_page_by_walk(client: &dyn NotionApi, page_id: &str) -> Result<PageContent, NotionError> {
    let mut content = PageContent::default();
    let rendered = walk_blocks(client, page_id, true, &mut content).await?;
    content.absorb(&rendered);
    content.text = rendered.text;
    Ok(content)
}

/// Walks the block tree under `root` (its children, or, with `root_is_container` false, the
/// block itself first), one request per page of children. A subtree answering 404/400 is
/// skipped with a warning; the root's own failure is returned.
pub async fn walk_blocks(
    client: &dyn NotionApi,
    root: &str,
    root_is_container: bool,
    content: &mut PageContent,
) -> Result<Rendered, NotionError> {
    // Arena of (block, children indexes); children always come after their parent.
    let mut arena: Vec<(Value, Vec<usize>)> = Vec::new();
    let mut roots: Vec<usize> = Vec::new();
    let mut stack: Vec<(Option<usize>, String)> = Vec::new();
    let mut visited: HashSet<String> = HashSet::from([root.to_string()]);
    if root_is_container {
        stack.push((None, root.to_string()));
    } else {
        // A left-out subtree is rooted at a block whose own text matters too.
        content.requests += 1;
        let block = client.retrieve_block(root).await?;
        let has_children = block.get("has_children").and_then(Value::as_bool).unwrap_or(false);
        arena.push((block, Vec::new()));
        roots.push(0);
        if has_children {
            stack.push((Some(0), root.to_string()));
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
    Ok(render_blocks(&tree))
}
