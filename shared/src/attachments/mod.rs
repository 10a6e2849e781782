//! Attachments (SPEC §2.6): the text of the files people keep in Notion.
//!
//! - this module: what an attachment is (its format, its file's identity, when its signed
//!   URL expires, why one is skipped) and the limits a stack sets,
//! - [`text`], [`office`], [`pdf`]: the extractors, pure functions over a file's bytes,
//! - [`sandbox`]: where they run: a child process with a memory limit and a deadline, so a
//!   hostile file costs a skip, never the crawler,
//! - [`download`]: fetching a file within its URL's lifetime, streamed to a bounded temp
//!   file, with a client that never carries the Notion token.
//!
//! Nothing here talks to Notion or stores anything; the crawler decides what to read.

pub mod download;
pub mod office;
pub mod pdf;
pub mod sandbox;
pub mod text;

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The formats whose text is read (SPEC §2.6); every other file stays caption and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `application/pdf`.
    Pdf,
    /// Word (Office Open XML).
    Docx,
    /// PowerPoint (Office Open XML).
    Pptx,
    /// Excel (Office Open XML).
    Xlsx,
    /// Comma-separated values.
    Csv,
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// HTML.
    Html,
}

impl Format {
    /// The format a file name's extension names, if it is one that is read. Notion keeps
    /// the uploaded name in the object path and in a file block's `name`, and names the
    /// type nowhere else before the download.
    pub fn of_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        Some(match ext.as_str() {
            "pdf" => Format::Pdf,
            "docx" => Format::Docx,
            "pptx" => Format::Pptx,
            "xlsx" => Format::Xlsx,
            "csv" => Format::Csv,
            "txt" | "text" | "log" => Format::Text,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" => Format::Html,
            _ => return None,
        })
    }

    /// The format a download's `Content-Type` names, for a file whose name says none.
    pub fn of_mime(mime: &str) -> Option<Format> {
        let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        Some(match essence.as_str() {
            "application/pdf" => Format::Pdf,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Format::Docx,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation" => Format::Pptx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Format::Xlsx,
            "text/csv" => Format::Csv,
            "text/plain" => Format::Text,
            "text/markdown" => Format::Markdown,
            "text/html" => Format::Html,
            _ => return None,
        })
    }

    /// The MIME type a record's `meta.mimeType` names.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Format::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv",
            Format::Text => "text/plain",
            Format::Markdown => "text/markdown",
            Format::Html => "text/html",
        }
    }

    /// The name the sandbox's command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Pptx => "pptx",
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }

    /// The format the sandbox's command line names.
    pub fn from_name(name: &str) -> Option<Format> {
        [
            Format::Pdf,
            Format::Docx,
            Format::Pptx,
            Format::Xlsx,
            Format::Csv,
            Format::Text,
            Format::Markdown,
            Format::Html,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// Why an attachment's text is not in the dataset; counted by name in the run summary
/// (`attachmentsSkippedByReason`). None of them fails a page or a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Skip {
    /// Over `ATTACHMENT_MAX_BYTES`, by its `Content-Length` or while streaming.
    TooLarge,
    /// The run's `ATTACHMENT_SYNC_BUDGET_MB` is spent.
    Budget,
    /// Not a file the stack reads: an external URL without `ATTACHMENTS_EXTERNAL`, or not
    /// `https`, or a host that resolves to a private address.
    NotAllowed,
    /// Its URL had expired and reading its block or page again gave none that had not.
    Expired,
    /// The download failed (network, 4xx/5xx other than expiry).
    Download,
    /// Not the format its name says, or broken.
    Malformed,
    /// Encrypted with a password.
    Encrypted,
    /// Built to exhaust a reader: a zip bomb, XML nested past any real document's depth.
    Hostile,
    /// Its extraction needed more memory than `ATTACHMENT_EXTRACT_MEMORY_MB`.
    Memory,
    /// Its extraction ran past `ATTACHMENT_EXTRACT_TIMEOUT_SECS`.
    Timeout,
}

impl Skip {
    /// The name the run summary counts it under.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::TooLarge => "tooLarge",
            Skip::Budget => "budget",
            Skip::NotAllowed => "notAllowed",
            Skip::Expired => "expired",
            Skip::Download => "download",
            Skip::Malformed => "malformed",
            Skip::Encrypted => "encrypted",
            Skip::Hostile => "hostile",
            Skip::Memory => "memory",
            Skip::Timeout => "timeout",
        }
    }
}

/// What an extractor gives back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    /// The file's text, Markdown-ish (headings for slides and sheets).
    pub text: String,
    /// A PDF's page count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// The text stopped at `max_text_bytes`.
    #[serde(default)]
    pub truncated: bool,
}

/// The limits a stack sets on reading attachments (README, "Attachments").
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// `ATTACHMENT_MAX_BYTES`: the largest file downloaded.
    pub max_bytes: u64,
    /// `ATTACHMENT_EXTRACT_TIMEOUT_SECS`: how long one file's extraction may take.
    pub extract_timeout: Duration,
    /// `ATTACHMENT_EXTRACT_MEMORY_MB`: the address space the extraction process may use.
    pub extract_memory_bytes: u64,
    /// `ATTACHMENT_SYNC_BUDGET_MB`: bytes one run downloads at most.
    pub sync_budget_bytes: u64,
    /// The most text kept of one file (the rest is cut, `meta.truncated`).
    pub max_text_bytes: usize,
    /// `ATTACHMENTS_EXTERNAL`: read external `https` file URLs too.
    pub external: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 50_000_000,
            extract_timeout: Duration::from_secs(30),
            extract_memory_bytes: 256 * 1024 * 1024,
            sync_budget_bytes: 1_000_000_000,
            max_text_bytes: 5_000_000,
            external: false,
        }
    }
}

impl Limits {
    /// The uncompressed bytes an Office file may unpack to: a real document's XML is at
    /// most tens of times its zip, a bomb's thousands.
    pub fn max_unpacked_bytes(&self) -> u64 {
        (self.max_bytes.saturating_mul(20)).clamp(10_000_000, 500_000_000)
    }
}

/// A file's identity: its URL without query or fragment (for a Notion-hosted file, the
/// object path `/<workspace>/<file>/<name>`, which a new upload changes and a new signature
/// does not). What decides whether a file is downloaded again.
pub fn identity(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// When a signed URL stops working, epoch seconds: `X-Amz-Date` plus `X-Amz-Expires`
/// (SigV4 query signing, which Notion's file URLs use). `None` when it says neither.
pub fn signed_expiry(url: &str) -> Option<i64> {
    let query = url.split_once('?')?.1.split('#').next().unwrap_or_default();
    let mut date = None;
    let mut expires = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "x-amz-date" => date = chrono::NaiveDateTime::parse_from_str(&v, "%Y%m%dT%H%M%SZ").ok(),
            "x-amz-expires" => expires = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    Some(date?.and_utc().timestamp() + expires?)
}

/// Cuts `text` to at most `max` bytes at a character boundary; whether it cut.
pub fn cap_text(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_names_and_types() {
        assert_eq!(Format::of_name("Q3 Report.PDF"), Some(Format::Pdf));
        assert_eq!(Format::of_name("notes.md"), Some(Format::Markdown));
        assert_eq!(Format::of_name("deck.pptx"), Some(Format::Pptx));
        assert_eq!(Format::of_name("photo.png"), None);
        assert_eq!(Format::of_name("README"), None);
        assert_eq!(Format::of_mime("text/csv; charset=utf-8"), Some(Format::Csv));
        for f in [Format::Pdf, Format::Docx, Format::Xlsx, Format::Html] {
            assert_eq!(Format::from_name(f.name()), Some(f));
            assert_eq!(Format::of_mime(f.mime()), Some(f));
        }
    }

    #[test]
    fn a_signed_url_has_an_identity_and_an_expiry() {
        let url = "https://prod-files-secure.s3.us-west-2.amazonaws.com/ws/file-1/Q3%20plan.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20251120T100000Z&X-Amz-Expires=3600&X-Amz-Signature=ab";
        assert_eq!(
            identity(url),
            "https://prod-files-secure.s3.us-west-2.amazonaws.com/ws/file-1/Q3%20plan.pdf"
        );
        let at = chrono::DateTime::parse_from_rfc3339("2025-11-20T11:00:00Z")
            .unwrap()
            .timestamp();
        assert_eq!(signed_expiry(url), Some(at));
        assert_eq!(signed_expiry("https://example.com/a.pdf"), None);
    }

    #[test]
    fn text_is_cut_at_a_character() {
        let mut t = "ééé".to_string();
        assert!(cap_text(&mut t, 3));
        assert_eq!(t, "é");
        assert!(!cap_text(&mut t, 10));
    }
}

#[cfg(test)]
mod fuzz_tests;
