//! Media and files as record text: Notion-hosted (signed, expiring) URLs never reach a
//! record; a hosted file becomes its caption and name with a stable Notion link (SPEC §2.1).
//! Used by both renderers, of markdown answers and of blocks.

/// Whether `url` is a Notion-hosted file's pre-signed URL, which expires within an hour
/// and changes on every read ("File object": "authenticated S3 URL").
pub fn is_signed_file_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.contains("x-amz-signature=")
        || lower.contains("x-amz-credential=")
        || lower.contains("prod-files-secure.")
        || lower.contains("secure.notion-static.com")
        || lower.contains("://file.notion.so/")
}

/// The file name in a signed URL's path (its last segment, percent-decoded).
pub fn file_name_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or_default();
    form_urlencoded::parse(format!("n={last}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| last.to_string())
}

/// A media or file as record text: its caption (and a file's name) with a link that does
/// not expire: the URL itself when external, else `stable` (a link to its block or page).
pub fn media_text(kind: &str, caption: &str, url: &str, name: Option<&str>, stable: &str) -> String {
    let hosted = is_signed_file_url(url);
    let link = if hosted || url.is_empty() { stable } else { url };
    let name = match name {
        Some(n) if !n.is_empty() => Some(n.to_string()),
        _ if kind == "file" && hosted => Some(file_name_of(url)),
        _ => None,
    };
    let label = match (caption.trim(), name) {
        ("", Some(n)) => n,
        ("", None) => kind.to_string(),
        (c, Some(n)) => format!("{c} ({n})"),
        (c, None) => c.to_string(),
    };
    format!("[{label}]({link})")
}
