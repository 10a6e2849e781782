//! A page becomes records: its text (title, properties, content), split into chunks that
//! fit a DynamoDB item, under ids derived from (integration, page) so a re-sync updates
//! them in place.

use sha2::{Digest, Sha256};

/// Largest chunk of text in one record, in bytes: well under DynamoDB's 400 KB item limit
/// with room for the record's metadata.
pub const MAX_CHUNK_BYTES: usize = 100_000;

/// The id of a page's first record; later chunks add `-2`, `-3`, ...
pub fn record_base_id(integration_id: &str, page_id: &str) -> String {
    let digest = Sha256::digest(format!("{integration_id}:{page_id}").as_bytes());
    format!("np_{}", &hex::encode(digest)[..32])
}

/// The id of chunk `index` (0-based) of a page.
pub fn chunk_id(base: &str, index: usize) -> String {
    if index == 0 {
        base.to_string()
    } else {
        format!("{base}-{}", index + 1)
    }
}

/// The record text of a page: its title as a heading, database properties as
/// `Name: value` lines, then its content.
pub fn compose_text(title: &str, path: &[String], properties: &[String], content: &str) -> String {
    let mut text = format!("# {title}\n");
    if let Some(line) = path_line(path) {
        text.push_str(&line);
        text.push('\n');
    }
    if !properties.is_empty() {
        text.push('\n');
        for line in properties {
            text.push_str(line);
            text.push('\n');
        }
    }
    if !content.trim().is_empty() {
        text.push('\n');
        text.push_str(content.trim());
        text.push('\n');
    }
    text
}

/// The line under a record's title that says where its page lives, if it lives anywhere
/// but the workspace's top.
pub fn path_line(path: &[String]) -> Option<String> {
    (!path.is_empty()).then(|| format!("Path: {}", path.join(" / ")))
}

/// A record text (its first chunk) with its path line replaced by `path`'s.
pub fn with_path(text: &str, path: &[String]) -> String {
    let (title, rest) = text.split_once('\n').unwrap_or((text, ""));
    let rest = match rest.split_once('\n') {
        Some((first, after)) if first.starts_with("Path: ") => after,
        None if rest.starts_with("Path: ") => "",
        _ => rest,
    };
    match path_line(path) {
        Some(line) => format!("{title}\n{line}\n{rest}"),
        None => format!("{title}\n{rest}"),
    }
}

/// What decides whether a page's records must be rewritten: its text and the context its
/// records carry in `meta` besides the text (its parent and, for a row, its database's
/// title).
pub fn record_hash(text: &str, parent_id: Option<&str>, database_title: Option<&str>) -> String {
    match (parent_id, database_title) {
        (None, None) => text_hash(text),
        (p, d) => text_hash(&format!(
            "{text}\n\u{1}{}\u{1}{}",
            p.unwrap_or_default(),
            d.unwrap_or_default()
        )),
    }
}

/// SHA-256 of a record text, to skip rewriting unchanged records.
pub fn text_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Splits text into chunks of at most `max` bytes, at line ends where possible and at
/// character boundaries otherwise.
pub fn split_chunks(text: &str, max: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if current.len() + line.len() > max && !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        let mut rest = line;
        while rest.len() > max {
            let mut cut = max;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            chunks.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        current.push_str(rest);
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = record_base_id("notion_1", "page-a");
        assert_eq!(a, record_base_id("notion_1", "page-a"));
        assert_ne!(a, record_base_id("notion_2", "page-a"));
        assert!(crate::domain::ids::is_valid_record_id(&chunk_id(&a, 3)));
        assert_eq!(chunk_id(&a, 1), format!("{a}-2"));
    }

    #[test]
    fn text_has_title_properties_and_content() {
        assert_eq!(
            compose_text("T", &[], &["A: 1".into()], "body"),
            "# T\n\nA: 1\n\nbody\n"
        );
        assert_eq!(compose_text("T", &[], &[], "  "), "# T\n");
        let path = ["Engineering".to_string(), "Tasks".to_string()];
        let text = compose_text("Task 3", &path, &["Status: Done".into()], "body");
        assert_eq!(text, "# Task 3\nPath: Engineering / Tasks\n\nStatus: Done\n\nbody\n");
        let moved = with_path(&text, &["Platform".to_string()]);
        assert_eq!(moved, "# Task 3\nPath: Platform\n\nStatus: Done\n\nbody\n");
        assert_eq!(with_path(&moved, &[]), "# Task 3\n\nStatus: Done\n\nbody\n");
        assert_eq!(
            with_path(&with_path(&moved, &[]), &path),
            text,
            "a path line comes and goes cleanly"
        );
        assert_eq!(with_path("# Alone\n", &path), "# Alone\nPath: Engineering / Tasks\n");
    }

    #[test]
    fn chunks_respect_the_limit_and_lose_nothing() {
        let text = format!("{}\n{}\nééé{}\n", "a".repeat(30), "b".repeat(10), "c".repeat(70));
        let chunks = split_chunks(&text, 32);
        assert!(chunks.iter().all(|c| c.len() <= 32), "{chunks:?}");
        assert_eq!(chunks.concat(), text);
        assert_eq!(split_chunks("short", 100), vec!["short".to_string()]);
    }
}
