//! Lambda for `/api/v1/integration/notion/list`: [`shared::api::integration::IntegrationReads`] serves it.

use shared::api::integration::IntegrationReads;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<IntegrationReads>(Route::IntegrationList).await
}
