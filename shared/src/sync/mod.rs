//! Asking for work, below both the API and the crawler: requesting a sync ([`request`]:
//! prerequisites, cooldown, the pending flag, the queue), queueing the flush of webhook
//! work ([`flush`]), and what a fired schedule does ([`schedule`]).

pub mod flush;
pub mod request;
pub mod schedule;
