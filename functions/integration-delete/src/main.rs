//! Lambda for `/api/v1/integration/notion/{id}/delete`: [`shared::api::integration::IntegrationDelete`] serves it.

use shared::api::integration::IntegrationDelete;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<IntegrationDelete>(Route::IntegrationDelete).await
}
