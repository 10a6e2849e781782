//! Text-like attachments: plain text, Markdown, CSV and HTML (SPEC §2.6).
//!
//! Plain text, Markdown and CSV are kept as they are (invalid UTF-8 replaced, a byte-order
//! mark dropped); a file with NUL bytes is not text whatever its name says. HTML keeps its
//! text: tags go, `script`/`style`/`head` go with their content, block elements end a line,
//! entities are decoded. The reader is a single pass over the bytes with no tree, so a
//! deeply nested page costs nothing but time.

use super::{Extracted, Skip};

/// The text of a plain text, Markdown or CSV file.
pub fn plain(bytes: &[u8]) -> Result<Extracted, Skip> {
    if bytes.contains(&0) {
        return Err(Skip::Malformed);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes).replace("\r\n", "\n");
    Ok(Extracted {
        text: text.trim().to_string(),
        ..Extracted::default()
    })
}

/// Elements whose content is not text a reader sees.
const HIDDEN: &[&str] = &["script", "style", "head", "template", "noscript", "svg"];

/// Elements that start or end a line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "hr",
    "dd",
    "dt",
    "title",
    "main",
    "nav",
    "aside",
    "figure",
    "figcaption",
    "form",
];

/// The text of an HTML file.
pub fn html(bytes: &[u8]) -> Result<Extracted, Skip> {
    if bytes.contains(&0) {
        return Err(Skip::Malformed);
    }
    let source = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
    let mut out = String::with_capacity(source.len() / 2);
    let mut hidden: Option<String> = None;
    let mut rest = source.as_ref();
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if hidden.is_none() {
                push_text(&mut out, rest);
            }
            break;
        };
        if hidden.is_none() {
            push_text(&mut out, &rest[..lt]);
        }
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(open) = &hidden {
            if closing && *open == name {
                hidden = None;
            }
            continue;
        }
        if !closing && HIDDEN.contains(&name.as_str()) && !tag.ends_with('/') {
            hidden = Some(name);
            continue;
        }
        if BLOCKS.contains(&name.as_str()) {
            if !out.ends_with('\n') && !out.is_empty() {
                out.push('\n');
            }
        } else if (name == "td" || name == "th") && !out.is_empty() && !out.ends_with(['\n', ' ']) {
            out.push(' ');
        }
    }
    let text = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Extracted {
        text,
        ..Extracted::default()
    })
}

/// Appends a run of HTML text: whitespace collapsed, entities decoded.
fn push_text(out: &mut String, raw: &str) {
    let decoded = decode_entities(raw);
    for word in decoded.split_whitespace() {
        if !out.is_empty() && !out.ends_with(['\n', ' ']) {
            out.push(' ');
        }
        out.push_str(word);
    }
    if decoded.ends_with(char::is_whitespace) && !out.ends_with(['\n', ' ']) && !out.is_empty() {
        out.push(' ');
    }
}

/// Decodes the named entities text uses and every numeric one.
pub(crate) fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..]
            .find(|c: char| c == ';' || c == '&' || c.is_whitespace())
            .map(|e| e + 1);
        let decoded = match end {
            Some(end) if rest[end..].starts_with(';') => entity(&rest[1..end]).map(|c| (c, end + 1)),
            _ => None,
        };
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "copy" => '©',
        "reg" => '®',
        "euro" => '€',
        "pound" => '£',
        "deg" => '°',
        "times" => '×',
        "middot" => '·',
        "laquo" => '«',
        "raquo" => '»',
        "szlig" => 'ß',
        _ => return latin1(name),
    })
}

/// `&eacute;` and its kin: the accented letters of Latin-1 (HTML's `&Xacute;`, `&Xgrave;`,
/// `&Xcirc;`, `&Xuml;`, `&Xtilde;`, `&Xcedil;`, `&Xring;`, `&Xslash;`).
fn latin1(name: &str) -> Option<char> {
    const TABLE: &[(&str, &str, &str)] = &[
        ("acute", "aeiouyAEIOUY", "áéíóúýÁÉÍÓÚÝ"),
        ("grave", "aeiouAEIOU", "àèìòùÀÈÌÒÙ"),
        ("circ", "aeiouAEIOU", "âêîôûÂÊÎÔÛ"),
        ("uml", "aeiouyAEIOU", "äëïöüÿÄËÏÖÜ"),
        ("tilde", "anoANO", "ãñõÃÑÕ"),
        ("cedil", "cC", "çÇ"),
        ("ring", "aA", "åÅ"),
        ("slash", "oO", "øØ"),
    ];
    let mut chars = name.chars();
    let letter = chars.next()?;
    let accent = chars.as_str();
    let (_, from, to) = TABLE.iter().find(|(a, _, _)| *a == accent)?;
    let at = from.chars().position(|c| c == letter)?;
    to.chars().nth(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_keeps_its_words_and_refuses_binary() {
        let got = plain(b"\xEF\xBB\xBFname,amount\r\nalpha,1\r\n\xFFbeta,2\n").unwrap();
        assert_eq!(got.text, "name,amount\nalpha,1\n\u{FFFD}beta,2");
        assert_eq!(plain(b"PK\x03\x04\0\0binary"), Err(Skip::Malformed));
    }

    #[test]
    fn html_keeps_what_a_reader_sees() {
        let page = br#"<!doctype html><html><head><title>T</title><style>p{color:red}</style></head>
            <body><h1>Travel&nbsp;policy</h1><!-- <p>hidden</p> --><p>Book <b>economy</b> &amp; save&#33;</p>
            <script>var secret = "no";</script><table><tr><td>a</td><td>b</td></tr></table><p>caf&eacute; &#x263A;</p></body></html>"#;
        let got = html(page).unwrap();
        assert_eq!(got.text, "Travel policy\nBook economy & save!\na b\ncafé \u{263A}");
        assert!(!got.text.contains("secret") && !got.text.contains("color") && !got.text.contains("hidden"));
    }

    #[test]
    fn html_that_never_closes_still_ends() {
        assert_eq!(html(b"<p>open <b unterminated").unwrap().text, "open");
        assert_eq!(html(b"<script>never closed <p>x</p>").unwrap().text, "");
        assert_eq!(
            html(b"&Uuml;ber &ntilde; &Oslash; &bogus; &amp").unwrap().text,
            "Über ñ Ø &bogus; &amp"
        );
        let deep = "<div>".repeat(100_000) + "deep" + &"</div>".repeat(100_000);
        assert_eq!(html(deep.as_bytes()).unwrap().text, "deep");
    }
}
