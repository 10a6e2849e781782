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

pub use crate::domain::file::FileRef;

/// The file a `file` or `pdf` block object holds, if its contents can be downloaded
/// (`type` `file` or `external`; a `file_upload` not yet attached has no URL).
pub fn file_of_block(block: &serde_json::Value) -> Option<FileRef> {
    let kind = block.get("type")?.as_str()?;
    if kind != "file" && kind != "pdf" {
        return None;
    }
    let data = block.get(kind)?;
    let source = data.get("type")?.as_str()?;
    let (url, expiry_time) = match source {
        "file" => (
            data.pointer("/file/url")?.as_str()?,
            data.pointer("/file/expiry_time")
                .and_then(|v| v.as_str())
                .map(str::to_string),
        ),
        "external" => (data.pointer("/external/url")?.as_str()?, None),
        _ => return None,
    };
    let name = match data.get("name").and_then(|v| v.as_str()) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => file_name_of(url),
    };
    let caption: String = data
        .get("caption")
        .and_then(|c| c.as_array())
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("plain_text").and_then(|t| t.as_str()))
                .collect()
        })
        .unwrap_or_default();
    Some(FileRef {
        kind: kind.to_string(),
        url: url.to_string(),
        hosted: source == "file",
        expiry_time,
        name,
        caption,
        block_id: block.get("id").and_then(|v| v.as_str()).map(str::to_string),
    })
}

/// The files of a row's `files` properties ("Page properties", `files`: each `{"name",
/// "type": "file" | "external", ...}`), as [`FileRef`]s of kind `property` (their block is
/// the row itself: none).
pub fn files_of_properties(properties: &serde_json::Map<String, serde_json::Value>) -> Vec<FileRef> {
    let mut out = Vec::new();
    for (property, value) in properties {
        if value.get("type").and_then(|t| t.as_str()) != Some("files") {
            continue;
        }
        let Some(items) = value.get("files").and_then(|f| f.as_array()) else {
            continue;
        };
        for item in items {
            let source = item.get("type").and_then(|t| t.as_str()).unwrap_or_default();
            let (url, expiry_time) = match source {
                "file" => (
                    item.pointer("/file/url").and_then(|u| u.as_str()),
                    item.pointer("/file/expiry_time")
                        .and_then(|t| t.as_str())
                        .map(str::to_string),
                ),
                "external" => (item.pointer("/external/url").and_then(|u| u.as_str()), None),
                _ => (None, None),
            };
            let Some(url) = url else { continue };
            let name = match item.get("name").and_then(|n| n.as_str()) {
                Some(n) if !n.is_empty() => n.to_string(),
                _ => file_name_of(url),
            };
            out.push(FileRef {
                kind: "property".into(),
                url: url.to_string(),
                hosted: source == "file",
                expiry_time,
                name,
                caption: property.clone(),
                block_id: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_signed_urls_file_name_is_its_decoded_last_segment() {
        let url = "https://prod-files-secure.s3.us-west-2.amazonaws.com/ws/file-1/Q3%20plan.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20251120T100000Z&X-Amz-Expires=3600&X-Amz-Signature=ab";
        assert_eq!(super::file_name_of(url), "Q3 plan.pdf");
    }
}
