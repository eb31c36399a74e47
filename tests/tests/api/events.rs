//! Events: editing with optimistic locking, capacity through the pipeline, sales windows, search.

use std::collections::HashSet;

use evently_tests::app::{TestApp, TestOptions, TestUser};
use serde_json::{Value, json};
use uuid::Uuid;

async fn etag(app: &TestApp, event: Uuid) -> String {
    let res = app.get(&format!("/events/{event}"), None).await;
    res.headers()["etag"].to_str().expect("etag").to_owned()
}

async fn patch(
    app: &TestApp,
    user: &TestUser,
    event: Uuid,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .http
        .patch(app.url(&format!("/events/{event}")))
        .bearer_auth(&user.token)
        .json(&body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.expect("PATCH")
}

#[tokio::test]
async fn edits_need_if_match_and_a_stale_one_is_refused() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;

    assert_eq!(
        patch(&app, &organizer, event, None, json!({"name": "Renamed"}))
            .await
            .status(),
        428
    );
    let tag = etag(&app, event).await;
    // Two editors read the same version; both write: one wins, the other is told.
    let (a, b) = tokio::join!(
        patch(
            &app,
            &organizer,
            event,
            Some(&tag),
            json!({"name": "First"})
        ),
        patch(
            &app,
            &organizer,
            event,
            Some(&tag),
            json!({"description": "Second"})
        )
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let shown: Value = app
        .get(&format!("/events/{event}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["version"], 2);
    assert_ne!(etag(&app, event).await, tag);
    assert_eq!(
        patch(&app, &organizer, event, Some(&tag), json!({"name": "Late"}))
            .await
            .status(),
        412
    );

    // Only its organizer (or an admin) edits it.
    let other = app.user_with_role("organizer").await;
    let tag = etag(&app, event).await;
    assert_eq!(
        patch(&app, &other, event, Some(&tag), json!({"name": "Mine now"}))
            .await
            .status(),
        403
    );
    let attendee = app.register().await;
    assert_eq!(
        patch(
            &app,
            &attendee,
            event,
            Some(&tag),
            json!({"name": "Mine now"})
        )
        .await
        .status(),
        403
    );
    let admin = app.user_with_role("admin").await;
    assert_eq!(
        patch(&app, &admin, event, Some(&tag), json!({"name": "By admin"}))
            .await
            .status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_invalid_edit_names_each_bad_field() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let tag = etag(&app, event).await;
    let res = patch(
        &app,
        &organizer,
        event,
        Some(&tag),
        json!({"ends_at": "2001-01-01T00:00:00Z", "category": "knitting", "price_cents": -1, "max_per_booking": 0}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    for field in ["ends_at", "category", "price_cents", "max_per_booking"] {
        assert!(problem["errors"][field].is_string(), "{field}: {problem}");
    }
    let res = patch(
        &app,
        &organizer,
        event,
        Some(&tag),
        json!({"currency": "USD"}),
    )
    .await;
    assert_eq!(res.status(), 422, "the currency does not change");
    app.shutdown().await;
}

#[tokio::test]
async fn capacity_cannot_drop_below_what_is_sold_and_raising_it_frees_seats() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 3, 0).await;
    // A bigger venue, so that capacity can grow.
    sqlx::query(
        "UPDATE venues SET capacity = 100 WHERE id = (SELECT venue_id FROM events WHERE id = $1)",
    )
    .bind(event)
    .execute(&app.pool)
    .await
    .expect("venue");
    let users = app.bulk_users(4).await;
    for u in &users[..3] {
        assert_eq!(app.book(u, event, 1, None).await.status(), 201);
    }
    let sold_out: Value = app
        .book(&users[3], event, 1, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(sold_out["reason"], "sold_out");

    let tag = etag(&app, event).await;
    let res = patch(&app, &organizer, event, Some(&tag), json!({"capacity": 2})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(app.seats(event).await, (3, 0, 3), "nothing changed");

    let res = patch(
        &app,
        &organizer,
        event,
        Some(&tag),
        json!({"capacity": 5, "name": "Bigger"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["capacity"], 5);
    assert_eq!(body["name"], "Bigger");
    assert_eq!(body["availability"]["available"], 2);
    let now_free: Value = app
        .book(&users[3], event, 1, Some("again"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(now_free["status"], "confirmed");
    // The capacity change came through the stream like bookings: its stale replay is refused.
    assert_eq!(
        patch(&app, &organizer, event, Some(&tag), json!({"capacity": 6}))
            .await
            .status(),
        412
    );
    app.shutdown().await;
}

#[tokio::test]
async fn bookings_outside_the_sales_window_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let tag = etag(&app, event).await;
    let opens = chrono::Utc::now() + chrono::Duration::days(1);
    assert_eq!(
        patch(
            &app,
            &organizer,
            event,
            Some(&tag),
            json!({"sales_start": opens})
        )
        .await
        .status(),
        200
    );
    let user = app.register().await;
    let res = app.book(&user, event, 1, None).await;
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.expect("json");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not opened"),
        "{problem}"
    );
    assert_eq!(app.seats(event).await.0, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn search_finds_by_word_and_filter_and_pages_return_each_event_once() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let mut jazz = HashSet::new();
    for i in 0..7 {
        let event = app.create_event(&organizer, 10, 1000 * i).await;
        if i % 2 == 0 {
            let tag = etag(&app, event).await;
            let res = patch(
                &app,
                &organizer,
                event,
                Some(&tag),
                json!({"name": format!("Jazz night {i}"), "category": "festival"}),
            )
            .await;
            assert_eq!(res.status(), 200);
            jazz.insert(event.to_string());
        }
    }
    let found: Value = app
        .get("/events?q=jazz", None)
        .await
        .json()
        .await
        .expect("json");
    let ids: HashSet<String> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, jazz);
    let cheap: Value = app
        .get("/events?q=jazz&max_price=2000&category=festival", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        cheap["items"].as_array().map(Vec::len),
        Some(2),
        "Jazz 0 and Jazz 2"
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/events?limit=3&cursor={c}"),
            None => "/events?limit=3".to_owned(),
        };
        let page: Value = app.get(&path, None).await.json().await.expect("json");
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|e| e["id"].as_str().unwrap_or_default().to_owned()),
        );
        // An event created while paging must not shift what comes next.
        if cursor.is_none() {
            app.create_event(&organizer, 5, 0).await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    assert_eq!(
        seen.len(),
        8,
        "every event, the one created while paging included"
    );
    app.shutdown().await;
}

/// Reads Server-Sent Events until one satisfies `done`, or the deadline passes.
async fn next_availability(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buffer: &mut String,
    done: impl Fn(&Value) -> bool,
) -> Value {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                let value: Value = serde_json::from_str(data.trim()).expect("availability json");
                if done(&value) {
                    return value;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("an availability update in time")
            .expect("the stream stays open")
            .expect("chunk");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn a_live_stream_sees_availability_drop_as_seats_are_booked() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let res = app
        .http
        .get(app.url(&format!("/events/{event}/live")))
        .send()
        .await
        .expect("sse");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut stream = res.bytes_stream();
    let mut buffer = String::new();
    let first = next_availability(&mut stream, &mut buffer, |_| true).await;
    assert_eq!(first["available"], 10);

    let user = app.register().await;
    assert_eq!(app.book(&user, event, 3, None).await.status(), 201);
    let after = next_availability(&mut stream, &mut buffer, |v| v["available"] != 10).await;
    assert_eq!(after["available"], 7);
    assert_eq!(after["sold"], 3);
    app.shutdown().await;
}

#[tokio::test]
async fn cancelling_an_event_cancels_and_refunds_every_booking_once_despite_a_crash() {
    use async_nats::jetstream::message::PublishMessage;
    const BOOKINGS: usize = 500;
    let mut app = TestApp::spawn_with(TestOptions {
        batch_size: 16,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, BOOKINGS as i32, 1500).await;
    let users = app.bulk_users(BOOKINGS).await;
    let js = evently_runtime::nats::jetstream(app.nats_client());
    for user in &users {
        let command = evently_schemas::BookingCommand::Reserve(evently_schemas::ReserveSeats {
            booking_id: Uuid::now_v7(),
            event_id: event,
            user_id: user.id,
            quantity: 1,
            waitlist_if_sold_out: false,
            requested_at: chrono::Utc::now(),
            lines: Vec::new(),
            promo_code: None,
            seats: Vec::new(),
            best_available: None,
        });
        js.send_publish(
            app.prefix.reserve(event),
            PublishMessage::build()
                .payload(serde_json::to_vec(&command).expect("json").into())
                .message_id(command.command_id()),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    }
    app.eventually("every booking is held", || async {
        app.count_bookings(event, "held").await == BOOKINGS as i64
    })
    .await;
    // Paid: a payment per booking, as the provider would confirm them.
    let held: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT id, event_id FROM bookings WHERE event_id = $1")
            .bind(event)
            .fetch_all(&app.pool)
            .await
            .expect("bookings");
    for (booking, event_id) in held {
        let command =
            evently_schemas::BookingCommand::ConfirmPayment(evently_schemas::ConfirmPayment {
                payment_id: Uuid::new_v4(),
                booking_id: booking,
                event_id,
                provider: "test".into(),
                provider_payment_id: format!("pi_{booking}"),
                amount_cents: 1500,
                currency: "EUR".into(),
                requested_at: chrono::Utc::now(),
            });
        js.send_publish(
            app.prefix.confirm_payment(event),
            PublishMessage::build()
                .payload(serde_json::to_vec(&command).expect("json").into())
                .message_id(command.command_id()),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    }
    app.eventually("every booking is confirmed", || async {
        app.count_bookings(event, "confirmed").await == BOOKINGS as i64
    })
    .await;

    // 1. The first round is killed inside its transaction.
    let mut blocker = app.pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM inventory WHERE event_id = $1 FOR UPDATE")
        .bind(event)
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let res = app
        .post(
            &format!("/events/{event}/cancel"),
            Some(&organizer.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "cancelled");
    app.eventually("a round waits for the inventory lock", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("activity");
        waiting > 0
    })
    .await;
    app.kill_consumers().await;
    blocker.rollback().await.expect("rollback");
    assert_eq!(app.count_bookings(event, "cancelled").await, 0);

    // 2. Killed again as soon as a round has committed.
    app.start_consumers();
    app.eventually("a round is done", || async {
        app.count_bookings(event, "cancelled").await > 0
    })
    .await;
    app.kill_consumers().await;

    // 3. Restarted: every booking ends cancelled, refunded once, announced once.
    app.start_consumers();
    app.eventually("every booking is cancelled", || async {
        app.count_bookings(event, "cancelled").await == BOOKINGS as i64
    })
    .await;
    let (refunds, total): (i64, Option<i64>) =
        sqlx::query_as("SELECT count(*), sum(r.amount_cents)::bigint FROM refunds r JOIN bookings b ON b.id = r.booking_id WHERE b.event_id = $1")
            .bind(event)
            .fetch_one(&app.pool)
            .await
            .expect("refunds");
    assert_eq!(
        (refunds, total),
        (BOOKINGS as i64, Some(1500 * BOOKINGS as i64))
    );
    assert_eq!(app.seats(event).await.0, 0);
    let stream = js
        .get_stream(app.prefix.evt_stream())
        .await
        .expect("stream");
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            // An ephemeral consumer only counts here: keep it while the test polls it.
            inactive_threshold: std::time::Duration::from_secs(300),
            filter_subject: app
                .prefix
                .booking_event(evently_schemas::BookingStatus::Cancelled, event),
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut consumer = consumer;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut pending = 0;
    while std::time::Instant::now() < deadline {
        pending = consumer.info().await.expect("info").num_pending;
        if pending >= BOOKINGS as u64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pending, BOOKINGS as u64, "one cancelled event per booking");

    let late = app.register().await;
    assert_eq!(
        app.book(&late, event, 1, None).await.status(),
        409,
        "a cancelled event takes no bookings"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn organizers_list_and_change_only_their_own_venues_and_events() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let alice = app.user_with_role("organizer").await;
    let bob = app.user_with_role("organizer").await;
    let event = app.create_event(&alice, 10, 0).await;
    app.create_event(&bob, 10, 0).await;

    let mine: Value = app
        .get("/events?mine=true", Some(&alice.token))
        .await
        .json()
        .await
        .expect("json");
    let items = mine["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], event.to_string());
    assert_eq!(app.get("/events?mine=true", None).await.status(), 401);
    let venues: Value = app
        .get("/venues?mine=true", Some(&bob.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(venues["items"].as_array().map(Vec::len), Some(1));

    let venue = items[0]["venue_id"].as_str().expect("venue").to_owned();
    let change = |user: &TestUser, body: Value| {
        let req = app
            .http
            .patch(app.url(&format!("/venues/{venue}")))
            .bearer_auth(&user.token)
            .json(&body);
        async move { req.send().await.expect("PATCH") }
    };
    assert_eq!(change(&bob, json!({"name": "Taken"})).await.status(), 403);
    assert_eq!(
        change(&alice, json!({"capacity": 5})).await.status(),
        409,
        "an event there has 10 seats"
    );
    let res = change(&alice, json!({"name": "Renamed hall", "capacity": 50})).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(
        (body["name"].as_str(), body["capacity"].as_i64()),
        (Some("Renamed hall"), Some(50))
    );
    app.shutdown().await;
}
