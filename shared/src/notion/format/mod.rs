//! Notion's content as the clean Markdown of records, apart from how it is fetched:
//! [`flavored`] parses markdown answers (`GET /v1/pages/{id}/markdown`), [`markdown`]
//! renders block trees (their rich text through [`rich`]), and both write media and files
//! through [`media`].

pub mod flavored;
pub mod markdown;
pub mod media;
pub mod rich;
mod tags;

/// Whether the markdown endpoint renders blocks of type `kind` (with a synced block's
/// content): asked for the markdown of a block of any other type (a tab, a type Notion
/// added later), it answers with the block left out again, so its content comes from the
/// block API.
pub fn markdown_renders(kind: &str) -> bool {
    tags::RENDERED_TYPES.contains(&kind) || kind == "synced_block"
}
