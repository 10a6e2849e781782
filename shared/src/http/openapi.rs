//! The API's OpenAPI 3.1 document (`shared/api/openapi.json`), served by the local stack at
//! `/api/v1/openapi.json` and checked against the handlers by the tests.

/// The OpenAPI document, as JSON text.
pub const DOCUMENT: &str = include_str!("../../api/openapi.json");

/// Where the local stack serves [`DOCUMENT`].
pub const PATH: &str = "/api/v1/openapi.json";
