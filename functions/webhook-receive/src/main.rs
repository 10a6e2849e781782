//! Lambda for `/api/v1/integration/notion/{id}/webhook` (public, signed by Notion); the
//! handler lives in `shared::api::webhook`.

use shared::http::routes::Route;
use shared::runtime::WithWebhookTokensAndQueue;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_route::<WithWebhookTokensAndQueue>(Route::WebhookReceive).await
}
