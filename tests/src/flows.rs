//! Helpers for the timed and multi-step flows' tests: booking with the waitlist option, paying,
//! signed webhooks, the waitlist's routes, and moving a hold's or an offer's deadline into the
//! past (time is data: the sweeper does the rest).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{TEST_WEBHOOK_SECRET, TestApp, TestUser};

/// Books and returns the decided booking.
pub async fn book(
    app: &TestApp,
    user: &TestUser,
    event: Uuid,
    quantity: i32,
    waitlist: bool,
) -> Value {
    book_body(
        app,
        user,
        event,
        json!({"quantity": quantity, "waitlist_if_sold_out": waitlist}),
    )
    .await
}

/// `POST /events/{event}/bookings` with any body (lines, seats, best-available...); returns the
/// decided booking.
pub async fn book_body(app: &TestApp, user: &TestUser, event: Uuid, body: Value) -> Value {
    let res = app
        .post(
            &format!("/events/{event}/bookings"),
            Some(&user.token),
            &body,
        )
        .await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("json");
    assert!(
        status == 201 || status == 202,
        "booking answered {status}: {body}"
    );
    if status == 202 {
        app.wait_decided(user, id(&body)).await
    } else {
        body
    }
}

/// A problem document answered with `status`: its body.
pub async fn problem(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let is_problem = res
        .headers()
        .get("content-type")
        .is_some_and(|c| c == "application/problem+json");
    let body: Value = res.json().await.expect("json");
    assert_eq!(got, status, "{body}");
    assert!(is_problem, "a problem document: {body}");
    body
}

pub fn id(body: &Value) -> Uuid {
    body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id in {body}"))
}

/// `POST /bookings/{id}/pay` with a test card.
pub async fn pay(app: &TestApp, user: &TestUser, booking: Uuid, card: &str) -> reqwest::Response {
    app.post(
        &format!("/bookings/{booking}/pay"),
        Some(&user.token),
        &json!({"payment_method": card}),
    )
    .await
}

/// A webhook body in the test provider's (Stripe's) shape.
pub fn webhook_body(
    event_id: &str,
    kind: &str,
    intent: &str,
    booking: Uuid,
    amount: i64,
) -> String {
    json!({
        "id": event_id, "type": kind,
        "data": {"object": {"id": intent, "amount": amount, "currency": "eur", "metadata": {"booking_id": booking}}}
    })
    .to_string()
}

/// `POST /payments/webhook` signed at `timestamp` with `secret`.
pub async fn webhook(app: &TestApp, body: &str, timestamp: i64, secret: &str) -> reqwest::Response {
    let signature = evently_runtime::payments::webhook::sign(secret, timestamp, body.as_bytes());
    app.http
        .post(app.url("/payments/webhook"))
        .header("Evently-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST webhook")
}

/// A webhook signed now with the app's secret.
pub async fn signed_webhook(app: &TestApp, body: &str) -> reqwest::Response {
    webhook(
        app,
        body,
        chrono::Utc::now().timestamp(),
        TEST_WEBHOOK_SECRET,
    )
    .await
}

/// `POST /events/{id}/waitlist`, returning the entry once applied.
pub async fn join(app: &TestApp, user: &TestUser, event: Uuid, quantity: i32) -> Value {
    let res = app
        .post(
            &format!("/events/{event}/waitlist"),
            Some(&user.token),
            &json!({"quantity": quantity}),
        )
        .await;
    assert_eq!(
        res.status(),
        201,
        "join: {}",
        res.text().await.unwrap_or_default()
    );
    res.json().await.expect("json")
}

/// A booking's status, straight from PostgreSQL.
pub async fn booking_status(app: &TestApp, booking: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM bookings WHERE id = $1")
        .bind(booking)
        .fetch_one(&app.pool)
        .await
        .expect("booking")
}

/// An entry's status, straight from PostgreSQL.
pub async fn entry_status(app: &TestApp, entry: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM waitlist_entries WHERE id = $1")
        .bind(entry)
        .fetch_one(&app.pool)
        .await
        .expect("entry")
}

/// Waits until a booking has `status`.
pub async fn wait_booking(app: &TestApp, booking: Uuid, status: &str) {
    app.eventually(&format!("booking {booking} is {status}"), || async {
        booking_status(app, booking).await == status
    })
    .await;
}

/// Waits until an entry has `status`.
pub async fn wait_entry(app: &TestApp, entry: Uuid, status: &str) {
    app.eventually(&format!("entry {entry} is {status}"), || async {
        entry_status(app, entry).await == status
    })
    .await;
}

/// Moves a hold's deadline into the past: the sweeper expires it.
pub async fn expire_hold_now(app: &TestApp, booking: Uuid) {
    sqlx::query("UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = $1 AND status = 'held'")
        .bind(booking)
        .execute(&app.pool)
        .await
        .expect("expire hold");
}

/// Moves an offer's deadline into the past: the sweeper expires it.
pub async fn expire_offer_now(app: &TestApp, entry: Uuid) {
    sqlx::query("UPDATE waitlist_entries SET offer_expires_at = now() - interval '1 second' WHERE id = $1 AND status = 'offered'")
        .bind(entry)
        .execute(&app.pool)
        .await
        .expect("expire offer");
}

/// `(sold, held, offered, capacity)` of an event.
pub async fn inventory(app: &TestApp, event: Uuid) -> (i32, i32, i32, i32) {
    sqlx::query_as("SELECT sold, held, offered, capacity FROM inventory WHERE event_id = $1")
        .bind(event)
        .fetch_one(&app.pool)
        .await
        .expect("inventory")
}

/// `sum(payments) - sum(refunds)` of a booking, in cents.
pub async fn net_paid(app: &TestApp, booking: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT COALESCE((SELECT sum(amount_cents) FROM payments WHERE booking_id = $1), 0)::bigint \
         - COALESCE((SELECT sum(amount_cents) FROM refunds WHERE booking_id = $1), 0)::bigint",
    )
    .bind(booking)
    .fetch_one(&app.pool)
    .await
    .expect("net paid")
}

/// Publishes a command straight to JetStream (as the gateway would), waiting for the PubAck: for
/// tests that must order commands exactly or publish while the pipeline is stopped.
pub async fn publish(app: &TestApp, command: &evently_schemas::BookingCommand) {
    use async_nats::jetstream::message::PublishMessage;
    let subject = app.prefix.command(command);
    let js = evently_runtime::nats::jetstream(app.nats_client());
    js.send_publish(
        subject,
        PublishMessage::build()
            .payload(serde_json::to_vec(command).expect("json").into())
            .message_id(command.command_id()),
    )
    .await
    .expect("publish")
    .await
    .expect("PubAck");
}

/// A cancel command for `booking` of `event` by `user`.
pub fn cancel_command(
    user: &TestUser,
    event: Uuid,
    booking: Uuid,
) -> evently_schemas::BookingCommand {
    evently_schemas::BookingCommand::Cancel(evently_schemas::CancelBooking {
        booking_id: booking,
        event_id: event,
        requested_by: user.id,
        requested_at: chrono::Utc::now(),
    })
}

/// The caller's entries as `GET /me/waitlist` shows them.
pub async fn my_entries(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let res = app.get("/me/waitlist", Some(&user.token)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["items"].as_array().cloned().unwrap_or_default()
}

/// `POST /waitlist/{id}/claim`.
pub async fn claim(app: &TestApp, user: &TestUser, entry: Uuid) -> reqwest::Response {
    app.post(
        &format!("/waitlist/{entry}/claim"),
        Some(&user.token),
        &json!({}),
    )
    .await
}

/// An event of `capacity` seats, each sold to its own user: returns the event, the holders and
/// their bookings.
pub async fn sold_out(
    app: &TestApp,
    capacity: i32,
    price: i64,
) -> (Uuid, Vec<TestUser>, Vec<Uuid>) {
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, capacity, price).await;
    let holders = app.bulk_users(capacity as usize).await;
    let mut bookings = Vec::new();
    for h in &holders {
        let b = book(app, h, event, 1, false).await;
        if price > 0 {
            assert_eq!(pay(app, h, id(&b), "tok_visa").await.status(), 200);
        }
        bookings.push(id(&b));
    }
    (event, holders, bookings)
}

/// Cancels through `POST /bookings/{id}/cancel`, expecting `200`.
pub async fn cancel(app: &TestApp, user: &TestUser, booking: Uuid) {
    let res = app
        .post(
            &format!("/bookings/{booking}/cancel"),
            Some(&user.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
}
