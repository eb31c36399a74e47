//! Tickets: one per seat exactly once (redelivery, two consumer instances), signed QR payloads
//! verified with the published keys, check-in that admits once (also under concurrent scans),
//! voided tickets refused, and the PDF only for its holder.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use evently_runtime::db::{BOOKING_COLUMNS, BookingRow};
use evently_runtime::tickets::{Jwk, PublicKey, verify};
use evently_schemas::BookingEvent;
use evently_tests::app::{TestApp, TestUser};
use serde_json::Value;
use uuid::Uuid;

mod checkin;

/// Books `quantity` seats (free event: confirmed at once) and returns the booking id.
pub(super) async fn confirmed_booking(
    app: &TestApp,
    user: &TestUser,
    event: Uuid,
    quantity: i32,
) -> Uuid {
    let res = app.book(user, event, quantity, None).await;
    assert!(res.status() == 201 || res.status() == 202);
    let body: Value = res.json().await.expect("json");
    let id: Uuid = body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let decided = app.wait_decided(user, id).await;
    assert_eq!(decided["status"], "confirmed", "{decided}");
    id
}

/// Waits until the booking shows `n` tickets, and returns them.
pub(super) async fn tickets_of(
    app: &TestApp,
    user: &TestUser,
    booking: Uuid,
    n: usize,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let res = app
            .get(&format!("/bookings/{booking}/tickets"), Some(&user.token))
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        let tickets = body["tickets"].as_array().cloned().unwrap_or_default();
        if tickets.len() == n {
            return tickets;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "booking {booking} has {} tickets, not {n}",
            tickets.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(super) async fn checkin(
    app: &TestApp,
    who: &TestUser,
    event: Uuid,
    body: &Value,
) -> (u16, Value) {
    let res = app
        .post(&format!("/events/{event}/checkin"), Some(&who.token), body)
        .await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The keys of `GET /tickets/public-keys`, and the document.
pub(super) async fn published_keys(app: &TestApp) -> (Vec<PublicKey>, Value) {
    let res = app.get("/tickets/public-keys", None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    let jwks: Vec<Jwk> = serde_json::from_value(body["keys"].clone()).expect("jwks");
    assert_eq!(jwks[0].kty, "OKP");
    assert_eq!(jwks[0].crv, "Ed25519");
    let keys = jwks
        .iter()
        .map(|j| PublicKey::from_jwk(j).expect("key"))
        .collect();
    (keys, body)
}

pub(super) fn payload(ticket: &Value) -> String {
    ticket["qr_payload"].as_str().expect("payload").to_owned()
}

async fn ticket_count(app: &TestApp, event: Uuid) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*), count(DISTINCT (booking_id, seat_index)) FROM tickets WHERE event_id = $1",
    )
    .bind(event)
    .fetch_one(&app.pool)
    .await
    .expect("count")
}

#[tokio::test]
async fn every_seat_gets_exactly_one_ticket_despite_redelivery_and_two_consumer_instances() {
    let app = TestApp::spawn().await;
    let (second, mut second_set) = app.spawn_consumer_set();
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 100, 0).await;
    let holder = app.register().await;
    let quantities = [2, 3, 1, 4];
    let mut bookings = Vec::new();
    for q in quantities {
        bookings.push(confirmed_booking(&app, &holder, event, q).await);
    }
    for (id, q) in bookings.iter().zip(quantities) {
        tickets_of(&app, &holder, *id, q as usize).await;
    }
    let before: HashSet<String> =
        sqlx::query_scalar("SELECT ticket_number FROM tickets WHERE event_id = $1")
            .bind(event)
            .fetch_all(&app.pool)
            .await
            .expect("numbers")
            .into_iter()
            .collect();
    assert_eq!(before.len(), 10);

    // A real redelivery: the same booking.confirmed events again under new message ids (the
    // stream keeps them all), several copies each, shared by the two consumer instances.
    let rows: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.event_id = $1"
    )))
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("bookings");
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let mut replay_ids = Vec::new();
    for copy in 0..5 {
        for row in &rows {
            let event_msg = BookingEvent {
                booking: row.clone().snapshot(),
                availability: None,
                occurred_at: chrono::Utc::now(),
            };
            let id = format!("{}.replay-{copy}", event_msg.message_id());
            js.send_publish(
                app.prefix
                    .booking_event(event_msg.booking.status, event_msg.booking.event_id),
                PublishMessage::build()
                    .payload(serde_json::to_vec(&event_msg).expect("json").into())
                    .message_id(id.clone()),
            )
            .await
            .expect("publish")
            .await
            .expect("puback");
            replay_ids.push(id);
        }
    }
    app.eventually("the tickets consumer applied every replayed message", || async {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM processed_messages WHERE consumer = 'tickets' AND message_id = ANY($1)",
        )
        .bind(&replay_ids)
        .fetch_one(&app.pool)
        .await
        .expect("count");
        done == replay_ids.len() as i64
    })
    .await;

    assert_eq!(ticket_count(&app, event).await, (10, 10));
    let after: HashSet<String> =
        sqlx::query_scalar("SELECT ticket_number FROM tickets WHERE event_id = $1")
            .bind(event)
            .fetch_all(&app.pool)
            .await
            .expect("numbers")
            .into_iter()
            .collect();
    assert_eq!(before, after, "the replays changed no ticket");
    // One TicketsIssued per booking: the re-publishes carried the same message id.
    let issued = stream_count(&app, &app.prefix.ticket_issued(event)).await;
    assert_eq!(issued, bookings.len() as u64);
    second.cancel();
    while second_set.join_next().await.is_some() {}
    app.shutdown().await;
}

/// Messages in the event stream on `subject`.
pub(super) async fn stream_count(app: &TestApp, subject: &str) -> u64 {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let stream = js
        .get_stream(app.prefix.evt_stream())
        .await
        .expect("stream");
    let mut consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            // An ephemeral consumer only counts here: keep it while the test polls it.
            inactive_threshold: Duration::from_secs(300),
            filter_subject: subject.to_owned(),
            ..Default::default()
        })
        .await
        .expect("ephemeral consumer");
    consumer.info().await.expect("info").num_pending
}

#[tokio::test]
async fn the_qr_payload_verifies_with_the_published_key_and_fails_when_one_byte_changes() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    let booking = confirmed_booking(&app, &holder, event, 2).await;
    let tickets = tickets_of(&app, &holder, booking, 2).await;

    let (keys, body) = published_keys(&app).await;

    for (seat, ticket) in tickets.iter().enumerate() {
        let claims = verify(&payload(ticket), &keys).expect("the payload verifies");
        assert_eq!(
            claims.ticket_id.to_string(),
            ticket["id"].as_str().expect("id")
        );
        assert_eq!(claims.event_id, event);
        assert_eq!(usize::from(claims.seat_index), seat);
        assert_eq!(claims.key_id, body["current_kid"].as_str().expect("kid"));
        assert_eq!(claims.seat, None, "an event without a seat map: no seat");
        let number = ticket["ticket_number"].as_str().expect("number");
        assert_eq!(
            evently_runtime::tickets::number::parse(number).as_deref(),
            Ok(number)
        );
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload(&tickets[0]))
        .expect("base64url");
    assert!(bytes.len() <= 110, "compact: {} bytes", bytes.len());
    for i in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[i] = changed[i].wrapping_add(1);
        assert!(
            verify(&URL_SAFE_NO_PAD.encode(&changed), &keys).is_err(),
            "byte {i} changed"
        );
    }

    // The QR image, for its holder only.
    let id = tickets[0]["id"].as_str().expect("id");
    let res = app
        .get(&format!("/tickets/{id}/qr.png"), Some(&holder.token))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.bytes().await.expect("png");
    assert!(png.starts_with(b"\x89PNG"));
    let stranger = app.register().await;
    let res = app
        .get(&format!("/tickets/{id}/qr.png"), Some(&stranger.token))
        .await;
    assert_eq!(res.status(), 404);
    // The event's organizer reads the booking's tickets; a stranger does not.
    let res = app
        .get(
            &format!("/bookings/{booking}/tickets"),
            Some(&organizer.token),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .get(
            &format!("/bookings/{booking}/tickets"),
            Some(&stranger.token),
        )
        .await;
    assert_eq!(res.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_holder_gets_the_pdf_ticket_which_parses_and_shows_its_number() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    let booking = confirmed_booking(&app, &holder, event, 1).await;
    let ticket = tickets_of(&app, &holder, booking, 1).await.remove(0);
    let id = ticket["id"].as_str().expect("id");
    let number = ticket["ticket_number"].as_str().expect("number");

    let res = app
        .get(&format!("/tickets/{id}/pdf"), Some(&holder.token))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let bytes = res.bytes().await.expect("pdf");
    let doc = lopdf::Document::load_mem(&bytes).expect("a valid PDF");
    assert_eq!(doc.get_pages().len(), 1);
    let text = doc.extract_text(&[1]).expect("text");
    assert!(text.contains(number), "{number} not in {text:?}");
    assert!(text.contains("Concert"), "{text:?}");

    for other in [app.register().await, organizer] {
        let res = app
            .get(&format!("/tickets/{id}/pdf"), Some(&other.token))
            .await;
        assert_eq!(res.status(), 404);
    }
    let res = app.get(&format!("/tickets/{id}/pdf"), None).await;
    assert_eq!(res.status(), 401);
    let res = app
        .get("/tickets/not-a-uuid/pdf", Some(&holder.token))
        .await;
    assert_eq!(res.status(), 404);
    app.shutdown().await;
}
