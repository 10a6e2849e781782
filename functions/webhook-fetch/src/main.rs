//! Lambda for `/api/v1/integration/notion/{id}/webhook/fetch`; the handler lives in
//! `shared::api::webhook`.

use shared::http::routes::Route;
use shared::runtime::WithWebhookTokens;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_route::<WithWebhookTokens>(Route::WebhookFetch).await
}
