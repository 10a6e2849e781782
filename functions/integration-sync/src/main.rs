//! Lambda for `/api/v1/integration/notion/{id}/sync`; the handler lives in `shared::api`.

use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_route(Route::IntegrationSync).await
}
