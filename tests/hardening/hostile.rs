//! Hostile inputs: every route refuses malformed, oversized and wrong-typed input with SPEC's errors and changes nothing; any JSON meta round-trips.

use super::*;

/// A hostile request: what it is, method, path, headers, body.
type Case<'a> = (&'a str, Method, String, Vec<(&'a str, &'a str)>, Vec<u8>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_are_refused_with_spec_errors_and_change_nothing() {
    let env = TestEnv::with_cooldown(0).await;
    let a = tenant(&env).await;
    let b = tenant(&env).await;
    let i = &a.integration;
    let update = format!("/api/v1/integration/notion/{i}/update");
    let json_ct = [("content-type", "application/json")];
    // A cursor of account B, and a forged one.
    let second_b = env.create_integration(&b.key, &json!({"name": "second"})).await;
    let b_cursor = env
        .get("/api/v1/integration/notion/list?take=1&order=asc", &b.key)
        .await
        .ok()["cursor"]
        .as_str()
        .expect("B has a second page")
        .to_string();
    let before = env.snapshot().await;

    let mut deep = String::new();
    for _ in 0..100_000 {
        deep.push('[');
    }
    let huge = format!(r#"{{"name": "{}"}}"#, "a".repeat(1_200_000));
    let long_id = "n".repeat(1024);
    let mut cases: Vec<Case> = vec![
        (
            "huge body",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            huge.into_bytes(),
        ),
        (
            "deep JSON",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            deep.into_bytes(),
        ),
        (
            "invalid UTF-8",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
        ),
        (
            "text/plain",
            Method::POST,
            update.clone(),
            vec![("content-type", "text/plain")],
            br#"{"name":"x"}"#.to_vec(),
        ),
        (
            "form",
            Method::POST,
            update.clone(),
            vec![("content-type", "application/x-www-form-urlencoded")],
            b"name=x".to_vec(),
        ),
        (
            "array body",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            b"[1,2]".to_vec(),
        ),
        (
            "unknown field",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            br#"{"name":"x","admin":true}"#.to_vec(),
        ),
        (
            "wrong type",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            br#"{"name":42}"#.to_vec(),
        ),
        (
            "huge number",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            br#"{"expiresIn":1e400}"#.to_vec(),
        ),
        (
            "NUL in name",
            Method::POST,
            update.clone(),
            json_ct.to_vec(),
            br#"{"name":"a\u0000b","syncSchedule":"61 * * * *"}"#.to_vec(),
        ),
        (
            "create with junk",
            Method::POST,
            "/api/v1/integration/notion/create".into(),
            json_ct.to_vec(),
            br#"{"token": {"nested": 1}}"#.to_vec(),
        ),
        (
            "dataset create junk",
            Method::POST,
            "/api/v1/dataset/create".into(),
            json_ct.to_vec(),
            br#"{"meta": "x"}"#.to_vec(),
        ),
        (
            "sync with body",
            Method::POST,
            format!("/api/v1/integration/notion/{i}/sync"),
            json_ct.to_vec(),
            br#"{"force":true}"#.to_vec(),
        ),
        (
            "delete with body",
            Method::POST,
            format!("/api/v1/integration/notion/{i}/delete"),
            json_ct.to_vec(),
            br#"{"hard":true}"#.to_vec(),
        ),
        (
            "slash id",
            Method::GET,
            format!("/api/v1/integration/notion/{i}%2F..%2Fx/fetch"),
            vec![],
            vec![],
        ),
        (
            "extra segment",
            Method::GET,
            format!("/api/v1/integration/notion/{i}/x/fetch"),
            vec![],
            vec![],
        ),
        (
            "unicode id",
            Method::GET,
            "/api/v1/integration/notion/%E2%98%83%F0%9F%98%80/fetch".into(),
            vec![],
            vec![],
        ),
        (
            "1 KB id",
            Method::POST,
            format!("/api/v1/integration/notion/{long_id}/update"),
            json_ct.to_vec(),
            br#"{"name":"x"}"#.to_vec(),
        ),
        (
            "1 KB dataset id",
            Method::GET,
            format!("/api/v1/dataset/{long_id}/record/{long_id}/fetch"),
            vec![],
            vec![],
        ),
        (
            "take=0",
            Method::GET,
            "/api/v1/integration/notion/list?take=0".into(),
            vec![],
            vec![],
        ),
        (
            "take=-1",
            Method::GET,
            "/api/v1/integration/notion/list?take=-1".into(),
            vec![],
            vec![],
        ),
        (
            "take=1e9",
            Method::GET,
            "/api/v1/dataset/list?take=1e9".into(),
            vec![],
            vec![],
        ),
        (
            "take=999999999999",
            Method::GET,
            format!("/api/v1/dataset/{}/record/list?take=999999999999", a.dataset),
            vec![],
            vec![],
        ),
        (
            "order",
            Method::GET,
            "/api/v1/dataset/list?order=sideways".into(),
            vec![],
            vec![],
        ),
        (
            "forged cursor",
            Method::GET,
            "/api/v1/integration/notion/list?cursor=Zm9yZ2Vk".into(),
            vec![],
            vec![],
        ),
        (
            "garbage cursor",
            Method::GET,
            "/api/v1/integration/notion/list?cursor=%00%FF!!".into(),
            vec![],
            vec![],
        ),
        (
            "1 KB cursor",
            Method::GET,
            format!("/api/v1/dataset/list?cursor={}", "A".repeat(1024)),
            vec![],
            vec![],
        ),
        (
            "wrong method",
            Method::DELETE,
            format!("/api/v1/integration/notion/{i}/fetch"),
            vec![],
            vec![],
        ),
        ("no route", Method::GET, "/api/v1/admin".into(), vec![], vec![]),
    ];
    let mut answers = Vec::new();
    for (what, method, path, headers, body) in cases.drain(..) {
        let answer = env.send(method, &path, Some(&a.key), &headers, body).await;
        assert_refused(&answer, what);
        answers.push((what, answer));
    }
    // A cursor of another account never shows that account's items.
    let foreign = env
        .get(&format!("/api/v1/integration/notion/list?cursor={b_cursor}"), &a.key)
        .await;
    assert!(foreign.status.as_u16() < 500, "{}", foreign.text);
    if foreign.status.is_success() {
        let text = foreign.text.clone();
        assert!(!text.contains(&b.integration) && !text.contains(&second_b), "{text}");
    } else {
        assert_refused(&foreign, "cursor of another account");
    }
    // Without a key, or with a broken one.
    for header in ["Bearer", "Bearer ", "Basic abc", "Bearer sk_nope", "bearer x y"] {
        let answer = env
            .send(
                Method::GET,
                "/api/v1/dataset/list",
                None,
                &[("authorization", header)],
                "",
            )
            .await;
        answer.assert_error(401, "UNAUTHENTICATED");
    }
    assert_eq!(env.snapshot().await, before, "no refused request changed anything");
    // The errors that name a cause say it.
    let by_name: HashMap<&str, &Answer> = answers.iter().map(|(w, a)| (*w, a)).collect();
    assert!(by_name["text/plain"].text.contains("Content-Type"));
    assert!(by_name["huge body"].text.contains("larger than"));
    assert_eq!(by_name["take=0"].json()["code"], "VALIDATION_ERROR");
    assert_eq!(by_name["unknown field"].json()["code"], "BAD_REQUEST");
    assert_eq!(by_name["1 KB id"].json()["code"], "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_json_meta_round_trips_and_never_breaks_listing() {
    // Found by fuzzing: DynamoDB's native maps refuse these; meta is stored as JSON text.
    let env = TestEnv::new().await;
    let key = env.key().await;
    let meta = json!({"": 1, "big": 1.5e300, "tiny": 1e-130, "long": 1.2345678901234568e29, "max": u64::MAX, "min": i64::MIN, "n": null,
        "empty": {}, "list": [null, {}, []], "nul": "a\u{0}b", "emoji": "😀"});
    let dataset = env.create_dataset(&key, &json!({"meta": meta})).await;
    let integration = env.create_integration(&key, &json!({"meta": meta})).await;
    let listed = env.get("/api/v1/dataset/list", &key).await.ok();
    assert_eq!(listed["items"][0]["meta"], meta);
    let fetched = env.get(&format!("/api/v1/dataset/{dataset}/fetch"), &key).await.ok();
    assert_eq!(fetched["meta"], meta);
    assert_eq!(env.fetch_integration(&key, &integration).await["meta"], meta);
    let update = format!("/api/v1/integration/notion/{integration}/update");
    env.post(&update, &key, &json!({"meta": {"": -0.0}})).await.ok();
    let listed = env.get("/api/v1/integration/notion/list?meta.=-0.0", &key).await;
    assert!(listed.status.as_u16() < 500, "{}", listed.text);
    assert_eq!(
        env.fetch_integration(&key, &integration).await["meta"],
        json!({"": -0.0})
    );
}
