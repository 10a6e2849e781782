//! Fuzzing the extractors' entry points (SPEC §2.6): files written by real tools, mutated
//! (bytes flipped, cut short), and arbitrary bytes, through every in-process reader. None
//! may panic or run unbounded; each answers text or a skip. The PDF reader is fuzzed through
//! the sandbox (`tests/attachments.rs`), where a loop costs a timeout, not the test run.

use super::{office, text, Skip};
use proptest::prelude::*;

const DOCX: &[u8] = include_bytes!("../../../tests/fixtures/attachments/policy.docx");
const PPTX: &[u8] = include_bytes!("../../../tests/fixtures/attachments/deck.pptx");
const XLSX: &[u8] = include_bytes!("../../../tests/fixtures/attachments/budget.xlsx");

/// `base` with bytes flipped and, when `keep` says so, cut short (which loses a zip's
/// central directory: most cuts are refused at once, so only some cases cut).
fn mutated(base: &[u8], flips: &[(usize, u8)], keep: Option<usize>) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for (at, bits) in flips {
        let i = at % bytes.len();
        bytes[i] ^= bits;
    }
    if let Some(keep) = keep {
        bytes.truncate(bytes.len() / 2 + keep % (bytes.len() / 2 + 1));
    }
    bytes
}

fn answered(result: std::thread::Result<Result<super::Extracted, Skip>>) -> Result<(), TestCaseError> {
    prop_assert!(result.is_ok(), "an extractor panicked");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn office_readers_answer_every_mutated_package(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 0..24),
        keep in proptest::option::weighted(0.2, any::<usize>()),
    ) {
        let bytes = mutated([DOCX, PPTX, XLSX][which], &flips, keep);
        for read in [office::docx, office::pptx, office::xlsx] {
            answered(std::panic::catch_unwind(|| read(&bytes, 10_000_000)))?;
        }
    }

    #[test]
    fn every_reader_answers_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        for read in [office::docx, office::pptx, office::xlsx] {
            answered(std::panic::catch_unwind(|| read(&bytes, 10_000_000)))?;
        }
        answered(std::panic::catch_unwind(|| text::html(&bytes)))?;
        answered(std::panic::catch_unwind(|| text::plain(&bytes)))?;
    }

    #[test]
    fn html_answers_any_markup(page in "(<[a-z/!]{0,8}( [a-z]{1,4}=\"[^\"]{0,6}\")?>|&[a-z#0-9]{0,6};?|[^<&]{0,12}){0,200}") {
        answered(std::panic::catch_unwind(|| text::html(page.as_bytes())))?;
    }
}
