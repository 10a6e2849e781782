//! Lambda for `/api/v1/integration/notion/{id}/sync`: [`shared::api::sync::ManualSync`] serves it.

use shared::api::sync::ManualSync;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<ManualSync>(Route::IntegrationSync).await
}
