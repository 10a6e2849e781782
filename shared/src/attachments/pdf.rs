//! PDF text (SPEC §2.6), with `pdf-extract` over `lopdf`: pure Rust, page by page.
//!
//! `pdf-extract` follows a document's own structure (page trees, content streams, fonts)
//! and a hostile file can make it recurse or loop; it is therefore run only in the
//! extraction sandbox ([`super::sandbox`]), where a stack overflow, an allocation past the
//! memory limit or a loop ends the child process and costs a skip. In-process callers get
//! panics turned into [`Skip::Malformed`], and nothing more.

use super::{Extracted, Skip};

/// The `%PDF-` header may follow up to 1,024 bytes of junk (PDF 32000-1, 7.5.2 is strict;
/// readers such as Acrobat accept the offset, and so do real files).
fn looks_like_pdf(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-")
}

/// Whether the trailer names an `/Encrypt` dictionary: a password-protected file, whose
/// text is ciphertext to a reader without the password.
fn encrypted(bytes: &[u8]) -> bool {
    // The trailer (or the cross-reference stream's dictionary) sits at the end; an
    // encrypted file names /Encrypt there. Scan the last 64 KiB, and the first 4 KiB for a
    // linearized file's first-page trailer.
    let tail = &bytes[bytes.len().saturating_sub(65_536)..];
    let head = &bytes[..bytes.len().min(4_096)];
    [tail, head]
        .iter()
        .any(|part| part.windows(8).any(|w| w == b"/Encrypt"))
}

/// The text of a PDF, in page order, with its page count.
pub fn pdf(bytes: &[u8]) -> Result<Extracted, Skip> {
    if !looks_like_pdf(bytes) {
        return Err(Skip::Malformed);
    }
    if encrypted(bytes) {
        // lopdf can decrypt files with an empty user password; one with a real password
        // gives nothing readable. Both are skipped: an "encrypted" PDF a person opens
        // without a password is rare, and its permissions say it is not to be copied.
        return Err(Skip::Encrypted);
    }
    let (count, raw) = std::panic::catch_unwind(|| read_all(bytes))
        .map_err(|_| Skip::Malformed)?
        .map_err(|e| match e {
            pdf_extract::OutputError::PdfError(
                pdf_extract::Error::Decryption(_) | pdf_extract::Error::AlreadyEncrypted,
            ) => Skip::Encrypted,
            _ => Skip::Malformed,
        })?;
    let text = tidy_page(&raw);
    Ok(Extracted {
        text,
        pages: Some(count),
        truncated: false,
    })
}

/// The page count and text of a document, in one pass over its pages: pdf-extract's
/// page-by-page entry point lists the whole page tree again for every page (quadratic:
/// 1.3 MB/s on a 56 MB document of 13,000 pages), `output_doc` lists it once.
fn read_all(bytes: &[u8]) -> Result<(u32, String), pdf_extract::OutputError> {
    let doc = pdf_extract::Document::load_mem(bytes)?;
    if doc.is_encrypted() {
        return Err(pdf_extract::OutputError::PdfError(pdf_extract::Error::AlreadyEncrypted));
    }
    let count = u32::try_from(doc.get_pages().len()).unwrap_or(u32::MAX);
    let mut text = String::new();
    {
        let mut output = pdf_extract::PlainTextOutput::new(&mut text);
        pdf_extract::output_doc(&doc, &mut output)?;
    }
    Ok((count, text))
}

/// A document's text: lines trimmed, runs of blank lines collapsed to one.
fn tidy_page(page: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in page.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANDBOOK: &[u8] = include_bytes!("../../../tests/fixtures/attachments/handbook.pdf");
    const ENCRYPTED: &[u8] = include_bytes!("../../../tests/fixtures/attachments/encrypted.pdf");

    #[test]
    fn every_page_of_a_pdf_is_read_in_order() {
        let got = pdf(HANDBOOK).unwrap();
        assert_eq!(got.pages, Some(3));
        let mut last = 0;
        for k in 1..=3 {
            for token in [format!("FIX-PDF-{k} "), format!("FIX-PDF-{k}-END")] {
                let at = got
                    .text
                    .find(token.trim_end())
                    .unwrap_or_else(|| panic!("{token} in {:?}", got.text));
                assert!(at >= last, "{token} out of order in {:?}", got.text);
                last = at;
            }
        }
    }

    #[test]
    fn an_encrypted_pdf_is_skipped_as_encrypted() {
        assert_eq!(pdf(ENCRYPTED), Err(Skip::Encrypted));
    }

    #[test]
    fn what_is_not_a_pdf_is_malformed() {
        assert_eq!(pdf(b"hello, world, not a pdf"), Err(Skip::Malformed));
        assert_eq!(pdf(b""), Err(Skip::Malformed));
        // A header and nothing a reader can follow.
        assert_eq!(pdf(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n"), Err(Skip::Malformed));
        // The first half of a real file.
        // The first half of a real file: refused, or read as far as it goes, never a panic.
        match pdf(&HANDBOOK[..HANDBOOK.len() / 2]) {
            Err(Skip::Malformed) => {}
            Ok(got) => assert!(!got.text.contains("FIX-PDF-3-END"), "{:?}", got.text),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn page_text_is_tidied() {
        assert_eq!(tidy_page("  a  \n\n\n b\n\n"), "  a\n\n b");
        assert_eq!(tidy_page("\n\n"), "");
    }
}
