//! Lambda for `/api/v1/dataset/{id}/delete`: [`shared::api::dataset::DatasetDelete`] serves it.

use shared::api::dataset::DatasetDelete;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<DatasetDelete>(Route::DatasetDelete).await
}
