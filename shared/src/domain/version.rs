//! Which Notion API version the crawler speaks (`NOTION_VERSION`), and what each one changes
//! for a reader.
//!
//! - `2026-12-01` (the default; Notion's "Upgrade guide" for it): markdown answers are
//!   Notion-flavored Markdown (v2) by default and `markdown_version=v1` is refused; search
//!   and "Query a data source" return only the title property unless `filter_properties`
//!   names the others.
//! - `2026-03-11` (its own upgrade guide): `archived` is `in_trash` everywhere, and the
//!   `transcription` block is `meeting_notes`. Markdown still defaults to v1 there; the
//!   crawler asks for v2 on every request, which both versions accept.

use std::fmt;
use std::str::FromStr;

/// A supported `Notion-Version`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NotionVersion {
    /// `2026-12-01`.
    #[default]
    V2026_12_01,
    /// `2026-03-11`.
    V2026_03_11,
}

impl NotionVersion {
    /// Every supported version, newest first.
    pub const ALL: [NotionVersion; 2] = [NotionVersion::V2026_12_01, NotionVersion::V2026_03_11];

    /// The `Notion-Version` header value.
    pub fn header(self) -> &'static str {
        match self {
            NotionVersion::V2026_12_01 => "2026-12-01",
            NotionVersion::V2026_03_11 => "2026-03-11",
        }
    }

    /// Whether search and data source queries return only the title property unless
    /// `filter_properties` names the others.
    pub fn lists_title_only(self) -> bool {
        self == NotionVersion::V2026_12_01
    }
}

impl fmt::Display for NotionVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header())
    }
}

impl FromStr for NotionVersion {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.header() == s.trim()).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_their_header_and_nothing_else() {
        for v in NotionVersion::ALL {
            assert_eq!(v.header().parse::<NotionVersion>(), Ok(v));
        }
        assert_eq!(NotionVersion::default(), NotionVersion::V2026_12_01);
        for bad in ["2025-09-03", "", "2026-12-1", "latest"] {
            assert!(bad.parse::<NotionVersion>().is_err(), "{bad}");
        }
        assert!(NotionVersion::V2026_12_01.lists_title_only());
        assert!(!NotionVersion::V2026_03_11.lists_title_only());
    }
}
