//! Everything about talking to Notion: the HTTP client with its rate limiter and retry
//! policy, the few object shapes the crawler reads, and Markdown rendering (from blocks,
//! and from Notion's enhanced markdown).

pub mod api;
pub mod client;
pub mod enhanced;
pub mod limiter;
pub mod markdown;
pub mod model;
pub mod oauth;

/// The `Notion-Version` header every request carries.
pub const NOTION_VERSION: &str = "2025-09-03";
