//! Notion's content as the clean Markdown of records, apart from how it is fetched:
//! [`flavored`] parses markdown answers (`GET /v1/pages/{id}/markdown`), [`markdown`]
//! renders block trees (their rich text through [`rich`]), and both write media and files
//! through [`media`].

pub mod flavored;
pub mod markdown;
pub mod media;
pub mod rich;
mod tags;
