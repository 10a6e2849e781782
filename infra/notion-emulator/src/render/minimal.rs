//! The fewest requests a perfect crawl of a workspace needs, per strategy and reading:
//! the yardstick the benchmarks divide by.

use super::json::url;
use super::markdown::*;
use crate::model::{Parent, Workspace};

/// The fewest Notion requests a perfect crawl of every live page's content needs, by
/// strategy, listing requests (search, databases, data source queries) left out. Both count
/// one `GET /v1/pages/{id}` per live page no listing returns (its edit time is known no
/// other way), the property-item pages of rows whose page object cut a relation or people
/// list short, and, where lists carry titles only (2026-12-01), one schema read per data
/// source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MinimalRequests {
    /// Markdown endpoint: one answer per page, one per subtree a truncated answer left out,
    /// and, for blocks the markdown leaves out that have text, one listing of the page's
    /// children when several stand at its top level (one per 100 children), else one
    /// retrieval each (nested ones: from three under one parent on, one retrieval naming
    /// the parent and one listing of it); a synced reference rendered as `<unknown>` also
    /// costs the walk of its original.
    pub markdown: u64,
    /// Block walk: one children listing per 100 children of the page and of every block
    /// with children.
    pub block_walk: u64,
}

fn pages_of_100(n: usize) -> u64 {
    n.div_ceil(100).max(1) as u64
}

/// Children listings a walk of `root`'s subtree needs (child pages and databases are not
/// entered; a synced reference lists its original's children).
fn walk_requests(ws: &Workspace, root_children: &[String]) -> u64 {
    let mut total = pages_of_100(root_children.len());
    let mut stack: Vec<String> = root_children.to_vec();
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(b) = ws.blocks.get(&id) else { continue };
        if matches!(b.kind.as_str(), "child_page" | "child_database") {
            continue;
        }
        let children = ws.children_of(b);
        if !children.is_empty() {
            total += pages_of_100(children.len());
            stack.extend(children);
        }
    }
    total
}

/// Whether the markdown leaves `b` out as `<unknown alt>` (a type it does not render:
/// bookmark, embed, link preview, tab, a type added later...) while it has text or children,
/// which the block API then has to give.
fn left_out_with_text(ws: &Workspace, url: &str, reading: Reading, b: &crate::model::Block) -> bool {
    // Content is text, children, or what the block object alone holds: a link preview's,
    // bookmark's or embed's `url`, or a caption (the block reference's type objects).
    // `<unknown alt="link_preview"/>` says none of it, so a crawl that keeps a link
    // preview's URL has to ask for the block. (A table row's cells are rendered with its
    // table, never alone.)
    let own = ["url", "caption"].iter().any(|k| {
        b.extra
            .get(*k)
            .is_some_and(|v| !v.is_null() && v != "" && v != &serde_json::json!([]))
    });
    if b.text.is_empty() && !own && ws.children_of(b).is_empty() {
        return false;
    }
    let mut alone = MarkdownRenderer::new(ws, url.to_string(), usize::MAX, reading);
    alone.block(b, 0);
    alone.unrendered.first() == Some(&b.id)
}

/// Property-item requests a row needs: a relation past the 25 references a page object
/// carries, and a people list of 25 (which may be longer), read whole at 100 items a page.
fn property_item_requests(page: &crate::model::Page) -> u64 {
    page.properties
        .values()
        .filter_map(|v| {
            let kind = v.get("type").and_then(serde_json::Value::as_str)?;
            let items = v.get(kind).and_then(serde_json::Value::as_array)?.len();
            let cut = match kind {
                "relation" => items > super::json::PAGE_REFERENCES,
                "people" => items >= super::json::PAGE_REFERENCES,
                _ => false,
            };
            cut.then(|| pages_of_100(items))
        })
        .sum()
}

/// [`MinimalRequests`] of the workspace as the emulator serves it.
pub fn minimal_requests(
    ws: &Workspace,
    markdown_block_limit: usize,
    reading: Reading,
    filter_properties: bool,
) -> MinimalRequests {
    minimal_requests_by_page(ws, markdown_block_limit, reading, filter_properties).0
}

/// [`minimal_requests`], with each page's share of the markdown path (its own content
/// requests, the schema reads of data sources aside), to compare a crawl page by page.
pub fn minimal_requests_by_page(
    ws: &Workspace,
    markdown_block_limit: usize,
    reading: Reading,
    filter_properties: bool,
) -> (MinimalRequests, std::collections::BTreeMap<String, u64>) {
    let mut min = MinimalRequests::default();
    let mut by_page = std::collections::BTreeMap::new();
    for page_id in ws.live_pages() {
        let Some(page) = ws.pages.get(&page_id) else { continue };
        let hidden = !page.in_search && !matches!(page.parent, Parent::DataSource(_));
        let retrieve = u64::from(hidden) + property_item_requests(page);
        min.block_walk += retrieve + walk_requests(ws, &page.children);
        // Markdown: the page's answer, then every subtree it leaves out, recursively. Those
        // at the page's top level come from one listing of its children when that is
        // cheaper than a request each (then only containers among them cost an answer).
        // A left-out child page or database costs nothing past the listing, or one
        // retrieval (never its markdown, which is the child page's own content); so does a
        // nested hole without children; a nested container costs its answer, plus a
        // retrieval where child pages may stand among the holes (truncated links).
        let url = url(&page.title, &page_id);
        let mut renderer = MarkdownRenderer::new(ws, url.clone(), markdown_block_limit, reading);
        renderer.blocks(&page.children, 0);
        // A hole of a type the markdown cannot render (a tab) is read with the block API
        // like any such block (counted with them below): asking for its markdown would
        // only answer with it left out again.
        let renders = |id: &String| {
            ws.blocks.get(id).is_none_or(|b| {
                let mut alone = MarkdownRenderer::new(ws, url.clone(), usize::MAX, reading);
                alone.block(b, 0);
                alone.unrendered.first() != Some(&b.id)
            })
        };
        renderer.unknown.retain(|h| renders(h));
        let top: Vec<String> = renderer
            .unknown
            .iter()
            .filter(|h| page.children.contains(h))
            .cloned()
            .collect();
        let is_container = |id: &String| {
            ws.blocks.get(id).is_some_and(|b| {
                !matches!(b.kind.as_str(), "child_page" | "child_database") && !ws.children_of(b).is_empty()
            })
        };
        let listing = pages_of_100(page.children.len());
        let top_listed = top.len() as u64 > listing;
        let mut answers = 1u64;
        if top_listed {
            answers += listing + top.iter().filter(|h| is_container(h)).count() as u64;
        } else {
            answers += top.len() as u64
                + top.iter().filter(|h| is_container(h)).count() as u64 * u64::from(reading.truncated_links);
        }
        let mut holes: Vec<String> = top.iter().filter(|h| is_container(h)).cloned().collect();
        let mut nested: Vec<String> = renderer.unknown.iter().filter(|h| !top.contains(h)).cloned().collect();
        loop {
            while let Some(hole) = nested.pop() {
                answers += 1;
                if is_container(&hole) {
                    answers += u64::from(reading.truncated_links);
                    holes.push(hole);
                }
            }
            let Some(hole) = holes.pop() else { break };
            if let Some(b) = ws.blocks.get(&hole) {
                let mut sub = MarkdownRenderer::new(ws, url.clone(), markdown_block_limit, reading);
                sub.block(b, 0);
                nested.extend(sub.unknown.into_iter().filter(|h| renders(h)));
            }
        }
        // Left-out blocks with text, grouped by parent.
        let mut by_parent: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        let mut synced_walks = 0u64;
        let mut stack = page.children.clone();
        while let Some(id) = stack.pop() {
            let Some(b) = ws.blocks.get(&id) else { continue };
            if matches!(b.kind.as_str(), "child_page" | "child_database") {
                continue;
            }
            let children = ws.children_of(b);
            if b.synced_from.is_some() && reading.synced_reference_unknown {
                *by_parent.entry(b.parent.clone()).or_default() += 1;
                synced_walks += walk_requests(ws, &children);
            } else if left_out_with_text(ws, &url, reading, b) {
                // Read with the block API; its children (a tab's) by a walk, which covers
                // whatever they hold.
                *by_parent.entry(b.parent.clone()).or_default() += 1;
                if !children.is_empty() {
                    synced_walks += walk_requests(ws, &children);
                }
            } else {
                stack.extend(children);
            }
        }
        // At the page's top level several share one listing of the page's children. Nested
        // ones are only known by id (the markdown does not say their parent): one retrieval
        // each, or, from three on, one retrieval that names the parent and one listing of it.
        let left_out: u64 = by_parent
            .iter()
            .map(|(parent, n)| {
                let n = *n as u64;
                if parent == &page_id {
                    if top_listed {
                        0
                    } else if n >= 2 {
                        pages_of_100(page.children.len())
                    } else {
                        n
                    }
                } else {
                    let siblings = ws.blocks.get(parent).map_or(0, |b| b.children.len());
                    n.min(1 + pages_of_100(siblings))
                }
            })
            .sum();
        min.markdown += retrieve + answers + left_out + synced_walks;
        by_page.insert(page_id.clone(), retrieve + answers + left_out + synced_walks);
    }
    // 2026-12-01 lists rows with their title only unless `filter_properties` names the
    // others: one `GET /v1/data_sources/{id}` each for the ids.
    if filter_properties {
        let queried = ws
            .databases
            .values()
            .filter(|db| db.in_search || db.parent_page.as_ref().is_some_and(|p| ws.alive(p)))
            .count() as u64;
        min.markdown += queried;
        min.block_walk += queried;
    }
    (min, by_page)
}
