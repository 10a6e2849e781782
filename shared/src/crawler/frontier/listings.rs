//! The listings of a run (search, databases found in content, data sources' rows): what
//! is in flight, the next request of each, and their answers.

use crate::domain::run::SourceCursor;
use crate::notion::api::NotionError;
use crate::notion::model::ListPage;

/// One listing of the run, as kept in flight (at most one request per listing at a time).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Listing {
    /// `POST /v1/search`.
    Search,
    /// `GET /v1/databases/{id}`: a database found in content, resolved to its data sources.
    Database(String),
    /// `POST /v1/data_sources/{id}/query`.
    Source(String),
}

/// The next request of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListingRequest {
    /// Search from this cursor.
    Search(Option<String>),
    /// Resolve this database.
    Database(String),
    /// Query this data source from its cursor and window.
    Source(SourceCursor),
}

impl ListingRequest {
    /// Which listing this request belongs to.
    pub fn listing(&self) -> Listing {
        match self {
            Self::Search(_) => Listing::Search,
            Self::Database(id) => Listing::Database(id.clone()),
            Self::Source(source) => Listing::Source(source.id.clone()),
        }
    }
}

/// A listing request's answer.
#[derive(Debug)]
pub enum Listed {
    /// A page of search results.
    Search(Result<ListPage, NotionError>),
    /// A database's data sources.
    Database(String, Result<crate::notion::model::DatabaseInfo, NotionError>),
    /// A page of a data source's rows.
    Source(SourceCursor, Result<ListPage, NotionError>),
}

impl Listed {
    /// Which listing answered.
    pub fn listing(&self) -> Listing {
        match self {
            Self::Search(_) => Listing::Search,
            Self::Database(id, _) => Listing::Database(id.clone()),
            Self::Source(source, _) => Listing::Source(source.id.clone()),
        }
    }

    /// The long wait Notion asked for instead of an answer, if it did.
    pub fn rate_limited(&self) -> Option<NotionError> {
        let error = match self {
            Self::Search(Err(e)) | Self::Source(_, Err(e)) => e,
            Self::Database(_, Err(e)) => e,
            _ => return None,
        };
        match error {
            NotionError::RateLimited { retry_after, reason } => Some(NotionError::RateLimited {
                retry_after: *retry_after,
                reason: reason.clone(),
            }),
            _ => None,
        }
    }
}
