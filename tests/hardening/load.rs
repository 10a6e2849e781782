//! A bounded concurrent load: no update lost, one sync accepted per cooldown.

use super::*;

/// One client's writes: it owns one field of one integration and writes it in order.
#[derive(Clone, Copy, Debug)]
enum Field {
    Name,
    Description,
    BlueprintId,
    Meta,
    ExpiresIn,
    SyncSchedule,
    Token,
    DatasetId,
}

const FIELDS: [Field; 8] = [
    Field::Name,
    Field::Description,
    Field::BlueprintId,
    Field::Meta,
    Field::ExpiresIn,
    Field::SyncSchedule,
    Field::Token,
    Field::DatasetId,
];

impl Field {
    /// The body writing the `n`th value, and the value a fetch must then show.
    fn write(self, n: usize, datasets: &[String]) -> (Value, Value) {
        let (key, value) = match self {
            Self::Name => ("name", json!(format!("name {n}"))),
            Self::Description => ("description", json!(format!("description {n}"))),
            Self::BlueprintId => ("blueprintId", json!(format!("bp_{n}"))),
            Self::Meta => ("meta", json!({"writer": n})),
            Self::ExpiresIn => ("expiresIn", json!(1_000 + n)),
            Self::SyncSchedule => ("syncSchedule", json!(format!("{} 3 * * *", n % 60))),
            Self::Token => ("token", json!(format!("secret_load_{n}"))),
            Self::DatasetId => ("datasetId", json!(datasets[n % datasets.len()])),
        };
        (json!({ key: value }), value)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_load_loses_no_update_and_accepts_one_sync_per_cooldown() {
    // 32 clients; LOAD_REQUESTS_PER_CLIENT raises the count (500 for the full run).
    let per_client: usize = std::env::var("LOAD_REQUESTS_PER_CLIENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let env = Arc::new(TestEnv::with_cooldown(900).await);
    let key = env.key().await;
    let datasets = vec![
        env.create_dataset(&key, &json!({"name": "one"})).await,
        env.create_dataset(&key, &json!({"name": "two"})).await,
    ];
    let mut integrations = Vec::new();
    for n in 0..4 {
        integrations.push(
            env.create_integration(
                &key,
                &json!({"name": format!("i{n}"), "datasetId": datasets[0], "token": "secret_load_start"}),
            )
            .await,
        );
    }
    let mut clients = Vec::new();
    for client in 0..32 {
        let (env, key, datasets) = (env.clone(), key.clone(), datasets.clone());
        let integration = integrations[client % 4].clone();
        let field = FIELDS[client / 4];
        clients.push(tokio::spawn(async move {
            let update = format!("/api/v1/integration/notion/{integration}/update");
            let mut last_acked: Option<Value> = None;
            let mut syncs_accepted = 0;
            let mut statuses = Vec::new();
            for n in 0..per_client {
                let answer = match n % 4 {
                    0 | 1 => {
                        let (body, shown) = field.write(n, &datasets);
                        let answer = env.post(&update, &key, &body).await;
                        if answer.status.is_success() {
                            last_acked = Some(shown);
                        }
                        answer
                    }
                    2 => {
                        env.get(&format!("/api/v1/integration/notion/{integration}/fetch"), &key)
                            .await
                    }
                    _ => {
                        let answer = env
                            .post(
                                &format!("/api/v1/integration/notion/{integration}/sync"),
                                &key,
                                &json!({}),
                            )
                            .await;
                        if answer.status.is_success() {
                            syncs_accepted += 1;
                        } else {
                            answer.assert_error(429, "RATE_LIMITED");
                        }
                        answer
                    }
                };
                statuses.push((answer.status.as_u16(), answer.text));
            }
            (integration, field, last_acked, syncs_accepted, statuses)
        }));
    }
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut finals = Vec::new();
    for client in clients {
        let (integration, field, last, syncs, statuses) = client.await.unwrap();
        for (status, text) in &statuses {
            assert!(*status < 500, "a {status} under load: {text}");
            if *status >= 400 {
                let body: Value = serde_json::from_str(text).unwrap();
                assert!(body["code"].is_string() && body["message"].is_string(), "{text}");
            }
        }
        *accepted.entry(integration.clone()).or_default() += syncs;
        finals.push((integration, field, last));
    }
    for integration in &integrations {
        let n = accepted.get(integration).copied().unwrap_or(0);
        assert_eq!(n, 1, "{integration}: exactly one manual sync accepted in the cooldown");
    }
    assert_eq!(env.queue_depth().await, integrations.len(), "one queued sync each");
    for (integration, field, last) in finals {
        let last = last.unwrap_or_else(|| panic!("{integration} {field:?}: no write was acknowledged"));
        let state = env.fetch_integration(&key, &integration).await;
        let shown = match field {
            Field::Name => &state["name"],
            Field::Description => &state["description"],
            Field::BlueprintId => &state["blueprintId"],
            Field::Meta => &state["meta"],
            Field::ExpiresIn => &state["expiresIn"],
            Field::SyncSchedule => &state["syncSchedule"],
            Field::DatasetId => &state["datasetId"],
            Field::Token => {
                assert_eq!(env.secret_value(&integration).await.as_deref(), last.as_str(), "token");
                assert_eq!(state["token"], "********");
                continue;
            }
        };
        assert_eq!(
            shown, &last,
            "{integration} {field:?}: the last acknowledged write is lost"
        );
        if let Field::SyncSchedule = field {
            // Scheduler agrees with the item.
            let expected = shared::domain::schedule::SyncSchedule::parse(last.as_str().unwrap())
                .unwrap()
                .to_eventbridge();
            let schedules = shared::aws::scheduler::list_schedules(&env.scheduler, &env.config.schedule_group)
                .await
                .unwrap();
            let schedule = schedules
                .iter()
                .find(|s| s.input.as_ref().is_some_and(|i| i.integration_id == integration))
                .expect("a schedule");
            assert_eq!(schedule.expression, expected, "{integration}");
        }
    }
}
