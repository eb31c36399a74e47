//! Analytics: the roll-ups equal a direct count of the bookings after a randomised run and again
//! after a rebuild from the event stream; a redelivered event changes nothing. The attendee list
//! and who may see analytics are in `attendees.rs`.

use std::collections::BTreeSet;

use chrono::Utc;
use evently_consumers::analytics::{Analytics, rebuild::rebuild};
use evently_consumers::{Handler, Incoming, Outcome};
use evently_schemas::{Availability, BookingEvent, BookingSnapshot, BookingStatus};
use evently_tests::app::{TestApp, TestOptions, TestUser};
use serde_json::Value;
use uuid::Uuid;

/// What the bookings table says of an event.
#[derive(Debug, PartialEq)]
struct Direct {
    confirmed: i64,
    cancelled: i64,
    rejected: i64,
    seats: i64,
    net_cents: i64,
}

async fn direct(app: &TestApp, event: Uuid) -> Direct {
    let (confirmed, cancelled, rejected, seats, net_cents): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'confirmed'), \
             count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'rejected'), \
             coalesce(sum(quantity) FILTER (WHERE status = 'confirmed'), 0)::bigint, \
             coalesce(sum(amount_cents) FILTER (WHERE status = 'confirmed'), 0)::bigint \
             FROM bookings WHERE event_id = $1",
        )
        .bind(event)
        .fetch_one(&app.pool)
        .await
        .expect("direct count");
    Direct {
        confirmed,
        cancelled,
        rejected,
        seats,
        net_cents,
    }
}

/// The event's figures as the API reports them, in the shape of [`Direct`].
async fn reported(app: &TestApp, token: &str, event: Uuid) -> (Direct, Value) {
    let res = app
        .get(&format!("/events/{event}/analytics"), Some(token))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    let n = |k: &str| body[k].as_i64().unwrap_or(-1);
    let direct = Direct {
        // Every cancelled booking of the run had been confirmed.
        confirmed: n("bookings_confirmed") - n("cancellations"),
        cancelled: n("cancellations"),
        rejected: n("rejections"),
        seats: n("seats_sold"),
        net_cents: n("net_revenue_cents"),
    };
    (direct, body)
}

pub async fn book_and_decide(app: &TestApp, user: &TestUser, event: Uuid, quantity: i32) -> Value {
    let res = app.book(user, event, quantity, None).await;
    assert!(res.status() == 201 || res.status() == 202);
    let body: Value = res.json().await.expect("json");
    let id: Uuid = body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let decided = app.wait_decided(user, id).await;
    if decided["status"] != "held" {
        return decided;
    }
    // A paid event's booking is held until paid: pay it with the test provider's good card.
    let paid = evently_tests::flows::pay(app, user, id, "tok_visa").await;
    assert_eq!(
        paid.status(),
        200,
        "{}",
        paid.text().await.unwrap_or_default()
    );
    evently_tests::flows::wait_booking(app, id, "confirmed").await;
    app.wait_decided(user, id).await
}

pub async fn cancel(app: &TestApp, user: &TestUser, booking: &str) {
    let res = app
        .post(
            &format!("/bookings/{booking}/cancel"),
            Some(&user.token),
            &serde_json::json!({}),
        )
        .await;
    assert!(res.status() == 200 || res.status() == 202);
    let id: Uuid = booking.parse().expect("id");
    app.eventually("the booking is cancelled", || async {
        app.wait_decided(user, id).await["status"] == "cancelled"
    })
    .await;
}

#[tokio::test]
async fn analytics_equal_a_direct_count_of_the_bookings_and_again_after_a_rebuild() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let admin = app.user_with_role("admin").await;
    let free = app.create_event(&organizer, 14, 0).await;
    let paid = app.create_event(&organizer, 11, 2500).await;
    let users = app.bulk_users(5).await;
    let mut confirmed = Vec::new();
    // Random holders and quantities on both events until both have rejected a booking.
    let mut rejected = BTreeSet::new();
    while rejected.len() < 2 {
        let user = &users[rand::random_range(0..users.len())];
        let event = if rand::random_range(0..2) == 0 {
            free
        } else {
            paid
        };
        let booking = book_and_decide(&app, user, event, rand::random_range(1..=4)).await;
        match booking["status"].as_str() {
            Some("confirmed") => confirmed.push((user.clone(), booking)),
            Some("rejected") => {
                rejected.insert(event);
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    for (user, booking) in confirmed.iter().filter(|_| rand::random_range(0..3) == 0) {
        cancel(&app, user, booking["id"].as_str().expect("id")).await;
    }

    for event in [free, paid] {
        let expected = direct(&app, event).await;
        app.eventually("the roll-ups catch up with the bookings", || async {
            reported(&app, &organizer.token, event).await.0 == expected
        })
        .await;
        let (_, body) = reported(&app, &organizer.token, event).await;
        let (sold, _, capacity) = app.seats(event).await;
        assert_eq!(body["capacity"], capacity);
        assert_eq!(body["seats_sold"], sold);
        let hourly: i64 = body["hourly"]
            .as_array()
            .expect("hourly")
            .iter()
            .map(|h| h["seats_sold"].as_i64().unwrap_or(0) - h["seats_freed"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(hourly, sold, "the hours add up to the total");
    }
    let (free_now, paid_now) = (direct(&app, free).await, direct(&app, paid).await);
    assert_eq!(free_now.net_cents, 0);
    let overview: Value = app
        .get("/admin/analytics/overview", Some(&admin.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(overview["seats_sold"], free_now.seats + paid_now.seats);
    assert_eq!(
        overview["rejections"],
        free_now.rejected + paid_now.rejected
    );
    assert_eq!(
        overview["cancellations"],
        free_now.cancelled + paid_now.cancelled
    );
    let eur = &overview["revenue"].as_array().expect("revenue")[..];
    assert_eq!(eur.len(), 1, "{overview}");
    assert_eq!(eur[0]["currency"], "EUR");
    assert_eq!(eur[0]["net_cents"], paid_now.net_cents);
    let top = overview["top_events"][0]["seats_sold"].as_i64();
    assert_eq!(top, Some(free_now.seats.max(paid_now.seats)));

    // A figure gone wrong is corrected by a rebuild from the stream, with the consumer running.
    let mut before = Vec::new();
    for event in [free, paid] {
        before.push(reported(&app, &organizer.token, event).await.1);
    }
    sqlx::query("UPDATE analytics_event_totals SET seats_sold = seats_sold + 1000")
        .execute(&app.pool)
        .await
        .expect("corrupt");
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let rebuilt = rebuild(&js, &app.pool, &app.prefix, 7)
        .await
        .expect("rebuild");
    assert!(rebuilt.messages > 0 && rebuilt.skipped == 0, "{rebuilt:?}");
    for (event, before) in [free, paid].into_iter().zip(before) {
        let (after, body) = reported(&app, &organizer.token, event).await;
        assert_eq!(after, direct(&app, event).await);
        assert_eq!(body, before, "the rebuild gives the same numbers");
    }
    app.shutdown().await;
}

fn booking_event(event_id: Uuid, id: Uuid, status: BookingStatus) -> BookingEvent {
    let now = Utc::now();
    BookingEvent {
        booking: BookingSnapshot {
            id,
            event_id,
            user_id: Uuid::now_v7(),
            quantity: 2,
            status,
            reason: None,
            amount_cents: 5000,
            currency: "EUR".into(),
            hold_expires_at: None,
            created_at: now,
            updated_at: now,
            lines: Vec::new(),
            promo_code_id: None,
            discount_cents: 0,
            seats: Vec::new(),
        },
        availability: Some(Availability {
            capacity: 10,
            sold: 2,
            held: 0,
            offered: 0,
            available: 8,
            ticket_types: Vec::new(),
        }),
        occurred_at: now,
    }
}

fn incoming(app: &TestApp, event: &BookingEvent, sequence: u64) -> Incoming {
    Incoming {
        subject: app
            .prefix
            .booking_event(event.booking.status, event.booking.event_id),
        payload: serde_json::to_vec(event).expect("json").into(),
        message_id: Some(event.message_id()),
        deliveries: 1,
        stream_sequence: sequence,
        traceparent: None,
    }
}

#[tokio::test]
async fn a_redelivered_event_changes_no_figure() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let handler = Analytics::new(app.pool.clone(), app.prefix.clone(), None);
    let (event_id, booking) = (Uuid::now_v7(), Uuid::now_v7());
    let confirmed = incoming(
        &app,
        &booking_event(event_id, booking, BookingStatus::Confirmed),
        1,
    );
    let cancelled = incoming(
        &app,
        &booking_event(event_id, booking, BookingStatus::Cancelled),
        2,
    );
    let totals = || async {
        sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(
            "SELECT bookings_confirmed, seats_sold, revenue_cents, cancellations, refunds_cents \
             FROM analytics_event_totals WHERE event_id = $1",
        )
        .bind(event_id)
        .fetch_one(&app.pool)
        .await
        .expect("totals")
    };

    let first = handler.handle(std::slice::from_ref(&confirmed)).await;
    assert!(matches!(first.outcomes[..], [Outcome::Done]));
    let redelivered = Incoming {
        deliveries: 2,
        ..confirmed.clone()
    };
    let again = handler.handle(&[redelivered.clone(), redelivered]).await;
    assert!(again.outcomes.iter().all(|o| matches!(o, Outcome::Done)));
    assert_eq!(totals().await, (1, 2, 5000, 0, 0));

    handler.handle(std::slice::from_ref(&cancelled)).await;
    handler.handle(&[cancelled.clone(), confirmed]).await;
    assert_eq!(totals().await, (1, 2, 5000, 1, 5000));

    // Purely additive events (a rejection, a waitlist entry) rely on the inbox alone.
    let mut rejected = booking_event(event_id, Uuid::now_v7(), BookingStatus::Rejected);
    rejected.booking.reason = Some(evently_schemas::RejectReason::SoldOut);
    let rejected = incoming(&app, &rejected, 3);
    let joined = Incoming {
        subject: format!("{}.evt.waitlist.joined.{event_id}", app.prefix),
        payload: serde_json::to_vec(&serde_json::json!({"entry": {}, "occurred_at": Utc::now()}))
            .expect("json")
            .into(),
        message_id: Some(format!("{}.joined", Uuid::now_v7())),
        deliveries: 1,
        stream_sequence: 4,
        traceparent: None,
    };
    for _ in 0..2 {
        let step = handler.handle(&[rejected.clone(), joined.clone()]).await;
        assert!(step.outcomes.iter().all(|o| matches!(o, Outcome::Done)));
    }
    let (rejections, joined): (i64, i64) = sqlx::query_as(
        "SELECT rejections, waitlist_joined FROM analytics_event_totals WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&app.pool)
    .await
    .expect("totals");
    assert_eq!((rejections, joined), (1, 1));
    assert_eq!(totals().await, (1, 2, 5000, 1, 5000));
    let hourly: (i64, i64) = sqlx::query_as(
        "SELECT sum(seats_sold)::bigint, sum(seats_freed)::bigint FROM analytics_event_hourly WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&app.pool)
    .await
    .expect("hourly");
    assert_eq!(hourly, (2, 2));
    app.shutdown().await;
}
