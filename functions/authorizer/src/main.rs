//! API Gateway Lambda authorizer; the logic lives in `shared::authorizer`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_authorizer().await
}
