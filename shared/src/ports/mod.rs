//! The narrow capabilities handlers depend on. Each route uses only the traits it needs
//! (named in its `build`, over [`Provide`]); the AWS adapters in `aws` implement them.

pub mod provide;
mod stores;

pub use provide::{EventWriter, Provide, Settings};
pub use stores::*;
