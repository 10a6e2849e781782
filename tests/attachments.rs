//! The attachment extraction sandbox (SPEC §2.6): every format read through a child process
//! as the crawler reads it, and hostile files (a PDF that inflates to 1 GiB, a page tree
//! that lists itself, nesting past the stack, a file that overstays its deadline) skipped
//! with their reason while this process carries on.

use shared::attachments::sandbox::Sandbox;
use shared::attachments::{Extracted, Format, Limits, Skip};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/attachments")
        .join(name)
}

fn sandbox(limits: Limits) -> Sandbox {
    Sandbox::new(PathBuf::from(env!("CARGO_BIN_EXE_extract-attachment")), limits)
}

/// A copy of `bytes` in a temp file the sandbox may write its answer beside.
fn staged(name: &str, bytes: &[u8]) -> (tempdir::Dir, PathBuf) {
    let dir = tempdir::Dir::new();
    let path = dir.0.join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("attachments-{}", ulid::Ulid::generate()));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn extract(limits: Limits, format: Format, name: &str) -> Result<Extracted, Skip> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let (dir, path) = staged(name, &bytes);
    let got = sandbox(limits).extract(format, &path).await;
    let left: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left.len(),
        1,
        "the sandbox leaves nothing behind but the input: {left:?}"
    );
    got
}

#[tokio::test]
async fn every_format_is_read_through_the_sandbox() {
    let l = Limits::default;
    let pdf = extract(l(), Format::Pdf, "handbook.pdf").await.unwrap();
    assert_eq!(pdf.pages, Some(3));
    assert!(
        pdf.text.contains("FIX-PDF-1") && pdf.text.contains("FIX-PDF-3-END"),
        "{pdf:?}"
    );
    let docx = extract(l(), Format::Docx, "policy.docx").await.unwrap();
    assert!(
        docx.text.contains("FIX-DOCX-5") && docx.text.contains("Café déjà vu"),
        "{docx:?}"
    );
    let pptx = extract(l(), Format::Pptx, "deck.pptx").await.unwrap();
    assert!(pptx.text.contains("Notes: Speaker note FIX-PPTX-NOTE"), "{pptx:?}");
    let xlsx = extract(l(), Format::Xlsx, "budget.xlsx").await.unwrap();
    assert!(xlsx.text.contains("Laptops FIX-XLSX-2 | 1200.5 | TRUE"), "{xlsx:?}");
    assert_eq!(extract(l(), Format::Pdf, "encrypted.pdf").await, Err(Skip::Encrypted));
    assert_eq!(extract(l(), Format::Docx, "encrypted.docx").await, Err(Skip::Encrypted));
    // A file that is not what its name says.
    assert_eq!(extract(l(), Format::Pdf, "policy.docx").await, Err(Skip::Malformed));
}

#[tokio::test]
async fn text_past_the_cap_is_cut_and_says_so() {
    let limits = Limits {
        max_text_bytes: 40,
        ..Limits::default()
    };
    let got = extract(limits, Format::Docx, "policy.docx").await.unwrap();
    assert!(got.truncated && got.text.len() <= 40, "{got:?}");
}

#[tokio::test]
async fn a_pdf_that_inflates_past_the_memory_limit_costs_a_skip_not_the_crawler() {
    let limits = Limits {
        extract_memory_bytes: 256 * 1024 * 1024,
        ..Limits::default()
    };
    let before = rss_kb();
    assert_eq!(extract(limits, Format::Pdf, "bomb.pdf").await, Err(Skip::Memory));
    // The 1 GiB was the child's to refuse: this process grew by no more than noise.
    let after = rss_kb();
    assert!(after < before + 50_000, "RSS {before} kB -> {after} kB");
}

#[tokio::test]
async fn a_page_tree_that_lists_itself_ends() {
    let limits = Limits {
        extract_timeout: Duration::from_secs(20),
        ..Limits::default()
    };
    let started = Instant::now();
    let got = extract(limits, Format::Pdf, "loop.pdf").await;
    // Read once (a reader that tracks what it has seen) or skipped; never a hang.
    match got {
        Ok(e) => assert!(e.text.matches("FIX-LOOP").count() <= 1, "{e:?}"),
        Err(skip) => assert!(matches!(
            skip,
            Skip::Malformed | Skip::Hostile | Skip::Timeout | Skip::Memory
        )),
    }
    assert!(started.elapsed() < Duration::from_secs(25));
}

#[tokio::test]
async fn nesting_past_the_stack_is_hostile_or_refused() {
    // An object nested a million arrays deep.
    let body = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let file = format!(
        "%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Deep {body} >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    );
    let (_dir, path) = staged("deep.pdf", file.as_bytes());
    let got = sandbox(Limits::default()).extract(Format::Pdf, &path).await;
    assert!(matches!(got, Err(Skip::Hostile | Skip::Malformed)), "{got:?}");
}

#[tokio::test]
async fn an_extraction_past_its_deadline_is_killed() {
    let limits = Limits {
        extract_timeout: Duration::from_millis(1),
        ..Limits::default()
    };
    assert_eq!(extract(limits, Format::Pdf, "handbook.pdf").await, Err(Skip::Timeout));
}

#[tokio::test]
async fn text_formats_are_read_in_process() {
    let (_dir, path) = staged("notes.md", "# Notes\n\nFIX-MD-1 | a,b\n".as_bytes());
    // No child is started: a sandbox whose program does not exist still reads text.
    let none = Sandbox::new(PathBuf::from("/nonexistent/extractor"), Limits::default());
    assert_eq!(
        none.extract(Format::Markdown, &path).await.unwrap().text,
        "# Notes\n\nFIX-MD-1 | a,b"
    );
    let (_dir2, html) = staged("page.html", b"<p>FIX-HTML-1 &amp; more</p>");
    assert_eq!(
        none.extract(Format::Html, &html).await.unwrap().text,
        "FIX-HTML-1 & more"
    );
    // And a binary format without its child is skipped, not a crash.
    let (_dir3, pdf) = staged("a.pdf", b"%PDF-1.7");
    assert_eq!(none.extract(Format::Pdf, &pdf).await, Err(Skip::Malformed));
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Fuzzing the PDF reader, which may loop or recurse on what it is given, through the
/// sandbox as the crawler runs it: a real file mutated (bytes flipped, cut short) many
/// ways, each answered with text or a skip within its deadline.
#[tokio::test]
async fn mutated_pdfs_are_each_answered_within_the_deadline() {
    let base = std::fs::read(fixture("handbook.pdf")).unwrap();
    let limits = Limits {
        extract_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let sandbox = sandbox(limits);
    let dir = tempdir::Dir::new();
    // xorshift64*: the same mutations on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for case in 0..60 {
        let mut bytes = base.clone();
        for _ in 0..(1 + next() % 16) {
            let i = (next() as usize) % bytes.len();
            bytes[i] ^= (next() % 255 + 1) as u8;
        }
        if case % 3 == 0 {
            let keep = bytes.len() / 2 + (next() as usize) % (bytes.len() / 2);
            bytes.truncate(keep);
        }
        let path = dir.0.join(format!("case-{case}.pdf"));
        std::fs::write(&path, &bytes).unwrap();
        let started = Instant::now();
        let got = sandbox.extract(Format::Pdf, &path).await;
        assert!(started.elapsed() < Duration::from_secs(15), "case {case} overstayed");
        let kind = match got {
            Ok(_) => "read".to_string(),
            Err(skip) => skip.as_str().to_string(),
        };
        *answers.entry(kind).or_default() += 1;
    }
    eprintln!("mutated PDFs: {answers:?}");
    assert_eq!(answers.values().sum::<usize>(), 60);
    assert!(
        answers.contains_key("read"),
        "some mutations leave a readable file: {answers:?}"
    );
}
