//! The shape of `shared/src`, checked (STYLE.md 9): the files' import graph has no cycle,
//! each top-level module imports only the layers below it, and no file outgrows one
//! concern. It reads the sources themselves, so a change that breaks a rule fails here,
//! in the test command, before anyone reads it.
//!
//! An import is any path through `crate::`, `super::` or `self::`, or a child module's
//! name, in a `use` or in code (comments are skipped). Test modules (`tests.rs`,
//! `*_tests.rs` and the `#[cfg(test)]` or `#[cfg(all(test, ...))]` `mod tests` at the end of
//! a file) may import anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each top-level module may import besides itself: the layers, bottom up.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("error", &["domain"]),
    ("config", &["domain", "error"]),
    ("ports", &["domain", "error"]),
    ("notion", &["domain", "error", "ports"]),
    ("aws", &["domain", "error", "ports"]),
    ("sync", &["domain", "error", "ports"]),
    ("attachments", &["domain", "error"]),
    ("http", &["domain", "error", "ports"]),
    (
        "crawler",
        &["domain", "error", "ports", "notion", "sync", "attachments"],
    ),
    ("authorizer", &["domain", "error", "ports", "http"]),
    ("schedule_trigger", &["domain", "error", "ports", "sync"]),
    ("api", &["domain", "error", "ports", "http", "sync"]),
    (
        "runtime",
        &[
            "domain",
            "error",
            "config",
            "ports",
            "notion",
            "aws",
            "sync",
            "attachments",
            "http",
            "crawler",
            "authorizer",
            "schedule_trigger",
            "api",
        ],
    ),
    (
        "testing",
        &[
            "domain",
            "error",
            "config",
            "ports",
            "notion",
            "sync",
            "attachments",
            "http",
            "crawler",
            "authorizer",
            "schedule_trigger",
            "api",
            "runtime",
        ],
    ),
];

/// Lines a source file may have (STYLE.md 9: past that it holds two things).
const MAX_SOURCE_LINES: usize = 600;
/// Lines a test file may have.
const MAX_TEST_LINES: usize = 700;

struct Source {
    /// Module path, `a::b` (`""` for the crate root).
    module: String,
    /// The file's text up to its trailing test module, comments removed.
    code: String,
    /// Whether the whole file is a test module.
    test: bool,
}

fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without comments, cut where a `#[cfg(test)]` module starts.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if (trimmed.starts_with("#[cfg(test)]") || trimmed.starts_with("#[cfg(all(test,"))
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod ") && next.trim_end().ends_with('{'))
        {
            break;
        }
        let without_comment = match line.find("//") {
            // A `//` inside a string (a URL) is not a comment.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        code.push_str(without_comment);
        code.push('\n');
    }
    code
}

fn sources(root: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files.sort();
    files
        .iter()
        .map(|file| {
            let name = file.file_stem().unwrap().to_string_lossy();
            Source {
                module: module_of(root, file),
                code: code_of(&std::fs::read_to_string(file).unwrap()),
                test: name == "tests" || name.ends_with("_tests"),
            }
        })
        .collect()
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap().trim().to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .flat_map(|item| expand(item).into_iter().map(move |p| format!("{prefix}{p}")))
        .collect()
}

/// A `use` tree on one line, with no whitespace but the spaces around `as`.
fn tidy(tree: &str) -> String {
    let renamed = regex::Regex::new(r"\s+as\s+").unwrap().replace_all(tree, "\u{0}");
    renamed.split_whitespace().collect::<String>().replace('\u{0}', " as ")
}

/// Every path the code names: the trees of `use` items, and `crate::`/`super::` paths.
fn paths_in(code: &str) -> Vec<String> {
    let use_item = regex::Regex::new(r"(?s)\buse\s+([^;]+);").unwrap();
    let inline = regex::Regex::new(r"\b(?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+").unwrap();
    let mut paths: Vec<String> = use_item
        .captures_iter(code)
        .flat_map(|c| expand(&tidy(&c[1])))
        .collect();
    paths.extend(inline.find_iter(code).map(|m| m.as_str().to_string()));
    paths
}

/// The module file a path named in `module`'s file leads to, if it is one of ours.
fn resolve(path: &str, module: &str, modules: &BTreeSet<String>) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = if module.is_empty() {
        vec![]
    } else {
        module.split("::").collect()
    };
    match segments[0] {
        "crate" => {
            base.clear();
            segments.remove(0);
        }
        "self" => {
            segments.remove(0);
        }
        "super" => {
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
        }
        first => {
            // A child module named without `self::`; anything else is another crate.
            let child = if module.is_empty() {
                first.to_string()
            } else {
                format!("{module}::{first}")
            };
            if !modules.contains(&child) {
                return None;
            }
        }
    }
    let mut target: Vec<&str> = base;
    let here = target.join("::");
    let mut found = modules.contains(&here).then_some(here);
    for segment in segments {
        target.push(segment);
        let candidate = target.join("::");
        if modules.contains(&candidate) {
            found = Some(candidate);
        } else {
            break;
        }
    }
    found
}

struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let sources = sources(&root);
    let modules: BTreeSet<String> = sources.iter().map(|s| s.module.clone()).collect();
    let mut edges = BTreeMap::new();
    for source in sources.iter().filter(|s| !s.test) {
        let targets: BTreeSet<String> = paths_in(&source.code)
            .iter()
            .filter_map(|p| resolve(p, &source.module, &modules))
            .filter(|t| *t != source.module && !t.is_empty())
            .collect();
        edges.insert(source.module.clone(), targets);
    }
    Graph { edges }
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

/// One cycle of the graph, if it has one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_string(), Mark::Open);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match marks.get(next.as_str()) {
                Some(Mark::Open) => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, marks, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if !marks.contains_key(node.as_str()) {
            if let Some(cycle) = visit(node, edges, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let mut edges = graph().edges;
    assert!(edges.len() > 50, "the sources were read");
    // Every cycle, not just the first: each found loses its closing edge, then look again.
    let mut cycles = Vec::new();
    while let Some(cycle) = find_cycle(&edges) {
        let (from, to) = (&cycle[cycle.len() - 2], &cycle[cycle.len() - 1]);
        edges.get_mut(from).unwrap().remove(to);
        cycles.push(cycle.join(" -> "));
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let layers: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, targets) in &graph().edges {
        if from.is_empty() {
            continue;
        }
        let Some(allowed) = layers.get(top(from)) else {
            wrong.push(format!(
                "{from}: top-level module `{}` has no layer in LAYERS",
                top(from)
            ));
            continue;
        };
        for to in targets {
            if top(to) != top(from) && !allowed.contains(&top(to)) {
                wrong.push(format!("{from} imports {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn the_checker_finds_cycles_and_resolves_paths() {
    let modules: BTreeSet<String> = ["a", "a::b", "a::c", "d"].iter().map(|s| s.to_string()).collect();
    assert_eq!(resolve("super::c::Thing", "a::b", &modules).as_deref(), Some("a::c"));
    assert_eq!(resolve("crate::d::x::Y", "a::b", &modules).as_deref(), Some("d"));
    assert_eq!(resolve("b::Thing", "a", &modules).as_deref(), Some("a::b"));
    assert_eq!(resolve("serde::Serialize", "a", &modules), None);
    assert_eq!(resolve("super::Thing", "a::b", &modules).as_deref(), Some("a"));
    assert_eq!(resolve("super::d", "a", &modules).as_deref(), Some("d"));
    assert_eq!(
        tidy("super::{\n    x::{A, B},\n    y as z,\n}"),
        "super::{x::{A,B},y as z,}"
    );
    assert_eq!(
        expand("super::{x::{A, B}, y as z}"),
        vec!["super::x::A", "super::x::B", "super::y"]
    );
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.insert("a".into(), ["b".to_string()].into());
    edges.insert("b".into(), ["c".to_string()].into());
    assert!(find_cycle(&edges).is_none());
    edges.insert("c".into(), ["a".to_string()].into());
    assert_eq!(find_cycle(&edges).unwrap(), vec!["a", "b", "c", "a"]);
    let code = code_of("use crate::x; // crate::y\n#[cfg(test)]\nmod tests {\n use crate::z;\n}\n");
    assert_eq!(paths_in(&code), vec!["crate::x", "crate::x"]);
    let gated = code_of("use crate::x;\n#[cfg(all(test, feature = \"testing\"))]\nmod tests {\n use crate::z;\n}\n");
    assert_eq!(paths_in(&gated), vec!["crate::x", "crate::x"]);
}

fn line_counts(dir: &Path, out: &mut Vec<(PathBuf, usize)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            line_counts(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "py" || e == "sh") {
            out.push((path.clone(), std::fs::read_to_string(&path).unwrap().lines().count()));
        }
    }
}

#[test]
fn no_file_holds_two_things() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut too_long = Vec::new();
    let mut count = 0;
    for (dir, limit) in [
        ("shared/src", MAX_SOURCE_LINES),
        ("infra/local", MAX_SOURCE_LINES),
        ("infra/notion-emulator/src", MAX_SOURCE_LINES),
        ("tests", MAX_TEST_LINES),
        ("shared/tests", MAX_TEST_LINES),
        ("infra/notion-emulator/tests", MAX_TEST_LINES),
    ] {
        let mut files = Vec::new();
        line_counts(&repo.join(dir), &mut files);
        count += files.len();
        for (file, lines) in files {
            if lines > limit {
                let name = file.strip_prefix(repo).unwrap().display().to_string();
                too_long.push(format!("{name} has {lines} lines (at most {limit})"));
            }
        }
    }
    assert!(count > 100, "the sources were read");
    assert!(
        too_long.is_empty(),
        "files holding two things:\n{}",
        too_long.join("\n")
    );
}
