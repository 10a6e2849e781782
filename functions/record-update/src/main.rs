//! Lambda for `/api/v1/dataset/{id}/record/{recordId}/update`: [`shared::api::record::Records`] serves it.

use shared::api::record::Records;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<Records>(Route::RecordUpdate).await
}
