//! Lambda consuming the sync queue; the sync engine lives in `shared::crawler`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_crawler().await
}
