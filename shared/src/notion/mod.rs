//! Everything about Notion: the API the crawler reads ([`api`]: the trait and its error),
//! the HTTP client with its rate limiter and retry policy, OAuth, the few object shapes the
//! crawler reads, and, apart from all of those, [`format`]: Notion's content as Markdown.

pub mod api;
pub mod client;
pub mod format;
pub mod limiter;
pub mod model;
pub mod oauth;
pub mod properties;

pub use crate::domain::version::NotionVersion;
