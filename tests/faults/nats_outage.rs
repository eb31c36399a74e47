//! NATS away during a sale of careful clients (an `Idempotency-Key` each, retrying whatever was
//! not answered): every booking request meanwhile is answered 503 with `Retry-After` (or with a
//! decision), never 500; other routes answer or say 503 and when to retry; tickets checked in at
//! the door meanwhile are admitted at once and reach the event stream once NATS is back (the
//! outbox); afterwards every acknowledged booking is decided exactly once, no seat is oversold
//! and nothing is dead-lettered.
//!
//! The outage lasts 20 s (`EVENTLY_FAULT_NATS_OUTAGE_SECS` makes it longer, e.g. 120 for the two
//! minutes of the issue).

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use evently_tests::app::{TestApp, TestOptions, TestUser};
use parking_lot::RwLock;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::load::{book_all, check_books};

fn outage() -> Duration {
    Duration::from_secs(
        std::env::var("EVENTLY_FAULT_NATS_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20),
    )
}

/// A confirmed one-seat booking of `user` on `event`, and its ticket's QR payload.
async fn ticket_of(app: &TestApp, user: &TestUser, event: Uuid) -> (Uuid, String) {
    let res = app.book(user, event, 1, None).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("json");
    let booking: Uuid = body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    assert_eq!(app.wait_decided(user, booking).await["status"], "confirmed");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let res = app
            .get(&format!("/bookings/{booking}/tickets"), Some(&user.token))
            .await;
        let body: Value = res.json().await.unwrap_or_default();
        if let Some(payload) = body["tickets"][0]["qr_payload"].as_str() {
            return (booking, payload.to_owned());
        }
        assert!(std::time::Instant::now() < deadline, "no ticket issued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many messages on `subject` the event stream holds.
async fn in_event_stream(app: &TestApp, subject: &str) -> u64 {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let stream = js
        .get_stream(app.prefix.evt_stream())
        .await
        .expect("stream");
    let mut counter = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            inactive_threshold: Duration::from_secs(60),
            filter_subject: subject.to_owned(),
            ..Default::default()
        })
        .await
        .expect("ephemeral consumer");
    counter.info().await.expect("info").num_pending
}

/// Routes other than booking while NATS is away: each answers, or says 503 and when to retry;
/// none answers 500. Returns what each answered.
async fn probe_routes(
    http: &reqwest::Client,
    base: &str,
    who: &TestUser,
    event: Uuid,
    booking: Uuid,
) -> Vec<String> {
    let login = json!({"email": who.email, "password": who.password});
    let probes = [
        ("GET", "/api/v1/events".to_owned(), None),
        ("GET", format!("/api/v1/events/{event}"), None),
        ("GET", "/api/v1/me/bookings".to_owned(), None),
        ("GET", format!("/api/v1/bookings/{booking}"), None),
        ("GET", format!("/api/v1/bookings/{booking}/tickets"), None),
        ("GET", "/api/v1/me/notifications".to_owned(), None),
        ("POST", "/api/v1/auth/login".to_owned(), Some(&login)),
        // A command: nothing to publish it to.
        ("POST", format!("/api/v1/bookings/{booking}/cancel"), None),
        ("GET", "/health/ready".to_owned(), None),
    ];
    let mut seen = Vec::new();
    for (method, path, body) in probes {
        let url = format!("{base}{path}");
        let request = match (method, body) {
            ("GET", _) => http.get(url).bearer_auth(&who.token),
            (_, Some(body)) => http.post(url).json(body),
            (_, None) => http.post(url).bearer_auth(&who.token),
        };
        let res = request.send().await.expect("the gateway answers");
        let status = res.status().as_u16();
        assert_ne!(
            status, 500,
            "{method} {path} answered 500 while NATS was away"
        );
        if status == 503 {
            assert!(
                res.headers().contains_key("retry-after"),
                "{method} {path}: a 503 without Retry-After"
            );
        }
        if path.ends_with("/cancel") || path == "/health/ready" {
            assert_eq!(status, 503, "{method} {path} needs NATS: 503");
        }
        seen.push(format!("{method} {path}: {status}"));
    }
    seen
}

/// How many bookings are decided, on any event.
async fn decided(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM bookings WHERE status <> 'pending'")
        .fetch_one(pool)
        .await
        .expect("count the bookings")
}

#[tokio::test]
async fn a_long_nats_outage_answers_503_not_500_loses_no_check_in_and_decides_every_booking_once() {
    let capacity = 150;
    let mut app = TestApp::spawn_with(TestOptions {
        decision_wait_ms: 1000,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, capacity, 0).await;
    let door = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    let mut tickets = Vec::new();
    for _ in 0..3 {
        tickets.push(ticket_of(&app, &holder, door).await);
    }
    let users = app.bulk_users(300).await;
    let before = decided(&app.pool).await;

    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let (http, pool, base, nats) = (&app.http, &app.pool, &app.base, &mut app.nats);
    let load = book_all(http, target, users, event, 20, answered);
    let chaos = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while decided(pool).await < before + 30 {
            assert!(tokio::time::Instant::now() < deadline, "the sale started");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let decided_at_stop = decided(pool).await - before;
        let ends = tokio::time::Instant::now() + outage();
        nats.stop().await.expect("stop NATS");
        // At the door: admitted at once, without waiting on the broker.
        for (_, code) in &tickets {
            let started = std::time::Instant::now();
            let res = http
                .post(format!("{base}/api/v1/events/{door}/checkin"))
                .bearer_auth(&organizer.token)
                .json(&json!({"qr_payload": code}))
                .send()
                .await
                .expect("the gateway answers");
            assert_eq!(res.status(), 200, "a check-in while NATS is away");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "the door waited"
            );
        }
        let seen = probe_routes(http, base, &holder, door, tickets[0].0).await;
        let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(pool)
            .await
            .expect("outbox");
        tokio::time::sleep_until(ends).await;
        nats.restart().await.expect("restart NATS");
        (decided_at_stop, seen, waiting)
    };
    let (outcome, (decided_at_stop, seen, waiting)) = tokio::join!(load, chaos);
    println!(
        "answers during the sale: {:?} ({} retries); routes during the outage: {seen:?}",
        outcome.statuses, outcome.retries
    );
    assert!(decided_at_stop < 300, "the outage came mid-stream");
    assert_eq!(waiting, 3, "the check-ins wait in the outbox");
    assert_eq!(outcome.answered.len(), 300);
    assert!(
        outcome.statuses.get(&503).copied().unwrap_or(0) > 0,
        "requests came in during the outage"
    );
    assert!(
        !outcome.statuses.contains_key(&500),
        "booking requests answered 500 during the outage: {:?}",
        outcome.statuses
    );
    assert_eq!(
        outcome.without_retry_after, 0,
        "every 503 says when to retry"
    );
    check_books(&app, event, &outcome, i64::from(capacity)).await;
    app.eventually("the check-ins are published", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox")
            .fetch_one(&app.pool)
            .await
            .is_ok_and(|n| n == 0)
    })
    .await;
    assert_eq!(
        in_event_stream(&app, &app.prefix.ticket_checked_in(door)).await,
        3,
        "each check-in made while NATS was away is in the event stream, once"
    );
    assert_eq!(app.dead_letters().await, 0, "nothing dead-lettered");
    app.shutdown().await;
}
