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
        "bookmark" | "embed" => {
            json!({"url": b.extra.get("url").cloned().unwrap_or(json!("https://example.com")), "caption": rich(&b.text)})
        }
        "divider" | "column_list" | "column" | "breadcrumb" | "unsupported" | "ai_block" => {
            json!({})
        }
        _ => json!({"rich_text": rich(&b.text), "color": "default"}),
    };
    value[b.kind.as_str()] = data;
    value
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

/// Renders enhanced markdown of a page's (or one block's) subtree. After `limit` blocks,
/// each further block becomes an `<unknown>` placeholder whose id is returned, as Notion
/// does when a page is too large for one answer.
pub struct MarkdownRenderer<'a> {
    ws: &'a Workspace,
    page_url: String,
    limit: usize,
    count: usize,
    out: String,
    /// Subtrees left out.
    pub unknown: Vec<String>,
}

impl<'a> MarkdownRenderer<'a> {
    /// A renderer for content of the page at `page_url`.
    pub fn new(ws: &'a Workspace, page_url: String, limit: usize) -> Self {
        Self {
            ws,
            page_url,
            limit,
            count: 0,
            out: String::new(),
            unknown: Vec::new(),
        }
    }

    /// The markdown so far.
    pub fn finish(self) -> (String, Vec<String>) {
        (self.out, self.unknown)
    }

    fn line(&mut self, depth: usize, text: &str) {
        self.out.push_str(&"\t".repeat(depth));
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn hole(&self, id: &str) -> String {
        format!("<unknown url=\"{}#{}\"/>", self.page_url, id.replace('-', ""))
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
                let hole = self.hole(id);
                self.line(depth, &hole);
                self.unknown.push(id.clone());
                continue;
            }
            self.count += 1;
            self.block(b, depth);
        }
    }

    fn children_of(&self, b: &Block) -> Vec<String> {
        match &b.synced_from {
            Some(original) => self
                .ws
                .blocks
                .get(original)
                .map(|o| o.children.clone())
                .unwrap_or_default(),
            None => b.children.clone(),
        }
    }

    /// Renders one block and its subtree.
    pub fn block(&mut self, b: &Block, depth: usize) {
        let text = escape(&b.text);
        let children = self.children_of(b);
        match b.kind.as_str() {
            "paragraph" => {
                self.line(depth, &text);
                self.blocks(&children, depth + 1);
            }
            "heading_1" => self.line(depth, &format!("# {text}")),
            "heading_2" => self.line(depth, &format!("## {text}")),
            "heading_3" => self.line(depth, &format!("### {text}")),
            "bulleted_list_item" => {
                self.line(depth, &format!("- {text}"));
                self.blocks(&children, depth + 1);
            }
            "numbered_list_item" => {
                self.line(depth, &format!("1. {text}"));
                self.blocks(&children, depth + 1);
            }
            "to_do" => {
                let checked = b.extra.get("checked").and_then(|v| v.as_bool()).unwrap_or(false);
                self.line(depth, &format!("- [{}] {text}", if checked { "x" } else { " " }));
                self.blocks(&children, depth + 1);
            }
            "quote" => {
                self.line(depth, &format!("> {text}"));
                self.blocks(&children, depth + 1);
            }
            "toggle" => {
                self.line(depth, "<details>");
                self.line(depth, &format!("<summary>{text}</summary>"));
                self.blocks(&children, depth + 1);
                self.line(depth, "</details>");
            }
            "callout" => {
                self.line(depth, "<callout icon=\"💡\" color=\"gray_bg\">");
                self.line(depth + 1, &text);
                self.blocks(&children, depth + 1);
                self.line(depth, "</callout>");
            }
            "code" => {
                let language = b.extra.get("language").and_then(|v| v.as_str()).unwrap_or("plain text");
                self.line(depth, &format!("```{language}"));
                for code_line in b.text.lines() {
                    self.line(depth, code_line);
                }
                self.line(depth, "```");
            }
            "divider" => self.line(depth, "---"),
            "equation" => self.line(depth, &format!("$$ {} $$", b.text)),
            "bookmark" | "embed" => {
                let url = b
                    .extra
                    .get("url")
                    .and_then(|v| v.as_str())
                    .unwrap_or("https://example.com");
                self.line(depth, &format!("[{text}]({url})"));
            }
            "column_list" => {
                self.line(depth, "<columns>");
                self.blocks(&children, depth + 1);
                self.line(depth, "</columns>");
            }
            "column" => {
                self.line(depth, "<column>");
                self.blocks(&children, depth + 1);
                self.line(depth, "</column>");
            }
            "synced_block" => {
                self.line(
                    depth,
                    &format!("<synced_block url=\"{}#{}\">", self.page_url, b.id.replace('-', "")),
                );
                self.blocks(&children, depth + 1);
                self.line(depth, "</synced_block>");
            }
            "table" => {
                self.line(depth, "<table header-row=\"true\">");
                for row in &children {
                    let cells: Vec<String> = self
                        .ws
                        .blocks
                        .get(row)
                        .and_then(|r| r.extra.get("cells").and_then(|c| c.as_array()).cloned())
                        .unwrap_or_default()
                        .iter()
                        .map(|c| escape(c.as_str().unwrap_or_default()))
                        .collect();
                    self.line(depth + 1, "<tr>");
                    for cell in cells {
                        self.line(depth + 2, &format!("<td>{cell}</td>"));
                    }
                    self.line(depth + 1, "</tr>");
                }
                self.line(depth, "</table>");
            }
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
            kind if UNSUPPORTED.contains(&kind) => {
                let hole = format!(
                    "<unknown url=\"{}#{}\" alt=\"{kind}\"/>",
                    self.page_url,
                    b.id.replace('-', "")
                );
                self.line(depth, &hole);
            }
            _ => self.line(depth, &text),
        }
    }
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
