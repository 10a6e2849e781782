//! The sync engine: one run mirrors an integration's Notion workspace into its dataset.
//!
//! - [`message`]: what the sync queue carries,
//! - [`state`]: the run's checkpoint and the per-page index kept in DynamoDB,
//! - [`content`]: reading one page's content with as few requests as possible,
//! - [`records`]: turning a page into records (text, chunks, stable ids),
//! - [`run`]: the run itself (enumerate, read, write, delete, finish, continue),
//! - [`sqs`]: the SQS batch entry point the crawler Lambda and the local stack share.

pub mod content;
pub mod message;
pub mod records;
pub mod run;
pub mod sqs;
pub mod state;
