//! The API Gateway (HTTP API) Lambda authorizer, simple-response format.
//!
//! A known key is answered with `accountId` in the context, which API Gateway caches per
//! `Authorization` header. Every other request is still let through, without an account:
//! the route's handler then answers SPEC's `401 UNAUTHENTICATED` JSON body, which an HTTP
//! API cannot produce for a denied request (it answers its own `403 {"message":"Forbidden"}`).
//! Handlers never serve a request without resolving its account, so nothing is exposed.

use crate::http::auth::{account_for_header, ACCOUNT_ID_CONTEXT_KEY};
use crate::ports::AccountStore;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_http::http::header;
use serde_json::{json, Value};

/// Decides one authorization request.
pub async fn authorize(
    accounts: &dyn AccountStore,
    event: &ApiGatewayV2CustomAuthorizerV2Request,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse<Value> {
    let header = event.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = match account_for_header(header, accounts).await {
        Ok(account_id) => json!({ ACCOUNT_ID_CONTEXT_KEY: account_id }),
        Err(err) => {
            if let crate::ApiError::Internal(source) = &err {
                tracing::error!(error = %crate::error::error_chain(source.as_ref()), "authorizer lookup failed");
            }
            json!({})
        }
    };
    response
}
