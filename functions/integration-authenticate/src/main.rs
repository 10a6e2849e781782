//! Lambda for `/api/v1/integration/notion/{id}/authenticate`: [`shared::api::oauth::Authenticate`] serves it.

use shared::api::oauth::Authenticate;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<Authenticate>(Route::IntegrationAuthenticate).await
}
