//! Lambda for `/api/v1/integration/notion/create`: [`shared::api::integration::IntegrationCreate`] serves it.

use shared::api::integration::IntegrationCreate;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<IntegrationCreate>(Route::IntegrationCreate).await
}
