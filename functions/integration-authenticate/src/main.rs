//! Lambda for `/api/v1/integration/notion/{id}/authenticate`; the handler lives in `shared::api`.

use shared::http::routes::Route;
use shared::runtime::StoresOnly;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_route::<StoresOnly>(Route::IntegrationAuthenticate).await
}
