//! Domain types and rules: ids, resources, field validation, schedules, paging, and what a
//! sync run keeps between invocations. Nothing here knows about AWS, HTTP or the crawler.

pub mod account;
pub mod dataset;
pub mod event;
pub mod fields;
pub mod file;
pub mod ids;
pub mod integration;
pub mod oauth;
pub mod paging;
pub mod record;
pub mod request_limits;
pub mod run;
pub mod schedule;
pub mod sync;
pub mod time;
pub mod version;
pub mod webhook;
