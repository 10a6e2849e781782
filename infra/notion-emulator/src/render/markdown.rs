//! The enhanced markdown of `GET /v1/pages/{id}/markdown` from the workspace model, under
//! each reading of the points Notion's documents leave open.

use super::json::*;
use crate::model::{Block, Workspace, UNSUPPORTED};

/// Where Notion's documentation leaves the markdown rendering open, which reading the
/// emulator follows. The default is the "Enhanced markdown format" reference
/// (developers.notion.com/guides/data-apis/enhanced-markdown) and the "Working with markdown
/// content" guide (…/working-with-markdown-content) read literally; each flag is another
/// reading of a point they leave open, and the crawler is tested against every one
/// ([`Reading::ALL`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Truncated blocks' tags carry `alt="<type>"`. "Working with markdown content",
    /// "Unknown blocks, truncation, and permissions" says the affected blocks appear as
    /// `<unknown url="..." alt="..."/>`, while its example answer shows
    /// `<unknown url="..."/>` without `alt` (the default).
    pub truncated_alt: bool,
    /// `unknown_block_ids` in the URL fragment's undashed form; the guide's example shows
    /// dashed UUIDs ("def456-with-dashes-uuid", the default).
    pub undashed_unknown_ids: bool,
    /// Tables as pipe tables, as the format reference's "Complete example" renders one; its
    /// "Table" section shows `<table>`/`<tr>`/`<td>` (the default).
    pub pipe_tables: bool,
    /// A synced block reference as `<unknown url="..." alt="synced_block"/>` (the block
    /// support table lists only "Synced block | `<synced_block>` with content"); the format
    /// reference's "Synced block" shows `<synced_block_reference url>` with the original's
    /// children (the default).
    pub synced_reference_unknown: bool,
    /// Block equations on one line, `$$ expression $$` (the block support table); the
    /// format reference's "Equation" puts `$$` on lines of their own (the default).
    pub one_line_equations: bool,
    /// Children of callouts, toggles and columns not tab-indented (Notion-flavored Markdown
    /// as Notion's own AI tooling writes it); the format reference indents them (default).
    pub flat_containers: bool,
    /// v2: a tag-form block's own text on the tag's line (`<p>Text`); the migration guide
    /// says only that the children come after a blank line, so the default puts the text
    /// on a line of its own after the tag.
    pub v2_text_on_tag_line: bool,
    /// `unknown_block_ids` names every block the answer left out, for any of the three
    /// reasons "Retrieve a page as markdown" gives (truncation, missing access, a type the
    /// markdown does not render), so a bookmark is both `<unknown alt="bookmark"/>` and in
    /// the list; `truncated` stays true only for truncation. The default lists only the
    /// subtrees truncation left out, as the guide's example answer does.
    pub left_out_ids_listed: bool,
    /// Child pages and databases past the block limit are left out like any block (their
    /// ids in `unknown_block_ids`). "Working with markdown content", "Unknown blocks,
    /// truncation, and permissions" says the blocks past the limit are left out without
    /// exempting any type; the default renders their links whatever the limit, since they
    /// have no content in the page's answer.
    pub truncated_links: bool,
}

impl Reading {
    /// Every reading the crawler is tested against, by name.
    pub const ALL: [(&'static str, Reading); 10] = [
        ("documented", Reading::DOCUMENTED),
        (
            "truncated-alt",
            Reading {
                truncated_alt: true,
                ..Reading::DOCUMENTED
            },
        ),
        (
            "undashed-ids",
            Reading {
                undashed_unknown_ids: true,
                ..Reading::DOCUMENTED
            },
        ),
        (
            "pipe-tables",
            Reading {
                pipe_tables: true,
                ..Reading::DOCUMENTED
            },
        ),
        (
            "synced-unknown",
            Reading {
                synced_reference_unknown: true,
                ..Reading::DOCUMENTED
            },
        ),
        (
            "one-line-equations",
            Reading {
                one_line_equations: true,
                ..Reading::DOCUMENTED
            },
        ),
        (
            "v2-text-on-tag-line",
            Reading {
                v2_text_on_tag_line: true,
                ..Reading::DOCUMENTED
            },
        ),
        (
            "left-out-ids-listed",
            Reading {
                left_out_ids_listed: true,
                ..Reading::DOCUMENTED
            },
        ),
        (
            "truncated-links",
            Reading {
                truncated_links: true,
                ..Reading::DOCUMENTED
            },
        ),
        (
            "all-alternatives",
            Reading {
                truncated_alt: true,
                undashed_unknown_ids: true,
                pipe_tables: true,
                synced_reference_unknown: true,
                one_line_equations: true,
                flat_containers: true,
                v2_text_on_tag_line: true,
                left_out_ids_listed: true,
                truncated_links: true,
            },
        ),
    ];

    /// The documents read literally.
    pub const DOCUMENTED: Reading = Reading {
        truncated_alt: false,
        undashed_unknown_ids: false,
        pipe_tables: false,
        synced_reference_unknown: false,
        one_line_equations: false,
        flat_containers: false,
        v2_text_on_tag_line: false,
        left_out_ids_listed: false,
        truncated_links: false,
    };

    /// The reading named `name`.
    pub fn named(name: &str) -> Option<Reading> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }
}

/// Block types the markdown leaves out as `<unknown url alt/>` ("Working with markdown
/// content", "Unsupported block types": bookmark, embed, link preview, breadcrumb,
/// template; and blocks the block API returns as `unsupported`). `tab` (2026) is not in the
/// markdown reference at all: left out, as any type the markdown cannot express.
pub const LEFT_OUT_OF_MARKDOWN: [&str; 8] = [
    "tab",
    "bookmark",
    "embed",
    "link_preview",
    "breadcrumb",
    "template",
    "unsupported",
    "ai_block",
];

/// Renders enhanced markdown of a page's (or one block's) subtree. After `limit` blocks,
/// each further block becomes an `<unknown>` placeholder whose id is returned, as Notion
/// does when a page is too large for one answer ("Unknown blocks, truncation, and
/// permissions").
pub struct MarkdownRenderer<'a> {
    ws: &'a Workspace,
    page_url: String,
    limit: usize,
    count: usize,
    out: String,
    reading: Reading,
    /// Subtrees left out.
    pub unknown: Vec<String>,
    /// Blocks left out because the markdown cannot render them (in `unknown_block_ids`
    /// under [`Reading::left_out_ids_listed`]).
    pub unrendered: Vec<String>,
    /// Whether meeting notes' transcripts are rendered (`include_transcript=true`).
    pub include_transcript: bool,
    /// Notion-flavored Markdown (v2) instead of enhanced markdown (v1): blocks apart by a
    /// blank line, children not tab-indented except in lists, a block with children in its
    /// tag form (`<p>`, `<quote>`, `<toggle>`) with them after a blank line ("Migrate to
    /// Notion-flavored Markdown (v2)", step 3).
    pub v2: bool,
}

impl<'a> MarkdownRenderer<'a> {
    /// A renderer for content of the page at `page_url`.
    pub fn new(ws: &'a Workspace, page_url: String, limit: usize, reading: Reading) -> Self {
        Self {
            ws,
            page_url,
            limit,
            count: 0,
            out: String::new(),
            reading,
            unknown: Vec::new(),
            unrendered: Vec::new(),
            include_transcript: false,
            v2: false,
        }
    }

    /// The markdown so far, the ids for `unknown_block_ids`, and whether the answer was
    /// truncated.
    pub fn finish(self) -> (String, Vec<String>, bool) {
        let truncated = !self.unknown.is_empty();
        let mut ids = self.unknown;
        if self.reading.left_out_ids_listed {
            ids.extend(self.unrendered);
        }
        if self.reading.undashed_unknown_ids {
            ids = ids.iter().map(|id| id.replace('-', "")).collect();
        }
        (self.out, ids, truncated)
    }

    fn line(&mut self, depth: usize, text: &str) {
        self.out.push_str(&"\t".repeat(depth));
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn block_url(&self, id: &str) -> String {
        format!("{}#{}", self.page_url, id.replace('-', ""))
    }

    fn hole(&self, b: &Block) -> String {
        if self.reading.truncated_alt {
            format!("<unknown url=\"{}\" alt=\"{}\"/>", self.block_url(&b.id), b.kind)
        } else {
            format!("<unknown url=\"{}\"/>", self.block_url(&b.id))
        }
    }

    /// Renders blocks at `depth`.
    pub fn blocks(&mut self, ids: &[String], depth: usize) {
        let is_list = |b: &Block| matches!(b.kind.as_str(), "bulleted_list_item" | "numbered_list_item" | "to_do");
        for (i, id) in ids.iter().enumerate() {
            let Some(b) = self.ws.blocks.get(id) else {
                continue;
            };
            // v2: a blank line after every block, except between items of one list.
            if self.v2 && i > 0 {
                let previous_list = ids.get(i - 1).and_then(|p| self.ws.blocks.get(p)).is_some_and(is_list);
                if !(previous_list && is_list(b)) {
                    self.out.push('\n');
                }
            }
            // Links to child pages and databases are always rendered: they have no subtree.
            let is_link = matches!(b.kind.as_str(), "child_page" | "child_database") && !self.reading.truncated_links;
            if self.count >= self.limit && !is_link {
                let hole = self.hole(b);
                self.line(depth, &hole);
                self.unknown.push(id.clone());
                continue;
            }
            self.count += 1;
            self.block(b, depth);
        }
    }

    /// Depth of a container's children: one tab deeper, unless the reading is flat (or the
    /// format is v2, which indents only lists).
    fn inner(&self, depth: usize) -> usize {
        if self.reading.flat_containers || self.v2 {
            depth
        } else {
            depth + 1
        }
    }

    fn media_url(&self, b: &Block) -> String {
        match media_source(b) {
            MediaSource::Hosted { name } => signed_url(self.ws, &b.id, &name).0,
            MediaSource::External(url) => url,
        }
    }

    /// Renders one block and its subtree; each arm cites the format reference section.
    pub fn block(&mut self, b: &Block, depth: usize) {
        let text = escape(&b.text);
        let children = self.ws.children_of(b);
        match b.kind.as_str() {
            // "Text"; "Empty line": `<empty-block/>` on its own line.
            "paragraph" if b.text.is_empty() && children.is_empty() => self.line(depth, "<empty-block/>"),
            // v2: a block with children in its tag form, the children after a blank line.
            "paragraph" | "quote" | "toggle" if self.v2 && !children.is_empty() => {
                let tag = match b.kind.as_str() {
                    "paragraph" => "p",
                    other => other,
                };
                if self.reading.v2_text_on_tag_line {
                    self.line(depth, &format!("<{tag}>{text}"));
                } else {
                    self.line(depth, &format!("<{tag}>"));
                    self.line(depth, &text);
                }
                self.out.push('\n');
                self.blocks(&children, depth);
                self.line(depth, &format!("</{tag}>"));
            }
            "toggle" if self.v2 => self.line(depth, &format!("<toggle>{text}</toggle>")),
            "paragraph" => {
                self.line(depth, &text);
                self.blocks(&children, depth + 1);
            }
            // "Headings".
            "heading_1" => self.line(depth, &format!("# {text}")),
            "heading_2" => self.line(depth, &format!("## {text}")),
            "heading_3" => self.line(depth, &format!("### {text}")),
            // "Lists".
            "bulleted_list_item" => {
                self.line(depth, &format!("- {text}"));
                self.blocks(&children, depth + 1);
            }
            "numbered_list_item" => {
                self.line(depth, &format!("1. {text}"));
                self.blocks(&children, depth + 1);
            }
            // "To-do".
            "to_do" => {
                let checked = b.extra.get("checked").and_then(|v| v.as_bool()).unwrap_or(false);
                self.line(depth, &format!("- [{}] {text}", if checked { "x" } else { " " }));
                self.blocks(&children, depth + 1);
            }
            // "Quote".
            "quote" => {
                self.line(depth, &format!("> {text}"));
                self.blocks(&children, depth + 1);
            }
            // "Toggle": `<details>`, `<summary>`, children indented.
            "toggle" => {
                self.line(depth, "<details>");
                self.line(depth, &format!("<summary>{text}</summary>"));
                let inner = self.inner(depth);
                self.blocks(&children, inner);
                self.line(depth, "</details>");
            }
            // "Callout": rich text and children indented inside the tag.
            "callout" => {
                self.line(depth, "<callout icon=\"💡\" color=\"gray_bg\">");
                let inner = self.inner(depth);
                self.line(inner, &text);
                if self.v2 && !children.is_empty() {
                    self.out.push('\n');
                }
                self.blocks(&children, inner);
                self.line(depth, "</callout>");
            }
            // "Code": literal content, never escaped.
            "code" => {
                let language = b.extra.get("language").and_then(|v| v.as_str()).unwrap_or("plain text");
                self.line(depth, &format!("```{language}"));
                for code_line in b.text.lines() {
                    self.line(depth, code_line);
                }
                self.line(depth, "```");
                // A code block's caption (block reference, "Code"): the format reference
                // does not show one; rendered as the line after the fence.
                if let Some(caption) = b.extra.get("caption").and_then(|c| c.as_str()) {
                    self.line(depth, &escape(caption));
                }
            }
            // Meeting notes (2026-03-11, the block `meeting_notes`): the title, then the
            // summary, notes and transcript as `<summary>`, `<notes>`, `<transcript>`; the
            // transcript only with `include_transcript=true` ("Retrieve a page as markdown"),
            // else a placeholder linking to the block.
            "meeting_notes" => {
                self.line(depth, "<meeting-notes>");
                let inner = self.inner(depth);
                self.line(inner, &text);
                for child in &children {
                    let Some(part) = self.ws.blocks.get(child) else {
                        continue;
                    };
                    let role = part.extra.get("role").and_then(|r| r.as_str()).unwrap_or("notes");
                    if role == "transcript" && !self.include_transcript {
                        let placeholder = format!("<transcript url=\"{}\"/>", self.block_url(&part.id));
                        self.line(inner, &placeholder);
                        continue;
                    }
                    self.line(inner, &format!("<{role}>"));
                    let deeper = self.inner(inner);
                    self.blocks(&part.children, deeper);
                    self.line(inner, &format!("</{role}>"));
                }
                self.line(depth, "</meeting-notes>");
            }
            // "Divider".
            "divider" => self.line(depth, "---"),
            // "Equation".
            "equation" if self.reading.one_line_equations => self.line(depth, &format!("$$ {} $$", b.text)),
            "equation" => {
                self.line(depth, "$$");
                self.line(depth, &b.text);
                self.line(depth, "$$");
            }
            // "Columns".
            "column_list" => {
                self.line(depth, "<columns>");
                let inner = self.inner(depth);
                self.blocks(&children, inner);
                self.line(depth, "</columns>");
            }
            "column" => {
                self.line(depth, "<column>");
                let inner = self.inner(depth);
                self.blocks(&children, inner);
                self.line(depth, "</column>");
            }
            // "Synced block": the original with its children; a reference per the reading.
            "synced_block" if b.synced_from.is_some() && self.reading.synced_reference_unknown => {
                let tag = format!("<unknown url=\"{}\" alt=\"synced_block\"/>", self.block_url(&b.id));
                self.line(depth, &tag);
                self.unrendered.push(b.id.clone());
            }
            "synced_block" if b.synced_from.is_some() => {
                let original = b.synced_from.clone().unwrap_or_default();
                let tag = format!("<synced_block_reference url=\"{}\">", self.block_url(&original));
                self.line(depth, &tag);
                self.blocks(&children, depth + 1);
                self.line(depth, "</synced_block_reference>");
            }
            "synced_block" => {
                let tag = format!("<synced_block url=\"{}\">", self.block_url(&b.id));
                self.line(depth, &tag);
                self.blocks(&children, depth + 1);
                self.line(depth, "</synced_block>");
            }
            // "Table" (or, per the reading, the "Complete example"'s pipe table).
            "table" => {
                let rows: Vec<Vec<String>> = children
                    .iter()
                    .map(|row| {
                        self.ws
                            .blocks
                            .get(row)
                            .and_then(|r| r.extra.get("cells").and_then(|c| c.as_array()).cloned())
                            .unwrap_or_default()
                            .iter()
                            .map(|c| escape(c.as_str().unwrap_or_default()))
                            .collect()
                    })
                    .collect();
                if self.reading.pipe_tables {
                    for (i, cells) in rows.iter().enumerate() {
                        self.line(depth, &format!("| {} |", cells.join(" | ")));
                        if i == 0 {
                            self.line(depth, &format!("|{}", "---|".repeat(cells.len().max(1))));
                        }
                    }
                } else {
                    self.line(depth, "<table header-row=\"true\">");
                    for cells in rows {
                        self.line(depth + 1, "<tr>");
                        for cell in cells {
                            self.line(depth + 2, &format!("<td>{cell}</td>"));
                        }
                        self.line(depth + 1, "</tr>");
                    }
                    self.line(depth, "</table>");
                }
            }
            // "Page and database references".
            "child_page" => {
                let page_url = url(&b.text, &b.id);
                self.line(depth, &format!("<page url=\"{page_url}\">{text}</page>"));
            }
            "child_database" => {
                let db_url = url(&b.text, &b.id);
                self.line(
                    depth,
                    &format!("<database url=\"{db_url}\" inline=\"true\">{text}</database>"),
                );
            }
            // "Table of contents".
            "table_of_contents" => self.line(depth, "<table_of_contents/>"),
            // "Media blocks": an image as `![Caption](URL)`, the others as tags with `src`.
            "image" => {
                let url = self.media_url(b);
                self.line(depth, &format!("![{text}]({url})"));
            }
            kind @ ("file" | "pdf" | "video" | "audio") => {
                let url = self.media_url(b);
                self.line(depth, &format!("<{kind} src=\"{url}\">{text}</{kind}>"));
            }
            // "Unsupported block types".
            kind if LEFT_OUT_OF_MARKDOWN.contains(&kind) || UNSUPPORTED.contains(&kind) => {
                let tag = format!("<unknown url=\"{}\" alt=\"{kind}\"/>", self.block_url(&b.id));
                self.line(depth, &tag);
                self.unrendered.push(b.id.clone());
            }
            "heading_4" => self.line(depth, &format!("#### {text}")),
            // A type the format reference does not know (one Notion added later): left out.
            kind => {
                let tag = format!("<unknown url=\"{}\" alt=\"{kind}\"/>", self.block_url(&b.id));
                self.line(depth, &tag);
                self.unrendered.push(b.id.clone());
            }
        }
    }
}
