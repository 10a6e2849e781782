//! Notion's JSON shapes (page, block, database, data source, list, error) from the
//! workspace model, as Notion's API reference documents them.

use crate::model::{Block, Database, Page, Parent, Workspace};
use serde_json::{json, Value};

const USER: &str = "3d2b1a00-0000-4000-8000-00000000u5er";

/// The start of `epoch`'s minute.
pub fn minute(epoch: i64) -> i64 {
    epoch - epoch.rem_euclid(60)
}

/// An object's `created_time` or `last_edited_time`: Notion rounds both down to the minute
/// for pages, databases and blocks (changelog, "Last edited and created time properties are
/// now rounded to the nearest minute": "rounded down to the closest minute for page,
/// database, and block objects"). Two edits in one minute carry one stamp.
pub fn stamp(epoch: i64) -> String {
    time(minute(epoch))
}

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

fn run(text: &str, bold: bool) -> Value {
    json!({
        "type": "text",
        "text": {"content": text, "link": null},
        "annotations": {"bold": bold, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"},
        "plain_text": text,
        "href": null
    })
}

/// A rich text array of `text`, split into runs the way Notion splits them where anything
/// changed mid-word (a real workspace's answer held "link" as `li`, bold `n`, `k`): every
/// third word of four or more characters has its third character in a bold run of its
/// own. A reader that renders run by run breaks those words apart.
pub fn rich(text: &str) -> Value {
    if text.is_empty() {
        return json!([]);
    }
    let mut runs: Vec<Value> = Vec::new();
    let mut plain = String::new();
    for (n, word) in text.split_inclusive(' ').enumerate() {
        let chars: Vec<char> = word.chars().collect();
        let letters = chars.iter().take_while(|c| c.is_alphanumeric()).count();
        if n % 3 == 2 && letters >= 4 {
            plain.extend(&chars[..2]);
            runs.push(run(&std::mem::take(&mut plain), false));
            runs.push(run(&chars[2].to_string(), true));
            plain.extend(&chars[3..]);
        } else {
            plain.push_str(word);
        }
    }
    if !plain.is_empty() {
        runs.push(run(&plain, false));
    }
    Value::from(runs)
}

pub(crate) fn user() -> Value {
    json!({"object": "user", "id": USER})
}

/// References a page object carries per relation or people property.
pub const PAGE_REFERENCES: usize = 25;

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
    // "Page properties", `files`: a file uploaded to Notion is `{"name", "type": "file",
    // "file": {"url", "expiry_time"}}` with the same signed, expiring URL as a file block's;
    // one stored without a URL is signed at each read, under the row's id.
    for value in properties.values_mut() {
        if value.get("type").and_then(Value::as_str) != Some("files") {
            continue;
        }
        if let Some(items) = value.get_mut("files").and_then(Value::as_array_mut) {
            for item in items {
                let hosted = item.get("type").and_then(Value::as_str) == Some("file");
                if hosted && item.pointer("/file/url").is_none() {
                    let name = item
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("file.bin")
                        .to_string();
                    let (url, expires) = signed_url(ws, &p.id, &name);
                    item["file"] = json!({"url": url, "expiry_time": time(expires)});
                }
            }
        }
    }
    // "Page properties": a page object carries at most 25 references of a relation (saying
    // `has_more`) or a people property; the property-item endpoint has them all.
    for value in properties.values_mut() {
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if kind != "relation" && kind != "people" {
            continue;
        }
        if let Some(items) = value.get_mut(&kind).and_then(Value::as_array_mut) {
            let more = items.len() > PAGE_REFERENCES;
            items.truncate(PAGE_REFERENCES);
            if kind == "relation" {
                value["has_more"] = json!(more);
            }
        }
    }
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
        "created_time": stamp(p.created),
        "last_edited_time": stamp(p.last_edited),
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
    // A child page's block: its page's time under one reading of the block reference, the
    // holding page's under the other (see `Config::child_page_times_are_the_pages`).
    let own_page = (b.kind == "child_page" && ws.child_page_times_are_the_pages)
        .then(|| ws.pages.get(&b.id))
        .flatten();
    let edited = own_page
        .or_else(|| ws.page_of(&b.id).and_then(|p| ws.pages.get(&p)))
        .map_or(0, |p| p.last_edited);
    let mut value = json!({
        "object": "block",
        "id": b.id,
        "parent": parent,
        "created_time": stamp(edited),
        "last_edited_time": stamp(edited),
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
            let caption = b
                .extra
                .get("caption")
                .and_then(|c| c.as_str())
                .map(rich)
                .unwrap_or(json!([]));
            json!({"rich_text": rich(&b.text), "caption": caption, "language": b.extra.get("language").cloned().unwrap_or(json!("plain text"))})
        }
        // SDK `MeetingNotesBlockObjectResponse` (2026-03-11; `transcription` before): a
        // title, and the ids of its summary, notes and transcript blocks, which are its
        // children.
        "meeting_notes" => {
            let mut parts = serde_json::Map::new();
            for child in &b.children {
                if let Some(role) = ws
                    .blocks
                    .get(child)
                    .and_then(|c| c.extra.get("role"))
                    .and_then(|r| r.as_str())
                {
                    parts.insert(format!("{role}_block_id"), json!(child));
                }
            }
            json!({"title": rich(&b.text), "status": "notes_ready", "children": parts})
        }
        // SDK `TabBlockObjectResponse`: an empty object; the tab's content is its children.
        "tab" => json!({}),
        // SDK `UnsupportedBlockObjectResponse`: the underlying type ("form, button, drive").
        "unsupported" => json!({"block_type": b.extra.get("block_type").cloned().unwrap_or(json!("form"))}),
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
                    let (url, expires) = signed_url(ws, &b.id, &name);
                    data["file"] = json!({"url": url, "expiry_time": time(expires)});
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
        "divider" | "column_list" | "column" | "breadcrumb" | "ai_block" => {
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
///
/// Once the emulator serves ([`Workspace::file_base`]), the URL is its own `/files/` path,
/// signed at the wall-clock time of the read for [`Workspace::file_url_lifetime`] seconds,
/// and served until then ([`crate::files`]); the `expiry_time` returned with it says the
/// same. Before that, the S3 host Notion's URLs name. Returns the URL and its expiry.
pub fn signed_url(ws: &Workspace, block_id: &str, name: &str) -> (String, i64) {
    let n = SIGNATURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let lifetime = if ws.file_url_lifetime > 0 {
        ws.file_url_lifetime
    } else {
        3_600
    };
    let host = ws.file_base.as_ref().map_or(
        "https://prod-files-secure.s3.us-west-2.amazonaws.com".to_string(),
        |b| format!("{b}/files"),
    );
    let encoded: String = form_encode(name);
    let url = format!(
        "{host}/5eed0000-0000-4000-8000-000000000000/{block_id}/{encoded}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA000000EMULATOR%2F{day}%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Date={date}&X-Amz-Expires={lifetime}&X-Amz-Signature={:064x}&X-Amz-SignedHeaders=host&x-id=GetObject",
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        date = crate::files::amz_date(now),
        day = &crate::files::amz_date(now)[..8],
    );
    (url, now + lifetime)
}

/// A file name as a URL path segment (RFC 3986 unreserved characters kept).
fn form_encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A data source object, as search returns it.
/// A data source object; its schema is every property its rows hold (each row's value
/// object names the property's id and type), and the title.
pub fn data_source(ws: &Workspace, db: &Database) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert(
        "Name".into(),
        json!({"id": "title", "name": "Name", "type": "title", "title": {}}),
    );
    for row in db.rows.iter().filter_map(|r| ws.pages.get(r)) {
        for (name, value) in &row.properties {
            let kind = value.get("type").and_then(Value::as_str).unwrap_or("rich_text");
            let id = value.get("id").cloned().unwrap_or_else(|| json!(name));
            properties
                .entry(name.clone())
                .or_insert_with(|| json!({"id": id, "name": name, "type": kind, kind: {}}));
        }
    }
    json!({
        "object": "data_source",
        "id": db.data_source_id,
        "created_time": stamp(db.last_edited),
        "last_edited_time": stamp(db.last_edited),
        "title": rich(&db.title),
        "parent": {"type": "database_id", "database_id": db.id},
        "database_parent": db.parent_page.as_ref().map_or(json!({"type": "workspace", "workspace": true}), |p| json!({"type": "page_id", "page_id": p})),
        "properties": properties,
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
        "created_time": stamp(db.last_edited),
        "last_edited_time": stamp(db.last_edited),
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

pub(crate) fn escape(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(time(1_763_800_200), "2025-11-22T08:30:00.000Z");
    }
}
