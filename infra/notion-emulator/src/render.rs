//! Notion's JSON shapes (page, block, database, data source, list, error) and the enhanced
//! markdown of `GET /v1/pages/{id}/markdown`, from the workspace model.

use crate::model::{Block, Database, Page, Parent, Workspace, UNSUPPORTED};
use serde_json::{json, Value};

const USER: &str = "3d2b1a00-0000-4000-8000-00000000u5er";

/// Epoch seconds as Notion writes times: `2025-11-20T10:00:00.000Z`.
pub fn time(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), to avoid a date dependency.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Notion's URL of a page.
pub fn url(title: &str, id: &str) -> String {
    let slug: String = title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!(
        "https://www.notion.so/{}-{}",
        slug.trim_matches('-'),
        id.replace('-', "")
    )
}

/// A rich text array of one plain part.
pub fn rich(text: &str) -> Value {
    if text.is_empty() {
        return json!([]);
    }
    json!([{
        "type": "text",
        "text": {"content": text, "link": null},
        "annotations": {"bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"},
        "plain_text": text,
        "href": null
    }])
}

fn user() -> Value {
    json!({"object": "user", "id": USER})
}

/// A page object.
pub fn page(ws: &Workspace, p: &Page) -> Value {
    let parent = match &p.parent {
        Parent::Workspace => json!({"type": "workspace", "workspace": true}),
        Parent::Page(id) => json!({"type": "page_id", "page_id": id}),
        Parent::DataSource(ds) => {
            json!({"type": "data_source_id", "data_source_id": ds, "database_id": ws.data_sources.get(ds)})
        }
    };
    let mut properties = p.properties.clone();
    let title_name = if matches!(p.parent, Parent::DataSource(_)) {
        "Name"
    } else {
        "title"
    };
    properties.insert(
        title_name.into(),
        json!({"id": "title", "type": "title", "title": rich(&p.title)}),
    );
    json!({
        "object": "page",
        "id": p.id,
        "created_time": time(p.created),
        "last_edited_time": time(p.last_edited),
        "created_by": user(),
        "last_edited_by": user(),
        "cover": null,
        "icon": null,
        "parent": parent,
        "archived": p.in_trash,
        "in_trash": p.in_trash,
        "is_locked": false,
        "properties": properties,
        "url": url(&p.title, &p.id),
        "public_url": null
    })
}

/// A block object.
pub fn block(ws: &Workspace, b: &Block) -> Value {
    let parent =
        if ws.pages.contains_key(&b.parent) && ws.blocks.get(&b.parent).is_none_or(|pb| pb.kind != "child_page") {
            json!({"type": "page_id", "page_id": b.parent})
        } else {
            json!({"type": "block_id", "block_id": b.parent})
        };
    let has_children = match b.kind.as_str() {
        "child_page" | "child_database" => false,
        _ if b.synced_from.is_some() => true,
        _ => !b.children.is_empty(),
    };
    let edited = ws
        .page_of(&b.id)
        .and_then(|p| ws.pages.get(&p))
        .map_or(0, |p| p.last_edited);
    let mut value = json!({
        "object": "block",
        "id": b.id,
        "parent": parent,
        "created_time": time(edited),
        "last_edited_time": time(edited),
        "created_by": user(),
        "last_edited_by": user(),
        "has_children": has_children,
        "archived": false,
        "in_trash": false,
        "type": b.kind,
    });
    let data = match b.kind.as_str() {
        "child_page" | "child_database" => json!({"title": b.text}),
        "code" => {
            json!({"rich_text": rich(&b.text), "caption": [], "language": b.extra.get("language").cloned().unwrap_or(json!("plain text"))})
        }
        "to_do" => {
            json!({"rich_text": rich(&b.text), "checked": b.extra.get("checked").cloned().unwrap_or(json!(false)), "color": "default"})
        }
        "callout" => {
            json!({"rich_text": rich(&b.text), "icon": {"type": "emoji", "emoji": "💡"}, "color": "gray_background"})
        }
        "table" => {
            json!({"table_width": b.extra.get("width").cloned().unwrap_or(json!(2)), "has_column_header": true, "has_row_header": false})
        }
        "table_row" => {
            json!({"cells": b.extra.get("cells").and_then(|c| c.as_array()).map(|cells| cells.iter().map(|c| rich(c.as_str().unwrap_or_default())).collect::<Vec<_>>()).unwrap_or_default()})
        }
        "synced_block" => {
            json!({"synced_from": b.synced_from.as_ref().map(|id| json!({"type": "block_id", "block_id": id}))})
        }
        "equation" => json!({"expression": b.text}),
        // Block reference, "Bookmark", "Embed", "Link preview": url (and caption).
        "bookmark" | "embed" => {
            json!({"url": b.extra.get("url").cloned().unwrap_or(json!("https://example.com")), "caption": rich(&b.text)})
        }
        "link_preview" => json!({"url": b.extra.get("url").cloned().unwrap_or(json!("https://example.com"))}),
        // Block reference, "Image" / "File" / "PDF" / "Video" / "Audio", and the File object
        // reference: `type` "file" (Notion-hosted, a signed `url` with `expiry_time`, new on
        // every read) or "external"; `caption`; a file block also has `name`.
        "image" | "file" | "pdf" | "video" | "audio" => {
            let mut data = json!({"caption": rich(&b.text)});
            match media_source(b) {
                MediaSource::Hosted { name } => {
                    data["type"] = json!("file");
                    data["file"] = json!({"url": signed_url(&b.id, &name), "expiry_time": time(edited + 3600)});
                    if b.kind == "file" {
                        data["name"] = json!(name);
                    }
                }
                MediaSource::External(url) => {
                    data["type"] = json!("external");
                    data["external"] = json!({"url": url});
                    if b.kind == "file" {
                        data["name"] = json!(url.rsplit('/').next().unwrap_or_default());
                    }
                }
            }
            data
        }
        // Block reference, "Table of contents": only a `color`.
        "table_of_contents" => json!({"color": "default"}),
        "divider" | "column_list" | "column" | "breadcrumb" | "unsupported" | "ai_block" => {
            json!({})
        }
        _ => json!({"rich_text": rich(&b.text), "color": "default"}),
    };
    value[b.kind.as_str()] = data;
    value
}

/// Where a media block's file lives.
pub enum MediaSource {
    /// Uploaded to Notion, with this file name.
    Hosted {
        /// The file name.
        name: String,
    },
    /// An external URL, kept as it is.
    External(String),
}

/// A media block's source, from its extras (`{"external": url}` or `{"name": file name}`).
pub fn media_source(b: &Block) -> MediaSource {
    match b.extra.get("external").and_then(|v| v.as_str()) {
        Some(url) => MediaSource::External(url.to_string()),
        None => MediaSource::Hosted {
            name: b
                .extra
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("file.bin")
                .to_string(),
        },
    }
}

static SIGNATURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A Notion-hosted file's URL as Notion hands it out: pre-signed S3 URLs that expire within
/// an hour and differ on every read (Block reference, "File object": `url` is "an
/// authenticated S3 URL", `expiry_time` when it expires; "Working with markdown content":
/// file URLs in the markdown output "are pre-signed ... They expire after a short period").
pub fn signed_url(block_id: &str, name: &str) -> String {
    let n = SIGNATURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "https://prod-files-secure.s3.us-west-2.amazonaws.com/5eed0000-0000-4000-8000-000000000000/{block_id}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA000000EMULATOR%2F20251120%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Date=20251120T100000Z&X-Amz-Expires=3600&X-Amz-Signature={:064x}&X-Amz-SignedHeaders=host&x-id=GetObject",
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

/// A data source object, as search returns it.
pub fn data_source(db: &Database) -> Value {
    json!({
        "object": "data_source",
        "id": db.data_source_id,
        "created_time": time(db.last_edited),
        "last_edited_time": time(db.last_edited),
        "title": rich(&db.title),
        "parent": {"type": "database_id", "database_id": db.id},
        "database_parent": db.parent_page.as_ref().map_or(json!({"type": "workspace", "workspace": true}), |p| json!({"type": "page_id", "page_id": p})),
        "properties": {
            "Name": {"id": "title", "name": "Name", "type": "title", "title": {}},
            "Status": {"id": "st", "name": "Status", "type": "select", "select": {"options": []}},
            "Priority": {"id": "pr", "name": "Priority", "type": "number", "number": {"format": "number"}},
            "Tags": {"id": "tg", "name": "Tags", "type": "multi_select", "multi_select": {"options": []}},
            "Done": {"id": "dn", "name": "Done", "type": "checkbox", "checkbox": {}},
            "Due": {"id": "du", "name": "Due", "type": "date", "date": {}}
        },
        "url": url(&db.title, &db.id),
        "archived": false,
        "in_trash": false
    })
}

/// A database object, with its data sources.
pub fn database(db: &Database) -> Value {
    json!({
        "object": "database",
        "id": db.id,
        "title": rich(&db.title),
        "parent": db.parent_page.as_ref().map_or(json!({"type": "workspace", "workspace": true}), |p| json!({"type": "page_id", "page_id": p})),
        "is_inline": true,
        "in_trash": false,
        "created_time": time(db.last_edited),
        "last_edited_time": time(db.last_edited),
        "data_sources": [{"id": db.data_source_id, "name": db.title}],
        "url": url(&db.title, &db.id)
    })
}

/// Notion's list envelope.
pub fn list(results: Vec<Value>, next_cursor: Option<String>, kind: &str) -> Value {
    json!({
        "object": "list",
        "results": results,
        "next_cursor": next_cursor,
        "has_more": next_cursor.is_some(),
        "type": kind,
        kind: {},
        "request_id": "emulated-request"
    })
}

/// Notion's error body.
pub fn error(status: u16, code: &str, message: &str) -> Value {
    json!({"object": "error", "status": status, "code": code, "message": message, "request_id": "emulated-request"})
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '~' | '`' | '$' | '[' | ']' | '<' | '>' | '{' | '}' | '|' | '^'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

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
}

impl Reading {
    /// Every reading the crawler is tested against, by name.
    pub const ALL: [(&'static str, Reading); 7] = [
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
            "all-alternatives",
            Reading {
                truncated_alt: true,
                undashed_unknown_ids: true,
                pipe_tables: true,
                synced_reference_unknown: true,
                one_line_equations: true,
                flat_containers: true,
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
    };

    /// The reading named `name`.
    pub fn named(name: &str) -> Option<Reading> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }
}

/// Block types the markdown leaves out as `<unknown url alt/>` ("Working with markdown
/// content", "Unsupported block types": bookmark, embed, link preview, breadcrumb,
/// template; and blocks the block API returns as `unsupported`).
pub const LEFT_OUT_OF_MARKDOWN: [&str; 7] = [
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
        }
    }

    /// The markdown so far, and the ids for `unknown_block_ids`.
    pub fn finish(self) -> (String, Vec<String>) {
        let ids = if self.reading.undashed_unknown_ids {
            self.unknown.iter().map(|id| id.replace('-', "")).collect()
        } else {
            self.unknown
        };
        (self.out, ids)
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
        for id in ids {
            let Some(b) = self.ws.blocks.get(id) else {
                continue;
            };
            // Links to child pages and databases are always rendered: they have no subtree.
            let is_link = matches!(b.kind.as_str(), "child_page" | "child_database");
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

    /// Depth of a container's children: one tab deeper, unless the reading is flat.
    fn inner(&self, depth: usize) -> usize {
        if self.reading.flat_containers {
            depth
        } else {
            depth + 1
        }
    }

    fn media_url(&self, b: &Block) -> String {
        match media_source(b) {
            MediaSource::Hosted { name } => signed_url(&b.id, &name),
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
            }
            _ => self.line(depth, &text),
        }
    }
}

/// The fewest Notion requests a perfect crawl of every live page's content needs, by
/// strategy, listing requests (search, databases, data source queries) left out. Both count
/// one `GET /v1/pages/{id}` per live page no listing returns (its edit time is known no
/// other way).
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

/// [`MinimalRequests`] of the workspace as the emulator serves it.
pub fn minimal_requests(ws: &Workspace, markdown_block_limit: usize, reading: Reading) -> MinimalRequests {
    let mut min = MinimalRequests::default();
    for page_id in ws.live_pages() {
        let Some(page) = ws.pages.get(&page_id) else { continue };
        let hidden = !page.in_search && !matches!(page.parent, Parent::DataSource(_));
        let retrieve = u64::from(hidden);
        min.block_walk += retrieve + walk_requests(ws, &page.children);
        // Markdown: the page's answer, then every subtree it leaves out, recursively.
        let url = url(&page.title, &page_id);
        let mut renderer = MarkdownRenderer::new(ws, url.clone(), markdown_block_limit, Reading::DOCUMENTED);
        renderer.blocks(&page.children, 0);
        let mut holes = renderer.unknown;
        let mut answers = 1u64;
        while let Some(hole) = holes.pop() {
            answers += 1;
            if let Some(b) = ws.blocks.get(&hole) {
                let mut sub = MarkdownRenderer::new(ws, url.clone(), markdown_block_limit, Reading::DOCUMENTED);
                sub.block(b, 0);
                holes.extend(sub.unknown);
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
            if matches!(b.kind.as_str(), "bookmark" | "embed" | "link_preview") {
                *by_parent.entry(b.parent.clone()).or_default() += 1;
            }
            if b.synced_from.is_some() && reading.synced_reference_unknown {
                *by_parent.entry(b.parent.clone()).or_default() += 1;
                synced_walks += walk_requests(ws, &ws.children_of(b));
            } else {
                stack.extend(ws.children_of(b));
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
                    if n >= 2 {
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
    }
    min
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(time(1_763_800_200), "2025-11-22T08:30:00.000Z");
    }
}
