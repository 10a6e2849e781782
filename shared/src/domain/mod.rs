//! Domain types and rules: ids, resources, field validation, schedules, paging.
//! Nothing here knows about AWS.

pub mod account;
pub mod dataset;
pub mod fields;
pub mod ids;
pub mod integration;
pub mod paging;
pub mod record;
pub mod schedule;
pub mod time;
