//! Everything the Lambda functions of the Notion integrations service share.
//!
//! The tree says what things are:
//! - [`config`]: typed configuration read from the environment,
//! - [`error`]: the one error type and its mapping to SPEC's JSON error bodies,
//! - [`domain`]: ids, resources, validation rules and paging, free of any AWS type,
//! - [`crawler`]: the sync engine (checkpointed runs fed by the sync queue),
//! - [`ports`]: the narrow storage and secret traits the handlers depend on,
//! - [`aws`]: their DynamoDB and Secrets Manager adapters, and table provisioning,
//! - [`http`]: request parsing, responses, authentication and the route table,
//! - [`notion`]: the Notion API client, its rate limiter, and Markdown rendering,
//! - [`sync`]: asking for work (a sync request with typed refusals, a webhook flush, a fired
//!   schedule), below both the API and the crawler,
//! - [`api`]: one handler per API route (HTTP only),
//! - [`authorizer`]: the API Gateway Lambda authorizer,
//! - [`runtime`]: the start-up every function binary shares,
//! - `testing` (feature `testing`): in-memory ports and Notion for the fast test tier.

pub mod api;
pub mod attachments;
pub mod authorizer;
pub mod aws;
pub mod config;
pub mod crawler;
pub mod domain;
pub mod error;
pub mod http;
pub mod notion;
pub mod ports;
pub mod runtime;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::ApiError;
