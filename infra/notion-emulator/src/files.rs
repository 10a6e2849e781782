//! Notion-hosted files as the emulator serves them (SPEC §2.6).
//!
//! Notion hands out a hosted file as "an authenticated S3 URL" with an `expiry_time` one hour
//! later (Block reference, "File object"); the URL is pre-signed with SigV4 query parameters
//! (`X-Amz-Date`, `X-Amz-Expires`, `X-Amz-Signature`) and differs on every read. Once the
//! emulator is serving ([`crate::spawn`] or the binary), its URLs point at itself under
//! `/files/<workspace>/<block>/<name>` with that same query shape, and it answers them as S3
//! does: the bytes until the signature expires, then `403` with S3's XML error
//! (`AccessDenied`, "Request has expired"). Downloads never count as Notion API requests.
//!
//! What a file holds is generated from its block id and name, deterministically: each
//! readable one carries unique tokens ([`tokens`]); names mark the broken and hostile ones
//! (`*-broken.*`, `*-bomb.docx`, `*-deep.docx`, `*-encrypted.pdf`, `*-large.txt`).

use std::io::{Cursor, Write};

/// The tokens a generated file's text holds: `FILE-<block id's last 12 hex digits>-<n>`.
pub fn tokens(block_id: &str) -> Vec<String> {
    let short: String = block_id.chars().filter(char::is_ascii_hexdigit).collect();
    let short = &short[short.len().saturating_sub(12)..];
    (1..=3).map(|n| format!("FILE-{short}-{n}")).collect()
}

/// Whether a file of this name is one whose text a reader should find (a readable format,
/// not broken or hostile).
pub fn readable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    let broken = ["-broken.", "-bomb.", "-deep.", "-encrypted.", "-large."]
        .iter()
        .any(|m| lower.contains(m));
    !broken && matches!(ext, "pdf" | "docx" | "pptx" | "xlsx" | "csv" | "txt" | "md" | "html")
}

/// The bytes and `Content-Type` of the file `name` of block `block_id`.
pub fn body(block_id: &str, name: &str) -> (&'static str, Vec<u8>) {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e.to_string()).unwrap_or_default();
    let t = tokens(block_id);
    let mime = mime(&ext);
    if lower.contains("-broken.") {
        // The first 300 bytes of what it claims to be, then noise.
        let mut bytes = body(block_id, &name.replace("-broken.", ".")).1;
        bytes.truncate(300);
        bytes.extend(std::iter::repeat_n(0x5a, 200));
        return (mime, bytes);
    }
    if lower.contains("-large.") {
        let line = format!("{} large file line\n", t[0]);
        return (mime, line.repeat(2_000_000 / line.len() + 1).into_bytes());
    }
    if lower.contains("-bomb.") {
        // 200 MB of spaces as the document part: about 200 KB deflated.
        return (mime, zip(&[("word/document.xml", vec![b' '; 200_000_000])]));
    }
    if lower.contains("-deep.") {
        let xml = format!(
            "<w:document>{}x{}</w:document>",
            "<w:p>".repeat(50_000),
            "</w:p>".repeat(50_000)
        );
        return (mime, zip(&[("word/document.xml", xml.into_bytes())]));
    }
    if lower.contains("-encrypted.") {
        // A trailer naming an /Encrypt dictionary: a password-protected PDF.
        let mut bytes = pdf(&[vec![format!("{} locked", t[0])]]);
        let at = bytes.windows(7).rposition(|w| w == b"trailer").unwrap_or(bytes.len());
        bytes.splice(at..at, b"% /Encrypt 9 0 R\n".iter().copied());
        return (mime, bytes);
    }
    let bytes = match ext.as_str() {
        "pdf" => pdf(&[
            vec![format!("Handbook {} first page", t[0]), "Policies and procedures".into()],
            vec![format!("Second page {}", t[1]), format!("Closing words {}", t[2])],
        ]),
        "docx" => docx(&[&format!("Policy {}", t[0]), &format!("Details {} and {}", t[1], t[2])]),
        "pptx" => pptx(&[&format!("Roadmap {}", t[0]), &format!("Risks {}", t[1])], &t[2]),
        "xlsx" => xlsx(&[&["Item", "Amount"], &[&format!("Laptops {}", t[0]), "1200"], &[&t[1], &t[2]]]),
        "csv" => format!("name,value\n{},1\n{},2\n{},3\n", t[0], t[1], t[2]).into_bytes(),
        "txt" | "md" => format!("# Notes {}\n\n{} and {}\n", t[0], t[1], t[2]).into_bytes(),
        "html" => format!(
            "<html><head><title>x</title><script>var a = 1;</script></head><body><h1>{}</h1><p>{} &amp; {}</p></body></html>",
            t[0], t[1], t[2]
        )
        .into_bytes(),
        // Images, audio, video, archives: bytes no reader turns into text.
        _ => (0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect(),
    };
    (mime, bytes)
}

fn mime(ext: &str) -> &'static str {
    match ext {
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv" => "text/csv",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "html" => "text/html",
        "png" => "image/png",
        "m4a" => "audio/mp4",
        _ => "application/octet-stream",
    }
}

fn zip(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        zip.start_file(*name, options).expect("zip entry");
        zip.write_all(bytes).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#;
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// A Word document (ECMA-376: `word/document.xml` reached from `_rels/.rels`).
pub fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| {
            format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                escape_xml(p)
            )
        })
        .collect();
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    let rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="word/document.xml"/></Relationships>"#
    );
    zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.into()),
        ("_rels/.rels", rels.into_bytes()),
        ("word/document.xml", document.into_bytes()),
    ])
}

/// A deck: slides in `p:sldIdLst` order, the last with speaker notes.
pub fn pptx(slides: &[&str], notes: &str) -> Vec<u8> {
    let shape = |text: &str| {
        format!(
            r#"<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#,
            escape_xml(text)
        )
    };
    let ids: String = (0..slides.len())
        .map(|i| format!(r#"<p:sldId id="{}" r:id="rId{}"/>"#, 256 + i, i + 1))
        .collect();
    let presentation = format!(
        r#"<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:r="{REL}"><p:sldIdLst>{ids}</p:sldIdLst></p:presentation>"#
    );
    let rels: String = (0..slides.len())
        .map(|i| {
            format!(
                r#"<Relationship Id="rId{}" Type="{REL}/slide" Target="slides/slide{}.xml"/>"#,
                i + 1,
                i + 1
            )
        })
        .collect();
    let mut parts = vec![
        ("[Content_Types].xml".to_string(), CONTENT_TYPES.as_bytes().to_vec()),
        ("ppt/presentation.xml".to_string(), presentation.into_bytes()),
        (
            "ppt/_rels/presentation.xml.rels".to_string(),
            format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#).into_bytes(),
        ),
    ];
    for (i, text) in slides.iter().enumerate() {
        parts.push((format!("ppt/slides/slide{}.xml", i + 1), shape(text).into_bytes()));
    }
    let last = slides.len();
    parts.push((
        format!("ppt/slides/_rels/slide{last}.xml.rels"),
        format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="{REL}/notesSlide" Target="../notesSlides/notesSlide1.xml"/></Relationships>"#).into_bytes(),
    ));
    parts.push((
        "ppt/notesSlides/notesSlide1.xml".to_string(),
        shape(notes)
            .replace("p:sld ", "p:notes ")
            .replace("</p:sld>", "</p:notes>")
            .into_bytes(),
    ));
    let refs: Vec<(&str, Vec<u8>)> = parts.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    zip(&refs)
}

/// A workbook of one sheet, its strings shared (`xl/sharedStrings.xml`) but numbers.
pub fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut strings: Vec<String> = Vec::new();
    let mut sheet_rows = String::new();
    for (r, row) in rows.iter().enumerate() {
        let mut cells = String::new();
        for (c, value) in row.iter().enumerate() {
            let at = format!("{}{}", (b'A' + c as u8) as char, r + 1);
            if value.parse::<f64>().is_ok() {
                cells.push_str(&format!(r#"<c r="{at}"><v>{value}</v></c>"#));
            } else {
                strings.push(escape_xml(value));
                cells.push_str(&format!(r#"<c r="{at}" t="s"><v>{}</v></c>"#, strings.len() - 1));
            }
        }
        sheet_rows.push_str(&format!(r#"<row r="{}">{cells}</row>"#, r + 1));
    }
    let ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    let sst: String = strings.iter().map(|s| format!("<si><t>{s}</t></si>")).collect();
    zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.into()),
        (
            "xl/workbook.xml",
            format!(r#"<workbook xmlns="{ns}" xmlns:r="{REL}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#).into_bytes(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#).into_bytes(),
        ),
        ("xl/sharedStrings.xml", format!(r#"<sst xmlns="{ns}">{sst}</sst>"#).into_bytes()),
        (
            "xl/worksheets/sheet1.xml",
            format!(r#"<worksheet xmlns="{ns}"><sheetData>{sheet_rows}</sheetData></worksheet>"#).into_bytes(),
        ),
    ])
}

/// A PDF (PDF 32000-1 §7.5: header, objects, xref table, trailer), one page per entry,
/// each line shown in Helvetica with `Tj`.
pub fn pdf(pages: &[Vec<String>]) -> Vec<u8> {
    let n = pages.len();
    // Objects: 1 catalog, 2 pages, 3 font, then per page its page object and content.
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n)
                .map(|i| format!("{} 0 R", 4 + 2 * i))
                .collect::<Vec<_>>()
                .join(" ")
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    for (i, lines) in pages.iter().enumerate() {
        let mut content = String::from("BT /F1 12 Tf 72 720 Td 16 TL\n");
        for line in lines {
            let escaped = line.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
            content.push_str(&format!("({escaped}) Tj T*\n"));
        }
        content.push_str("ET");
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend(content.as_bytes());
        stream.extend(b"\nendstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// S3's answer to a request whose pre-signed URL has expired (or was never signed).
pub fn s3_denied(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{message}</Message><RequestId>EMULATOR</RequestId><HostId>emulator</HostId></Error>"
    )
}

/// When a pre-signed query expires: `X-Amz-Date` (`%Y%m%dT%H%M%SZ`) plus `X-Amz-Expires`.
pub fn expires_at(query: &str) -> Option<i64> {
    let mut date = None;
    let mut expires = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "X-Amz-Date" => date = parse_amz_date(v),
            "X-Amz-Expires" => expires = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    Some(date? + expires?)
}

/// `20251120T100000Z` as epoch seconds.
fn parse_amz_date(v: &str) -> Option<i64> {
    if v.len() != 16 || &v[8..9] != "T" || !v.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| v.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3_600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Epoch seconds as `X-Amz-Date` writes them (`20251120T100000Z`), from the form Notion
/// writes times in (`2025-11-20T10:00:00.000Z`, [`crate::render::json::time`]).
pub fn amz_date(epoch: i64) -> String {
    let t = crate::render::json::time(epoch);
    format!(
        "{}{}{}T{}{}{}Z",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..13],
        &t[14..16],
        &t[17..19]
    )
}

/// Adds hosted files named `names` to row `row`'s `files` property `Attachments` (signed at
/// each read); returns the row's id, under which they are served.
pub fn add_row_files(ws: &mut crate::model::Workspace, row: &str, names: &[&str]) -> String {
    let files: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({"name": n, "type": "file", "file": {}}))
        .collect();
    if let Some(page) = ws.pages.get_mut(row) {
        page.properties.insert(
            "Attachments".into(),
            serde_json::json!({"id": "att", "type": "files", "files": files}),
        );
    }
    ws.touch(row);
    row.to_string()
}

/// Adds one hosted file block of every kind a reader meets to `page`: each readable
/// format, the broken and hostile ones, one too large for a small `ATTACHMENT_MAX_BYTES`,
/// and an image; plus a PDF block. Returns the blocks' ids with their names.
pub fn add_attachment_blocks(ws: &mut crate::model::Workspace, page: &str, tag: &str) -> Vec<(String, String)> {
    let names = [
        "report.pdf",
        "policy.docx",
        "deck.pptx",
        "budget.xlsx",
        "data.csv",
        "notes.txt",
        "readme.md",
        "page.html",
        "scan-broken.pdf",
        "zip-bomb.docx",
        "xml-deep.docx",
        "locked-encrypted.pdf",
        "log-large.txt",
        "photo.png",
    ];
    let mut added = Vec::new();
    for name in names {
        let name = format!("{tag} {name}");
        let id = ws.add_block(
            page,
            "file",
            &format!("{tag} caption of {name}"),
            serde_json::json!({"name": name}),
        );
        added.push((id, name));
    }
    let name = format!("{tag} handbook.pdf");
    let id = ws.add_block(page, "pdf", "", serde_json::json!({"name": name}));
    added.push((id, name));
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_round_trip() {
        for epoch in [0, 1_763_632_800, 1_796_000_000] {
            assert_eq!(parse_amz_date(&amz_date(epoch)), Some(epoch));
        }
        assert_eq!(amz_date(1_763_632_800), "20251120T100000Z");
        assert_eq!(
            expires_at("X-Amz-Date=20251120T100000Z&X-Amz-Expires=3600"),
            Some(1_763_636_400)
        );
    }

    #[test]
    fn files_carry_their_tokens_and_names_say_which_are_readable() {
        let t = tokens("5eed0001-0001-4001-8000-000000000abc");
        assert_eq!(t[0], "FILE-000000000abc-1");
        assert!(readable("Q3.pdf") && readable("notes.md") && !readable("x-bomb.docx") && !readable("a.png"));
        let (mime, csv) = body("5eed0001-0001-4001-8000-000000000abc", "data.csv");
        assert_eq!(mime, "text/csv");
        assert!(String::from_utf8(csv).unwrap().contains(&t[2]));
        let (_, pdf) = body("5eed0001-0001-4001-8000-000000000abc", "a.pdf");
        assert!(pdf.starts_with(b"%PDF-1.7") && pdf.ends_with(b"%%EOF\n"));
    }
}
