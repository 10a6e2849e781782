//! Office Open XML attachments: DOCX, PPTX and XLSX (SPEC §2.6), read with `zip` and
//! `quick-xml`.
//!
//! Each is a zip of XML parts (ECMA-376 Part 2, Open Packaging Conventions). Only the parts
//! that hold text are read, each through [`Package::part`], which refuses a part whose
//! declared or actual unpacked size passes what is left of the package's allowance: a zip
//! bomb is skipped as hostile after reading at most that allowance, never unpacked in full.
//! XML nested deeper than [`MAX_DEPTH`] is hostile too (a real document nests a few dozen
//! levels). A password-protected Office file is not a zip at all but an OLE compound file
//! holding an `EncryptedPackage` (MS-OFFCRYPTO §2.3.4): skipped as encrypted.

use super::{Extracted, Skip};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};

/// XML nesting past this is not a document.
pub const MAX_DEPTH: usize = 256;

/// The OLE compound file signature ([MS-CFB] §2.2), which encrypted Office files start with.
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// A zip package read within an allowance of unpacked bytes.
struct Package<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    left: u64,
}

impl<'a> Package<'a> {
    fn open(bytes: &'a [u8], max_unpacked: u64) -> Result<Self, Skip> {
        if bytes.starts_with(CFB_MAGIC) {
            return Err(Skip::Encrypted);
        }
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| Skip::Malformed)?;
        Ok(Self {
            zip,
            left: max_unpacked,
        })
    }

    fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(Result::ok)
            .map(|n| n.into_owned())
            .collect()
    }

    /// A part's XML, or `None` when the package has no such part.
    fn part(&mut self, name: &str) -> Result<Option<String>, Skip> {
        // By the name's raw bytes (a hash lookup): `by_name` scans every entry for a name it
        // does not find, which made a deck of 166,000 slides (each asked for its missing
        // relationships part) take minutes. OPC part names are ASCII (RFC 3987 IRIs
        // percent-encoded, ECMA-376 Part 2 §6.2.2), so the raw bytes are the name.
        let Some(index) = self.zip.index_for_name_raw(name.as_bytes()) else {
            return Ok(None);
        };
        let mut file = self.zip.by_index(index).map_err(|_| Skip::Malformed)?;
        if file.encrypted() {
            return Err(Skip::Encrypted);
        }
        if file.size() > self.left {
            return Err(Skip::Hostile);
        }
        let mut out = Vec::with_capacity(file.size().min(16 << 20) as usize);
        (&mut file)
            .take(self.left + 1)
            .read_to_end(&mut out)
            .map_err(|_| Skip::Malformed)?;
        if out.len() as u64 > self.left {
            return Err(Skip::Hostile);
        }
        self.left -= out.len() as u64;
        String::from_utf8(out).map(Some).map_err(|_| Skip::Malformed)
    }
}

/// One XML event as the extractors see it.
enum Node<'e> {
    Open(&'e BytesStart<'e>),
    Close(&'e str),
    Text(&'e str),
}

/// Walks an XML part, calling `on` for each element opened (also for an empty one, which
/// is then closed at once), closed, and for each run of text (entities resolved).
fn walk(xml: &str, mut on: impl FnMut(Node<'_>)) -> Result<(), Skip> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    loop {
        match reader.read_event().map_err(|_| Skip::Malformed)? {
            Event::Start(start) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Skip::Hostile);
                }
                on(Node::Open(&start));
            }
            Event::Empty(start) => {
                on(Node::Open(&start));
                on(Node::Close(start.name().0));
            }
            Event::End(end) => {
                depth = depth.saturating_sub(1);
                on(Node::Close(end.name().0));
            }
            Event::Text(text) => on(Node::Text(&text.xml10_content())),
            Event::CData(data) => on(Node::Text(&data.into_inner())),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    Ok(None) => Some(super::text::decode_entities(&format!(
                        "&{};",
                        reference.xml10_content()
                    ))),
                    Err(_) => None,
                };
                if let Some(s) = resolved {
                    on(Node::Text(&s));
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn attr(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

/// Text of a WordprocessingML or DrawingML part: `text_tag` elements' text, a line per
/// `para_tag`, `\t` for tabs and cells, a line break for `w:br`/`a:br`.
fn runs(xml: &str, text_tag: &str, para_tag: &str, out: &mut String) -> Result<(), Skip> {
    let mut in_text = false;
    walk(xml, |node| match node {
        Node::Open(s) => match s.name().0 {
            t if t == text_tag => in_text = true,
            "w:tab" | "a:tab" => out.push('\t'),
            "w:br" | "w:cr" | "a:br" => out.push('\n'),
            _ => {}
        },
        Node::Close(name) => {
            if name == text_tag {
                in_text = false;
            } else if name == para_tag {
                out.push('\n');
            } else if name == "w:tc" {
                out.push('\t');
            }
        }
        Node::Text(t) if in_text => out.push_str(t),
        Node::Text(_) => {}
    })
}

/// Trims each line and drops empty runs of lines.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

/// The text of a Word document: its body, then its footnotes and endnotes.
pub fn docx(bytes: &[u8], max_unpacked: u64) -> Result<Extracted, Skip> {
    let mut package = Package::open(bytes, max_unpacked)?;
    let body = package.part("word/document.xml")?.ok_or(Skip::Malformed)?;
    let mut text = String::new();
    runs(&body, "w:t", "w:p", &mut text)?;
    for part in ["word/footnotes.xml", "word/endnotes.xml"] {
        if let Some(xml) = package.part(part)? {
            runs(&xml, "w:t", "w:p", &mut text)?;
        }
    }
    Ok(Extracted {
        text: tidy(&text),
        ..Extracted::default()
    })
}

/// The number in a part name such as `ppt/slides/slide12.xml`.
fn part_number(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.strip_suffix(".xml")?.parse().ok()
}

/// A part's relationships (OPC §9.3, `<dir>/_rels/<file>.rels`): id → (type, part name),
/// targets resolved against the part's folder.
fn relationships(package: &mut Package<'_>, part: &str) -> Result<BTreeMap<String, (String, String)>, Skip> {
    let (dir, file) = part.rsplit_once('/').unwrap_or(("", part));
    let rels_name = if dir.is_empty() {
        format!("_rels/{file}.rels")
    } else {
        format!("{dir}/_rels/{file}.rels")
    };
    let mut out = BTreeMap::new();
    let Some(rels) = package.part(&rels_name)? else {
        return Ok(out);
    };
    walk(&rels, |node| {
        if let Node::Open(s) = node {
            if s.name().0 == "Relationship" && attr(s, "TargetMode").as_deref() != Some("External") {
                if let (Some(id), Some(target)) = (attr(s, "Id"), attr(s, "Target")) {
                    out.insert(id, (attr(s, "Type").unwrap_or_default(), resolve(dir, &target)));
                }
            }
        }
    })?;
    Ok(out)
}

/// A relationship's target as a part name: absolute from the package root, or relative
/// to the folder of the part that names it (with `..`).
fn resolve(dir: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in target.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The slides of a deck in the order it shows them (`p:sldIdLst` of
/// `ppt/presentation.xml`); a file number says nothing once slides are moved.
fn slides(package: &mut Package<'_>) -> Result<Vec<String>, Skip> {
    let Some(xml) = package.part("ppt/presentation.xml")? else {
        // No presentation part: the slide parts in their numbers' order, if any.
        let mut found: Vec<(u32, String)> = package
            .names()
            .into_iter()
            .filter_map(|n| part_number(&n, "ppt/slides/slide").map(|k| (k, n)))
            .collect();
        found.sort();
        return Ok(found.into_iter().map(|(_, n)| n).collect());
    };
    let mut ids = Vec::new();
    walk(&xml, |node| {
        if let Node::Open(s) = node {
            if s.name().0 == "p:sldId" {
                if let Some(rel) = attr(s, "r:id") {
                    ids.push(rel);
                }
            }
        }
    })?;
    let rels = relationships(package, "ppt/presentation.xml")?;
    Ok(ids
        .into_iter()
        .filter_map(|id| rels.get(&id).map(|(_, target)| target.clone()))
        .collect())
}

/// The text of a slide deck: each slide under `## Slide N` in the order shown, its
/// speaker notes after it.
pub fn pptx(bytes: &[u8], max_unpacked: u64) -> Result<Extracted, Skip> {
    let mut package = Package::open(bytes, max_unpacked)?;
    let slides = slides(&mut package)?;
    if slides.is_empty() && package.names().iter().all(|n| !n.starts_with("ppt/")) {
        return Err(Skip::Malformed);
    }
    let mut text = String::new();
    for (k, name) in slides.iter().enumerate() {
        let Some(xml) = package.part(name)? else { continue };
        text.push_str(&format!("\n## Slide {}\n\n", k + 1));
        runs(&xml, "a:t", "a:p", &mut text)?;
        let notes = relationships(&mut package, name)?
            .into_values()
            .find(|(kind, _)| kind.ends_with("/notesSlide"))
            .map(|(_, target)| target);
        if let Some(notes) = notes {
            let Some(xml) = package.part(&notes)? else { continue };
            let mut said = String::new();
            runs(&xml, "a:t", "a:p", &mut said)?;
            let said = tidy(&said);
            // A notes page repeats the slide number as its only text when it has no notes.
            if !said.is_empty() && said.parse::<usize>().is_err() {
                text.push_str("\nNotes: ");
                text.push_str(&said);
                text.push('\n');
            }
        }
    }
    Ok(Extracted {
        text: tidy(&text),
        ..Extracted::default()
    })
}

/// A workbook's shared strings (`xl/sharedStrings.xml`, ECMA-376 §18.4): each `si`'s text.
fn shared_strings(xml: &str) -> Result<Vec<String>, Skip> {
    let mut strings = Vec::new();
    let mut current = String::new();
    let (mut in_t, mut in_phonetic) = (false, false);
    walk(xml, |node| match node {
        Node::Open(s) => match s.name().0 {
            "t" => in_t = true,
            "rPh" => in_phonetic = true,
            _ => {}
        },
        Node::Close(name) => match name {
            "t" => in_t = false,
            "rPh" => in_phonetic = false,
            "si" => strings.push(std::mem::take(&mut current)),
            _ => {}
        },
        Node::Text(t) if in_t && !in_phonetic => current.push_str(t),
        Node::Text(_) => {}
    })?;
    Ok(strings)
}

/// The sheets of a workbook in its order: name and part path (`xl/workbook.xml` and its
/// relationships).
fn sheets(package: &mut Package<'_>) -> Result<Vec<(String, String)>, Skip> {
    let workbook = package.part("xl/workbook.xml")?.ok_or(Skip::Malformed)?;
    let mut listed = Vec::new();
    walk(&workbook, |node| {
        if let Node::Open(s) = node {
            if s.name().0 == "sheet" {
                if let (Some(name), Some(rel)) = (attr(s, "name"), attr(s, "r:id")) {
                    listed.push((name, rel));
                }
            }
        }
    })?;
    let targets = relationships(package, "xl/workbook.xml")?;
    Ok(listed
        .into_iter()
        .enumerate()
        .map(|(i, (name, rel))| {
            let path = match targets.get(&rel) {
                Some((_, target)) => target.clone(),
                None => format!("xl/worksheets/sheet{}.xml", i + 1),
            };
            (name, path)
        })
        .collect())
}

/// A worksheet's rows, cells joined with ` | ` (ECMA-376 §18.3.1: `c` with `t` = `s` for
/// a shared string, `inlineStr` for `is/t`, otherwise `v` as written).
fn rows(xml: &str, strings: &[String], out: &mut String) -> Result<(), Skip> {
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut kind = String::new();
    let (mut in_v, mut in_t) = (false, false);
    walk(xml, |node| match node {
        Node::Open(s) => match s.name().0 {
            "c" => {
                kind = attr(s, "t").unwrap_or_default();
                cell.clear();
            }
            "v" => in_v = true,
            "t" => in_t = true,
            _ => {}
        },
        Node::Close(name) => match name {
            "v" => in_v = false,
            "t" => in_t = false,
            "c" => {
                let value = match kind.as_str() {
                    "s" => cell
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| strings.get(i))
                        .cloned()
                        .unwrap_or_default(),
                    "b" => if cell.trim() == "1" { "TRUE" } else { "FALSE" }.to_string(),
                    _ => cell.clone(),
                };
                row.push(value.trim().to_string());
            }
            "row" => {
                while row.last().is_some_and(String::is_empty) {
                    row.pop();
                }
                if !row.is_empty() {
                    out.push_str(&row.join(" | "));
                    out.push('\n');
                }
                row.clear();
            }
            _ => {}
        },
        Node::Text(t) if in_v || in_t => cell.push_str(t),
        Node::Text(_) => {}
    })
}

/// The text of a workbook: each sheet under `## <name>`, a line per row.
pub fn xlsx(bytes: &[u8], max_unpacked: u64) -> Result<Extracted, Skip> {
    let mut package = Package::open(bytes, max_unpacked)?;
    let sheets = sheets(&mut package)?;
    let strings = match package.part("xl/sharedStrings.xml")? {
        Some(xml) => shared_strings(&xml)?,
        None => Vec::new(),
    };
    let mut text = String::new();
    for (name, path) in sheets {
        let Some(xml) = package.part(&path)? else { continue };
        text.push_str(&format!("\n## {name}\n\n"));
        rows(&xml, &strings, &mut text)?;
    }
    Ok(Extracted {
        text: tidy(&text),
        ..Extracted::default()
    })
}

#[cfg(test)]
#[path = "office_tests.rs"]
mod tests;
