//! Lambda invoked by EventBridge Scheduler; the logic lives in `shared::sync::schedule::ScheduleTrigger`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_schedule_trigger().await
}
