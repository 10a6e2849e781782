//! A file in a page (SPEC §2.6), as the readers of Notion's answers find it.

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
