//! Lambda for `/api/v1/integration/notion/{id}/webhook/fetch`: [`shared::api::webhook::WebhookFetch`] serves it.

use shared::api::webhook::WebhookFetch;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<WebhookFetch>(Route::WebhookFetch).await
}
