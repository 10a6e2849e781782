//! Clean Markdown for records from a block tree (`GET /v1/blocks/{id}/children`, walked
//! recursively): [`render_blocks`]. Notion-flavored Markdown (`GET /v1/pages/{id}/markdown`) is
//! parsed by [`super::flavored`]; both write media the same way ([`media_text`]).

use super::media::media_text;
pub use super::rich::rich_text;
use crate::notion::model::{page_url, plain_text};
use serde_json::Value;

/// A block and its children, as the block walk collects them.
#[derive(Clone, Debug, Default)]
pub struct BlockNode {
    /// The block object.
    pub block: Value,
    /// Its children, in order.
    pub children: Vec<BlockNode>,
}

/// Rendered page content and what it points at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Clean Markdown.
    pub text: String,
    /// Ids of child pages (and linked pages) found in the content.
    pub child_pages: Vec<String>,
    /// Ids of child databases found in the content.
    pub child_databases: Vec<String>,
    /// Blocks the content could not include (`unsupported`, `ai_block`, ...), by type.
    pub skipped: Vec<String>,
    /// Block types this renderer does not know, once per block (their text and children
    /// were kept).
    pub unknown_types: Vec<String>,
    /// Files whose contents may be read (file and PDF blocks).
    pub files: Vec<super::media::FileRef>,
}

fn push_unique(list: &mut Vec<String>, id: String) {
    if !list.contains(&id) {
        list.push(id);
    }
}

struct BlockRenderer<'a> {
    out: Rendered,
    lines: Vec<String>,
    /// The page the blocks belong to, for stable links to its hosted files.
    page_id: &'a str,
}

impl BlockRenderer<'_> {
    fn line(&mut self, indent: usize, prefix: &str, text: &str) {
        self.lines.push(format!("{}{prefix}{text}", "  ".repeat(indent)));
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    fn render(&mut self, nodes: &[BlockNode], indent: usize, quote: bool) {
        let mut number = 0;
        let mut previous_was_list = false;
        for node in nodes {
            let kind = node
                .block
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("unsupported")
                .to_string();
            let data = node.block.get(&kind).cloned().unwrap_or(Value::Null);
            let text = rich_text(data.get("rich_text"));
            let q = if quote { "> " } else { "" };
            let is_list = matches!(kind.as_str(), "bulleted_list_item" | "numbered_list_item" | "to_do");
            if kind == "numbered_list_item" {
                number += 1;
            } else {
                number = 0;
            }
            if indent == 0 && !(is_list && previous_was_list) {
                self.blank();
            }
            previous_was_list = is_list;
            match kind.as_str() {
                "paragraph" => {
                    if !text.is_empty() {
                        self.line(indent, q, &text);
                    }
                    self.render(&node.children, indent, quote);
                }
                "heading_1" | "heading_2" | "heading_3" | "heading_4" => {
                    let level = kind.chars().last().and_then(|c| c.to_digit(10)).unwrap_or(1) as usize;
                    self.line(indent, q, &format!("{} {text}", "#".repeat(level)));
                    self.render(&node.children, indent, quote);
                }
                "bulleted_list_item" => {
                    self.line(indent, q, &format!("- {text}"));
                    self.render(&node.children, indent + 1, quote);
                }
                "numbered_list_item" => {
                    self.line(indent, q, &format!("{number}. {text}"));
                    self.render(&node.children, indent + 1, quote);
                }
                "to_do" => {
                    let checked = data.get("checked").and_then(Value::as_bool).unwrap_or(false);
                    self.line(indent, q, &format!("- [{}] {text}", if checked { "x" } else { " " }));
                    self.render(&node.children, indent + 1, quote);
                }
                "toggle" => {
                    self.line(indent, q, &text);
                    self.render(&node.children, indent, quote);
                }
                "quote" | "callout" => {
                    let icon = data
                        .pointer("/icon/emoji")
                        .and_then(Value::as_str)
                        .map(|e| format!("{e} "))
                        .unwrap_or_default();
                    self.line(indent, "> ", &format!("{icon}{text}"));
                    self.render(&node.children, indent, true);
                }
                "code" => {
                    let language = data.get("language").and_then(Value::as_str).unwrap_or_default();
                    self.line(indent, q, &format!("```{language}"));
                    for code_line in plain_text(data.get("rich_text")).lines() {
                        self.line(indent, q, code_line);
                    }
                    self.line(indent, q, "```");
                    // Block reference, "Code": `caption` is rich text of its own.
                    let caption = rich_text(data.get("caption"));
                    if !caption.is_empty() {
                        self.line(indent, q, &caption);
                    }
                }
                "divider" => self.line(indent, q, "---"),
                "equation" => {
                    let expr = data.get("expression").and_then(Value::as_str).unwrap_or_default();
                    self.line(indent, q, &format!("$${expr}$$"));
                }
                "table" => self.table(&node.children, indent, q),
                // `tab` (2026): its children are the tab's content.
                "column_list" | "column" | "synced_block" | "template" | "tab" => {
                    self.render(&node.children, indent, quote)
                }
                // `meeting_notes` (2026-03-11; `transcription` before it): its title, then
                // its summary, notes and transcript blocks, which are its children.
                "meeting_notes" | "transcription" => {
                    let title = rich_text(data.get("title"));
                    if !title.is_empty() {
                        self.line(indent, q, &title);
                    }
                    self.render(&node.children, indent, quote);
                }
                "child_page" | "child_database" => {
                    let id = node
                        .block
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let title = data.get("title").and_then(Value::as_str).unwrap_or("Untitled");
                    self.line(indent, q, &format!("[{title}]({})", page_url(&id)));
                    let list = if kind == "child_page" {
                        &mut self.out.child_pages
                    } else {
                        &mut self.out.child_databases
                    };
                    push_unique(list, id);
                }
                "link_to_page" => {
                    let target = data.get("page_id").and_then(Value::as_str).map(str::to_string);
                    if let Some(id) = target {
                        self.line(indent, q, &format!("[Linked page]({})", page_url(&id)));
                        push_unique(&mut self.out.child_pages, id);
                    }
                }
                "bookmark" | "embed" | "link_preview" => {
                    let url = data.get("url").and_then(Value::as_str).unwrap_or_default();
                    let caption = rich_text(data.get("caption"));
                    self.line(
                        indent,
                        q,
                        &if caption.is_empty() {
                            format!("<{url}>")
                        } else {
                            format!("[{caption}]({url})")
                        },
                    );
                }
                "image" | "video" | "file" | "pdf" | "audio" => {
                    // A Notion-hosted file's URL is signed and expires: link to its block.
                    let file_type = data.get("type").and_then(Value::as_str).unwrap_or("external");
                    let url = match file_type {
                        "file" | "file_upload" => "",
                        _ => data
                            .pointer(&format!("/{file_type}/url"))
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    };
                    let block_id = node.block.get("id").and_then(Value::as_str).unwrap_or_default();
                    let stable = format!("{}#{}", page_url(self.page_id), block_id.replace('-', ""));
                    let caption = rich_text(data.get("caption"));
                    let name = data.get("name").and_then(Value::as_str);
                    self.line(indent, q, &media_text(&kind, &caption, url, name, &stable));
                    if let Some(file) = super::media::file_of_block(&node.block) {
                        self.out.files.push(file);
                    }
                }
                "breadcrumb" | "table_of_contents" | "table_row" => {}
                // No text of their own; what they hold (if anything) is still read.
                "unsupported" | "ai_block" | "button" => {
                    let named = data.get("block_type").and_then(Value::as_str).unwrap_or(&kind);
                    self.out.skipped.push(named.to_string());
                    self.render(&node.children, indent, quote);
                }
                // A type Notion added after this renderer: whatever text it carries, then its
                // children; never dropped, and counted by name.
                other => {
                    self.out.unknown_types.push(other.to_string());
                    let text = [rich_text(data.get("rich_text")), rich_text(data.get("title"))].join(" ");
                    let text = text.trim();
                    if !text.is_empty() {
                        self.line(indent, q, text);
                    }
                    self.render(&node.children, indent, quote);
                }
            }
        }
    }

    fn table(&mut self, rows: &[BlockNode], indent: usize, q: &str) {
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<String> = row
                .block
                .pointer("/table_row/cells")
                .and_then(Value::as_array)
                .map(|cells| cells.iter().map(|c| rich_text(Some(c)).replace('|', "\\|")).collect())
                .unwrap_or_default();
            self.line(indent, q, &format!("| {} |", cells.join(" | ")));
            if i == 0 {
                self.line(indent, q, &format!("|{}", " --- |".repeat(cells.len().max(1))));
            }
        }
    }
}

/// Renders a block tree (children of the page `page_id`, or of a block in it) as clean
/// Markdown.
pub fn render_blocks(nodes: &[BlockNode], page_id: &str) -> Rendered {
    let mut renderer = BlockRenderer {
        out: Rendered::default(),
        lines: Vec::new(),
        page_id,
    };
    renderer.render(nodes, 0, false);
    let mut out = renderer.out;
    out.text = renderer.lines.join("\n").trim().to_string();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn block(kind: &str, text: &str) -> BlockNode {
        BlockNode {
            block: json!({"object": "block", "id": format!("id-{text}"), "type": kind,
                kind: {"rich_text": [{"plain_text": text, "annotations": {}}]}}),
            children: vec![],
        }
    }

    #[test]
    fn blocks_render_as_markdown() {
        let mut list = block("bulleted_list_item", "outer");
        list.children.push(block("bulleted_list_item", "inner"));
        let mut table = BlockNode {
            block: json!({"type": "table", "table": {}}),
            children: vec![],
        };
        for cells in [["h1", "h2"], ["a|b", "c"]] {
            table.children.push(BlockNode {
                block: json!({"type": "table_row", "table_row": {"cells": cells.map(|c| json!([{"plain_text": c}]))}}),
                children: vec![],
            });
        }
        let nodes = vec![
            block("heading_1", "Title"),
            block("paragraph", "Hello"),
            list,
            block("numbered_list_item", "one"),
            block("numbered_list_item", "two"),
            block("to_do", "task"),
            block("quote", "wise"),
            table,
            BlockNode {
                block: json!({"id": "c1", "type": "child_page", "child_page": {"title": "Kid"}}),
                children: vec![],
            },
            BlockNode {
                block: json!({"type": "ai_block", "ai_block": {}}),
                children: vec![],
            },
        ];
        let r = render_blocks(&nodes, "p1");
        assert!(
            r.text
                .starts_with("# Title\n\nHello\n\n- outer\n  - inner\n1. one\n2. two\n- [ ] task"),
            "{}",
            r.text
        );
        assert!(r.text.contains("> wise"));
        assert!(
            r.text.contains("| h1 | h2 |\n| --- | --- |\n| a\\|b | c |"),
            "{}",
            r.text
        );
        assert!(r.text.contains("[Kid](https://www.notion.so/c1)"));
        assert_eq!(r.child_pages, ["c1"]);
        assert_eq!(r.skipped, ["ai_block"]);
    }

    #[test]
    fn new_block_types_keep_their_text_and_children() {
        let mut tab = BlockNode {
            block: json!({"id": "t1", "type": "tab", "tab": {}}),
            children: vec![block("paragraph", "inside the tab")],
        };
        tab.children.push(block("heading_2", "tab heading"));
        let mut meeting = BlockNode {
            block: json!({"id": "m1", "type": "meeting_notes", "meeting_notes": {
                "title": [{"plain_text": "Weekly sync"}], "children": {"summary_block_id": "s1"}}}),
            children: vec![block("paragraph", "the summary"), block("paragraph", "the transcript")],
        };
        meeting.children[0].block["id"] = json!("s1");
        let future = BlockNode {
            block: json!({"id": "f1", "type": "hologram", "hologram": {"rich_text": [{"plain_text": "future text"}]}}),
            children: vec![block("paragraph", "future child")],
        };
        let button = BlockNode {
            block: json!({"id": "b1", "type": "unsupported", "unsupported": {"block_type": "button"}}),
            children: vec![],
        };
        let code = BlockNode {
            block: json!({"id": "c1", "type": "code", "code": {"language": "rust",
                "rich_text": [{"plain_text": "fn main() {}"}], "caption": [{"plain_text": "the entry point"}]}}),
            children: vec![],
        };
        let r = render_blocks(&[tab, meeting, future, button, code], "p1");
        for text in [
            "inside the tab",
            "tab heading",
            "Weekly sync",
            "the summary",
            "the transcript",
            "future text",
            "future child",
            "fn main() {}",
            "the entry point",
        ] {
            assert!(r.text.contains(text), "{text} missing from {}", r.text);
        }
        assert_eq!(r.unknown_types, ["hologram"]);
        assert_eq!(r.skipped, ["button"]);
    }

    #[test]
    fn annotations_and_links() {
        let parts = json!([
            {"plain_text": "bold", "annotations": {"bold": true}},
            {"plain_text": " and "},
            {"plain_text": "link", "href": "https://x.y"}
        ]);
        assert_eq!(rich_text(Some(&parts)), "**bold** and [link](https://x.y)");
    }
}
