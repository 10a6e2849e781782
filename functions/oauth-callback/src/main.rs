//! Lambda for `/api/v1/integration/notion/oauth/callback`; the handler lives in `shared::api`.

use shared::http::routes::Route;
use shared::runtime::WithTokensAndOAuth;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_route::<WithTokensAndOAuth>(Route::OAuthCallback).await
}
