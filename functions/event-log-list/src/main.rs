//! Lambda for `/api/v1/event/log/list`: [`shared::api::event::EventLogList`] serves it.

use shared::api::event::EventLogList;
use shared::http::routes::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::serve_keyed::<EventLogList>(Route::EventLogList).await
}
