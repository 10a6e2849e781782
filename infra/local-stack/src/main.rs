//! `local-stack`: runs the service locally, and administers accounts and API keys.
//!
//! ```text
//! local-stack [serve]                       serve the API on 127.0.0.1:$PORT (needs AWS_ENDPOINT_URL)
//! local-stack provision                     create the tables if missing
//! local-stack create-account [KEY]          create an account with an API key (generated if omitted)
//! local-stack add-key ACCOUNT_ID [KEY]      add an API key to an account (key rotation)
//! local-stack revoke-key KEY                revoke an API key
//! ```
//! Table and secret names come from `TABLE_NAME`, `RECORDS_TABLE_NAME` and `SECRET_PREFIX`
//! (local defaults when unset); AWS access from the usual `AWS_*` variables.

use shared::aws::dynamo::DynamoStore;
use shared::aws::provision::ensure_tables;
use shared::config::Config;
use shared::domain::account::{generate_api_key, Account, Plan};
use shared::domain::ids::{new_id, IdKind};
use shared::domain::time::rfc3339;
use shared::sync::schedule::ScheduleTrigger;
use std::error::Error;
use std::net::SocketAddr;

type BoxError = Box<dyn Error + Send + Sync>;

fn config() -> Result<Config, BoxError> {
    let defaults = [
        ("TABLE_NAME", "notion-local"),
        ("RECORDS_TABLE_NAME", "notion-local-records"),
        ("SECRET_PREFIX", "notion-integrations/local/"),
    ];
    // The OAuth callback's origin: this stack's own address unless told otherwise.
    let origin = format!(
        "http://127.0.0.1:{}",
        std::env::var("PORT").unwrap_or_else(|_| "3000".into())
    );
    Ok(Config::from_lookup(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| defaults.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
            .or_else(|| (name == "PUBLIC_BASE_URL").then(|| origin.clone()))
    })?)
}

fn plan_from_env() -> Result<Plan, BoxError> {
    let mut plan = Plan::default();
    for (name, field) in [
        ("PLAN_MAX_RECORDS", &mut plan.max_records),
        ("PLAN_MAX_INTEGRATIONS", &mut plan.max_integrations),
        ("PLAN_MAX_PAGES_PER_SYNC", &mut plan.max_pages_per_sync),
        ("PLAN_MAX_SYNC_SECONDS", &mut plan.max_sync_seconds),
    ] {
        if let Ok(v) = std::env::var(name) {
            *field = v
                .parse()
                .map_err(|_| format!("{name} must be a whole number, not {v:?}"))?;
        }
    }
    Ok(plan)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // The crawler this process runs extracts attachments in children of this binary.
    shared::attachments::sandbox::child_main_if_asked();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,aws_config=warn".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = config()?;
    let sdk = shared::aws::clients::sdk_config_from_env().await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table_name.clone(),
        config.records_table_name.clone(),
    );
    let now = rfc3339(chrono::Utc::now());
    match args.as_slice() {
        [] | ["serve"] => serve(&config, &sdk, &store, &now).await,
        ["provision"] => {
            ensure_tables(store.client(), &config.table_name, &config.records_table_name).await?;
            println!(
                "tables {} and {} are ready",
                config.table_name, config.records_table_name
            );
            Ok(())
        }
        ["create-account", rest @ ..] if rest.len() <= 1 => {
            let key = rest.first().map_or_else(generate_api_key, |k| k.to_string());
            let account = Account {
                id: new_id(IdKind::Account),
                plan: plan_from_env()?,
                created_at: now,
                records_used: 0,
            };
            store.create_account(&account, std::slice::from_ref(&key)).await?;
            println!("account {} created; API key: {key}", account.id);
            Ok(())
        }
        ["add-key", account_id, rest @ ..] if rest.len() <= 1 => {
            let key = rest.first().map_or_else(generate_api_key, |k| k.to_string());
            store.add_api_key(account_id, &key).await?;
            println!("API key added to {account_id}: {key}");
            Ok(())
        }
        ["revoke-key", key] => {
            store.revoke_api_key(key).await?;
            println!("API key revoked");
            Ok(())
        }
        _ => Err(
            "usage: local-stack [serve | provision | create-account [KEY] | add-key ACCOUNT_ID [KEY] | revoke-key KEY]"
                .into(),
        ),
    }
}

async fn serve(
    config: &Config,
    sdk: &shared::aws::clients::SdkConfig,
    store: &DynamoStore,
    now: &str,
) -> Result<(), BoxError> {
    if std::env::var("AWS_ENDPOINT_URL").map_or(true, |v| v.is_empty()) {
        return Err("serve talks only to a local AWS emulator: set AWS_ENDPOINT_URL (infra/local/run.sh does)".into());
    }
    ensure_tables(store.client(), &config.table_name, &config.records_table_name).await?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue_name = std::env::var("SYNC_QUEUE_NAME").unwrap_or_else(|_| "notion-local-sync".into());
    let queue_url = shared::aws::provision::ensure_queue(&sqs, &queue_name, 120, 5).await?;
    let mut config = config.clone();
    config.sync_queue_url = Some(queue_url.clone());
    // Locally the trigger runs in-process: these ARNs only have to be well-formed.
    config
        .schedule_target_arn
        .get_or_insert_with(|| "arn:aws:lambda:us-east-1:000000000000:function:schedule-trigger".into());
    config
        .schedule_role_arn
        .get_or_insert_with(|| "arn:aws:iam::000000000000:role/notion-scheduler".into());
    let scheduler_client = aws_sdk_scheduler::Client::new(sdk);
    shared::aws::scheduler::ensure_group(&scheduler_client, &config.schedule_group).await?;
    let config = &config;
    let keys: Vec<String> = match std::env::var("DEV_API_KEY") {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        _ => vec![generate_api_key()],
    };
    let plan = plan_from_env()?;
    for key in &keys {
        if shared::domain::account::bearer_key(&format!("Bearer {key}")).is_none() {
            return Err(
                format!("DEV_API_KEY entries must be 8 to 256 visible ASCII characters; {key:?} is not").into(),
            );
        }
        let account = store.ensure_account_for_key(key, plan, now).await?;
        println!("API key {key} -> {account}");
    }
    let app = shared::runtime::build_app(config, sdk)?;
    let crawler = shared::runtime::build_crawler(config, &app, None)?;
    let budget = std::time::Duration::from_secs(
        std::env::var("CRAWLER_INVOCATION_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(840),
    );
    println!(
        "crawler polling {queue_url} (Notion at {}, {} rps)",
        config.notion_api_url, config.notion_max_rps
    );
    tokio::spawn(local_stack::poll_forever(sqs, queue_url, crawler, budget));
    println!("firing schedules of group {} every 5 s", config.schedule_group);
    tokio::spawn(local_stack::fire_schedules_forever(
        scheduler_client,
        config.schedule_group.clone(),
        ScheduleTrigger::build(&app)?,
    ));
    let port: u16 = std::env::var("PORT")
        .ok()
        .map_or(Ok(3000), |p| p.parse())
        .map_err(|_| "PORT must be a port number")?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Notion integrations API at http://{addr}/api/v1/ (Ctrl-C stops)");
    axum::serve(listener, local_stack::router(&app)?)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
