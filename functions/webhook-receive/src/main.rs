//! Lambda for `/api/v1/integration/notion/{id}/webhook`: [`shared::api::webhook::WebhookReceive`] serves it.

use shared::api::webhook::WebhookReceive;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_public::<WebhookReceive>(Route::WebhookReceive).await
}
