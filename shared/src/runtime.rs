//! Start-up shared by every function binary: tracing, typed config, SDK clients built
//! once outside the handler, and the Lambda runtime loop.

use crate::api::{self, App};
use crate::aws::dynamo::DynamoStore;
use crate::aws::secrets::SecretsManagerTokens;
use crate::config::Config;
use crate::http::routes::Route;
use aws_config::SdkConfig;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::{service_fn, Error, LambdaEvent, Request};

/// Builds the adapters from a configuration and an SDK configuration.
pub fn build_app(config: &Config, sdk: &SdkConfig) -> App {
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        config.table_name.clone(),
        config.records_table_name.clone(),
    );
    let tokens = SecretsManagerTokens::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        config.secret_prefix.clone(),
    );
    App::new(store, tokens)
}

async fn app_from_env() -> Result<App, Error> {
    let config = Config::from_env()?;
    let sdk = crate::aws::clients::sdk_config_from_env().await;
    Ok(build_app(&config, &sdk))
}

/// Runs an API route's Lambda: the whole `main` of a route function.
pub async fn run_route(route: Route) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = app_from_env().await?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(api::handle(app, route, req).await)
    }))
    .await
}

/// Runs the API Gateway Lambda authorizer.
pub async fn run_authorizer() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = app_from_env().await?;
    let app = &app;
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            Ok::<_, std::convert::Infallible>(
                api::authorizer::authorize(app.accounts.as_ref(), &event.payload).await,
            )
        },
    ))
    .await
}
