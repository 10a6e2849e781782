//! The sync engine: one run mirrors an integration's Notion workspace into its dataset.
//!
//! - [`adapters`]: the [`Crawler`] (its adapters and settings) and the steps every stage
//!   shares: ending a run, refreshing a token,
//! - [`engine`]: a run's start (lease, configuration snapshot),
//! - [`backoff`]: the per-workspace limit shared by the integrations of one workspace,
//! - [`frontier`]: the run's rules with no I/O: what is known, what is next, when it is complete,
//! - [`run`]: one invocation's lane loop (listing, reading, writing, checkpoints) and hand-over,
//! - [`page`]: reading and writing one page,
//! - [`content`]: reading one page's content with as few requests as possible,
//! - [`records`]: turning a page into records (text, chunks, stable ids),
//! - [`sqs`]: the SQS batch entry point the crawler Lambda and the local stack share,
//! - [`webhook`]: the flush of webhook events into a targeted run, and its targets.
//!
//! What a run keeps between invocations (checkpoint, page index, summary) is in
//! [`crate::domain::run`]; the queue's message in [`crate::domain::sync`].

pub mod adapters;
pub mod attachments;
pub mod backoff;
pub mod content;
pub mod engine;
pub mod frontier;
pub mod page;
pub mod purge;
pub mod records;
pub mod run;
pub mod sqs;
pub mod webhook;

pub use adapters::{Crawler, CrawlerSettings, RunResult, UNAUTHORIZED_ERROR};
