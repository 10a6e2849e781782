//! Lambda consuming the sync queue; the sync engine lives in `shared::crawler`.
//!
//! The same binary is the attachment extraction sandbox's child (SPEC §2.6): started with
//! `--extract-attachment`, it reads one file under a memory limit and exits before any
//! runtime starts.

fn main() -> Result<(), lambda_http::Error> {
    shared::attachments::sandbox::child_main_if_asked();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(shared::runtime::run_crawler())
}
