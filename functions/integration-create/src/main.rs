//! Lambda for `/api/v1/integration/notion/create`; the handler lives in `shared::api`.

use shared::http::routes::Route;
use shared::runtime::WithTokensAndSchedules;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_route::<WithTokensAndSchedules>(Route::IntegrationCreate).await
}
