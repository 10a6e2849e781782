//! A parser for Notion-flavored Markdown, v2 (`GET /v1/pages/{id}/markdown?markdown_version=v2`),
//! into the clean Markdown of records. Built from "Migrate to Notion-flavored Markdown (v2)"
//! (blocks apart by blank lines; children not tab-indented except in lists; a block with
//! children in its tag form, `<p>`, `<quote>`, `<toggle>`, with them after a blank line;
//! colors as tag attributes, so `{color="…"}` in the text is literal text) and, for every
//! construct the two formats share, Notion's "Enhanced markdown format" reference and the
//! "Working with markdown content" guide (developers.notion.com/guides/data-apis/…). The
//! crawler asks every version for v2, so the v1 parser is gone: v1's attribute lists are no
//! longer stripped.
//!
//! | construct (reference section) | what our Markdown makes of it |
//! |---|---|
//! | text; `{color="…"}` written in it (v2: literal) | the text, as written |
//! | `<p>`, `<quote>`, `<toggle>` (v2 tag forms, with or without children; `color` attributes) | their text, then their children |
//! | `#`…`####` headings, `- `, `1. `, `- [ ]`, `> ` ("Headings", "Lists", "To-do", "Quote") | kept; list items indented two spaces per tab |
//! | tab-indented children ("Indentation") | kept, flattened (lists keep their nesting) |
//! | `\*` and the other escapes ("Escaping") | the character itself |
//! | fenced code ("Code") | kept literally: tags inside are text |
//! | `$$` … `$$`, `$$ x $$` ("Equation") | kept literally |
//! | `<details>`/`<summary>` ("Toggle") | the summary as a line, children after it |
//! | `<callout icon color>` ("Callout") | the icon and text, children after it |
//! | `<columns>`, `<column>` ("Columns") | their children, in order |
//! | `<table>`/`<tr>`/`<td>`, `<colgroup>`/`<col>` ("Table"); pipe tables | a pipe table, first row as header |
//! | `---` ("Divider") | kept |
//! | `<empty-block/>` ("Empty line") | an empty line |
//! | `![Caption](URL)`, `<audio/video/file/pdf src>Caption</…>` ("Media blocks") | `[Caption](URL)`; a Notion-hosted (signed) URL becomes a stable link to the page, a file also keeps its file name |
//! | `<page url>`, `<database url>` ("Page and database references") | `[Title](url)`; the page or database is crawled |
//! | `<table_of_contents/>` ("Table of contents"), `<breadcrumb/>` | nothing (no text of their own) |
//! | `<synced_block>`, `<synced_block_reference>` ("Synced block") | their children (the original's content) |
//! | `<meeting-notes>`, `<summary>`, `<notes>`, `<transcript>` | their text |
//! | `**b**`, `*i*`, `~~s~~`, `` `c` ``, `[t](url)`, `$x$` ("Rich text formatting") | kept |
//! | `<span …>t</span>`, `<br>` | `t`; a line break |
//! | `<mention-page/database url>T</…>` ("Mentions") | `[T](url)`; the page or database is crawled |
//! | `<mention-user/data-source/agent …>T</…>`, `<mention-date start end/>` | `T`; the date or range |
//! | `<unknown url="…#block"/>` without `alt`, or listed in `unknown_block_ids` ("Unknown blocks, truncation, and permissions") | fetched again from the markdown endpoint and placed where it stood |
//! | `<unknown url="…#block" alt="bookmark/embed/link_preview/synced_block/…"/>` ("Unsupported block types") | read with the block API and placed where it stood |
//! | `<unknown … alt="breadcrumb/table_of_contents/unsupported/ai_block/template"/>` | skipped (no text), counted |
//! | any other tag | its inner text is kept, its name counted in `unknownTags`; it never hides what follows |

use super::media::{is_signed_file_url, media_text};
use super::tags::{link_at, split_element, tag_at, Tag, CONTAINERS, ESCAPABLE, NO_TEXT, RENDERED_TYPES};
use crate::notion::model::{fragment_id, id_from_url, page_url};
use std::collections::HashSet;

/// What a markdown answer came to, and what it points at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Clean Markdown, with [`hole_marker`] and [`block_marker`] lines where content is
    /// still to be placed.
    pub text: String,
    /// Child (and mentioned) pages.
    pub child_pages: Vec<String>,
    /// Child databases.
    pub child_databases: Vec<String>,
    /// Subtrees to fetch again from the markdown endpoint.
    pub holes: Vec<String>,
    /// Those of them that stand at the answer's top level (children of its root).
    pub top_level_holes: Vec<String>,
    /// Blocks the markdown leaves out that the block API has text for.
    pub block_reads: Vec<String>,
    /// Those of them that stand at the answer's top level (children of its root).
    pub top_level_reads: Vec<String>,
    /// Blocks skipped because they have no text, by type.
    pub skipped: Vec<String>,
    /// Tags the parser does not know, by name, once per occurrence.
    pub unknown_tags: Vec<String>,
    /// Ids of every `<unknown>` tag in the text, whatever became of it.
    pub tagged: Vec<String>,
    /// Files whose contents may be read (`<file>` and `<pdf>` tags with a URL).
    pub files: Vec<super::media::FileRef>,
}

/// The line standing in the text for a subtree to fetch from the markdown endpoint.
pub fn hole_marker(block_id: &str) -> String {
    format!("\u{1}hole:{block_id}\u{1}")
}

/// The line standing in the text for a block to read with the block API.
pub fn block_marker(block_id: &str) -> String {
    format!("\u{1}block:{block_id}\u{1}")
}

fn push_unique(list: &mut Vec<String>, id: String) {
    if !list.contains(&id) {
        list.push(id);
    }
}

/// Where a parse happens.
#[derive(Clone, Debug, Default)]
pub struct Context<'a> {
    /// The page being read (for stable links to hosted files).
    pub page_id: &'a str,
    /// `unknown_block_ids` of the answer, dashed: their `<unknown>` tags without `alt`, or
    /// with the `alt` of a type the markdown renders, are subtrees to fetch again from the
    /// markdown endpoint.
    pub truncated: HashSet<String>,
}

/// A dashed block id, whatever form Notion wrote it in.
pub fn canonical_id(id: &str) -> Option<String> {
    id_from_url(id)
}

/// The parser's state over one answer.
struct Parser<'a> {
    ctx: &'a Context<'a>,
    out: Parsed,
    lines: Vec<String>,
    /// Rows of the `<table>` being read, with the tab depth of its tag.
    table: Option<(usize, Vec<Vec<String>>)>,
    /// Tab depth of the open code fence and its fence text.
    code: Option<(usize, String)>,
    /// Tab depth of the open `$$` equation.
    equation: Option<usize>,
    /// Container tags opened on an earlier line and not closed yet: v2 does not indent
    /// their children, so a block is at the page's top level only outside every one.
    open_containers: usize,
}

impl Parser<'_> {
    fn stable_link(&self) -> String {
        if self.ctx.page_id.is_empty() {
            "https://www.notion.so".into()
        } else {
            page_url(self.ctx.page_id)
        }
    }

    fn unknown_tag(&mut self, name: &str) {
        self.out.unknown_tags.push(name.to_string());
    }

    fn flush_table(&mut self) {
        let Some((_, rows)) = self.table.take() else { return };
        for (i, row) in rows.iter().enumerate() {
            self.lines.push(format!("| {} |", row.join(" | ")));
            if i == 0 {
                self.lines.push(format!("|{}", " --- |".repeat(row.len().max(1))));
            }
        }
    }

    /// Inline rich text: escapes, spans, mentions, links, images.
    fn inline(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if c == '\\' {
                let mut chars = rest.chars();
                chars.next();
                match chars.next() {
                    Some(next) if ESCAPABLE.contains(next) => {
                        out.push(next);
                        rest = &rest[1 + next.len_utf8()..];
                    }
                    _ => {
                        out.push('\\');
                        rest = &rest[1..];
                    }
                }
                continue;
            }
            if c == '`' {
                // Inline code is literal.
                if let Some(end) = rest[1..].find('`') {
                    out.push_str(&rest[..end + 2]);
                    rest = &rest[end + 2..];
                    continue;
                }
            }
            if c == '!' && rest[1..].starts_with('[') {
                if let Some((caption, url, after)) = link_at(&rest[1..]) {
                    let caption = self.inline(caption);
                    out.push_str(&media_text("image", &caption, url, None, &self.stable_link()));
                    rest = after;
                    continue;
                }
            }
            if c == '[' {
                if let Some((label, url, after)) = link_at(rest) {
                    let label = self.inline(label);
                    let url = if is_signed_file_url(url) {
                        self.stable_link()
                    } else {
                        url.to_string()
                    };
                    out.push_str(&format!("[{label}]({url})"));
                    rest = after;
                    continue;
                }
            }
            if c == '<' {
                if let Some((text, after)) = self.inline_tag(rest) {
                    out.push_str(&text);
                    rest = after;
                    continue;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// An inline tag at the start of `s`: its text and what follows.
    fn inline_tag<'s>(&mut self, s: &'s str) -> Option<(String, &'s str)> {
        let tag = tag_at(s)?;
        if tag.closing {
            // A stray closing tag: drop it, keep going.
            return Some((String::new(), tag.rest));
        }
        let name = tag.name;
        if name == "br" {
            return Some(("\n".into(), tag.rest));
        }
        let (inner, after) = if tag.self_closing {
            ("", tag.rest)
        } else {
            match split_element(tag.rest, name) {
                Some(split) => split,
                // Unclosed: the rest of the line is its text.
                None => (tag.rest, ""),
            }
        };
        let inner_text = self.inline(inner);
        let text = match name {
            "span"
            | "u"
            | "color"
            | "mention-user"
            | "mention-data-source"
            | "mention-agent"
            | "summary"
            | "p"
            | "quote"
            | "toggle" => inner_text,
            "mention-page" | "mention-database" | "page" | "database" => {
                let url = tag.attr("url").unwrap_or_default();
                if let Some(id) = id_from_url(url) {
                    let list = if name.ends_with("database") {
                        &mut self.out.child_databases
                    } else {
                        &mut self.out.child_pages
                    };
                    push_unique(list, id);
                }
                if url.is_empty() {
                    inner_text
                } else {
                    format!("[{inner_text}]({url})")
                }
            }
            "mention-date" => {
                let start = tag.attr("start").unwrap_or_default();
                let mut date = match tag.attr("end") {
                    Some(end) if !end.is_empty() => format!("{start} – {end}"),
                    _ => start.to_string(),
                };
                if let Some(time) = tag.attr("startTime") {
                    date = format!("{date} {time}");
                }
                if inner_text.is_empty() {
                    date
                } else {
                    inner_text
                }
            }
            _ => {
                self.unknown_tag(name);
                inner_text
            }
        };
        Some((text, after))
    }

    /// One line of the answer.
    fn line(&mut self, raw: &str) {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = raw.chars().take_while(|c| *c == '\t').count();
        let content = &raw[depth..];
        let trimmed = content.trim();
        if let Some((fence_depth, fence)) = &self.code {
            if trimmed.starts_with(fence.as_str()) && trimmed.trim_start_matches('`').is_empty() {
                self.lines.push(fence.clone());
                self.code = None;
            } else {
                // Code is literal; its own indentation beyond the fence's is kept.
                let keep = raw.get((*fence_depth).min(depth)..).unwrap_or(raw);
                self.lines.push(keep.to_string());
            }
            return;
        }
        if let Some(eq_depth) = self.equation {
            if trimmed == "$$" {
                self.lines.push("$$".into());
                self.equation = None;
            } else {
                let keep = raw.get(eq_depth.min(depth)..).unwrap_or(raw);
                self.lines.push(keep.to_string());
            }
            return;
        }
        if trimmed.starts_with("```") {
            self.flush_table();
            let fence: String = trimmed.chars().take_while(|c| *c == '`').collect();
            self.lines.push(trimmed.to_string());
            self.code = Some((depth, fence));
            return;
        }
        if trimmed == "$$" {
            self.flush_table();
            self.lines.push("$$".into());
            self.equation = Some(depth);
            return;
        }
        if self.table.is_some() && self.table_line(trimmed) {
            return;
        }
        // Anything else ends a table Notion left unclosed: it never swallows what follows.
        self.flush_table();
        if trimmed.is_empty() {
            self.lines.push(String::new());
            return;
        }
        if trimmed.starts_with('<') && self.block_tag(trimmed, depth) {
            return;
        }
        // v2 writes `{color="…"}` as literal text (colors are tag attributes): kept.
        let text = self.inline(content.trim_end());
        let is_list = ["- ", "* ", "+ "].iter().any(|p| text.starts_with(p))
            || text
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let indent = if is_list { "  ".repeat(depth) } else { String::new() };
        for part in text.split('\n') {
            self.lines.push(format!("{indent}{part}"));
        }
    }

    /// A line inside `<table>`; false when it is not table markup.
    fn table_line(&mut self, trimmed: &str) -> bool {
        let Some(tag) = tag_at(trimmed) else { return false };
        match (tag.name, tag.closing) {
            ("table", true) => {
                self.flush_table();
                true
            }
            ("tr", false) => {
                if let Some((_, rows)) = self.table.as_mut() {
                    rows.push(Vec::new());
                }
                // Cells may follow on the same line.
                let rest = tag.rest.trim();
                if !rest.is_empty() {
                    self.table_line(rest);
                }
                true
            }
            ("td" | "th", false) => {
                let (inner, after) = split_element(tag.rest, tag.name).unwrap_or((tag.rest, ""));
                let cell = self.inline(inner).replace('|', "\\|").replace('\n', " ");
                if let Some((_, rows)) = self.table.as_mut() {
                    match rows.last_mut() {
                        Some(row) => row.push(cell),
                        None => rows.push(vec![cell]),
                    }
                }
                let after = after.trim();
                if !after.is_empty() {
                    self.table_line(after);
                }
                true
            }
            ("tr" | "colgroup" | "col" | "thead" | "tbody", _) => true,
            _ => false,
        }
    }

    /// A line starting with a block-level tag; false when it is not one (then it is text).
    fn block_tag(&mut self, trimmed: &str, depth: usize) -> bool {
        let Some(tag) = tag_at(trimmed) else { return false };
        let name = tag.name;
        if tag.closing {
            // The end of a container: nothing to write; what follows is read normally (an
            // unknown container was counted at its opening).
            if CONTAINERS.contains(&name) {
                self.open_containers = self.open_containers.saturating_sub(1);
            }
            return true;
        }
        if CONTAINERS.contains(&name) && !tag.self_closing && split_element(tag.rest, name).is_none() {
            self.open_containers += 1;
        }
        match name {
            "table" => {
                self.flush_table();
                self.table = Some((0, Vec::new()));
                let rest = tag.rest.trim();
                if !rest.is_empty() {
                    self.table_line(rest);
                }
                true
            }
            "empty-block" => {
                self.lines.push(String::new());
                true
            }
            "table_of_contents" | "breadcrumb" => true,
            "unknown" => {
                self.unknown_block(&tag, depth);
                true
            }
            // v2's tag forms of blocks with children ("Migrate to Notion-flavored Markdown
            // (v2)"): the text after the tag, then the children as lines of their own.
            "p"
            | "quote"
            | "toggle"
            | "details"
            | "columns"
            | "column"
            | "column_list"
            | "synced_block"
            | "synced_block_reference"
            | "meeting-notes"
            | "notes"
            | "transcript"
            | "data-source"
            | "colgroup" => {
                self.rest_of_line(&tag, name);
                true
            }
            "callout" => {
                let icon = tag.attr("icon").map(|i| format!("{i} ")).unwrap_or_default();
                let (inner, _) = split_element(tag.rest, name).unwrap_or((tag.rest, ""));
                let text = self.inline(inner.trim());
                if !icon.is_empty() || !text.is_empty() {
                    self.lines.push(format!("> {icon}{text}").trim_end().to_string());
                }
                true
            }
            "summary" => {
                let (inner, _) = split_element(tag.rest, name).unwrap_or((tag.rest, ""));
                let text = self.inline(inner.trim());
                if !text.is_empty() {
                    self.lines.push(text);
                }
                true
            }
            "audio" | "video" | "file" | "pdf" | "image" => {
                let url = tag
                    .attr("src")
                    .or(tag.attr("source"))
                    .or(tag.attr("url"))
                    .unwrap_or_default();
                let (inner, _) = if tag.self_closing {
                    ("", "")
                } else {
                    split_element(tag.rest, name).unwrap_or((tag.rest, ""))
                };
                let caption = self.inline(inner.trim());
                let text = media_text(name, &caption, url, None, &self.stable_link());
                if (name == "file" || name == "pdf") && !url.is_empty() {
                    self.out.files.push(super::media::FileRef {
                        kind: name.to_string(),
                        // An attribute's `&` may come escaped; the signature needs it plain.
                        url: url.replace("&amp;", "&"),
                        hosted: is_signed_file_url(url),
                        expiry_time: None,
                        name: super::media::file_name_of(url),
                        caption: caption.clone(),
                        block_id: None,
                    });
                }
                self.lines.push(text);
                true
            }
            "bookmark" | "embed" | "link_preview" => {
                let url = tag.attr("url").unwrap_or_default().to_string();
                let (inner, _) = if tag.self_closing {
                    ("", "")
                } else {
                    split_element(tag.rest, name).unwrap_or((tag.rest, ""))
                };
                let caption = self.inline(inner.trim());
                self.lines.push(if caption.is_empty() {
                    format!("<{url}>")
                } else {
                    format!("[{caption}]({url})")
                });
                true
            }
            _ => {
                // Pages, databases, mentions and unknown tags as inline text (an unknown
                // tag keeps its inner text and never hides what follows).
                let text = self.inline(trimmed);
                for part in text.split('\n') {
                    self.lines.push(part.to_string());
                }
                true
            }
        }
    }

    /// Text after a container's opening tag on the same line (rare), kept.
    fn rest_of_line(&mut self, tag: &Tag<'_>, name: &str) {
        let rest = tag.rest.trim();
        let rest = rest.strip_suffix(&format!("</{name}>")).unwrap_or(rest).trim();
        if !rest.is_empty() {
            self.line(rest);
        }
    }

    fn hole(&mut self, id: String, depth: usize) {
        self.lines.push(hole_marker(&id));
        if depth == 0 && self.open_containers == 0 {
            push_unique(&mut self.out.top_level_holes, id.clone());
        }
        push_unique(&mut self.out.holes, id);
    }

    fn unknown_block(&mut self, tag: &Tag<'_>, depth: usize) {
        let url = tag.attr("url").unwrap_or_default();
        let id = fragment_id(url).or_else(|| id_from_url(url));
        let alt = tag.attr("alt").filter(|a| !a.is_empty());
        if let Some(id) = &id {
            push_unique(&mut self.out.tagged, id.clone());
        }
        match (id, alt) {
            (Some(id), Some(alt)) if self.ctx.truncated.contains(&id) && RENDERED_TYPES.contains(&alt) => {
                self.hole(id, depth);
            }
            (Some(id), None) => self.hole(id, depth),
            (_, Some(alt)) if NO_TEXT.contains(&alt) => self.out.skipped.push(alt.to_string()),
            (Some(id), Some(_)) => {
                self.lines.push(block_marker(&id));
                if depth == 0 && self.open_containers == 0 {
                    push_unique(&mut self.out.top_level_reads, id.clone());
                }
                push_unique(&mut self.out.block_reads, id);
            }
            (None, alt) => self.out.skipped.push(alt.unwrap_or("unknown").to_string()),
        }
    }
}

/// Parses one markdown answer.
pub fn parse(markdown: &str, ctx: &Context<'_>) -> Parsed {
    let mut parser = Parser {
        ctx,
        out: Parsed::default(),
        lines: Vec::new(),
        table: None,
        code: None,
        equation: None,
        open_containers: 0,
    };
    for raw in markdown.split('\n') {
        parser.line(raw);
    }
    parser.flush_table();
    let mut out = parser.out;
    out.text = collapse_blank_lines(parser.lines.iter().map(String::as_str));
    out
}

/// Joins lines, keeping at most one blank line in a row and none at the ends.
pub fn collapse_blank_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in lines {
        let line = line.trim_end();
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// The ids of `unknown_block_ids`, dashed.
pub fn truncated_ids(answer: &serde_json::Value) -> HashSet<String> {
    answer
        .get("unknown_block_ids")
        .and_then(serde_json::Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(serde_json::Value::as_str)
                .filter_map(canonical_id)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "flavored_tests.rs"]
mod tests;
