//! Lambda for `/api/v1/integration/notion/oauth/callback`: [`shared::api::oauth::Callback`] serves it.

use shared::api::oauth::Callback;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_public::<Callback>(Route::OAuthCallback).await
}
