//! Notion's JSON shapes (page, block, database, data source, list, error) and the enhanced
//! markdown of `GET /v1/pages/{id}/markdown`, from the workspace model.
//! [`json`] the API's objects, [`markdown`] the markdown endpoint, [`minimal`] the fewest
//! requests a crawl needs.

pub mod json;
pub mod markdown;
pub mod minimal;

pub use json::*;
pub use markdown::*;
pub use minimal::*;
