//! Lambda for `/api/v1/dataset/{id}/record/{recordId}/fetch`; the handler lives in `shared::api`.

use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_route(Route::RecordFetch).await
}
