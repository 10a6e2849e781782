//! Lambda for `/api/v1/dataset/list`: [`shared::api::dataset::Datasets`] serves it.

use shared::api::dataset::Datasets;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<Datasets>(Route::DatasetList).await
}
