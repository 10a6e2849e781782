//! Notion's routes, each answered as Notion's reference documents it: search, pages and
//! their markdown, block children, databases and data source queries, with paging.

use super::query;
use super::version::ApiVersion;
use super::{error, json_response, Config};
use crate::model::{Parent, Workspace};
use crate::render::{self, MarkdownRenderer};
use axum::response::Response;
use serde_json::{json, Value};

/// Accepts ids with or without dashes.
pub(super) fn normalize(id: &str) -> String {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 {
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    } else {
        id.to_string()
    }
}

pub(super) fn not_found(kind: &str, id: &str) -> Response {
    error(
        404,
        "object_not_found",
        &format!("Could not find {kind} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."),
    )
}

pub(super) fn page_size(value: Option<&Value>) -> Option<usize> {
    match value {
        None | Some(Value::Null) => Some(100),
        Some(v) => v.as_u64().filter(|n| (1..=100).contains(n)).map(|n| n as usize),
    }
}

pub(super) fn page_size_error() -> Response {
    error(
        400,
        "validation_error",
        "body failed validation: body.page_size should be a number between 1 and 100.",
    )
}

/// Pages a sorted list by id: the cursor is the id of the first item of the next page.
/// Listings stop at `cap` results (Notion's 10,000): the page reaching it says so in
/// `request_status` and has no next cursor. Only the answered page's items are rendered,
/// so a listing of a large workspace costs little per request (the workspace lock is
/// held meanwhile, as every other request waits on it).
pub(super) fn paginate<T>(
    items: Vec<(String, T)>,
    cursor: Option<&str>,
    size: usize,
    cap: usize,
    kind: &str,
    render: impl Fn(&T) -> Value,
) -> Response {
    let start = match cursor {
        None | Some("") => 0,
        Some(c) => match items.iter().position(|(id, _)| id == c) {
            Some(i) if i < cap => i,
            _ => {
                return error(
                    400,
                    "validation_error",
                    "body failed validation: start_cursor provided is invalid.",
                )
            }
        },
    };
    let end = (start + size).min(items.len()).min(cap);
    let capped = end == cap && items.len() > cap;
    let next = if capped {
        None
    } else {
        items.get(end).map(|(id, _)| id.clone())
    };
    let results = items[start..end].iter().map(|(_, v)| render(v)).collect();
    let mut list = render::list(results, next, kind);
    if capped {
        list["request_status"] = json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"});
    }
    json_response(200, &list)
}

pub(super) fn search(ws: &Workspace, body: &Value, cap: usize) -> Response {
    let Some(size) = page_size(body.get("page_size")) else {
        return page_size_error();
    };
    let only = body.pointer("/filter/value").and_then(Value::as_str);
    enum Hit<'a> {
        Page(&'a crate::model::Page),
        Source(&'a crate::model::Database),
    }
    let mut items: Vec<(String, Hit)> = Vec::new();
    if only != Some("data_source") {
        for p in ws.pages.values() {
            if p.in_search && ws.alive(&p.id) {
                items.push((p.id.clone(), Hit::Page(p)));
            }
        }
    }
    if only != Some("page") {
        for db in ws.databases.values() {
            let parent_ok = db.parent_page.as_ref().is_none_or(|p| ws.alive(p));
            if db.in_search && parent_ok {
                items.push((db.data_source_id.clone(), Hit::Source(db)));
            }
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    paginate(
        items,
        body.get("start_cursor").and_then(Value::as_str),
        size,
        cap,
        "page_or_data_source",
        |hit| match hit {
            Hit::Page(p) => render::page(ws, p),
            Hit::Source(db) => render::data_source(ws, db),
        },
    )
}

/// `GET /v1/pages/{id}` ("Retrieve a page"). Whether a page under a trashed parent reports
/// `in_trash` itself is not documented ("Trash a page" speaks of the page trashed): by
/// default it reports its own flag; with [`Config::trash_cascades`] it reports `true`, the
/// other reading.
pub(super) fn retrieve_page(ws: &Workspace, id: &str, trash_cascades: bool) -> Response {
    match ws.pages.get(id) {
        Some(p) if ws.visible(id) => {
            let mut page = render::page(ws, p);
            if trash_cascades && !ws.alive(id) {
                page["in_trash"] = Value::Bool(true);
                page["archived"] = Value::Bool(true);
            }
            json_response(200, &page)
        }
        _ => not_found("page", id),
    }
}

/// "Retrieve a page as markdown": `include_transcript` (default false) puts meeting notes'
/// transcripts in the answer; without it a transcript is a placeholder. `markdown_version`
/// (`v1` or `v2`, "Migrate to Notion-flavored Markdown (v2)") picks the format; without it
/// 2026-12-01 answers v2 and older versions v1; 2026-12-01 refuses `v1`.
pub(super) fn page_markdown(ws: &Workspace, id: &str, query: &str, version: ApiVersion, config: &Config) -> Response {
    let params = query::params(query);
    let include_transcript = params.get("include_transcript").map(String::as_str) == Some("true");
    let v2 = match params.get("markdown_version").map(String::as_str) {
        None => version.default_markdown_v2(),
        Some("v2") => true,
        Some("v1") if version.default_markdown_v2() => {
            return error(
                400,
                "validation_error",
                "markdown_version v1 is no longer supported in this API version. Use v2 (Notion-flavored Markdown).",
            )
        }
        Some("v1") => false,
        Some(other) => {
            return error(
                400,
                "validation_error",
                &format!("query failed validation: markdown_version should be `v1` or `v2`, instead was `{other}`."),
            )
        }
    };
    let (page_id, roots, is_page) = match ws.pages.get(id) {
        Some(p) => (id.to_string(), p.children.clone(), true),
        None => match ws.blocks.get(id) {
            Some(_) => (ws.page_of(id).unwrap_or_default(), vec![id.to_string()], false),
            None => return not_found("page", id),
        },
    };
    if !ws.visible(&page_id) {
        return not_found("page", id);
    }
    let title = ws.pages.get(&page_id).map(|p| p.title.clone()).unwrap_or_default();
    let mut renderer = MarkdownRenderer::new(
        ws,
        render::url(&title, &page_id),
        config.markdown_block_limit,
        config.reading,
    );
    renderer.include_transcript = include_transcript;
    renderer.v2 = v2;
    if is_page {
        renderer.blocks(&roots, 0);
    } else if let Some(b) = ws.blocks.get(id) {
        renderer.block(b, 0);
    }
    let (markdown, unknown, truncated) = renderer.finish();
    json_response(
        200,
        &json!({"object": "page_markdown", "id": id, "markdown": markdown, "truncated": truncated, "unknown_block_ids": unknown}),
    )
}

pub(super) fn block_children(ws: &Workspace, id: &str, query: &str) -> Response {
    let params = query::params(query);
    let Some(size) = page_size(
        params
            .get("page_size")
            .map(|v| json!(v.parse::<u64>().unwrap_or(0)))
            .as_ref(),
    ) else {
        return page_size_error();
    };
    let children = match (ws.pages.get(id), ws.blocks.get(id)) {
        (Some(p), _) => p.children.clone(),
        (None, Some(b)) => ws.children_of(b),
        (None, None) => return not_found("block", id),
    };
    let page = ws.page_of(id).unwrap_or_else(|| id.to_string());
    if !ws.visible(&page) {
        return not_found("block", id);
    }
    let items = children
        .iter()
        .filter_map(|c| ws.blocks.get(c).map(|b| (c.clone(), b)))
        .collect();
    paginate(
        items,
        params.get("start_cursor").map(String::as_str),
        size,
        usize::MAX,
        "block",
        |b| render::block(ws, b),
    )
}

/// `GET /v1/users/me` ("Retrieve your token's bot user"): the connection's bot user. Its
/// `bot` object follows the reference and the SDK's `BotInfoResponse`: `owner`,
/// `workspace_id`, `workspace_name`, `workspace_limits.max_file_upload_size_in_bytes`.
pub(super) fn bot_user() -> Response {
    json_response(
        200,
        &json!({
            "object": "user",
            "id": "b0700000-0000-4000-8000-000000000001",
            "name": "Emulated connection",
            "avatar_url": null,
            "type": "bot",
            "bot": {
                "owner": {"type": "workspace", "workspace": true},
                "workspace_id": crate::model::WORKSPACE_ID,
                "workspace_name": "Emulated Workspace",
                "workspace_limits": {"max_file_upload_size_in_bytes": 5_368_709_120u64},
            },
        }),
    )
}

pub(super) fn retrieve_block(ws: &Workspace, id: &str) -> Response {
    match ws.blocks.get(id) {
        Some(b) if ws.page_of(id).is_some_and(|p| ws.visible(&p)) => json_response(200, &render::block(ws, b)),
        _ => not_found("block", id),
    }
}

/// `GET /v1/pages/{page}/properties/{property}` ("Retrieve a page property item"): a
/// relation's or people property's items, paginated (`page_size` up to 100, default 25);
/// any other property as one property item. The id matches as written or percent-decoded.
pub(super) fn page_property(ws: &Workspace, page: &str, property: &str, query: &str) -> Response {
    let Some(p) = ws.pages.get(page).filter(|_| ws.visible(page)) else {
        return not_found("page", page);
    };
    let wanted = query::decode(property);
    let Some((_, value)) = p.properties.iter().find(|(_, v)| {
        v.get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| query::decode(id) == wanted)
    }) else {
        return error(
            404,
            "object_not_found",
            &format!("Could not find property with ID: {property}."),
        );
    };
    let kind = value.get("type").and_then(Value::as_str).unwrap_or_default();
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let Some(items) = value
        .get(kind)
        .and_then(Value::as_array)
        .filter(|_| kind == "relation" || kind == "people")
    else {
        let mut item = value.clone();
        item["object"] = json!("property_item");
        return json_response(200, &item);
    };
    let params = query::params(query);
    let size = params
        .get("page_size")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let start = params
        .get("start_cursor")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (start + size).min(items.len());
    let results: Vec<Value> = items
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|item| json!({"object": "property_item", "id": id, "type": kind, kind: item}))
        .collect();
    let next = (end < items.len()).then(|| end.to_string());
    json_response(
        200,
        &json!({"object": "list", "results": results, "next_cursor": next, "has_more": next.is_some(),
                "type": "property_item", "property_item": {"id": id, "next_url": null, "type": kind, kind: {}}}),
    )
}

/// `GET /v1/data_sources/{id}` ("Retrieve a data source"): its schema, the properties its
/// rows hold.
pub(super) fn retrieve_data_source(ws: &Workspace, id: &str) -> Response {
    match ws.data_sources.get(id).and_then(|d| ws.databases.get(d)) {
        Some(db) if db.parent_page.as_ref().is_none_or(|p| ws.visible(p)) => {
            json_response(200, &render::data_source(ws, db))
        }
        _ => not_found("data source", id),
    }
}

pub(super) fn retrieve_database(ws: &Workspace, id: &str) -> Response {
    match ws.databases.get(id) {
        Some(db) if db.parent_page.as_ref().is_none_or(|p| ws.visible(p)) => json_response(200, &render::database(db)),
        _ => not_found("database", id),
    }
}

/// Whether a row passes a query's filter, as "Filter data source entries" documents the
/// parts the emulator knows: timestamp filters (`{"timestamp": "created_time" |
/// "last_edited_time", "<that>": {"on_or_after" | "after" | "on_or_before" | "before" |
/// "equals": date}}`, compared at the minute Notion keeps) and the `and` / `or` compounds.
/// Property filters are not emulated: they pass every row.
pub(super) fn row_matches(filter: &Value, page: &crate::model::Page) -> bool {
    if let Some(all) = filter.get("and").and_then(Value::as_array) {
        return all.iter().all(|f| row_matches(f, page));
    }
    if let Some(any) = filter.get("or").and_then(Value::as_array) {
        return any.iter().any(|f| row_matches(f, page));
    }
    let Some(kind) = filter.get("timestamp").and_then(Value::as_str) else {
        return true;
    };
    let epoch = match kind {
        "created_time" => page.created,
        "last_edited_time" => page.last_edited,
        _ => return true,
    };
    let at = render::stamp(epoch);
    let Some(conditions) = filter.get(kind).and_then(Value::as_object) else {
        return true;
    };
    conditions.iter().all(|(op, date)| {
        let Some(date) = date.as_str() else { return true };
        match op.as_str() {
            "on_or_after" => at.as_str() >= date,
            "after" => at.as_str() > date,
            "on_or_before" => at.as_str() <= date,
            "before" => at.as_str() < date,
            "equals" => at.starts_with(date),
            _ => true,
        }
    })
}

pub(super) fn query_data_source(ws: &Workspace, id: &str, body: &Value, cap: usize) -> Response {
    let Some(size) = page_size(body.get("page_size")) else {
        return page_size_error();
    };
    let Some(db) = ws.data_sources.get(id).and_then(|d| ws.databases.get(d)) else {
        return not_found("data source", id);
    };
    if !db.parent_page.as_ref().is_none_or(|p| ws.visible(p)) {
        return not_found("data source", id);
    }
    // Notion keeps created_time to the minute; a `created_time` filter and sort work on that.
    let minute = render::minute;
    let by_created = body
        .pointer("/sorts/0/timestamp")
        .and_then(Value::as_str)
        .is_some_and(|t| t == "created_time");
    let filter = body.get("filter").cloned().unwrap_or(Value::Null);
    let mut rows: Vec<&crate::model::Page> = db
        .rows
        .iter()
        .filter_map(|r| ws.pages.get(r))
        .filter(|p| !p.in_trash && p.shared && matches!(p.parent, Parent::DataSource(_)))
        .filter(|p| row_matches(&filter, p))
        .collect();
    if by_created {
        rows.sort_by(|a, b| (minute(a.created), &a.id).cmp(&(minute(b.created), &b.id)));
    } else {
        rows.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let items: Vec<(String, &crate::model::Page)> = rows.into_iter().map(|p| (p.id.clone(), p)).collect();
    paginate(
        items,
        body.get("start_cursor").and_then(Value::as_str),
        size,
        cap,
        "page_or_data_source",
        |p| render::page(ws, p),
    )
}
