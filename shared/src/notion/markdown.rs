//! Clean Markdown for records, from either of Notion's two content shapes:
//! - a block tree (`GET /v1/blocks/{id}/children`, walked recursively): [`render_blocks`];
//! - enhanced ("Notion-flavored") markdown (`GET /v1/pages/{id}/markdown`):
//!   [`normalize_enhanced`], which turns its XML-like tags into plain Markdown and reports
//!   the child pages, child databases and not-yet-loaded subtrees it mentions.

use super::model::{fragment_id, id_from_url, page_url, plain_text};
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

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
    /// Subtrees enhanced markdown left out (`<unknown>` without `alt`), to fetch and splice
    /// in at [`hole_marker`].
    pub holes: Vec<String>,
}

/// The line standing in the text for a not-yet-loaded subtree.
pub fn hole_marker(block_id: &str) -> String {
    format!("\u{1}hole:{block_id}\u{1}")
}

fn push_unique(list: &mut Vec<String>, id: String) {
    if !list.contains(&id) {
        list.push(id);
    }
}

/// Rich text with its annotations and links as Markdown.
pub fn rich_text(parts: Option<&Value>) -> String {
    let Some(parts) = parts.and_then(Value::as_array) else {
        return String::new();
    };
    let mut out = String::new();
    for part in parts {
        let text = part.get("plain_text").and_then(Value::as_str).unwrap_or_default();
        if text.is_empty() {
            continue;
        }
        let flag = |name: &str| {
            part.pointer(&format!("/annotations/{name}"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let mut piece = text.to_string();
        if flag("code") {
            piece = format!("`{piece}`");
        }
        if flag("bold") {
            piece = format!("**{piece}**");
        }
        if flag("italic") {
            piece = format!("*{piece}*");
        }
        if flag("strikethrough") {
            piece = format!("~~{piece}~~");
        }
        if let Some(href) = part.get("href").and_then(Value::as_str) {
            piece = format!("[{piece}]({href})");
        }
        out.push_str(&piece);
    }
    out
}

struct BlockRenderer {
    out: Rendered,
    lines: Vec<String>,
}

impl BlockRenderer {
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
                }
                "divider" => self.line(indent, q, "---"),
                "equation" => {
                    let expr = data.get("expression").and_then(Value::as_str).unwrap_or_default();
                    self.line(indent, q, &format!("$${expr}$$"));
                }
                "table" => self.table(&node.children, indent, q),
                "column_list" | "column" | "synced_block" | "template" => self.render(&node.children, indent, quote),
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
                    let file_type = data.get("type").and_then(Value::as_str).unwrap_or("external");
                    let url = data
                        .pointer(&format!("/{file_type}/url"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let caption = rich_text(data.get("caption"));
                    let label = if caption.is_empty() { kind.clone() } else { caption };
                    self.line(indent, q, &format!("[{label}]({url})"));
                }
                "breadcrumb" | "table_of_contents" | "table_row" => {}
                other => self.out.skipped.push(other.to_string()),
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

/// Renders a block tree (a page's children) as clean Markdown.
pub fn render_blocks(nodes: &[BlockNode]) -> Rendered {
    let mut renderer = BlockRenderer {
        out: Rendered::default(),
        lines: Vec::new(),
    };
    renderer.render(nodes, 0, false);
    let mut out = renderer.out;
    out.text = renderer.lines.join("\n").trim().to_string();
    out
}

static ATTRIBUTE_LIST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\s*\{[a-z-]+="[^"]*"(\s+[a-z-]+="[^"]*")*\}\s*$"#).expect("valid regex"));
static LINK_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<(page|database|mention-page|mention-database)\s+url="([^"]*)"[^>]*>(.*?)</(?:page|database|mention-page|mention-database)>"#)
        .expect("valid regex")
});
static OTHER_INLINE_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"</?(mention-[a-z-]+|span|color|u|br)(\s+[^>]*)?/?>"#).expect("valid regex"));
static UNKNOWN_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"<unknown\s+([^>]*?)/?>"#).expect("valid regex"));
static ATTR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"([a-z-]+)="([^"]*)""#).expect("valid regex"));
static CELL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"<td[^>]*>(.*?)</td>"#).expect("valid regex"));

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.peek().copied() {
                if matches!(next, '<' | '>' | '{' | '}' | '^' | '$' | '~') {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Turns enhanced markdown into clean Markdown, collecting child pages, databases and
/// the subtrees that still have to be fetched.
pub fn normalize_enhanced(markdown: &str) -> Rendered {
    let mut out = Rendered::default();
    let mut lines: Vec<String> = Vec::new();
    let mut in_code = false;
    let mut table: Option<Vec<Vec<String>>> = None;
    for raw in markdown.lines() {
        let depth = raw.chars().take_while(|c| *c == '\t').count();
        let content = &raw[depth..];
        let trimmed = content.trim();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            lines.push(trimmed.to_string());
            continue;
        }
        if in_code {
            lines.push(content.to_string());
            continue;
        }
        if trimmed == "</table>" {
            push_table(&mut lines, table.take().unwrap_or_default());
            continue;
        }
        if let Some(rows) = table.as_mut() {
            if trimmed.starts_with("<tr") {
                rows.push(Vec::new());
            }
            for cell in CELL.captures_iter(trimmed) {
                let text = inline(&cell[1], &mut out).replace('|', "\\|");
                match rows.last_mut() {
                    Some(row) => row.push(text),
                    None => rows.push(vec![text]),
                }
            }
            continue;
        }
        // `<table>` or `<table attrs>` only: `<table_of_contents/>` is another block, which
        // has no text of its own (and must never open a table that swallows the page).
        if trimmed == "<table>" || trimmed.starts_with("<table ") {
            table = Some(Vec::new());
            continue;
        }
        if trimmed.starts_with("<table_of_contents") {
            continue;
        }
        if is_structure_tag(trimmed) {
            continue;
        }
        if let Some(summary) = trimmed
            .strip_prefix("<summary>")
            .and_then(|s| s.strip_suffix("</summary>"))
        {
            lines.push(inline(summary, &mut out));
            continue;
        }
        if trimmed == "<empty-block/>" {
            lines.push(String::new());
            continue;
        }
        if let Some(tag) = UNKNOWN_TAG.captures(trimmed) {
            let attrs: Vec<(String, String)> = ATTR
                .captures_iter(&tag[1])
                .map(|c| (c[1].to_string(), c[2].to_string()))
                .collect();
            let get = |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            match (get("alt"), get("url")) {
                (Some(alt), _) => out.skipped.push(alt),
                (None, Some(url)) => match fragment_id(&url).or_else(|| id_from_url(&url)) {
                    Some(id) => {
                        lines.push(hole_marker(&id));
                        push_unique(&mut out.holes, id);
                    }
                    None => out.skipped.push("unknown".into()),
                },
                (None, None) => out.skipped.push("unknown".into()),
            }
            continue;
        }
        let text = inline(&ATTRIBUTE_LIST.replace(content, ""), &mut out);
        let is_list = ["- ", "* ", "+ "].iter().any(|p| text.starts_with(p))
            || text
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let indent = if is_list { "  ".repeat(depth) } else { String::new() };
        lines.push(format!("{indent}{text}"));
    }
    // A table Notion left unclosed still keeps its rows.
    if let Some(rows) = table {
        push_table(&mut lines, rows);
    }
    out.text = collapse_blank_lines(&lines);
    out
}

/// Appends a table's rows as a Markdown table, the first row as its header.
fn push_table(lines: &mut Vec<String>, rows: Vec<Vec<String>>) {
    for (i, row) in rows.iter().enumerate() {
        lines.push(format!("| {} |", row.join(" | ")));
        if i == 0 {
            lines.push(format!("|{}", " --- |".repeat(row.len().max(1))));
        }
    }
}

fn is_structure_tag(line: &str) -> bool {
    const TAGS: [&str; 6] = [
        "details",
        "callout",
        "columns",
        "column",
        "synced_block",
        "synced_block_reference",
    ];
    let Some(inner) = line.strip_prefix('<').and_then(|l| l.strip_suffix('>')) else {
        return false;
    };
    let name = inner
        .trim_start_matches('/')
        .split([' ', '/'])
        .next()
        .unwrap_or_default();
    TAGS.contains(&name) && !inner.contains('<')
}

fn inline(text: &str, out: &mut Rendered) -> String {
    let linked = LINK_TAG.replace_all(text, |c: &regex::Captures<'_>| {
        let (kind, url, title) = (&c[1], &c[2], &c[3]);
        if let Some(id) = id_from_url(url) {
            match kind {
                "page" => push_unique(&mut out.child_pages, id),
                "database" => push_unique(&mut out.child_databases, id),
                _ => {}
            }
        }
        let title = if title.is_empty() { "Untitled" } else { title };
        format!("[{title}]({url})")
    });
    unescape(&OTHER_INLINE_TAG.replace_all(&linked, ""))
}

fn collapse_blank_lines(lines: &[String]) -> String {
    let mut text = String::new();
    let mut blank = false;
    for line in lines {
        if line.trim().is_empty() {
            blank = true;
            continue;
        }
        if blank && !text.is_empty() {
            text.push('\n');
        }
        blank = false;
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.trim_end().to_string()
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
        let r = render_blocks(&nodes);
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
    fn annotations_and_links() {
        let parts = json!([
            {"plain_text": "bold", "annotations": {"bold": true}},
            {"plain_text": " and "},
            {"plain_text": "link", "href": "https://x.y"}
        ]);
        assert_eq!(rich_text(Some(&parts)), "**bold** and [link](https://x.y)");
    }

    #[test]
    fn enhanced_markdown_becomes_clean_markdown() {
        let md = "# Heading {color=\"blue\"}\nPara \\<tag\\> text\n- item\n\t- nested\n<details>\n<summary>Toggle title</summary>\n\tHidden text\n</details>\n<callout icon=\"💡\">\n\tCallout text\n</callout>\n<table header-row=\"true\">\n\t<tr>\n\t\t<td>A</td>\n\t\t<td>B</td>\n\t</tr>\n\t<tr>\n\t\t<td>1</td>\n\t\t<td>2</td>\n\t</tr>\n</table>\n<page url=\"https://www.notion.so/Kid-1429989fe8ac4effbc8f57f56486db54\">Kid</page>\n<database url=\"https://www.notion.so/2429989fe8ac4effbc8f57f56486db54\" inline=\"true\">Db</database>\n<unknown url=\"https://www.notion.so/x#3429989fe8ac4effbc8f57f56486db54\"/>\n<unknown url=\"https://www.notion.so/x#4429989fe8ac4effbc8f57f56486db54\" alt=\"ai_block\"/>\n```rust\n<page url=\"x\">not a tag in code</page>\n```";
        let r = normalize_enhanced(md);
        assert!(r.text.starts_with("# Heading\nPara <tag> text\n- item\n  - nested\nToggle title\nHidden text\nCallout text\n| A | B |\n| --- | --- |\n| 1 | 2 |"), "{}", r.text);
        assert!(r
            .text
            .contains("[Kid](https://www.notion.so/Kid-1429989fe8ac4effbc8f57f56486db54)"));
        assert_eq!(r.child_pages, ["1429989f-e8ac-4eff-bc8f-57f56486db54"]);
        assert_eq!(r.child_databases, ["2429989f-e8ac-4eff-bc8f-57f56486db54"]);
        assert_eq!(r.holes, ["3429989f-e8ac-4eff-bc8f-57f56486db54"]);
        assert!(r.text.contains(&hole_marker("3429989f-e8ac-4eff-bc8f-57f56486db54")));
        assert_eq!(r.skipped, ["ai_block"]);
        assert!(r.text.contains("<page url=\"x\">not a tag in code</page>"));
    }

    /// Notion's "Enhanced markdown" guide renders a table of contents block as the
    /// self-closing `<table_of_contents/>`: it is not a table, and what follows it stays.
    #[test]
    fn table_of_contents_never_hides_what_follows() {
        let md = "# Title\n<table_of_contents/>\nAfter the contents.\n<page url=\"https://www.notion.so/Kid-1429989fe8ac4effbc8f57f56486db54\">Kid</page>\n<table_of_contents color=\"gray\"/>\nLast line.";
        let r = normalize_enhanced(md);
        assert!(r.text.contains("After the contents."), "{}", r.text);
        assert!(r.text.contains("Last line."), "{}", r.text);
        assert!(!r.text.contains("table_of_contents"), "{}", r.text);
        assert_eq!(r.child_pages, ["1429989f-e8ac-4eff-bc8f-57f56486db54"]);
    }

    #[test]
    fn an_unclosed_table_keeps_its_rows() {
        let r = normalize_enhanced("<table>\n\t<tr>\n\t\t<td>A</td>\n\t\t<td>B</td>\n\t</tr>");
        assert!(r.text.contains("| A | B |"), "{}", r.text);
    }
}
