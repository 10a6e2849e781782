//! The attachment extraction sandbox's child for tests (`ATTACHMENT_EXTRACTOR`): the test
//! harness binaries that run the crawler in process do not answer `--extract-attachment`,
//! so the sandbox starts this instead, as a deployed function starts its own binary.

fn main() {
    shared::attachments::sandbox::child_main_if_asked();
    eprintln!(
        "usage: extract-attachment {} <format> <in> <out> <memory bytes> <max unpacked> <max text>",
        shared::attachments::sandbox::CHILD_FLAG
    );
    std::process::exit(2);
}
