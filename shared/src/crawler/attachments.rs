//! A page's attachments in the crawler (SPEC §2.6): each file a read page holds is
//! downloaded (within its signed URL's lifetime, under the size limit and the run's budget),
//! its text extracted in the sandbox, and written as records of its own; a file whose
//! identity the index already holds is not downloaded again. What this costs Notion: no
//! request, unless a URL expired before its download, when its block (or the page's
//! markdown) is read once more for a fresh one.

use super::records::{chunk_id, record_base_id, split_chunks, MAX_CHUNK_BYTES};
use crate::attachments::download::{format_of, Downloader, Downloads, Fetch, Origin};
use crate::attachments::sandbox::Sandbox;
use crate::attachments::{identity, Format, Skip};
use crate::domain::record::Record;
use crate::domain::run::{AttachmentEntry, PageEntry};
use crate::domain::time::rfc3339;
use crate::notion::format::media::{file_of_block, FileRef};
use crate::notion::model::page_url;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// What reads attachments for one invocation of a run.
pub struct AttachmentReader {
    downloader: Downloader,
    sandbox: Sandbox,
    downloads: Downloads,
    /// Bytes the run may still download (`ATTACHMENT_SYNC_BUDGET_MB` less what earlier
    /// invocations spent).
    budget_left: AtomicU64,
}

impl AttachmentReader {
    /// A reader downloading with `downloader`, extracting in `sandbox`, with `budget_left`
    /// bytes of the run's budget.
    pub fn new(downloader: Downloader, sandbox: Sandbox, budget_left: u64) -> std::io::Result<Self> {
        Ok(Self {
            downloader,
            sandbox,
            downloads: Downloads::new()?,
            budget_left: AtomicU64::new(budget_left),
        })
    }
}

/// What a page's attachments came to.
#[derive(Debug, Default)]
pub struct AttachmentsRead {
    /// The index's entries for the page's files.
    pub entries: Vec<AttachmentEntry>,
    /// Records of files read now (new ids: a changed file has a new identity).
    pub records: Vec<Record>,
    /// Records of files the page no longer holds (or that changed).
    pub stale: Vec<String>,
    /// Files read.
    pub read: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Files skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Notion requests made for fresh URLs.
    pub requests: u64,
    /// A file was skipped for a reason that may pass (download, expiry, budget, deadline):
    /// the page is to be read again by the next run, which tries it again.
    pub retry: bool,
}

/// A file's key in its page: the first 16 hex digits of its identity's SHA-256.
pub fn key_of(file: &FileRef) -> String {
    hex::encode(Sha256::digest(identity(&file.url).as_bytes()))[..16].to_string()
}

/// The id of an attachment's first record.
pub fn attachment_base_id(integration_id: &str, page_id: &str, key: &str) -> String {
    record_base_id(integration_id, &format!("{page_id}/{key}"))
}

/// A skip that says something lasting about the file (it stays skipped until the file
/// changes), as opposed to one that may pass (a download that failed, an expired URL, the
/// run's budget, a deadline on a busy machine).
fn lasting(skip: Skip) -> bool {
    matches!(
        skip,
        Skip::TooLarge | Skip::NotAllowed | Skip::Malformed | Skip::Encrypted | Skip::Hostile | Skip::Memory
    )
}

/// Where a page's files are read: the run's Notion session (for fresh URLs), clock, and
/// the records' owner and lifetime.
pub struct FileContext<'a> {
    /// The run's Notion session.
    pub notion: &'a dyn crate::notion::api::NotionApi,
    /// Clock.
    pub clock: &'a dyn crate::domain::time::Clock,
    /// The integration.
    pub integration_id: &'a str,
    /// Dataset the run writes into.
    pub dataset_id: &'a str,
    /// Record lifetime in ms.
    pub expires_in: Option<u64>,
    /// Reads attachments; none when the stack does not.
    pub reader: Option<&'a AttachmentReader>,
}

impl FileContext<'_> {
    /// Reads the files of `entry`'s page that the index does not hold yet. `fresh`: the
    /// records held are to be rewritten (a new dataset, an expiry to renew), so nothing
    /// held is kept.
    ///
    /// `rows_known`: `files` holds the row's `files` properties as an answer of this
    /// invocation gave them; when not (a run resumed in a new invocation), the files held
    /// from them are kept as they are.
    pub(super) async fn read_attachments(
        &self,
        entry: &PageEntry,
        files: &[FileRef],
        rows_known: bool,
        fresh: bool,
    ) -> AttachmentsRead {
        let mut out = AttachmentsRead::default();
        let Some(reader) = self.reader else {
            // The stack no longer reads attachments (`ATTACHMENTS=off`): the records of those
            // read before go, as the page's own record now stands for its files alone.
            out.stale = attachment_record_ids(self.integration_id, entry);
            return out;
        };
        let held: BTreeMap<&str, &AttachmentEntry> = if fresh {
            BTreeMap::new()
        } else {
            entry.attachments.iter().map(|a| (a.key.as_str(), a)).collect()
        };
        let mut seen = std::collections::BTreeSet::new();
        if !rows_known && !fresh {
            for kept in entry.attachments.iter().filter(|a| a.property) {
                seen.insert(kept.key.clone());
                out.entries.push(kept.clone());
            }
        }
        for file in files {
            // Only what the stack reads: a hosted file, or an external one when allowed.
            if !file.hosted && !reader.downloader.limits().external {
                continue;
            }
            let Some(format) = format_of(&file.name, None).or((file.kind == "pdf").then_some(Format::Pdf)) else {
                continue;
            };
            let key = key_of(file);
            if !seen.insert(key.clone()) {
                continue;
            }
            if let Some(kept) = held.get(key.as_str()) {
                out.entries.push((*kept).clone());
                continue;
            }
            let (chunks, skipped) = match self.read_one(reader, entry, file, format, &key).await {
                Ok((records, bytes)) => {
                    out.read += 1;
                    out.bytes += bytes;
                    let chunks = records.len() as u32;
                    out.records.extend(records);
                    (chunks, None)
                }
                Err((skip, bytes, requests)) => {
                    out.bytes += bytes;
                    out.requests += requests;
                    *out.skipped.entry(skip.as_str().to_string()).or_default() += 1;
                    tracing::info!(page = %entry.page_id, file = %file.name, reason = skip.as_str(), "attachment skipped");
                    if !lasting(skip) {
                        // Not remembered: the next run reads the page, and tries it, again.
                        out.retry = true;
                        continue;
                    }
                    (0, Some(skip.as_str().to_string()))
                }
            };
            out.entries.push(AttachmentEntry {
                key,
                name: file.name.clone(),
                chunks,
                skipped,
                property: file.kind == "property",
            });
        }
        // Records of files no longer there (or no longer the same file).
        let now_held: std::collections::BTreeSet<&str> = out.entries.iter().map(|a| a.key.as_str()).collect();
        for old in &entry.attachments {
            if fresh || !now_held.contains(old.key.as_str()) {
                let base = attachment_base_id(self.integration_id, &entry.page_id, &old.key);
                out.stale.extend((0..old.chunks as usize).map(|i| chunk_id(&base, i)));
            }
        }
        // A file that is still there but whose records are now new ones (fresh) keeps no
        // stale id that is also written.
        let written: std::collections::BTreeSet<&str> = out.records.iter().map(|r| r.id.as_str()).collect();
        out.stale.retain(|id| !written.contains(id.as_str()));
        out
    }

    /// Downloads and extracts one file: its records and the bytes downloaded, or why not
    /// (with the bytes and Notion requests it cost).
    async fn read_one(
        &self,
        reader: &AttachmentReader,
        entry: &PageEntry,
        file: &FileRef,
        format: Format,
        key: &str,
    ) -> Result<(Vec<Record>, u64), (Skip, u64, u64)> {
        let mut file = file.clone();
        let mut requests = 0;
        let mut refreshed = false;
        let downloaded = loop {
            let origin = if file.hosted {
                Origin::Hosted {
                    expires_at: file
                        .expiry_time
                        .as_deref()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| t.timestamp()),
                }
            } else {
                Origin::External
            };
            let budget = reader.budget_left.load(Ordering::Relaxed);
            if budget == 0 {
                return Err((Skip::Budget, 0, requests));
            }
            let now = self.clock.now().timestamp();
            match reader
                .downloader
                .fetch(&file.url, origin, now, budget, &reader.downloads)
                .await
            {
                Fetch::Done(d) => break d,
                Fetch::Skipped(skip, bytes) => {
                    spend(&reader.budget_left, bytes);
                    return Err((skip, bytes, requests));
                }
                Fetch::Expired if refreshed => return Err((Skip::Expired, 0, requests)),
                Fetch::Expired => {
                    // Never reuse an expired URL: read the block (or page) again for a new one.
                    refreshed = true;
                    requests += 1;
                    match self.fresh_url(entry, &file).await {
                        Some(again) => file = again,
                        None => return Err((Skip::Expired, 0, requests)),
                    }
                }
            }
        };
        spend(&reader.budget_left, downloaded.bytes);
        let format = format_of(&file.name, downloaded.content_type.as_deref()).unwrap_or(format);
        let extracted = reader.sandbox.extract(format, &downloaded.path).await;
        let _ = tokio::fs::remove_file(&downloaded.path).await;
        let extracted = extracted.map_err(|skip| (skip, downloaded.bytes, requests))?;
        Ok((
            self.attachment_records(entry, &file, format, key, downloaded.bytes, extracted),
            downloaded.bytes,
        ))
    }

    /// A fresh URL for `file`: its block read again, or, for a file known only from the
    /// page's markdown, the markdown read again and the same file found by its identity.
    async fn fresh_url(&self, entry: &PageEntry, file: &FileRef) -> Option<FileRef> {
        let same = identity(&file.url);
        if file.kind == "property" {
            let value = self.notion.retrieve_page(&entry.page_id).await.ok()?;
            let info = crate::notion::model::PageInfo::from_json(&value)?;
            return info.files.into_iter().find(|f| identity(&f.url) == same);
        }
        if let Some(block) = &file.block_id {
            let value = self.notion.retrieve_block(block).await.ok()?;
            return file_of_block(&value).filter(|f| identity(&f.url) == same);
        }
        let content = super::content::read_page(self.notion, &entry.page_id).await.ok()?;
        content.files.into_iter().find(|f| identity(&f.url) == same)
    }

    /// An attachment's records: its text (name as a heading, the page it is in, then the
    /// file's text) in chunks, under ids derived from (integration, page, key).
    fn attachment_records(
        &self,
        entry: &PageEntry,
        file: &FileRef,
        format: Format,
        key: &str,
        bytes: u64,
        extracted: crate::attachments::Extracted,
    ) -> Vec<Record> {
        let now = self.clock.now();
        let now_text = rfc3339(now);
        let expires_at = self.expires_in.map(|ms| now.timestamp() + (ms / 1000) as i64);
        let mut path = entry.path.clone();
        path.push(entry.title.clone());
        let mut text = format!("# {}\n", file.name);
        text.push_str(&format!("Path: {}\n", path.join(" / ")));
        if !file.caption.trim().is_empty() {
            text.push_str(&format!("\n{}\n", file.caption.trim()));
        }
        if !extracted.text.trim().is_empty() {
            text.push('\n');
            text.push_str(extracted.text.trim());
            text.push('\n');
        }
        let chunks = split_chunks(&text, MAX_CHUNK_BYTES);
        let base = attachment_base_id(self.integration_id, &entry.page_id, key);
        let source = match &file.block_id {
            Some(block) => format!("{}#{}", page_url(&entry.page_id), block.replace('-', "")),
            None => page_url(&entry.page_id),
        };
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut meta = Map::new();
                meta.insert("attachment".into(), json!(true));
                meta.insert("fileName".into(), json!(file.name));
                meta.insert("mimeType".into(), json!(format.mime()));
                meta.insert("bytes".into(), json!(bytes));
                meta.insert("parentPageId".into(), json!(entry.page_id));
                if let Some(block) = &file.block_id {
                    meta.insert("blockId".into(), json!(block));
                }
                meta.insert("path".into(), json!(path));
                meta.insert("title".into(), json!(file.name));
                meta.insert("integrationId".into(), json!(self.integration_id));
                if let Some(pages) = extracted.pages {
                    meta.insert("pages".into(), json!(pages));
                }
                if extracted.truncated {
                    meta.insert("truncated".into(), Value::Bool(true));
                }
                if chunks.len() > 1 {
                    meta.insert("chunk".into(), json!(i + 1));
                    meta.insert("chunks".into(), json!(chunks.len()));
                }
                Record {
                    id: chunk_id(&base, i),
                    dataset_id: self.dataset_id.to_string(),
                    text: chunk.clone(),
                    source: source.clone(),
                    meta,
                    created_at: now_text.clone(),
                    updated_at: now_text.clone(),
                    expires_at,
                }
            })
            .collect()
    }
}

/// The attachment reader of one invocation of the run `cp` describes, when the stack reads
/// attachments: the run's budget less what its earlier invocations downloaded.
pub(super) fn reader_for(
    crawler: &super::adapters::Crawler,
    cp: &crate::domain::run::Checkpoint,
) -> Option<std::sync::Arc<AttachmentReader>> {
    let settings = crawler.settings.attachments.as_ref()?;
    let limits = settings.limits.clone();
    let budget = limits.sync_budget_bytes.saturating_sub(cp.counters().attachment_bytes);
    let downloader = Downloader::new(crawler.downloads.clone(), limits.clone(), settings.hosted_http);
    let sandbox = Sandbox::new(settings.extractor.clone(), limits);
    match AttachmentReader::new(downloader, sandbox, budget) {
        Ok(reader) => Some(std::sync::Arc::new(reader)),
        Err(e) => {
            tracing::error!(error = %e, "no temp directory for attachments: they are not read this invocation");
            None
        }
    }
}

fn spend(budget: &AtomicU64, bytes: u64) {
    let _ = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
        Some(left.saturating_sub(bytes))
    });
}

/// Every record id of a page's attachments (for deleting a page that is gone).
pub fn attachment_record_ids(integration_id: &str, entry: &PageEntry) -> Vec<String> {
    entry
        .attachments
        .iter()
        .flat_map(|a| {
            let base = attachment_base_id(integration_id, &entry.page_id, &a.key);
            (0..a.chunks as usize).map(move |i| chunk_id(&base, i))
        })
        .collect()
}
