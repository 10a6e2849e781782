//! Schedules: `syncSchedule` kept in step with EventBridge Scheduler (the AWS emulator's
//! Scheduler API) by create, update and delete; firing them locally queues the same sync
//! as a manual one, minus the cooldown.

use integration_tests::TestEnv;
use notion_emulator::generate::{generate, Options};
use serde_json::{json, Value};
use shared::aws::scheduler::{get_schedule, schedule_name};
use std::time::Duration;

const TOKEN: &str = "secret_schedule_token_0123456789";

async fn stored(env: &TestEnv, id: &str) -> Option<shared::aws::scheduler::StoredSchedule> {
    get_schedule(&env.scheduler, &env.config.schedule_group, &schedule_name(id))
        .await
        .unwrap()
}

/// Fires what is due in the `seconds` after `from`, as EventBridge Scheduler would.
async fn fire(env: &TestEnv, from: chrono::DateTime<chrono::Utc>, seconds: i64) -> Vec<String> {
    let to = from + chrono::Duration::seconds(seconds);
    let trigger = shared::sync::schedule::ScheduleTrigger::build(&env.app).expect("the trigger builds");
    local_stack::fire_due_schedules(&env.scheduler, &env.config.schedule_group, &trigger, from, to)
        .await
        .unwrap()
}

fn update(id: &str) -> String {
    format!("/api/v1/integration/notion/{id}/update")
}

#[tokio::test]
async fn schedule_lifecycle_follows_the_integration() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let id = env
        .create_integration(&key, &json!({"name": "s", "syncSchedule": "@daily"}))
        .await;
    let schedule = stored(&env, &id).await.expect("created with the integration");
    assert_eq!(schedule.expression, "cron(0 0 * * ? *)");
    assert_eq!(schedule.timezone.as_deref(), Some("UTC"));
    assert!(schedule.enabled);
    assert_eq!(schedule.target_arn, env.config.schedule_target_arn.clone().unwrap());
    let input = schedule.input.unwrap();
    assert_eq!(input.integration_id, id);
    assert!(input.account_id.starts_with("account_"));

    env.post(&update(&id), &key, &json!({"syncSchedule": "30 2 * * 1-5"}))
        .await
        .ok();
    assert_eq!(stored(&env, &id).await.unwrap().expression, "cron(30 2 ? * 2-6 *)");
    env.post(&update(&id), &key, &json!({"name": "renamed"})).await.ok();
    assert_eq!(
        stored(&env, &id).await.unwrap().expression,
        "cron(30 2 ? * 2-6 *)",
        "untouched by other fields"
    );
    env.post(&update(&id), &key, &json!({"syncSchedule": null})).await.ok();
    assert!(stored(&env, &id).await.is_none(), "removed with null");
    assert_eq!(env.fetch_integration(&key, &id).await["syncSchedule"], Value::Null);
    env.post(&update(&id), &key, &json!({"syncSchedule": "@hourly"}))
        .await
        .ok();
    assert_eq!(stored(&env, &id).await.unwrap().expression, "rate(1 hour)");
    env.post(&update(&id), &key, &json!({"syncSchedule": ""})).await.ok();
    assert!(stored(&env, &id).await.is_none(), "removed with an empty string");
    env.post(&update(&id), &key, &json!({"syncSchedule": "*/15 * * * *"}))
        .await
        .ok();
    assert_eq!(stored(&env, &id).await.unwrap().expression, "cron(0/15 * * * ? *)");

    env.post(&format!("/api/v1/integration/notion/{id}/delete"), &key, &json!({}))
        .await
        .ok();
    assert!(stored(&env, &id).await.is_none(), "deleted with the integration");
    let none = env.create_integration(&key, &json!({"name": "no schedule"})).await;
    assert!(stored(&env, &none).await.is_none());
}

#[tokio::test]
async fn invalid_schedules_are_refused_and_change_nothing() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let id = env.create_integration(&key, &json!({"syncSchedule": "@weekly"})).await;
    for (expr, needle) in [
        ("0 0 1 * 1", "both day-of-month and day-of-week"),
        ("0 0 * * * *", "6 fields"),
        ("61 * * * *", "minute"),
        ("* 25 * * *", "hour"),
        ("0 0 32 * *", "day-of-month"),
        ("0 0 * 13 *", "month"),
        ("0 0 * * 8", "day-of-week"),
        ("@yearly", "@yearly"),
        ("every day", "fields"),
    ] {
        for path in ["/api/v1/integration/notion/create".to_string(), update(&id)] {
            let error = env
                .post(&path, &key, &json!({"syncSchedule": expr}))
                .await
                .assert_error(400, "VALIDATION_ERROR");
            assert_eq!(error["details"][0]["field"], "syncSchedule");
            let message = error["details"][0]["message"].as_str().unwrap();
            assert!(message.contains(needle), "{expr}: {message}");
        }
    }
    assert_eq!(stored(&env, &id).await.unwrap().expression, "cron(0 0 ? * SUN *)");
    assert_eq!(
        env.get("/api/v1/integration/notion/list", &key).await.ok()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_scheduler_failure_fails_the_request_cleanly() {
    let mut env = TestEnv::new().await;
    let key = env.key().await;
    let id = env
        .create_integration(&key, &json!({"name": "kept", "syncSchedule": "@daily", "token": TOKEN}))
        .await;
    let before = env.fetch_integration(&key, &id).await;
    // A group that does not exist: every Scheduler call fails.
    let mut config = env.config.clone();
    config.schedule_group = "no-such-group".into();
    let sdk = shared::aws::clients::sdk_config_for_emulator(&integration_tests::emulator_endpoint()).await;
    env.use_app(shared::runtime::build_app(&config, &sdk).expect("the test configuration is complete"));

    let answer = env
        .post(
            "/api/v1/integration/notion/create",
            &key,
            &json!({"name": "new", "syncSchedule": "@daily", "token": "secret_new_one"}),
        )
        .await;
    answer.assert_error(500, "INTERNAL");
    let items = env.get("/api/v1/integration/notion/list", &key).await.ok()["items"].clone();
    assert_eq!(
        items.as_array().unwrap().len(),
        1,
        "the failed create left no integration: {items}"
    );
    assert!(
        !format!("{:?}", env.secrets.list_secrets().send().await.unwrap().secret_list()).contains("secret_new_one")
    );

    env.post(
        &update(&id),
        &key,
        &json!({"name": "changed", "syncSchedule": "@hourly"}),
    )
    .await
    .assert_error(500, "INTERNAL");
    assert_eq!(
        env.fetch_integration(&key, &id).await,
        before,
        "the failed update changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fired_schedules_sync_like_manual_ones_without_the_cooldown() {
    let env = TestEnv::new().await; // manual cooldown of 900 s
    let key = env.key().await;
    let workspace = generate(&Options {
        pages: 12,
        seed: 9,
        token: TOKEN.into(),
    });
    let emulator = notion_emulator::Emulator::new(
        workspace,
        notion_emulator::Config {
            window_budget: Some(3_000),
            ..Default::default()
        },
    );
    let notion = notion_emulator::spawn(emulator).await.unwrap();
    let dataset = env.create_dataset(&key, &json!({})).await;
    let id = env
        .create_integration(
            &key,
            &json!({"datasetId": dataset, "token": TOKEN, "syncSchedule": "* * * * *"}),
        )
        .await;
    let other = env
        .create_integration(
            &key,
            &json!({"datasetId": dataset, "token": TOKEN, "syncSchedule": "0 3 * * *"}),
        )
        .await;
    // A manual sync first: its cooldown does not hold scheduled ones back.
    env.post(&format!("/api/v1/integration/notion/{id}/sync"), &key, &json!({}))
        .await
        .ok();
    let crawler = env.crawler(&notion, 40);
    env.drain(&crawler, Duration::from_secs(300)).await;

    let t0 = chrono::DateTime::parse_from_rfc3339("2025-11-20T10:00:30Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let fired = fire(&env, t0, 60).await;
    assert_eq!(
        fired,
        vec![id.clone()],
        "only the every-minute schedule is due in that minute"
    );
    assert_eq!(env.fetch_integration(&key, &id).await["syncStatus"], "pending");
    // Fired again while pending: coalesced, not queued twice.
    fire(&env, t0, 60).await;
    assert_eq!(env.queue_depth().await, 1);
    env.drain(&crawler, Duration::from_secs(300)).await;
    let state = env.fetch_integration(&key, &id).await;
    assert_eq!(state["syncStatus"], "synced");
    assert_eq!(state["lastSyncSummary"]["trigger"], "scheduled");
    assert!(state["lastSyncedAt"].as_str().is_some());
    assert_eq!(env.fetch_integration(&key, &other).await["syncStatus"], Value::Null);

    let at_three = chrono::DateTime::parse_from_rfc3339("2025-11-21T02:59:30Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let fired = fire(&env, at_three, 60).await;
    assert!(fired.contains(&other), "{fired:?}");
}

#[tokio::test]
async fn a_schedule_that_cannot_sync_records_why_and_orphans_are_removed() {
    let env = TestEnv::new().await;
    let key = env.key().await;
    let id = env
        .create_integration(&key, &json!({"syncSchedule": "* * * * *"}))
        .await;
    let t0 = chrono::Utc::now();
    fire(&env, t0, 61).await;
    let state = env.fetch_integration(&key, &id).await;
    assert_eq!(state["syncStatus"], "error");
    assert!(
        state["syncError"]
            .as_str()
            .unwrap()
            .starts_with("Scheduled sync skipped: The integration has no dataset"),
        "{state}"
    );
    assert_eq!(env.queue_depth().await, 0);

    // A schedule whose integration is gone (say a delete failed half-way) removes itself.
    use shared::ports::IntegrationStore;
    let input = stored(&env, &id).await.unwrap().input.unwrap();
    env.store.delete_integration(&input.account_id, &id).await.unwrap();
    fire(&env, t0, 61).await;
    assert!(stored(&env, &id).await.is_none());
}

/// The load test of SPEC's consistency rule: 32 clients update `syncSchedule` of one
/// integration at once, several rounds; after each, EventBridge Scheduler holds exactly
/// what the item says, every answer is 200 or 409, and each 200 left one event.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_schedule_updates_leave_scheduler_equal_to_the_item() {
    const CLIENTS: usize = 32;
    let env = TestEnv::new().await;
    let key = env.key().await;
    let id = env
        .create_integration(&key, &json!({"name": "contended", "syncSchedule": "@daily"}))
        .await;
    let mut accepted = 0;
    for round in 0..3 {
        let answers = futures::future::join_all((0..CLIENTS).map(|client| {
            let (env, key, id) = (&env, &key, &id);
            async move {
                // A mix of schedules, removals and other fields beside them.
                let schedule = match client % 4 {
                    0 => Value::Null,
                    1 => json!(format!("{} {} * * *", client, round)),
                    2 => json!("@hourly"),
                    _ => json!(format!("*/{} * * * *", 5 + client % 10)),
                };
                env.post(
                    &update(id),
                    key,
                    &json!({"syncSchedule": schedule, "description": format!("client {client} round {round}")}),
                )
                .await
            }
        }))
        .await;
        for a in &answers {
            match a.status.as_u16() {
                200 => accepted += 1,
                409 => {
                    a.assert_error(409, "CONFLICT");
                }
                other => panic!("round {round}: {other}: {}", a.text),
            }
        }
        assert!(answers.iter().any(|a| a.status == 200), "round {round}: none accepted");
        let item = env.fetch_integration(&key, &id).await;
        let wanted = item["syncSchedule"].as_str().map(|s| {
            shared::domain::schedule::SyncSchedule::parse(s)
                .unwrap()
                .to_eventbridge()
        });
        let held = stored(&env, &id).await.map(|s| s.expression);
        assert_eq!(held, wanted, "round {round}: Scheduler and the item disagree: {item}");
    }
    let events = env
        .get(
            &format!("/api/v1/event/log/list?take=100&type=integration.updated&notionIntegrationId={id}"),
            &key,
        )
        .await
        .ok();
    assert_eq!(
        events["items"].as_array().unwrap().len(),
        accepted,
        "one event per accepted update"
    );
}
