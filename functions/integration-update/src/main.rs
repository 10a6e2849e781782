//! Lambda for `/api/v1/integration/notion/{id}/update`: [`shared::api::integration_update::IntegrationUpdate`] serves it.

use shared::api::integration_update::IntegrationUpdate;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<IntegrationUpdate>(Route::IntegrationUpdate).await
}
