//! Lambda for `/api/v1/dataset/{id}/delete`; the handler lives in `shared::api`.

use shared::http::routes::Route;
use shared::runtime::WithQueue;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_route::<WithQueue>(Route::DatasetDelete).await
}
