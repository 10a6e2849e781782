//! The service's error types, each API error's status, code and SPEC §1 body
//! (`{"message", "code", "details"?}`); [`crate::http::response`] turns one into an answer.
//! 5xx bodies say nothing internal: the cause is logged once, there, with its source chain.

use lambda_http::http::StatusCode;
use serde::Serialize;

/// Boxed error used as the typed source of infrastructure failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub use crate::domain::fields::{FieldError, InputError};

/// A configuration problem found at cold start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is absent or empty.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A numeric environment variable does not parse.
    #[error("environment variable {0} is not a valid number: {1:?}")]
    Invalid(&'static str, String),
    /// An environment variable holds none of the values it allows.
    #[error("environment variable {0} is {1:?}; it must be one of: {2}")]
    NotOneOf(&'static str, String, String),
}

/// A failure of a storage or secret adapter, typed so that callers can tell a conflict
/// from an outage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The item the operation needs does not exist (or belongs to another account).
    #[error("item not found")]
    NotFound,
    /// A conditional write lost a race or its precondition no longer holds.
    #[error("conditional write failed: {0}")]
    Conflict(&'static str),
    /// The account's plan limit would be exceeded.
    #[error("plan limit exceeded: {0}")]
    LimitExceeded(&'static str),
    /// A paging cursor that does not decode to a key of this listing.
    #[error("cursor is not valid for this listing")]
    BadCursor,
    /// The AWS service failed or could not be reached.
    #[error("{operation} failed")]
    Aws {
        /// The SDK operation that failed (`GetItem`, `PutSecretValue`, ...).
        operation: &'static str,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// An item in the table could not be read back into its domain type.
    #[error("stored item is malformed")]
    Corrupt(#[source] BoxError),
}

impl StoreError {
    /// Wraps an SDK error with the operation it came from.
    pub fn aws(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Aws {
            operation,
            source: source.into(),
        }
    }
}

/// Every way an API request can fail, each with its SPEC status and code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `BAD_REQUEST`: unparseable body, unknown fields, wrong types.
    #[error("{message}")]
    BadRequest {
        /// The sentence returned to the client.
        message: String,
        /// Per-field problems, when the problem is with named fields.
        details: Vec<FieldError>,
    },
    /// 400 `VALIDATION_ERROR`: a field's value is out of range or malformed.
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    /// 401 `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// 404 `NOT_FOUND`; the argument names the kind of resource.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409 `CONFLICT`.
    #[error("{0}")]
    Conflict(String),
    /// 403 `LIMIT_EXCEEDED`.
    #[error("{0}")]
    LimitExceeded(String),
    /// 429 `RATE_LIMITED`, with the seconds to wait.
    #[error("{message}")]
    RateLimited {
        /// The sentence returned to the client.
        message: String,
        /// Value of the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// 500 `INTERNAL`: a bug or an AWS failure. The source is logged, never returned.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    /// A 400 `BAD_REQUEST` without field details.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } | Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::LimitExceeded(_) => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable `code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "BAD_REQUEST",
            Self::Validation(_) => "VALIDATION_ERROR",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::LimitExceeded(_) => "LIMIT_EXCEEDED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Validation(details) if details.len() == 1 => {
                format!("The request is invalid: {} {}", details[0].field, details[0].message)
            }
            Self::Validation(_) => "The request is invalid; see details for each field.".into(),
            Self::NotFound(what) => format!("The {what} does not exist."),
            Self::Internal(_) => "Something went wrong on our side; please retry later.".into(),
            other => other.to_string(),
        }
    }

    /// SPEC's error body for this error: message, code and, for validation, details.
    pub fn body(&self) -> ErrorBody {
        let details = match self {
            Self::Validation(d) => Some(d.clone()),
            Self::BadRequest { details, .. } if !details.is_empty() => Some(details.clone()),
            _ => None,
        };
        ErrorBody {
            message: self.message(),
            code: self.code(),
            details,
        }
    }
}

impl From<InputError> for ApiError {
    fn from(err: InputError) -> Self {
        match err {
            InputError::Malformed { message, details } => Self::BadRequest { message, details },
            InputError::Invalid(details) => Self::Validation(details),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict(what) => Self::Conflict(format!(
                "The request conflicts with a concurrent change ({what}); please retry."
            )),
            StoreError::LimitExceeded(what) => Self::LimitExceeded(format!("Your plan's limit on {what} is reached.")),
            StoreError::BadCursor => Self::BadRequest {
                message: "The cursor is not valid for this listing.".into(),
                details: vec![FieldError::new("cursor", "is not a cursor returned by this listing")],
            },
            other => Self::Internal(Box::new(other)),
        }
    }
}

/// SPEC §1's error body.
#[derive(Serialize)]
pub struct ErrorBody {
    message: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Vec<FieldError>>,
}

/// Formats an error with all its sources, for logs.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(err: ApiError) -> (u16, serde_json::Value) {
        let response = err.into_response();
        let status = response.status().as_u16();
        (status, serde_json::from_slice(response.body()).unwrap())
    }

    #[test]
    fn internal_errors_say_nothing_internal() {
        let (status, json) = body(ApiError::Internal("dynamodb table secret-name exploded".into()));
        assert_eq!(status, 500);
        assert_eq!(json["code"], "INTERNAL");
        assert!(!json.to_string().contains("exploded"));
    }

    #[test]
    fn validation_errors_carry_details() {
        let (status, json) = body(ApiError::Validation(vec![FieldError::new("name", "is too long")]));
        assert_eq!(status, 400);
        assert_eq!(json["code"], "VALIDATION_ERROR");
        assert_eq!(json["details"][0]["field"], "name");
        assert_eq!(json["message"], "The request is invalid: name is too long");
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let response = ApiError::RateLimited {
            message: "wait".into(),
            retry_after_secs: 42,
        }
        .into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "42");
    }

    #[test]
    fn store_conflicts_and_limits_map_to_their_codes() {
        assert_eq!(ApiError::from(StoreError::Conflict("x")).code(), "CONFLICT");
        assert_eq!(ApiError::from(StoreError::LimitExceeded("integrations")).status(), 403);
        assert_eq!(ApiError::from(StoreError::BadCursor).code(), "BAD_REQUEST");
        assert_eq!(ApiError::from(StoreError::aws("GetItem", "boom")).status(), 500);
    }
}
