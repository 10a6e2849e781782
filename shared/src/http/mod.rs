//! The HTTP edge: reading API Gateway requests, writing JSON answers, authentication,
//! and the table of routes that both the Lambdas and the local stack dispatch through.

pub mod auth;
pub mod openapi;
pub mod request;
pub mod response;
pub mod routes;
