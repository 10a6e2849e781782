//! Downloading an attachment (SPEC §2.6) within its signed URL's lifetime, streamed to a
//! temp file under `ATTACHMENT_MAX_BYTES` and the run's budget.
//!
//! - The client is not Notion's: it carries no token and follows no redirect (a redirect
//!   from an external URL could lead anywhere, including inside the VPC).
//! - A URL is never logged, stored or put in an error: reqwest's errors name it, so only
//!   `without_url()` forms are kept.
//! - A Notion-hosted URL past (or within [`EXPIRY_MARGIN_SECS`] of) its `expiry_time`, or
//!   answered with S3's 403 for an expired signature, is [`Fetch::Expired`]: the caller
//!   reads the block or page again for a fresh URL, never reuses it.
//! - An external URL is read only when the stack allows it (`ATTACHMENTS_EXTERNAL`), over
//!   `https`, from a host whose every address is public; the connection is pinned to the
//!   address checked, so a second DNS answer cannot point it elsewhere.

use super::{Format, Limits, Skip};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A URL this close to its expiry is read again first: the download must finish in time.
pub const EXPIRY_MARGIN_SECS: i64 = 60;

/// The longest one download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// Where a file's URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `type: "file"`: hosted by Notion, signed, with an `expiry_time`.
    Hosted {
        /// `expiry_time`, epoch seconds (or the URL's own `X-Amz-Expires`, or none).
        expires_at: Option<i64>,
    },
    /// `type: "external"`: a URL a user pasted.
    External,
}

/// A file on disk, ready for extraction.
#[derive(Debug)]
pub struct Downloaded {
    /// The temp file (removed with its [`Downloads`] directory).
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The `Content-Type` answered, if any.
    pub content_type: Option<String>,
}

/// What came of a download.
#[derive(Debug)]
pub enum Fetch {
    /// On disk.
    Done(Downloaded),
    /// The signed URL had expired or was about to: read its block or page again.
    Expired,
    /// Not read, for this reason (`bytes`: what was downloaded before it, for the budget).
    Skipped(Skip, u64),
}

/// A directory of one run's downloads, removed when dropped.
#[derive(Debug)]
pub struct Downloads {
    dir: PathBuf,
    next: std::sync::atomic::AtomicU64,
}

impl Downloads {
    /// A fresh directory under the system's temp dir (`/tmp` on Lambda, 512 MB by default).
    pub fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("attachments-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            next: Default::default(),
        })
    }

    fn file(&self) -> PathBuf {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.dir.join(format!("{n}.bin"))
    }
}

impl Drop for Downloads {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Downloads attachments.
#[derive(Clone, Debug)]
pub struct Downloader {
    client: reqwest::Client,
    limits: Limits,
    /// Hosted files over plain `http` too: only where Notion itself is (the local stack's
    /// and the tests' emulator).
    hosted_http: bool,
}

impl Downloader {
    /// A downloader with `client` (built without Notion's headers) under `limits`;
    /// `hosted_http` where `NOTION_API_URL` is `http` (a local emulator).
    pub fn new(client: reqwest::Client, limits: Limits, hosted_http: bool) -> Self {
        Self {
            client,
            limits,
            hosted_http,
        }
    }

    /// The limits it keeps.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Downloads `url` into `into`, spending at most `budget_left` bytes.
    pub async fn fetch(&self, url: &str, origin: Origin, now: i64, budget_left: u64, into: &Downloads) -> Fetch {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return Fetch::Skipped(Skip::NotAllowed, 0);
        };
        let client = match origin {
            Origin::Hosted { expires_at } => {
                let expires_at = expires_at.or_else(|| super::signed_expiry(url));
                if expires_at.is_some_and(|at| at <= now + EXPIRY_MARGIN_SECS) {
                    return Fetch::Expired;
                }
                match parsed.scheme() {
                    "https" => self.client.clone(),
                    "http" if self.hosted_http => self.client.clone(),
                    _ => return Fetch::Skipped(Skip::NotAllowed, 0),
                }
            }
            Origin::External => match self.external_client(&parsed).await {
                Ok(client) => client,
                Err(skip) => return Fetch::Skipped(skip, 0),
            },
        };
        let cap = self.limits.max_bytes.min(budget_left);
        let over = |size: u64| {
            if size > self.limits.max_bytes {
                Skip::TooLarge
            } else {
                Skip::Budget
            }
        };
        let response = match client.get(parsed).timeout(DOWNLOAD_TIMEOUT).send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "attachment download failed");
                return Fetch::Skipped(Skip::Download, 0);
            }
        };
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN && matches!(origin, Origin::Hosted { .. }) {
            // S3 answers an expired signature with 403 AccessDenied, "Request has expired".
            return Fetch::Expired;
        }
        if !status.is_success() {
            tracing::warn!(status = status.as_u16(), "attachment download refused");
            return Fetch::Skipped(Skip::Download, 0);
        }
        if let Some(length) = response.content_length() {
            if length > cap {
                return Fetch::Skipped(over(length), 0);
            }
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let path = into.file();
        match stream_to(response, &path, cap).await {
            Ok(bytes) => Fetch::Done(Downloaded {
                path,
                bytes,
                content_type,
            }),
            Err((skip, bytes)) => {
                let _ = tokio::fs::remove_file(&path).await;
                let skip = if skip == Skip::TooLarge { over(bytes) } else { skip };
                Fetch::Skipped(skip, bytes)
            }
        }
    }

    /// A client for an external URL: allowed by the stack, `https`, and pinned to a public
    /// address of its host.
    async fn external_client(&self, url: &reqwest::Url) -> Result<reqwest::Client, Skip> {
        if !self.limits.external || url.scheme() != "https" {
            return Err(Skip::NotAllowed);
        }
        let host = url.host_str().ok_or(Skip::NotAllowed)?.to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.trim_matches(['[', ']']), port)).await {
            Ok(addrs) => addrs.collect(),
            Err(_) => return Err(Skip::Download),
        };
        if addrs.is_empty() || addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(Skip::NotAllowed);
        }
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .resolve(&host, addrs[0])
            .build()
            .map_err(|_| Skip::Download)
    }
}

/// Streams a response's body to `path`, stopping past `cap` bytes.
async fn stream_to(mut response: reqwest::Response, path: &Path, cap: u64) -> Result<u64, (Skip, u64)> {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::File::create(path).await.map_err(|_| (Skip::Download, 0))?;
    let mut written = 0u64;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                written += chunk.len() as u64;
                if written > cap {
                    return Err((Skip::TooLarge, written));
                }
                file.write_all(&chunk).await.map_err(|_| (Skip::Download, written))?;
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "attachment download broke off");
                return Err((Skip::Download, written));
            }
        }
    }
    file.flush().await.map_err(|_| (Skip::Download, written))?;
    Ok(written)
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, ULA),
/// link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast,
/// documentation or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

/// The format of a downloaded file: by its name, else by the answer's `Content-Type`.
pub fn format_of(name: &str, content_type: Option<&str>) -> Option<Format> {
    Format::of_name(name).or_else(|| content_type.and_then(Format::of_mime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_fetched() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn a_file_is_known_by_its_name_then_its_type() {
        assert_eq!(format_of("a.PDF", None), Some(Format::Pdf));
        assert_eq!(format_of("download", Some("text/csv")), Some(Format::Csv));
        assert_eq!(format_of("photo.png", Some("image/png")), None);
    }

    #[tokio::test]
    async fn urls_the_stack_does_not_allow_are_never_requested() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let downloads = Downloads::new().unwrap();
        let d = Downloader::new(reqwest::Client::new(), Limits::default(), false);
        let now = 1_000_000;
        // External files are off by default; http and private hosts are refused when on.
        let skipped = |f: Fetch| matches!(f, Fetch::Skipped(Skip::NotAllowed, 0));
        assert!(skipped(
            d.fetch("https://example.com/a.pdf", Origin::External, now, u64::MAX, &downloads)
                .await
        ));
        let on = Downloader::new(
            reqwest::Client::new(),
            Limits {
                external: true,
                ..Limits::default()
            },
            false,
        );
        assert!(skipped(
            on.fetch("http://example.com/a.pdf", Origin::External, now, u64::MAX, &downloads)
                .await
        ));
        assert!(skipped(
            on.fetch("https://127.0.0.1/a.pdf", Origin::External, now, u64::MAX, &downloads)
                .await
        ));
        assert!(skipped(
            on.fetch("https://[::1]/a.pdf", Origin::External, now, u64::MAX, &downloads)
                .await
        ));
        assert!(skipped(
            on.fetch(
                "https://169.254.169.254/latest/meta-data",
                Origin::External,
                now,
                u64::MAX,
                &downloads
            )
            .await
        ));
        assert!(skipped(
            on.fetch("file:///etc/passwd", Origin::External, now, u64::MAX, &downloads)
                .await
        ));
        // A hosted file over http only where Notion itself is http.
        let hosted = Origin::Hosted {
            expires_at: Some(now + 3_600),
        };
        assert!(skipped(
            d.fetch("http://files.example/a.pdf", hosted, now, u64::MAX, &downloads)
                .await
        ));
        // Past or near its expiry: read again, not requested.
        let soon = Origin::Hosted {
            expires_at: Some(now + 30),
        };
        assert!(matches!(
            d.fetch("https://files.example/a.pdf", soon, now, u64::MAX, &downloads)
                .await,
            Fetch::Expired
        ));
    }
}
