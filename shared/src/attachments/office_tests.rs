//! DOCX, PPTX and XLSX, from files written by python-docx, python-pptx and openpyxl
//! (`tests/fixtures/attachments/make.py`), and hostile packages built here.

use super::*;
use std::io::Write;

const DOCX: &[u8] = include_bytes!("../../../tests/fixtures/attachments/policy.docx");
const PPTX: &[u8] = include_bytes!("../../../tests/fixtures/attachments/deck.pptx");
const XLSX: &[u8] = include_bytes!("../../../tests/fixtures/attachments/budget.xlsx");
const ENCRYPTED: &[u8] = include_bytes!("../../../tests/fixtures/attachments/encrypted.docx");
const ROOM: u64 = 10_000_000;

/// A zip of `parts`, deflated.
fn package(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn in_order(text: &str, tokens: &[&str]) {
    let mut last = 0;
    for token in tokens {
        let at = text[last..]
            .find(token)
            .unwrap_or_else(|| panic!("{token} missing or out of order in {text:?}"));
        last += at + token.len();
    }
}

#[test]
fn a_word_document_gives_its_paragraphs_tables_and_notes_in_order() {
    let got = docx(DOCX, ROOM).unwrap();
    in_order(
        &got.text,
        &["FIX-DOCX-1", "FIX-DOCX-2", "FIX-DOCX-3", "FIX-DOCX-4", "FIX-DOCX-5"],
    );
    assert!(got.text.contains("€120"), "{:?}", got.text);
    assert!(got.text.contains("Café déjà vu"), "{:?}", got.text);
    assert_eq!(got.pages, None);
}

#[test]
fn a_deck_gives_each_slide_under_its_number_with_its_notes() {
    let got = pptx(PPTX, ROOM).unwrap();
    in_order(
        &got.text,
        &[
            "## Slide 1",
            "FIX-PPTX-1",
            "FIX-PPTX-10",
            "FIX-PPTX-11",
            "## Slide 2",
            "FIX-PPTX-2",
            "Notes: Speaker note FIX-PPTX-NOTE",
            "## Slide 3",
            "FIX-PPTX-3",
            "FIX-PPTX-30",
            "FIX-PPTX-31",
        ],
    );
    // Slides without notes say so by saying nothing.
    assert_eq!(got.text.matches("Notes:").count(), 1, "{:?}", got.text);
}

#[test]
fn a_workbook_gives_each_sheet_and_row_with_its_values() {
    let got = xlsx(XLSX, ROOM).unwrap();
    in_order(
        &got.text,
        &[
            "## Budget FIX-XLSX-1",
            "Item | Amount | Approved",
            "Laptops FIX-XLSX-2 | 1200.5 | TRUE",
            "Travel | 300 | FALSE",
            "## Owners",
            "Owner FIX-XLSX-3",
            "Sparse FIX-XLSX-4",
        ],
    );
}

#[test]
fn encrypted_broken_and_foreign_files_are_skipped_with_their_reason() {
    assert_eq!(docx(ENCRYPTED, ROOM), Err(Skip::Encrypted));
    assert_eq!(xlsx(ENCRYPTED, ROOM), Err(Skip::Encrypted));
    assert_eq!(docx(b"not a zip at all", ROOM), Err(Skip::Malformed));
    assert_eq!(docx(&DOCX[..DOCX.len() / 3], ROOM), Err(Skip::Malformed));
    // A deck is not a Word document, nor a workbook a deck.
    assert_eq!(docx(PPTX, ROOM), Err(Skip::Malformed));
    assert_eq!(pptx(&package(&[("a.txt", b"x")]), ROOM), Err(Skip::Malformed));
    assert_eq!(xlsx(DOCX, ROOM), Err(Skip::Malformed));
    // XML that does not parse.
    let broken = package(&[("word/document.xml", b"<w:document><w:body><w:p><w:t>x</w:p>")]);
    assert_eq!(docx(&broken, ROOM), Err(Skip::Malformed));
}

#[test]
fn a_zip_bomb_is_refused_after_at_most_its_allowance() {
    // 20 MB of zeros deflate to about 20 KB; the allowance is 1 MB.
    let zeros = vec![b' '; 20_000_000];
    let bomb = package(&[("word/document.xml", &zeros)]);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    assert_eq!(docx(&bomb, 1_000_000), Err(Skip::Hostile));
    // Many parts that fit one by one but not together.
    let part = vec![b' '; 400_000];
    let slides: Vec<(String, &[u8])> = (1..=5)
        .map(|k| (format!("ppt/slides/slide{k}.xml"), &part[..]))
        .collect();
    let parts: Vec<(&str, &[u8])> = slides.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    assert_eq!(pptx(&package(&parts), 1_000_000), Err(Skip::Hostile));
}

#[test]
fn xml_nested_past_any_document_is_hostile_and_entities_never_expand() {
    let deep = format!(
        "<w:document>{}x{}</w:document>",
        "<w:p>".repeat(10_000),
        "</w:p>".repeat(10_000)
    );
    assert_eq!(
        docx(&package(&[("word/document.xml", deep.as_bytes())]), ROOM),
        Err(Skip::Hostile)
    );
    // A billion laughs: the DTD's entities are not expanded, so the text stays small.
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
        <w:document><w:body><w:p><w:t>&lol3; FIX-LAUGH</w:t></w:p></w:body></w:document>"#;
    let got = docx(&package(&[("word/document.xml", laughs.as_bytes())]), ROOM).unwrap();
    assert!(got.text.contains("FIX-LAUGH") && got.text.len() < 100, "{:?}", got.text);
}

#[test]
fn a_minimal_word_document_needs_only_its_body() {
    let body = r#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>One</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> two &amp; three</w:t></w:r></w:p><w:p><w:r><w:t>Line</w:t><w:br/><w:t>break</w:t></w:r></w:p></w:body></w:document>"#;
    let got = docx(&package(&[("word/document.xml", body.as_bytes())]), ROOM).unwrap();
    assert_eq!(got.text, "One\t two & three\nLine\nbreak");
}

#[test]
fn relationship_targets_resolve_as_opc_says() {
    assert_eq!(
        resolve("ppt/slides", "../notesSlides/notesSlide1.xml"),
        "ppt/notesSlides/notesSlide1.xml"
    );
    assert_eq!(resolve("xl", "worksheets/sheet2.xml"), "xl/worksheets/sheet2.xml");
    assert_eq!(resolve("xl", "/xl/worksheets/sheet2.xml"), "xl/worksheets/sheet2.xml");
    assert_eq!(resolve("", "word/document.xml"), "word/document.xml");
}

#[test]
fn slides_come_in_the_order_the_deck_shows_them() {
    let presentation = br#"<p:presentation xmlns:p="p" xmlns:r="r"><p:sldIdLst><p:sldId id="257" r:id="rId3"/><p:sldId id="256" r:id="rId2"/></p:sldIdLst></p:presentation>"#;
    let rels = br#"<Relationships><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide1.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide2.xml"/></Relationships>"#;
    let deck = package(&[
        ("ppt/presentation.xml", presentation),
        ("ppt/_rels/presentation.xml.rels", rels),
        (
            "ppt/slides/slide1.xml",
            b"<p:sld><a:p><a:t>filed first</a:t></a:p></p:sld>",
        ),
        (
            "ppt/slides/slide2.xml",
            b"<p:sld><a:p><a:t>shown first</a:t></a:p></p:sld>",
        ),
    ]);
    let got = pptx(&deck, ROOM).unwrap();
    assert_eq!(got.text, "## Slide 1\n\nshown first\n\n## Slide 2\n\nfiled first");
}

#[test]
fn a_deck_of_many_slides_is_read_whole() {
    // 20,000 slides, each without a relationships part: every lookup of a missing part is a
    // hash lookup, not a scan of the package (which took minutes at 166,000 slides; the
    // attachment benchmark measures the speed, infra/bench/src/bin/attachments.rs).
    let slides: Vec<String> = (0..20_000).map(|k| format!("slide text FIX-MANY-{k}")).collect();
    let presentation = format!(
        r#"<p:presentation xmlns:p="p" xmlns:r="r"><p:sldIdLst>{}</p:sldIdLst></p:presentation>"#,
        (0..slides.len())
            .map(|k| format!(r#"<p:sldId id="{}" r:id="rId{k}"/>"#, 256 + k))
            .collect::<String>()
    );
    let rels = format!(
        "<Relationships>{}</Relationships>",
        (0..slides.len())
            .map(|k| format!(r#"<Relationship Id="rId{k}" Type="slide" Target="slides/slide{k}.xml"/>"#))
            .collect::<String>()
    );
    let parts: Vec<(String, Vec<u8>)> = (0..slides.len())
        .map(|k| {
            (
                format!("ppt/slides/slide{k}.xml"),
                format!("<p:sld><a:p><a:t>{}</a:t></a:p></p:sld>", slides[k]).into_bytes(),
            )
        })
        .chain([
            ("ppt/presentation.xml".to_string(), presentation.into_bytes()),
            ("ppt/_rels/presentation.xml.rels".to_string(), rels.into_bytes()),
        ])
        .collect();
    let refs: Vec<(&str, &[u8])> = parts.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let deck = package(&refs);
    let got = pptx(&deck, 500_000_000).unwrap();
    assert!(got.text.contains("FIX-MANY-0\n") && got.text.contains("FIX-MANY-19999"));
    assert_eq!(got.text.matches("## Slide ").count(), 20_000);
}
