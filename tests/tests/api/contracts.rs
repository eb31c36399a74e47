//! The contracts other services rely on: every command and domain event of a real run matches
//! the JSON Schema that `schemas/json` publishes for its subject.

use std::collections::BTreeMap;
use std::path::PathBuf;

use evently_tests::app::TestApp;
use serde_json::{Value, json};

/// Every message of `stream`, as `(subject, payload)`.
async fn messages(app: &TestApp, stream: &str) -> Vec<(String, Value)> {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let mut stream = js.get_stream(stream).await.expect("stream");
    let state = stream.info().await.expect("info").state.clone();
    let mut out = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        if let Ok(message) = stream.get_raw_message(seq).await {
            let payload = serde_json::from_slice(&message.payload).expect("JSON payload");
            out.push((message.subject.to_string(), payload));
        }
    }
    out
}

#[tokio::test]
async fn every_message_of_a_run_matches_its_published_json_schema() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 2, 0).await;
    let users = app.bulk_users(3).await;
    let mut booked = Vec::new();
    for user in &users {
        let res = app.book(user, event, 1, None).await;
        let body: Value = res.json().await.expect("json");
        booked.push(body["id"].as_str().expect("id").to_owned());
    }
    let cancel = app
        .post(
            &format!("/bookings/{}/cancel", booked[0]),
            Some(&users[0].token),
            &json!({}),
        )
        .await;
    assert_eq!(cancel.status(), 200);
    let current = app.get(&format!("/events/{event}"), None).await;
    let etag = current.headers()["etag"].to_str().expect("etag").to_owned();
    let patched = app
        .http
        .patch(app.url(&format!("/events/{event}")))
        .bearer_auth(&organizer.token)
        .header("If-Match", etag)
        .json(&json!({"capacity": 1}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(
        patched.status(),
        200,
        "{}",
        patched.text().await.unwrap_or_default()
    );
    let cancelled = app
        .post(
            &format!("/events/{event}/cancel"),
            Some(&organizer.token),
            &json!({}),
        )
        .await;
    assert!(cancelled.status().is_success());
    app.eventually("the event's bookings are cancelled", || async {
        app.count_bookings(event, "confirmed").await == 0
    })
    .await;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/json");
    let mut validators = BTreeMap::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut all = messages(&app, &app.prefix.cmd_stream()).await;
    all.extend(messages(&app, &app.prefix.evt_stream()).await);
    all.extend(messages(&app, &app.prefix.ntf_stream()).await);
    for (subject, payload) in &all {
        let file = evently_schemas::json_schema::schema_file_for(subject)
            .unwrap_or_else(|| panic!("no schema is published for {subject}"));
        let validator = validators.entry(file).or_insert_with(|| {
            let text = std::fs::read_to_string(dir.join(file)).expect("schema file");
            let schema: Value = serde_json::from_str(&text).expect("schema JSON");
            jsonschema::validator_for(&schema).expect("a valid schema")
        });
        let errors: Vec<String> = validator
            .iter_errors(payload)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{subject}: {errors:?}\n{payload:#}");
        *seen.entry(file).or_default() += 1;
    }
    for file in [
        "booking-command.json",
        "booking-event.json",
        "event-capacity-changed.json",
        "event-cancelled.json",
    ] {
        assert!(
            seen.contains_key(file),
            "no {file} message was seen: {seen:?}"
        );
    }
    app.shutdown().await;
}
