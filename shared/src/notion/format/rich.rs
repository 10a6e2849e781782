//! Rich text (the block API's `rich_text` arrays, "Rich text object" reference) as clean
//! Markdown. Notion splits text into runs wherever anything changes (a mention, an edit, a
//! color), so rendering run by run breaks words apart:
//! `[li](u)[**n**](u)[k](u)` for "link", `~~many ~~~~*different *~~` for one struck phrase.
//! Here:
//! - adjacent runs with the same link are one link, and each annotation (strikethrough,
//!   bold, italic, code) spans every adjacent run that has it;
//! - an annotation whose span would start or end inside a word, or that covers only
//!   whitespace, is left out (the word stays whole; only its styling is lost);
//! - markers never touch the inside of a space: `**bold** text`, not `**bold **text`;
//! - markers nest properly (what opened last closes first).

use serde_json::Value;

/// Annotations in the order they open when they start together (outermost first).
const FLAGS: [(&str, &str); 4] = [("strikethrough", "~~"), ("bold", "**"), ("italic", "*"), ("code", "`")];

#[derive(Clone, Debug)]
struct Run {
    text: String,
    href: Option<String>,
    flags: [bool; 4],
}

/// The runs of `parts`, one per stretch with the same link and annotations, after each
/// link was widened to whole words (a link covering part of a word takes the whole word).
fn runs(parts: &[Value]) -> Vec<Run> {
    let mut chars: Vec<(char, Option<String>, [bool; 4])> = Vec::new();
    for part in parts {
        let text = part.get("plain_text").and_then(Value::as_str).unwrap_or_default();
        let flag = |name: &str| {
            part.pointer(&format!("/annotations/{name}"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let href = part.get("href").and_then(Value::as_str).map(str::to_string);
        let flags = FLAGS.map(|(name, _)| flag(name));
        chars.extend(text.chars().map(|c| (c, href.clone(), flags)));
    }
    widen_links(&mut chars);
    let mut out: Vec<Run> = Vec::new();
    for (c, href, flags) in chars {
        match out.last_mut() {
            Some(last) if last.href == href && last.flags == flags => last.text.push(c),
            _ => out.push(Run {
                text: c.to_string(),
                href,
                flags,
            }),
        }
    }
    out
}

/// Extends each link that starts or ends inside a word over the rest of that word (taking
/// only characters that have no link of their own).
fn widen_links(chars: &mut [(char, Option<String>, [bool; 4])]) {
    let word = |c: char| c.is_alphanumeric();
    for i in 1..chars.len() {
        // Rightwards: a linked word character followed by an unlinked one of the same word.
        if chars[i - 1].1.is_some() && chars[i].1.is_none() && word(chars[i - 1].0) && word(chars[i].0) {
            chars[i].1 = chars[i - 1].1.clone();
        }
    }
    for i in (0..chars.len().saturating_sub(1)).rev() {
        if chars[i + 1].1.is_some() && chars[i].1.is_none() && word(chars[i + 1].0) && word(chars[i].0) {
            chars[i].1 = chars[i + 1].1.clone();
        }
    }
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

/// Clears each annotation span that starts or ends inside a word or holds only whitespace.
fn drop_mid_word_spans(runs: &mut [Run]) {
    for f in 0..FLAGS.len() {
        let mut i = 0;
        while i < runs.len() {
            if !runs[i].flags[f] {
                i += 1;
                continue;
            }
            let start = i;
            while i < runs.len() && runs[i].flags[f] {
                i += 1;
            }
            let span = &runs[start..i];
            let before = start.checked_sub(1).and_then(|p| runs[p].text.chars().last());
            let after = runs.get(i).and_then(|r| r.text.chars().next());
            let first = span.first().and_then(|r| r.text.chars().next());
            let last = span.last().and_then(|r| r.text.chars().last());
            let blank = span.iter().all(|r| r.text.trim().is_empty());
            let cuts_word = (is_word(before) && is_word(first)) || (is_word(last) && is_word(after));
            if blank || cuts_word {
                for run in &mut runs[start..i] {
                    run.flags[f] = false;
                }
            }
        }
    }
}

/// Writes annotated text, keeping markers off the whitespace at its edges.
struct Writer {
    out: String,
    /// Open markers, innermost last.
    open: Vec<usize>,
    /// Whitespace the last run ended with, written once the markers it precedes are closed.
    trail: String,
}

impl Writer {
    /// Closes every open marker not in `flags` (and those opened after it), then opens what
    /// `flags` adds, around `text`'s edge whitespace.
    fn write(&mut self, text: &str, flags: [bool; 4]) {
        let core = text.trim();
        if core.is_empty() {
            self.trail.push_str(text);
            return;
        }
        let lead = &text[..text.len() - text.trim_start().len()];
        let trail = &text[text.trim_end().len()..];
        self.close_unless(&flags);
        self.out.push_str(lead);
        for (f, on) in flags.iter().enumerate() {
            if *on && !self.open.contains(&f) {
                self.out.push_str(FLAGS[f].1);
                self.open.push(f);
            }
        }
        self.out.push_str(core);
        // Trailing whitespace goes after any marker the next run closes.
        self.trail.push_str(trail);
    }

    fn close_unless(&mut self, flags: &[bool; 4]) {
        // The deepest marker to close decides how far the stack unwinds; markers above it
        // that stay on are opened again by the next write, after its leading whitespace.
        if let Some(depth) = self.open.iter().position(|f| !flags[*f]) {
            while self.open.len() > depth {
                let f = self.open.pop().unwrap_or_default();
                self.out.push_str(FLAGS[f].1);
            }
        }
        let trail = std::mem::take(&mut self.trail);
        self.out.push_str(&trail);
    }

    fn finish(mut self) -> String {
        self.close_unless(&[false; 4]);
        self.out
    }
}

/// A run of text as Markdown: annotations merged across runs, links around them.
pub fn rich_text(parts: Option<&Value>) -> String {
    let Some(parts) = parts.and_then(Value::as_array) else {
        return String::new();
    };
    let mut runs = runs(parts);
    drop_mid_word_spans(&mut runs);
    let mut out = String::new();
    let mut i = 0;
    while i < runs.len() {
        // One link (or one stretch without a link) at a time.
        let href = runs[i].href.clone();
        let start = i;
        while i < runs.len() && runs[i].href == href {
            i += 1;
        }
        let mut writer = Writer {
            out: String::new(),
            open: Vec::new(),
            trail: String::new(),
        };
        for run in &runs[start..i] {
            writer.write(&run.text, run.flags);
        }
        let inner = writer.finish();
        match href {
            Some(href) if !inner.trim().is_empty() => {
                let lead = &inner[..inner.len() - inner.trim_start().len()];
                let trail = &inner[inner.trim_end().len()..];
                out.push_str(&format!("{lead}[{}]({href}){trail}", inner.trim()));
            }
            _ => out.push_str(&inner),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn part(text: &str, annotations: Value, href: Option<&str>) -> Value {
        json!({"plain_text": text, "annotations": annotations, "href": href})
    }

    #[test]
    fn runs_split_inside_a_word_render_as_one_word() {
        // A real workspace's answer: "link" in three runs, the middle one bold.
        let url = Some("https://google.de/");
        let parts = json!([
            part("li", json!({}), url),
            part("n", json!({"bold": true}), url),
            part("k", json!({}), url)
        ]);
        assert_eq!(rich_text(Some(&parts)), "[link](https://google.de/)");
    }

    #[test]
    fn one_annotation_across_runs_is_one_span_with_markers_off_the_spaces() {
        let parts = json!([
            part("many ", json!({"strikethrough": true}), None),
            part("different ", json!({"strikethrough": true, "italic": true}), None),
            part(
                "styles",
                json!({"strikethrough": true, "italic": true, "bold": true}),
                None
            ),
            part(".", json!({"strikethrough": true, "italic": true}), None)
        ]);
        assert_eq!(rich_text(Some(&parts)), "~~many *different **styles**.*~~");
    }

    #[test]
    fn adjacent_runs_with_the_same_style_merge_and_spaces_stay_outside() {
        let parts = json!([
            part("Hello ", json!({}), None),
            part("bold ", json!({"bold": true}), None),
            part("world", json!({"bold": true}), None),
            part(" and ", json!({}), None),
            part("code", json!({"code": true}), None),
            part(" ", json!({"bold": true}), None),
            part("end", json!({}), None)
        ]);
        assert_eq!(rich_text(Some(&parts)), "Hello **bold world** and `code` end");
    }

    #[test]
    fn a_marker_that_would_close_before_one_opened_later_unwinds_and_reopens() {
        let parts = json!([
            part("struck ", json!({"strikethrough": true}), None),
            part("both", json!({"strikethrough": true, "bold": true}), None),
            part(" bold", json!({"bold": true}), None)
        ]);
        assert_eq!(rich_text(Some(&parts)), "~~struck **both**~~ **bold**");
    }

    #[test]
    fn links_and_plain_text_keep_every_character() {
        let parts = json!([
            part("see ", json!({}), None),
            part("the docs", json!({"italic": true}), Some("https://x.y")),
            part(", then", json!({}), None)
        ]);
        assert_eq!(rich_text(Some(&parts)), "see [*the docs*](https://x.y), then");
        let plain = json!([part("a*b_c", json!({}), None)]);
        assert_eq!(rich_text(Some(&plain)), "a*b_c");
    }

    #[test]
    fn every_words_text_survives_any_split_and_styling() {
        // Property: whatever the runs and styles, stripping the markers gives back the text.
        let text = "The quick brown fox, jumps over 12 lazy dogs.";
        let styles = [
            json!({}),
            json!({"bold": true}),
            json!({"italic": true, "strikethrough": true}),
            json!({"code": true}),
        ];
        for seed in 0u64..200 {
            let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let chars: Vec<char> = text.chars().collect();
            let mut parts = Vec::new();
            let mut at = 0;
            while at < chars.len() {
                let len = 1 + (next() % 6) as usize;
                let piece: String = chars[at..(at + len).min(chars.len())].iter().collect();
                let style = styles[(next() % 4) as usize].clone();
                let href = (next() % 5 == 0).then_some("https://x.y");
                parts.push(part(&piece, style, href));
                at += len;
            }
            let rendered = rich_text(Some(&Value::from(parts)));
            let stripped: String = rendered
                .replace("](https://x.y)", "")
                .chars()
                .filter(|c| !matches!(c, '*' | '~' | '`' | '['))
                .collect();
            assert_eq!(stripped, text, "seed {seed}: {rendered}");
            // No marker inside a word: each word stands whole in the Markdown.
            for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                assert!(rendered.contains(word), "seed {seed}: {word:?} split in {rendered}");
            }
            // No marker against the inside of a space: an opening one is never followed by
            // whitespace, a closing one never preceded by it.
            for marker in ["~~", "`"] {
                for (n, (at, _)) in rendered.match_indices(marker).enumerate() {
                    let before = rendered[..at].chars().last();
                    let after = rendered[at + marker.len()..].chars().next();
                    let inner = if n % 2 == 0 { after } else { before };
                    assert!(
                        !inner.is_some_and(char::is_whitespace),
                        "seed {seed}: {marker} against a space in {rendered}"
                    );
                }
            }
        }
    }
}
