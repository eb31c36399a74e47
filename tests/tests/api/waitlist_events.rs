//! The waitlist and its event: per-event offer duration, cancelling the event, raising capacity.

use evently_tests::app::TestApp;
use evently_tests::flows::{
    book, cancel, claim, entry_status, id, inventory, join, my_entries, wait_entry,
};
use serde_json::{Value, json};

#[tokio::test]
async fn an_event_sets_how_long_its_offers_stay_open() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let venue: Value = app
        .post(
            "/venues",
            Some(&organizer.token),
            &json!({"name": "Hall", "capacity": 10}),
        )
        .await
        .json()
        .await
        .expect("json");
    let starts = chrono::Utc::now() + chrono::Duration::days(3);
    let event = |offer_minutes: i64| {
        json!({
            "name": "Short offers", "venue_id": venue["id"], "category": "music",
            "starts_at": starts, "ends_at": starts + chrono::Duration::hours(2),
            "capacity": 1, "price_cents": 0, "currency": "EUR", "offer_minutes": offer_minutes
        })
    };
    let res = app.post("/events", Some(&organizer.token), &event(0)).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(problem["errors"]["offer_minutes"].is_string(), "{problem}");
    let res = app.post("/events", Some(&organizer.token), &event(5)).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    assert_eq!(created["offer_minutes"], 5);
    let event_id = id(&created);

    let holder = app.register().await;
    let waiter = app.register().await;
    let booking = id(&book(&app, &holder, event_id, 1, false).await);
    let entry = id(&join(&app, &waiter, event_id, 1).await);
    cancel(&app, &holder, booking).await;
    wait_entry(&app, entry, "offered").await;
    let offer = &my_entries(&app, &waiter).await[0];
    let expires: chrono::DateTime<chrono::Utc> = offer["offer_expires_at"]
        .as_str()
        .expect("expiry")
        .parse()
        .expect("time");
    let minutes = (expires - chrono::Utc::now()).num_seconds();
    assert!(
        (240..=300).contains(&minutes),
        "a five-minute offer, got {minutes} s"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn cancelling_the_event_closes_its_waitlist() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 1, 0).await;
    let holder = app.register().await;
    let booking = id(&book(&app, &holder, event, 1, false).await);
    let waiters = app.bulk_users(2).await;
    let offered = id(&join(&app, &waiters[0], event, 1).await);
    let waiting = id(&join(&app, &waiters[1], event, 1).await);
    cancel(&app, &holder, booking).await;
    wait_entry(&app, offered, "offered").await;

    let res = app
        .post(
            &format!("/events/{event}/cancel"),
            Some(&organizer.token),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "cancel: {}", res.status());
    wait_entry(&app, offered, "expired").await;
    wait_entry(&app, waiting, "expired").await;
    assert_eq!(inventory(&app, event).await, (0, 0, 0, 1));
    assert_eq!(claim(&app, &waiters[0], offered).await.status(), 409);
    app.shutdown().await;
}

#[tokio::test]
async fn raising_the_capacity_offers_the_new_seats_to_the_waitlist() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 1, 0).await;
    sqlx::query(
        "UPDATE venues SET capacity = 100 WHERE id = (SELECT venue_id FROM events WHERE id = $1)",
    )
    .bind(event)
    .execute(&app.pool)
    .await
    .expect("a bigger venue");
    let holder = app.register().await;
    book(&app, &holder, event, 1, false).await;
    let waiters = app.bulk_users(3).await;
    let mut entries = Vec::new();
    for w in &waiters {
        entries.push(id(&join(&app, w, event, 1).await));
    }

    let res = app.get(&format!("/events/{event}"), None).await;
    let tag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let res = app
        .http
        .patch(app.url(&format!("/events/{event}")))
        .bearer_auth(&organizer.token)
        .header("If-Match", tag)
        .json(&json!({"capacity": 3}))
        .send()
        .await
        .expect("PATCH");
    assert!(res.status().is_success(), "patch: {}", res.status());
    wait_entry(&app, entries[0], "offered").await;
    wait_entry(&app, entries[1], "offered").await;
    assert_eq!(entry_status(&app, entries[2]).await, "waiting");
    assert_eq!(inventory(&app, event).await, (1, 0, 2, 3));
    app.shutdown().await;
}
