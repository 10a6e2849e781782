//! Building the AWS SDK configuration once per process.

pub use aws_config::SdkConfig;
use aws_config::{BehaviorVersion, Region};

/// The SDK configuration from the environment (`AWS_REGION`, credentials, and
/// `AWS_ENDPOINT_URL` for a local emulator), as every function uses it.
pub async fn sdk_config_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The SDK configuration for a local AWS emulator at `endpoint` with fixed test
/// credentials, for the local stack and the tests.
pub async fn sdk_config_for_emulator(endpoint: &str) -> SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "emulator");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}
