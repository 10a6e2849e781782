//! The lexical pieces of Notion-flavored Markdown: tags (`<name attrs>`, `</name>`, `<name/>`),
//! elements, attribute lists and links, each read from the start of a string; and the block
//! types an `<unknown alt>` may name, as the parser sorts them.

/// Block types the markdown renders: an `<unknown alt>` naming one of them, with its id in
/// `unknown_block_ids`, is a block the answer cut off (truncation, or a subtree the token
/// may read only in parts), fetched again as markdown. Any other `alt` names a type the
/// markdown cannot express (bookmark, embed, link_preview, tab, a type Notion added
/// later...): the block API has its text, whether or not its id is in `unknown_block_ids`
/// ("Retrieve a page as markdown" lists three reasons a block is left out; the
/// `unknown_block_ids` of some answers name every left-out block, of others only the
/// truncated ones, and both readings are emulated).
pub(super) const RENDERED_TYPES: [&str; 27] = [
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "heading_4",
    "bulleted_list_item",
    "numbered_list_item",
    "to_do",
    "toggle",
    "quote",
    "callout",
    "code",
    "equation",
    "table",
    "table_row",
    "column_list",
    "column",
    "image",
    "file",
    "pdf",
    "video",
    "audio",
    "child_page",
    "child_database",
    "meeting_notes",
    "transcription",
    "divider",
];

/// Block types whose `<unknown alt>` carries no text worth a request.
pub(super) const NO_TEXT: [&str; 8] = [
    "button",
    "breadcrumb",
    "table_of_contents",
    "unsupported",
    "ai_block",
    "template",
    "divider",
    "column_break",
];

/// One tag at the start of a line: `<name attrs>`, `</name>` or `<name attrs/>`.
#[derive(Debug)]
pub(super) struct Tag<'a> {
    pub(super) name: &'a str,
    pub(super) attrs: Vec<(String, String)>,
    pub(super) closing: bool,
    pub(super) self_closing: bool,
    /// What follows the tag on the line.
    pub(super) rest: &'a str,
}

impl Tag<'_> {
    pub(super) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn is_tag_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':'
}

/// Parses a tag at the start of `s`, if `s` starts with one.
pub(super) fn tag_at(s: &str) -> Option<Tag<'_>> {
    let body = s.strip_prefix('<')?;
    let (closing, body) = match body.strip_prefix('/') {
        Some(b) => (true, b),
        None => (false, body),
    };
    let name_len = body.find(|c: char| !is_tag_name_char(c)).unwrap_or(body.len());
    if name_len == 0 || !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name = &body[..name_len];
    let mut rest = &body[name_len..];
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("/>") {
            return Some(Tag {
                name,
                attrs,
                closing,
                self_closing: true,
                rest: r,
            });
        }
        if let Some(r) = rest.strip_prefix('>') {
            return Some(Tag {
                name,
                attrs,
                closing,
                self_closing: false,
                rest: r,
            });
        }
        let key_len = rest
            .find(|c: char| !is_tag_name_char(c) && c != '?')
            .unwrap_or(rest.len());
        if key_len == 0 {
            return None;
        }
        let key = rest[..key_len].trim_end_matches('?').to_string();
        rest = &rest[key_len..];
        if let Some(r) = rest.strip_prefix('=') {
            let quote = r.chars().next()?;
            if quote != '"' && quote != '\'' {
                return None;
            }
            let end = r[1..].find(quote)?;
            attrs.push((key, r[1..1 + end].to_string()));
            rest = &r[2 + end..];
        } else {
            attrs.push((key, String::new()));
        }
    }
}

/// Splits `s` at the closing `</name>` of an element whose opening tag was just read:
/// (inner, after). Nested elements of the same name are balanced.
pub(super) fn split_element<'a>(s: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut depth = 0usize;
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with(&close) {
            if depth == 0 {
                return Some((&s[..i], &s[i + close.len()..]));
            }
            depth -= 1;
            i += close.len();
            continue;
        }
        if rest.starts_with(&open) && rest[open.len()..].starts_with([' ', '>', '\t']) {
            depth += 1;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// Characters the reference escapes outside code ("Escaping").
pub(super) const ESCAPABLE: &str = "\\*~`$[]<>{}|^_#+-.!()";

/// `[label](url)` at the start of `s`: (label, url, after). Brackets in the label nest.
pub(super) fn link_at(s: &str) -> Option<(&str, &str, &str)> {
    let body = s.strip_prefix('[')?;
    let mut depth = 0usize;
    let mut end = None;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => depth += 1,
            ']' if depth == 0 => {
                end = Some(i);
                break;
            }
            ']' => depth -= 1,
            _ => {}
        }
    }
    let end = end?;
    let label = &body[..end];
    let after = body[end + 1..].strip_prefix('(')?;
    let close = after.find(')')?;
    let url = &after[..close];
    if url.contains(char::is_whitespace) && !url.starts_with('<') {
        return None;
    }
    Some((label, url, &after[close + 1..]))
}

/// Tags of blocks that hold other blocks.
pub(super) const CONTAINERS: [&str; 14] = [
    "p",
    "quote",
    "toggle",
    "details",
    "callout",
    "columns",
    "column",
    "column_list",
    "synced_block",
    "synced_block_reference",
    "meeting-notes",
    "summary",
    "notes",
    "transcript",
];
