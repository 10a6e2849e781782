//! The Notion-flavored Markdown (v2) parser: one test per construct of the format reference
//! and the migration guide, the
//! adversarial cases (unknown and unclosed tags, tags in code, escapes, CRLF, a very long
//! page), and properties: it never panics and never drops a line of plain text.

use super::*;
use proptest::prelude::*;

const PAGE: &str = "0a1b2c3d-0000-4000-8000-000000000001";

fn ctx() -> Context<'static> {
    Context {
        page_id: PAGE,
        truncated: HashSet::new(),
    }
}

fn text(md: &str) -> String {
    parse(md, &ctx()).text
}

#[test]
fn text_headings_lists_todos_quotes_and_colors_as_tag_attributes() {
    // v2: blocks apart by blank lines, colors as attributes of the block's tag, and an
    // attribute list written in the text is the text ("v2 saves {color=...} as literal").
    let md = "<p color=\"blue\">Intro</p>\n\n# One\n\n#### Four\n\n- a\n\t- b\n1. first\n- [ ] open\n- [x] done\n\n> Quote<br>line two\n\n---\n\nLiteral {color=\"red\"} stays";
    assert_eq!(
        text(md),
        "Intro\n\n# One\n\n#### Four\n\n- a\n  - b\n1. first\n- [ ] open\n- [x] done\n\n> Quote\nline two\n\n---\n\nLiteral {color=\"red\"} stays"
    );
}

#[test]
fn tag_forms_of_blocks_with_children_keep_text_and_children() {
    // v2: a block with children in its tag form, the children after a blank line, under
    // both readings of where its own text goes.
    for md in [
        "<toggle>\nHeading\n\nChild\n</toggle>",
        "<toggle>Heading\n\nChild\n</toggle>",
    ] {
        assert_eq!(text(md), "Heading\n\nChild", "{md}");
    }
    assert_eq!(text("<p>\nParent\n\nChild text\n</p>"), "Parent\n\nChild text");
    assert_eq!(
        text("<quote color=\"red\">Said\n\nAnd more\n</quote>"),
        "Said\n\nAnd more"
    );
    assert!(parse("<p>x</p><quote>y</quote><toggle>z</toggle>", &ctx())
        .unknown_tags
        .is_empty());
}

#[test]
fn escapes_become_their_characters_outside_code_only() {
    assert_eq!(
        text("a \\* b \\<tag\\> \\{x\\} \\| \\^ \\$ \\~ \\` \\[l\\] \\\\"),
        "a * b <tag> {x} | ^ $ ~ ` [l] \\"
    );
    assert_eq!(
        text("```\na \\* <page url=\"x\">P</page>\n```"),
        "```\na \\* <page url=\"x\">P</page>\n```"
    );
    assert_eq!(text("`\\*code*` after"), "`\\*code*` after");
}

#[test]
fn details_summary_and_callout() {
    let md = "<details color=\"red\">\n<summary>Toggle title</summary>\n\tHidden text\n</details>\n<callout icon=\"🎯\" color=\"blue_bg\">\n\tShip by **Friday**.\n\t- item\n</callout>\nAfter";
    assert_eq!(
        text(md),
        "Toggle title\nHidden text\n> 🎯\nShip by **Friday**.\n  - item\nAfter"
    );
}

#[test]
fn code_and_equations_are_literal() {
    let md = "```python\n\tdef f():\n\t\treturn \"<table>\"\n```\n$$\nE = mc^2 <x>\n$$\n$$ a \\* b $$";
    let out = text(md);
    assert!(out.contains("return \"<table>\""), "{out}");
    assert!(out.contains("$$\nE = mc^2 <x>\n$$"), "{out}");
    assert!(out.ends_with("$$ a * b $$"), "{out}");
}

#[test]
fn tables_in_tags_and_pipes() {
    let md = "<table header-row=\"true\">\n\t<colgroup>\n\t\t<col color=\"red\">\n\t</colgroup>\n\t<tr color=\"blue\">\n\t\t<td>A</td>\n\t\t<td color=\"red\">B | c</td>\n\t</tr>\n\t<tr><td>1</td><td>**2**</td></tr>\n</table>\n| Status | Owner |\n|---|---|\n| ok | <mention-user url=\"user://1\">Ada</mention-user> |";
    assert_eq!(
        text(md),
        "| A | B \\| c |\n| --- | --- |\n| 1 | **2** |\n| Status | Owner |\n|---|---|\n| ok | Ada |"
    );
}

#[test]
fn an_unclosed_table_ends_at_the_first_line_that_is_not_table_markup() {
    let out = text("<table>\n<tr>\n<td>A</td>\n</tr>\nText after the table");
    assert_eq!(out, "| A |\n| --- |\nText after the table");
}

#[test]
fn table_of_contents_breadcrumb_and_empty_blocks() {
    let md = "Before\n<table_of_contents color=\"gray\"/>\n<breadcrumb/>\n<empty-block/>\nAfter <page url=\"https://www.notion.so/Kid-1429989fe8ac4effbc8f57f56486db54\">Kid</page>";
    let p = parse(md, &ctx());
    assert_eq!(
        p.text,
        "Before\n\nAfter [Kid](https://www.notion.so/Kid-1429989fe8ac4effbc8f57f56486db54)"
    );
    assert_eq!(p.child_pages, ["1429989f-e8ac-4eff-bc8f-57f56486db54"]);
}

#[test]
fn columns_and_synced_blocks_keep_their_children() {
    let md = "<columns>\n\t<column>\n\t\tLeft\n\t</column>\n\t<column>\n\t\tRight\n\t</column>\n</columns>\n<synced_block url=\"https://www.notion.so/p#1429989fe8ac4effbc8f57f56486db54\">\n\tOriginal\n</synced_block>\n<synced_block_reference url=\"https://www.notion.so/p#1429989fe8ac4effbc8f57f56486db54\">\n\tCopy\n</synced_block_reference>";
    let p = parse(md, &ctx());
    assert_eq!(p.text, "Left\nRight\nOriginal\nCopy");
    assert!(p.unknown_tags.is_empty(), "{:?}", p.unknown_tags);
}

#[test]
fn pages_databases_and_mentions() {
    let md = "<page url=\"https://www.notion.so/A-1429989fe8ac4effbc8f57f56486db54\" color=\"red\">A</page>\n<database url=\"https://www.notion.so/2429989fe8ac4effbc8f57f56486db54\" inline=\"true\" icon=\"📚\">Db</database>\nSee <mention-page url=\"https://www.notion.so/3429989fe8ac4effbc8f57f56486db54\">Other</mention-page>, <mention-user url=\"user://u\"/>, <mention-date start=\"2026-01-01\" end=\"2026-01-03\"/> and <span color=\"red\" underline=\"true\">red</span> :party: [^https://x.y]";
    let p = parse(md, &ctx());
    assert_eq!(p.child_pages.len(), 2);
    assert_eq!(
        p.child_databases,
        ["24299 89f-e8ac-4eff-bc8f-57f56486db54".replace(' ', "")]
    );
    assert!(p.text.contains("See [Other](https://www.notion.so/3429989fe8ac4effbc8f57f56486db54), , 2026-01-01 – 2026-01-03 and red :party: [^https://x.y]"), "{}", p.text);
}

#[test]
fn media_keeps_captions_external_urls_and_never_a_signed_url() {
    let signed = "https://prod-files-secure.s3.us-west-2.amazonaws.com/ws/blk/q3%20report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc";
    let md = format!(
        "![Team photo](https://images.example.com/t.jpg)\n![Diagram]({signed})\n<file src=\"{signed}\">Quarterly</file>\n<video src=\"https://v.example.com/a.mp4\">Intro</video>\n<pdf src=\"{signed}\"></pdf>\n[link to a signed file]({signed})"
    );
    let out = text(&md);
    assert!(!out.contains("X-Amz"), "{out}");
    let stable = page_url(PAGE);
    assert!(out.contains("[Team photo](https://images.example.com/t.jpg)"), "{out}");
    assert!(out.contains(&format!("[Diagram]({stable})")), "{out}");
    assert!(out.contains(&format!("[Quarterly (q3 report.pdf)]({stable})")), "{out}");
    assert!(out.contains("[Intro](https://v.example.com/a.mp4)"), "{out}");
    assert!(out.contains(&format!("[pdf]({stable})")), "{out}");
    assert!(out.contains(&format!("[link to a signed file]({stable})")), "{out}");
}

#[test]
fn unknown_blocks_are_holes_block_reads_or_skipped() {
    let a = "1429989fe8ac4effbc8f57f56486db54";
    let b = "2429989fe8ac4effbc8f57f56486db54";
    let c = "3429989fe8ac4effbc8f57f56486db54";
    let d = "4429989fe8ac4effbc8f57f56486db54";
    let md = format!(
        "<unknown url=\"https://www.notion.so/p#{a}\"/>\n<unknown url=\"https://www.notion.so/p#{b}\" alt=\"bookmark\"/>\n<unknown url=\"https://www.notion.so/p#{c}\" alt=\"breadcrumb\"/>\n<unknown url=\"https://www.notion.so/p#{d}\" alt=\"paragraph\"/>"
    );
    let dashed = |h: &str| canonical_id(h).unwrap();
    let mut context = ctx();
    context.truncated.insert(dashed(d));
    let p = parse(&md, &context);
    assert_eq!(
        p.holes,
        [dashed(a), dashed(d)],
        "no alt, or listed in unknown_block_ids"
    );
    assert_eq!(p.block_reads, [dashed(b)]);
    assert_eq!(p.skipped, ["breadcrumb"]);
    assert_eq!(
        p.text,
        format!(
            "{}\n{}\n{}",
            hole_marker(&dashed(a)),
            block_marker(&dashed(b)),
            hole_marker(&dashed(d))
        )
    );
}

#[test]
fn unknown_tags_keep_their_text_and_are_counted() {
    let md =
        "<future-block kind=\"x\">\n\tInner text\n</future-block>\n<weird>inline words</weird> and after\nLast line";
    let p = parse(md, &ctx());
    assert_eq!(p.text, "Inner text\ninline words and after\nLast line");
    assert_eq!(p.unknown_tags, ["future-block", "weird"]);
}

#[test]
fn unclosed_tags_crlf_and_stray_angle_brackets() {
    let md = "<callout icon=\"💡\">\r\n\tNever closed\r\n<span>open span text\r\na < b and c > d <3 <https://example.com>\r\n</nothing>\r\nEnd";
    assert_eq!(
        text(md),
        "> 💡\nNever closed\nopen span text\na < b and c > d <3 <https://example.com>\nEnd"
    );
}

#[test]
fn a_hundred_thousand_line_page_is_parsed_whole() {
    let md: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
    let out = text(&md);
    assert!(out.starts_with("line 0\nline 1\n"));
    assert!(out.ends_with("line 99999"));
    assert_eq!(out.lines().count(), 100_000);
}

#[test]
fn meeting_notes_keep_their_text() {
    let md = "<meeting-notes>\n\tWeekly sync\n\t<summary>\n\t\tWe agreed on X\n\t</summary>\n\t<notes>\n\t\tNote one\n\t</notes>\n</meeting-notes>";
    assert_eq!(text(md), "Weekly sync\nWe agreed on X\nNote one");
}

/// Plain words with nothing the parser treats specially.
fn plain_word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]{1,12}"
}

/// A line of Notion-flavored Markdown: plain text, or a construct (known, unknown or broken).
fn any_line() -> impl Strategy<Value = String> {
    prop_oneof![
        plain_word(),
        Just("<table>".to_string()),
        Just("</table>".to_string()),
        Just("<tr>".to_string()),
        Just("<td>cell</td>".to_string()),
        Just("```".to_string()),
        Just("$$".to_string()),
        Just("<details>".to_string()),
        Just("<summary>s</summary>".to_string()),
        Just("<table_of_contents/>".to_string()),
        Just(
            "<unknown url=\"https://www.notion.so/p#1429989fe8ac4effbc8f57f56486db54\" alt=\"bookmark\"/>".to_string()
        ),
        Just("<weird attr=\"1\">".to_string()),
        Just("</weird>".to_string()),
        Just("<span".to_string()),
        Just("\\".to_string()),
        Just("[broken](".to_string()),
        Just("<<>>".to_string()),
        "[ -~]{0,30}",
        "\\PC{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whatever surrounds them, plain text lines are never lost (unless inside code or an
    /// equation, where they are kept literally anyway), and parsing never panics.
    #[test]
    fn plain_text_lines_are_never_dropped(
        noise in proptest::collection::vec(any_line(), 0..40),
        words in proptest::collection::vec(plain_word(), 1..10),
        positions in proptest::collection::vec(0usize..40, 1..10),
        depth in 0usize..3,
    ) {
        let mut lines = noise.clone();
        let mut tokens = Vec::new();
        for (i, (word, position)) in words.iter().zip(&positions).enumerate() {
            let token = format!("tok{i}x{word}");
            let at = (*position).min(lines.len());
            lines.insert(at, format!("{}{token}", "\t".repeat(depth)));
            tokens.push(token);
        }
        let parsed = parse(&lines.join("\n"), &ctx());
        for token in &tokens {
            prop_assert!(parsed.text.contains(token.as_str()), "{token} lost from {:?}\n=> {}", lines, parsed.text);
        }
    }

    /// Arbitrary input never panics.
    #[test]
    fn arbitrary_input_never_panics(input in "\\PC{0,400}") {
        let _ = parse(&input, &ctx());
    }
}

#[test]
fn a_left_out_block_inside_an_unindented_container_is_not_at_the_top_level() {
    // v2 does not indent a container's children: nesting comes from the open tags, so the
    // crawler lists the page's children only for blocks that really stand there.
    let top = "1429989fe8ac4effbc8f57f56486db54";
    let nested = "2429989fe8ac4effbc8f57f56486db54";
    let md = format!(
        "<unknown url=\"https://www.notion.so/p#{top}\" alt=\"bookmark\"/>\n\n<toggle>\nTitle\n\n<unknown url=\"https://www.notion.so/p#{nested}\" alt=\"embed\"/>\n</toggle>\n\n<p color=\"red\">after</p>"
    );
    let parsed = parse(&md, &ctx());
    assert_eq!(parsed.block_reads.len(), 2);
    assert_eq!(parsed.top_level_reads, [canonical_id(top).unwrap()]);
    assert!(parsed.text.ends_with("after"), "{}", parsed.text);
}
