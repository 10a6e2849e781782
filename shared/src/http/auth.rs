//! Authentication: `Authorization: Bearer <api key>` resolves to an account.
//!
//! In production the API Gateway Lambda authorizer ([`crate::authorizer`]) resolves
//! the key once per cache period and passes `accountId` in its context. Handlers trust
//! that context when present and otherwise resolve the key themselves (a function URL
//! under `cargo lambda watch`, or a key the authorizer did not recognise), so every route
//! answers SPEC's 401 body, never API Gateway's own.

use crate::domain::account::{bearer_key, hash_api_key};
use crate::error::ApiError;
use crate::ports::AccountStore;
use lambda_http::http::header;
use lambda_http::{Request, RequestExt};

/// Name of the account id in the authorizer's context.
pub const ACCOUNT_ID_CONTEXT_KEY: &str = "accountId";

/// The account id the authorizer put in the request context, if any.
pub fn authorizer_account_id(req: &Request) -> Option<String> {
    let context = req.request_context_ref()?;
    let value = context.authorizer()?.fields.get(ACCOUNT_ID_CONTEXT_KEY)?;
    value.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// Resolves the key in an `Authorization` header value to an account id.
pub async fn account_for_header(header: Option<&str>, accounts: &dyn AccountStore) -> Result<String, ApiError> {
    let header = header.ok_or(ApiError::Unauthenticated(
        "The Authorization header is missing; send Authorization: Bearer <api key>.",
    ))?;
    let key = bearer_key(header).ok_or(ApiError::Unauthenticated(
        "The Authorization header is malformed; send Authorization: Bearer <api key>.",
    ))?;
    accounts
        .account_id_for_key(&hash_api_key(key))
        .await
        .map_err(ApiError::from)?
        .ok_or(ApiError::Unauthenticated("The API key is not valid."))
}

/// Headers ChatBotKit's SDKs send to act for a sub-account (SPEC §2.4).
pub const RUN_AS_HEADERS: [&str; 2] = ["x-runas-user-id", "x-runas-child-user-email"];

/// Refuses a request that asks to act for a sub-account: this service has none, and
/// silently acting on the caller's own account would be wrong.
pub fn refuse_run_as(req: &Request) -> Result<(), ApiError> {
    match RUN_AS_HEADERS.iter().find(|name| req.headers().contains_key(**name)) {
        None => Ok(()),
        Some(name) => Err(ApiError::BadRequest {
            message: "This service has no sub-accounts: send the request without the X-RunAs headers, with the API key of the account it is for.".into(),
            details: vec![crate::error::FieldError::new(
                match *name {
                    "x-runas-user-id" => "X-RunAs-User-Id",
                    _ => "X-RunAs-Child-User-Email",
                },
                "is not supported",
            )],
        }),
    }
}

/// The account making the request.
pub async fn authenticate(req: &Request, accounts: &dyn AccountStore) -> Result<String, ApiError> {
    if let Some(id) = authorizer_account_id(req) {
        return Ok(id);
    }
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    account_for_header(header, accounts).await
}
