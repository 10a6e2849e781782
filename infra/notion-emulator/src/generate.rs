//! Generates realistic workspaces: nested pages (some reachable only as child pages, which
//! search misses), every common block type, deep nesting, tables over 100 rows, synced
//! blocks, column layouts, unsupported blocks, and databases with typed properties.

use crate::model::{Parent, Workspace};
use serde_json::{json, Map, Value};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Pages in total, database rows included.
    pub pages: usize,
    /// RNG seed: the same seed gives the same workspace.
    pub seed: u64,
    /// Token the workspace accepts.
    pub token: String,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const STATUSES: [&str; 3] = ["Todo", "Doing", "Done"];

const WORDS: [&str; 24] = [
    "deployment",
    "onboarding",
    "roadmap",
    "incident",
    "runbook",
    "pricing",
    "security",
    "retention",
    "billing",
    "latency",
    "migration",
    "analytics",
    "hiring",
    "design",
    "review",
    "budget",
    "support",
    "compliance",
    "release",
    "backlog",
    "customer",
    "feedback",
    "architecture",
    "quarterly",
];

fn sentence(rng: &mut Rng, tag: &str) -> String {
    let n = 4 + rng.below(8);
    let words: Vec<&str> = (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect();
    format!("{tag} {}", words.join(" "))
}

/// A generated workspace of about `options.pages` pages.
pub fn generate(options: &Options) -> Workspace {
    let mut ws = Workspace::new(&options.token, 1_763_600_000);
    let mut rng = Rng(options.seed.max(1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut pages: Vec<String> = Vec::new();
    let mut tag = 0usize;
    let mut next_tag = |prefix: &str| {
        tag += 1;
        format!("{prefix}{tag}")
    };
    let mut synced_original: Option<String> = None;
    while ws.pages.len() < options.pages {
        let index = pages.len();
        let title = format!("Page {} {}", index, WORDS[rng.below(WORDS.len())]);
        let id = if pages.is_empty() || rng.chance(12) {
            ws.add_page(Parent::Workspace, &title, true)
        } else {
            let parent = pages[rng.below(pages.len())].clone();
            // Search misses some pages: they are only reachable as child pages.
            let in_search = !rng.chance(15);
            ws.add_page(Parent::Page(parent), &title, in_search)
        };
        pages.push(id.clone());
        fill_page(&mut ws, &mut rng, &id, index, &mut next_tag, &mut synced_original);
        if index % 30 == 7 && ws.pages.len() + 5 < options.pages {
            let in_search = index % 60 != 7;
            let (db, _) = ws.add_database(&id, &format!("Tracker {index}"), in_search);
            let rows = (5 + rng.below(15)).min(options.pages - ws.pages.len());
            for r in 0..rows {
                let row_tag = next_tag("r");
                let mut props = Map::new();
                props.insert(
                    "Status".into(),
                    json!({"id": "st", "type": "select", "select": {"name": STATUSES[r % 3], "color": "default"}}),
                );
                props.insert(
                    "Priority".into(),
                    json!({"id": "pr", "type": "number", "number": (r * 7) % 5}),
                );
                props.insert("Tags".into(), json!({"id": "tg", "type": "multi_select", "multi_select": [{"name": WORDS[r % WORDS.len()]}, {"name": row_tag}]}));
                props.insert(
                    "Done".into(),
                    json!({"id": "dn", "type": "checkbox", "checkbox": r % 2 == 0}),
                );
                props.insert("Due".into(), json!({"id": "du", "type": "date", "date": {"start": format!("2025-12-{:02}", 1 + r % 28), "end": null}}));
                row_properties_of_every_type(&mut props, r, &row_tag);
                let row = ws.add_row(&db, &format!("Row {row_tag}"), props);
                let text = sentence(&mut rng, &next_tag("b"));
                ws.add_block(&row, "paragraph", &text, Value::Null);
            }
        }
    }
    ws
}

/// The property types real workspaces hold beside the simple ones, with the value shapes
/// of Notion's "Property values" reference (SDK `…PropertyValueResponse`): a place, a
/// formula of each result type, rollups (number and array), a unique id, a verification,
/// a status, people (one whose name is null), files, a relation and `created_by`.
fn row_properties_of_every_type(props: &mut Map<String, Value>, r: usize, tag: &str) {
    let person = |name: Option<&str>, email: &str| {
        json!({"object": "user", "id": format!("00000000-0000-4000-8000-{:012}", email.len()), "type": "person",
               "name": name, "avatar_url": null, "person": {"email": email}})
    };
    let entries = [
        (
            "Office",
            json!({"id": "pl", "type": "place", "place": {"lat": 52.52, "lon": 13.405, "name": format!("Office {tag}"), "address": "Unter den Linden 1, Berlin", "google_place_id": "ChIJ"}}),
        ),
        (
            "Due by",
            json!({"id": "fd", "type": "formula", "formula": {"type": "date", "date": {"start": "2024-01-01", "end": null, "time_zone": null}}}),
        ),
        (
            "Overdue",
            json!({"id": "fb", "type": "formula", "formula": {"type": "boolean", "boolean": r % 2 == 1}}),
        ),
        (
            "Score",
            json!({"id": "fn", "type": "formula", "formula": {"type": "number", "number": r * 3}}),
        ),
        (
            "Label",
            json!({"id": "fs", "type": "formula", "formula": {"type": "string", "string": format!("label {tag}")}}),
        ),
        (
            "Total",
            json!({"id": "rn", "type": "rollup", "rollup": {"type": "number", "number": 10 + r, "function": "sum"}}),
        ),
        (
            "Owners",
            json!({"id": "ra", "type": "rollup", "rollup": {"type": "array", "function": "show_original", "array": [{"type": "title", "title": [{"type": "text", "plain_text": format!("Owner {tag}"), "text": {"content": format!("Owner {tag}")}}]}]}}),
        ),
        (
            "Ticket",
            json!({"id": "ui", "type": "unique_id", "unique_id": {"prefix": "TASK", "number": r + 1}}),
        ),
        (
            "Verified",
            json!({"id": "ve", "type": "verification", "verification": {"state": "verified", "date": {"start": "2025-11-01", "end": null}, "verified_by": {"object": "user", "id": "u"}}}),
        ),
        (
            "Stage",
            json!({"id": "sg", "type": "status", "status": {"id": "s1", "name": "In progress", "color": "blue"}}),
        ),
        (
            "Assignees",
            json!({"id": "pe", "type": "people", "people": [person(Some("Ada Lovelace"), "ada@example.com"), person(None, "grace@example.com")]}),
        ),
        (
            "Attachments",
            json!({"id": "fi", "type": "files", "files": [{"name": format!("{tag}-spec.pdf"), "type": "external", "external": {"url": "https://files.example.com/spec.pdf"}}]}),
        ),
        (
            "Related",
            json!({"id": "re", "type": "relation", "relation": [{"id": "11111111-1111-4111-8111-111111111111"}], "has_more": false}),
        ),
        (
            "Created by",
            json!({"id": "cb", "type": "created_by", "created_by": person(Some("Ada Lovelace"), "ada@example.com")}),
        ),
        // Past the 25 references a page object carries: read through the property items.
        (
            "Linked",
            json!({"id": "%3Ali", "type": "relation",
                   "relation": (0..30).map(|i| json!({"id": format!("22222222-2222-4222-8222-{i:012}")})).collect::<Vec<_>>()}),
        ),
    ];
    for (name, value) in entries {
        props.insert(name.into(), value);
    }
}

fn fill_page(
    ws: &mut Workspace,
    rng: &mut Rng,
    page: &str,
    index: usize,
    next_tag: &mut impl FnMut(&str) -> String,
    synced_original: &mut Option<String>,
) {
    let mut text = |rng: &mut Rng| sentence(rng, &next_tag("b"));
    let t = text(rng);
    ws.add_block(page, "heading_1", &t, Value::Null);
    let blocks = 4 + rng.below(10);
    for _ in 0..blocks {
        let t = text(rng);
        match rng.below(14) {
            0..=2 => {
                ws.add_block(page, "paragraph", &t, Value::Null);
            }
            3 => {
                ws.add_block(page, "heading_2", &t, Value::Null);
            }
            4 => {
                let item = ws.add_block(page, "bulleted_list_item", &t, Value::Null);
                let inner = text(rng);
                let nested = ws.add_block(&item, "bulleted_list_item", &inner, Value::Null);
                let deeper = text(rng);
                ws.add_block(&nested, "numbered_list_item", &deeper, Value::Null);
            }
            5 => {
                ws.add_block(page, "numbered_list_item", &t, Value::Null);
                let second = text(rng);
                ws.add_block(page, "numbered_list_item", &second, Value::Null);
            }
            6 => {
                ws.add_block(page, "to_do", &t, json!({"checked": rng.chance(50)}));
            }
            7 => {
                let toggle = ws.add_block(page, "toggle", &t, Value::Null);
                let inner = text(rng);
                ws.add_block(&toggle, "paragraph", &inner, Value::Null);
            }
            8 => {
                ws.add_block(page, "quote", &t, Value::Null);
            }
            9 => {
                let callout = ws.add_block(page, "callout", &t, Value::Null);
                let inner = text(rng);
                ws.add_block(&callout, "paragraph", &inner, Value::Null);
            }
            10 => {
                ws.add_block(
                    page,
                    "code",
                    &format!("fn {}() {{}}", t.replace(' ', "_")),
                    json!({"language": "rust"}),
                );
            }
            11 => {
                ws.add_block(page, "divider", "", Value::Null);
                ws.add_block(page, "paragraph", &t, Value::Null);
            }
            12 => {
                ws.add_block(page, "bookmark", &t, json!({"url": "https://example.com/docs"}));
            }
            _ => {
                ws.add_block(page, "heading_3", &t, Value::Null);
            }
        }
    }
    if index % 10 == 3 {
        let columns = ws.add_block(page, "column_list", "", Value::Null);
        for _ in 0..2 {
            let column = ws.add_block(&columns, "column", "", Value::Null);
            let t = text(rng);
            ws.add_block(&column, "paragraph", &t, Value::Null);
        }
    }
    if index % 20 == 5 {
        // Deep nesting: eight levels of toggles and list items.
        let mut parent = page.to_string();
        for depth in 0..8 {
            let kind = if depth % 2 == 0 { "toggle" } else { "bulleted_list_item" };
            let t = text(rng);
            parent = ws.add_block(&parent, kind, &t, Value::Null);
        }
    }
    if index % 25 == 11 {
        let t = text(rng);
        let table = ws.add_block(page, "table", "", json!({"width": 2}));
        ws.add_block(&table, "table_row", "", json!({"cells": ["Key", "Value"]}));
        for row in 0..120 {
            let key = format!("{t}-k{row}");
            let value = format!("v{row}-{}", sentence(rng, "c").replace(' ', "-"));
            ws.add_block(&table, "table_row", "", json!({"cells": [key, value]}));
        }
    }
    if index % 15 == 4 {
        match synced_original.clone() {
            None => {
                let original = ws.add_block(page, "synced_block", "", Value::Null);
                let t = text(rng);
                ws.add_block(&original, "paragraph", &t, Value::Null);
                *synced_original = Some(original);
            }
            Some(original) => {
                let reference = ws.add_block(page, "synced_block", "", Value::Null);
                if let Some(b) = ws.blocks.get_mut(&reference) {
                    b.synced_from = Some(original);
                }
            }
        }
    }
    if index % 12 == 9 {
        ws.add_block(page, "unsupported", "", Value::Null);
        ws.add_block(page, "ai_block", "", Value::Null);
    }
    media_and_left_out_blocks(ws, page, index, next_tag);
    if index % 7 == 6 {
        blocks_of_2026(ws, page, next_tag);
    }
}

/// Block types Notion added in 2026 and one it has yet to add, each carrying unique tokens:
/// tabs holding content (SDK `TabBlockObjectResponse`), meeting notes with a summary, notes
/// and a transcript (`MeetingNotesBlockObjectResponse`), a button (the public API returns it
/// as `unsupported`, `block_type: "button"`), a code block with a caption, and a block of a
/// type no reader knows yet, with rich text and a child.
fn blocks_of_2026(ws: &mut Workspace, page: &str, next_tag: &mut impl FnMut(&str) -> String) {
    let tabs = ws.add_block(page, "tab", "", Value::Null);
    for name in ["first tab", "second tab"] {
        let t = format!("{} inside the {name}", next_tag("b"));
        ws.add_block(&tabs, "paragraph", &t, Value::Null);
    }
    let title = format!("{} weekly meeting", next_tag("b"));
    let meeting = ws.add_block(page, "meeting_notes", &title, Value::Null);
    for role in ["summary", "notes", "transcript"] {
        let part = ws.add_block(&meeting, "paragraph", "", json!({"role": role}));
        let t = format!("{} the meeting {role}", next_tag("b"));
        ws.add_block(&part, "paragraph", &t, Value::Null);
    }
    ws.add_block(page, "unsupported", "", json!({"block_type": "button"}));
    let code = format!("let {} = 1;", next_tag("b"));
    let caption = format!("{} code caption", next_tag("b"));
    ws.add_block(page, "code", &code, json!({"language": "rust", "caption": caption}));
    let future = format!("{} text of a future block type", next_tag("b"));
    let block = ws.add_block(page, "hologram", &future, Value::Null);
    let child = format!("{} child of a future block type", next_tag("b"));
    ws.add_block(&block, "paragraph", &child, Value::Null);
}

/// Blocks the markdown renders with URLs (media) or leaves out as `<unknown alt>`
/// (bookmark, embed, link preview, breadcrumb), a table of contents with text after it,
/// empty paragraphs, and equations: a few per page, some nested in a toggle. Every one that
/// carries text carries a unique token (a caption, a file name, a link preview's URL).
fn media_and_left_out_blocks(ws: &mut Workspace, page: &str, index: usize, next_tag: &mut impl FnMut(&str) -> String) {
    let mut caption = |prefix: &str| format!("{} {prefix} caption", next_tag("b"));
    match index % 4 {
        0 => {
            ws.add_block(page, "table_of_contents", "", Value::Null);
            let after = caption("after the contents");
            ws.add_block(page, "paragraph", &after, Value::Null);
            let c = caption("hosted image");
            ws.add_block(page, "image", &c, json!({"name": "diagram.png"}));
            let c = caption("embed");
            ws.add_block(
                page,
                "embed",
                &c,
                json!({"url": "https://www.youtube.com/watch?v=notion"}),
            );
        }
        1 => {
            let c = caption("file");
            let name = format!("{}-report.pdf", next_tag("f"));
            ws.add_block(page, "file", &c, json!({"name": name}));
            let preview = format!("https://github.com/acme/app/pull/{}", next_tag("l"));
            ws.add_block(page, "link_preview", "", json!({"url": preview}));
            let expression = format!("{} = m c^2", next_tag("b"));
            ws.add_block(page, "equation", &expression, Value::Null);
            ws.add_block(page, "paragraph", "", Value::Null);
        }
        2 => {
            let c = caption("pdf");
            ws.add_block(page, "pdf", &c, json!({"name": "handbook.pdf"}));
            let c = caption("external video");
            ws.add_block(
                page,
                "video",
                &c,
                json!({"external": "https://videos.example.com/intro.mp4"}),
            );
            let c = caption("audio");
            ws.add_block(page, "audio", &c, json!({"name": "standup.m4a"}));
            ws.add_block(page, "breadcrumb", "", Value::Null);
            // Left-out blocks nested in a toggle: not among the page's own children.
            let title = caption("toggle around a bookmark");
            let toggle = ws.add_block(page, "toggle", &title, Value::Null);
            let c = caption("nested bookmark");
            ws.add_block(&toggle, "bookmark", &c, json!({"url": "https://example.com/nested"}));
            let c = caption("nested embed");
            ws.add_block(&toggle, "embed", &c, json!({"url": "https://maps.example.com/embed"}));
        }
        _ => {
            let c = caption("external image");
            ws.add_block(
                page,
                "image",
                &c,
                json!({"external": "https://images.example.com/team.jpg"}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_workspace_and_every_shape_present() {
        let options = Options {
            pages: 200,
            seed: 7,
            token: "t".into(),
        };
        let a = generate(&options);
        let b = generate(&options);
        assert_eq!(a.pages.len(), 200);
        assert_eq!(a.pages.keys().collect::<Vec<_>>(), b.pages.keys().collect::<Vec<_>>());
        let kinds: std::collections::HashSet<&str> = a.blocks.values().map(|b| b.kind.as_str()).collect();
        for kind in [
            "table",
            "synced_block",
            "column_list",
            "child_page",
            "child_database",
            "unsupported",
            "toggle",
            "to_do",
            "code",
            "callout",
            "tab",
            "meeting_notes",
            "hologram",
        ] {
            assert!(kinds.contains(kind), "{kind} missing");
        }
        assert!(
            a.pages.values().any(|p| !p.in_search),
            "some pages are missed by search"
        );
        assert!(!a.databases.is_empty());
        assert!(a.blocks.values().any(|b| b.kind == "table" && b.children.len() > 100));
    }
}
