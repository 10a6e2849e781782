//! Replay: answers recorded from the real Notion API, served as a workspace.
//!
//! The generated workspace and its renderer are ours, so a reading they get wrong in the same
//! way as the crawler passes unnoticed. Recordings are Notion's own bytes. A recording is one
//! JSON file of interactions (`method`, `uri`, `notionVersion`, `status`, `body`), converted one
//! to one from an SDK's VCR cassettes (see the `NOTICE.md` beside the data for their source and
//! licence). From them [`Recordings::load`] keeps one snapshot of the workspace:
//!
//! - every page object any answer held (retrieve, create, update, query rows), the latest
//!   version that is not in the trash (the recordings' tests end by trashing what they made; a
//!   page that was only ever seen trashed is left out);
//! - every block's children, from its latest complete `GET /v1/blocks/{id}/children` chain, or
//!   where none was recorded, the blocks appended to it (`PATCH …/children` answers);
//! - data sources and databases as last seen, and the rows any query of a data source returned.
//!
//! [`serve`] answers the crawler's reads from that snapshot in the recordings' version and
//! nothing else (`400` for any other `Notion-Version`). What was never recorded is answered as
//! Notion answers what an integration cannot see (`404 object_not_found`), except a block's
//! children, which answer an empty list (the recordings cut trees there; the oracle expects
//! nothing below). Markdown is refused (`404`), as no recording holds it, so the block walk
//! reads every page.
//!
//! [`Recordings::expected_fragments`] is the oracle: the text a reader must keep, taken from the
//! recorded JSON by field name alone, with no rendering of ours in between.

mod serve;

pub use serve::serve;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// A workspace snapshot rebuilt from recorded answers.
#[derive(Debug, Default)]
pub struct Recordings {
    /// The `Notion-Version` the answers were recorded in (the most common one).
    pub version: String,
    pub pages: BTreeMap<String, Value>,
    pub children: HashMap<String, Vec<Value>>,
    pub data_sources: BTreeMap<String, Value>,
    pub databases: HashMap<String, Value>,
    pub rows: HashMap<String, Vec<String>>,
    /// How many interactions were read, for the test's report.
    pub interactions: usize,
}

/// `id` in Notion's hyphenated form, whatever form a URI carried.
pub fn hyphenated(id: &str) -> String {
    let hex: String = id.chars().filter(|c| *c != '-').collect::<String>().to_lowercase();
    if hex.len() != 32 {
        return id.to_string();
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl Recordings {
    /// Reads every `*.json` recording under `dir`, in file-name order.
    pub fn load(dir: &Path) -> std::io::Result<Recordings> {
        let mut files: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let mut builder = Builder::default();
        for file in files {
            let recording: Value = serde_json::from_slice(&std::fs::read(&file)?)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", file.display())))?;
            for interaction in recording["interactions"].as_array().into_iter().flatten() {
                builder.read(interaction);
            }
        }
        Ok(builder.finish())
    }

    /// Pages a reader can reach: not in the trash, and under a parent it can see or the workspace.
    pub fn live_pages(&self) -> Vec<String> {
        self.pages
            .iter()
            .filter(|(_, p)| p["in_trash"] != true && p["archived"] != true)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The pieces of text of `page` that its records must hold: every `plain_text` of its
    /// properties and of its block tree (not of child pages or databases, which are records of
    /// their own), an equation's expression, a bookmark's or embed's URL, the names of options,
    /// people and places, and a formula's string. Trimmed, whitespace collapsed, empty ones gone.
    pub fn expected_fragments(&self, page: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(object) = self.pages.get(page) {
            for (_, property) in object["properties"].as_object().into_iter().flatten() {
                property_fragments(property, &mut out);
            }
        }
        let mut seen = HashSet::new();
        self.tree_fragments(page, &mut out, &mut seen);
        let mut fragments: Vec<String> = out
            .into_iter()
            .map(|s| collapse(&s))
            .filter(|s| !s.is_empty())
            .collect();
        fragments.sort();
        fragments.dedup();
        fragments
    }

    fn tree_fragments(&self, parent: &str, out: &mut Vec<String>, seen: &mut HashSet<String>) {
        if !seen.insert(parent.to_string()) {
            return;
        }
        for block in self.children.get(parent).into_iter().flatten() {
            let kind = block["type"].as_str().unwrap_or_default();
            if matches!(kind, "child_page" | "child_database") {
                continue;
            }
            let body = &block[kind];
            plain_texts(body, out);
            match kind {
                "equation" => out.extend(body["expression"].as_str().map(String::from)),
                "bookmark" | "embed" | "link_preview" => out.extend(body["url"].as_str().map(String::from)),
                _ => {}
            }
            if block["has_children"] == true {
                if let Some(id) = block["id"].as_str() {
                    self.tree_fragments(id, out, seen);
                }
            }
        }
    }
}

/// Every `plain_text` string anywhere in `value`.
fn plain_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("plain_text", Value::String(s)) => out.push(s.clone()),
                    _ => plain_texts(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| plain_texts(v, out)),
        _ => {}
    }
}

fn property_fragments(property: &Value, out: &mut Vec<String>) {
    let kind = property["type"].as_str().unwrap_or_default();
    let value = &property[kind];
    plain_texts(value, out);
    match kind {
        "select" | "status" => out.extend(value["name"].as_str().map(String::from)),
        "multi_select" | "people" => {
            for item in value.as_array().into_iter().flatten() {
                out.extend(item["name"].as_str().map(String::from));
            }
        }
        "created_by" | "last_edited_by" => out.extend(value["name"].as_str().map(String::from)),
        "place" => {
            for field in ["name", "address"] {
                out.extend(value[field].as_str().map(String::from));
            }
        }
        "formula" => out.extend(value["string"].as_str().map(String::from)),
        "url" | "email" | "phone_number" => out.extend(value.as_str().map(String::from)),
        _ => {}
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
struct Builder {
    out: Recordings,
    versions: HashMap<String, usize>,
    /// Children chains being read: parent → blocks so far.
    listing: HashMap<String, Vec<Value>>,
    listed: HashSet<String>,
    appended: HashMap<String, Vec<Value>>,
}

impl Builder {
    fn read(&mut self, interaction: &Value) {
        self.out.interactions += 1;
        if interaction["status"] != 200 {
            return;
        }
        let uri = interaction["uri"].as_str().unwrap_or_default();
        let Some(rest) = uri.split_once("/v1/").map(|(_, r)| r) else {
            return;
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let segments: Vec<&str> = path.split('/').collect();
        let method = interaction["method"].as_str().unwrap_or_default();
        let body = &interaction["body"];
        if let Some(v) = interaction["notionVersion"].as_str() {
            *self.versions.entry(v.to_string()).or_default() += 1;
        }
        match (method, segments.as_slice()) {
            ("GET", ["blocks", id, "children"]) => {
                let id = hyphenated(id);
                let chain = self.listing.entry(id.clone()).or_default();
                if !query.contains("start_cursor=") {
                    chain.clear();
                }
                chain.extend(body["results"].as_array().into_iter().flatten().cloned());
                if body["has_more"] != true {
                    let blocks = std::mem::take(chain);
                    self.out.children.insert(id.clone(), blocks);
                    self.listed.insert(id);
                }
            }
            ("PATCH", ["blocks", id, "children"]) => {
                let results = body["results"].as_array().into_iter().flatten().cloned();
                self.appended.entry(hyphenated(id)).or_default().extend(results);
            }
            ("POST", ["data_sources", id, "query"]) => {
                let id = hyphenated(id);
                for row in body["results"].as_array().into_iter().flatten() {
                    if let Some(row_id) = row["id"].as_str() {
                        let rows = self.out.rows.entry(id.clone()).or_default();
                        if !rows.iter().any(|r| r == row_id) {
                            rows.push(row_id.to_string());
                        }
                    }
                    self.page(row);
                }
            }
            ("POST", ["search"]) => {
                for result in body["results"].as_array().into_iter().flatten() {
                    self.object(result);
                }
            }
            _ => self.object(body),
        }
    }

    fn object(&mut self, body: &Value) {
        match body["object"].as_str() {
            Some("page") => self.page(body),
            Some("data_source") => self.keyed(body, |r| &mut r.data_sources),
            Some("database") => {
                if let Some(id) = body["id"].as_str() {
                    self.out.databases.insert(hyphenated(id), body.clone());
                }
            }
            _ => {}
        }
    }

    fn keyed(&mut self, body: &Value, map: impl Fn(&mut Recordings) -> &mut BTreeMap<String, Value>) {
        if let Some(id) = body["id"].as_str() {
            map(&mut self.out).insert(hyphenated(id), body.clone());
        }
    }

    fn page(&mut self, body: &Value) {
        let Some(id) = body["id"].as_str().map(hyphenated) else {
            return;
        };
        let trashed = body["in_trash"] == true || body["archived"] == true;
        let known_live = self.out.pages.get(&id).is_some_and(|p| p["in_trash"] != true);
        if trashed && known_live {
            return;
        }
        self.out.pages.insert(id, body.clone());
    }

    fn finish(mut self) -> Recordings {
        for (parent, blocks) in self.appended {
            if !self.listed.contains(&parent) {
                self.out.children.insert(parent, blocks);
            }
        }
        self.out.version = self
            .versions
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(v, _)| v)
            .unwrap_or_default();
        self.out
    }
}
