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

/// A file a page holds whose contents may be read (SPEC §2.6): a `file` or `pdf` block, or
/// a `<file>`/`<pdf>` tag of a markdown answer. Its URL is kept only in memory for the
/// download, never in a record, index entry or log.
#[derive(Clone, PartialEq, Eq)]
pub struct FileRef {
    /// `file` or `pdf`.
    pub kind: String,
    /// The URL to download: Notion's signed one, or the external one.
    pub url: String,
    /// Hosted by Notion (`type: "file"`), as opposed to an external URL.
    pub hosted: bool,
    /// `expiry_time` of a hosted file's URL, when the answer gave one (block objects do;
    /// markdown answers carry only the URL, whose `X-Amz-Expires` says the same).
    pub expiry_time: Option<String>,
    /// The file's name (a file block's `name`, else the URL's last segment).
    pub name: String,
    /// Its caption.
    pub caption: String,
    /// The block holding it, when the answer named it (block objects do; markdown tags
    /// do not).
    pub block_id: Option<String>,
}

impl std::fmt::Debug for FileRef {
    // The URL is a credential for an hour: never in a debug print either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRef")
            .field("kind", &self.kind)
            .field("hosted", &self.hosted)
            .field("name", &self.name)
            .field("block_id", &self.block_id)
            .finish_non_exhaustive()
    }
}

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
