//! Booking through the pipeline: no oversell under contention, no false rejections, idempotent
//! retries, cancellation, and who may see what.

use std::collections::HashSet;

use evently_tests::app::{TestApp, TestUser};
use futures::TryStreamExt;
use futures::future::join_all;
use serde_json::Value;
use uuid::Uuid;

/// Books one seat per user, all at once; returns every final decision.
async fn book_all_at_once(app: &TestApp, users: &[TestUser], event: Uuid) -> Vec<Value> {
    let requests = users.iter().map(|u| async move {
        let res = app.book(u, event, 1, None).await;
        let status = res.status().as_u16();
        assert!(status == 201 || status == 202, "booking answered {status}");
        let body: Value = res.json().await.expect("json");
        if status == 202 {
            let id: Uuid = body["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("id");
            app.wait_decided(u, id).await
        } else {
            body
        }
    });
    join_all(requests).await
}

fn count(decisions: &[Value], status: &str) -> usize {
    decisions.iter().filter(|d| d["status"] == status).count()
}

#[tokio::test]
async fn three_hundred_users_racing_for_fifty_seats_get_exactly_fifty() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 50, 0).await;
    let users = app.bulk_users(300).await;

    let decisions = book_all_at_once(&app, &users, event).await;

    assert_eq!(count(&decisions, "confirmed"), 50);
    assert_eq!(count(&decisions, "rejected"), 250);
    assert!(
        decisions
            .iter()
            .filter(|d| d["status"] == "rejected")
            .all(|d| d["reason"] == "sold_out")
    );
    let ids: HashSet<_> = decisions
        .iter()
        .map(|d| d["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 300, "every request got its own booking");
    let (sold, held, capacity) = app.seats(event).await;
    assert_eq!((sold, held, capacity), (50, 0, 50));
    assert_eq!(app.count_bookings(event, "confirmed").await, 50);
    assert_eq!(app.count_bookings(event, "rejected").await, 250);
    let shown: Value = app
        .get(&format!("/events/{event}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["availability"]["available"], 0);
    app.shutdown().await;
}

#[tokio::test]
async fn contention_never_turns_into_false_rejections() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 150, 0).await;
    let users = app.bulk_users(120).await;

    let decisions = book_all_at_once(&app, &users, event).await;

    assert_eq!(
        count(&decisions, "confirmed"),
        120,
        "every request fits: none may be rejected"
    );
    let (sold, _, _) = app.seats(event).await;
    assert_eq!(sold, 120);
    let shown: Value = app
        .get(&format!("/events/{event}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["availability"]["available"], 30);
    app.shutdown().await;
}

#[tokio::test]
async fn a_retried_booking_with_the_same_key_is_not_booked_twice() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 1500).await;
    let user = app.register().await;

    let first = app.book(&user, event, 2, Some("order-42")).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    // A paid event: the seats are held until paid.
    assert_eq!(first["status"], "held");
    assert_eq!(first["amount_cents"], 3000);
    // Retries, in sequence and at once.
    let retries = join_all((0..5).map(|_| app.book(&user, event, 2, Some("order-42")))).await;
    for res in retries {
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["id"], first["id"]);
        assert_eq!(body["status"], "held");
    }
    assert_eq!(app.seats(event).await.1, 2, "two seats, booked once");
    assert_eq!(app.count_bookings(event, "held").await, 1);

    // The same key for a different request is refused; another user's same key is theirs.
    let res = app.book(&user, event, 3, Some("order-42")).await;
    assert_eq!(res.status(), 422);
    let other = app.register().await;
    let res = app.book(&other, event, 1, Some("order-42")).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("json");
    assert_ne!(body["id"], first["id"]);
    app.shutdown().await;
}

#[tokio::test]
async fn one_key_sent_at_once_for_two_different_requests_books_one_and_refuses_the_other() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let user = app.register().await;
    for round in 0..5 {
        let key = format!("racing-{round}");
        let (two, three) = futures::join!(
            app.book(&user, event, 2, Some(&key)),
            app.book(&user, event, 3, Some(&key))
        );
        let mut answers = [
            (2, two.status().as_u16(), two),
            (3, three.status().as_u16(), three),
        ];
        answers.sort_by_key(|(_, status, _)| *status);
        let [(won, 201, booked), (_, 422, refused)] = answers else {
            panic!("one 201 and one 422 expected");
        };
        let booked: Value = booked.json().await.expect("json");
        assert_eq!(booked["quantity"], won);
        let refused: Value = refused.json().await.expect("json");
        assert!(
            refused["errors"]["Idempotency-Key"].is_string(),
            "{refused}"
        );
    }
    let booked: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE event_id = $1")
        .bind(event)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(booked, 5, "one booking per key");
    app.shutdown().await;
}

#[tokio::test]
async fn a_key_reused_beyond_the_duplicate_window_answers_its_booking_and_refuses_another_request()
{
    let app = TestApp::spawn().await;
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let mut stream = js
        .get_stream(app.prefix.cmd_stream())
        .await
        .expect("stream");
    let mut config = stream.info().await.expect("info").config.clone();
    config.duplicate_window = std::time::Duration::from_secs(1);
    js.update_stream(config)
        .await
        .expect("a short duplicate window");
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let user = app.register().await;
    let first: Value = app
        .book(&user, event, 2, Some("late-retry"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(first["status"], "confirmed");
    // A probe outside the consumers' subjects tells when the stream has forgotten the ids
    // published before it: once the probe's own id is no longer a duplicate.
    let probe = format!("{}.cmd.probe", app.prefix.as_str());
    let publish_probe = || async {
        js.send_publish(
            probe.clone(),
            async_nats::jetstream::message::PublishMessage::build()
                .payload("probe".into())
                .message_id("probe"),
        )
        .await
        .expect("publish")
        .await
        .expect("ack")
        .duplicate
    };
    assert!(!publish_probe().await);
    app.eventually("the duplicate window passes", || async {
        !publish_probe().await
    })
    .await;
    let res = app.book(&user, event, 2, Some("late-retry")).await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("true")
    );
    let again: Value = res.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["status"], "confirmed");
    let res = app.book(&user, event, 4, Some("late-retry")).await;
    assert_eq!(res.status(), 422);
    let refused: Value = res.json().await.expect("json");
    assert!(
        refused["errors"]["Idempotency-Key"].is_string(),
        "{refused}"
    );
    assert_eq!(app.count_bookings(event, "confirmed").await, 1);
    assert_eq!(app.seats(event).await.0, 2, "two seats, booked once");
    // The late retry reached the stream (the window had forgotten it) and the consumer answered
    // it from the booking it had made; the refused request came within the new window.
    let reserves: Vec<(String, usize)> = js
        .get_stream(app.prefix.cmd_stream())
        .await
        .expect("stream")
        .info_with_subjects(app.prefix.reserve(event))
        .await
        .expect("subjects")
        .try_collect()
        .await
        .expect("counts");
    assert_eq!(
        reserves.iter().map(|(_, n)| n).sum::<usize>(),
        2,
        "{reserves:?}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn cancelling_frees_the_seat_and_only_the_holder_sees_or_cancels_it() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 1, 0).await;
    let holder = app.register().await;
    let stranger = app.register().await;

    let booking: Value = app
        .book(&holder, event, 1, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(booking["status"], "confirmed");
    let id = booking["id"].as_str().expect("id").to_owned();
    let sold_out: Value = app
        .book(&stranger, event, 1, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(sold_out["reason"], "sold_out");

    assert_eq!(
        app.get(&format!("/bookings/{id}"), Some(&stranger.token))
            .await
            .status(),
        404
    );
    let res = app
        .post(
            &format!("/bookings/{id}/cancel"),
            Some(&stranger.token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        app.get(&format!("/bookings/{id}"), Some(&organizer.token))
            .await
            .status(),
        200,
        "the event's organizer sees it"
    );
    let mine: Value = app
        .get("/me/bookings", Some(&stranger.token))
        .await
        .json()
        .await
        .expect("json");
    assert!(
        mine["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|b| b["id"] != id.as_str())
    );

    let res = app
        .post(
            &format!("/bookings/{id}/cancel"),
            Some(&holder.token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cancelled: Value = res.json().await.expect("json");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(app.seats(event).await.0, 0);
    // Cancelling again answers the same; the seat can be booked again.
    let res = app
        .post(
            &format!("/bookings/{id}/cancel"),
            Some(&holder.token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.seats(event).await.0, 0);
    let again: Value = app
        .book(&stranger, event, 1, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["status"], "confirmed");

    let mine: Value = app
        .get("/me/bookings?status=cancelled", Some(&holder.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    app.shutdown().await;
}

#[tokio::test]
async fn my_bookings_are_paginated_newest_first() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 20, 0).await;
    let user = app.register().await;
    for _ in 0..5 {
        assert_eq!(app.book(&user, event, 1, None).await.status(), 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/me/bookings?limit=2&cursor={c}"),
            None => "/me/bookings?limit=2".to_owned(),
        };
        let page: Value = app
            .get(&path, Some(&user.token))
            .await
            .json()
            .await
            .expect("json");
        for b in page["items"].as_array().expect("items") {
            let at = b["created_at"].as_str().expect("created_at");
            seen.push(chrono::DateTime::parse_from_rfc3339(at).expect("time"));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
    app.shutdown().await;
}
