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
pub fn compose_text(title: &str, properties: &[String], content: &str) -> String {
    let mut text = format!("# {title}\n");
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
        assert_eq!(compose_text("T", &["A: 1".into()], "body"), "# T\n\nA: 1\n\nbody\n");
        assert_eq!(compose_text("T", &[], "  "), "# T\n");
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
