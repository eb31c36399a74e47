//! A consumer process killed with SIGKILL while bookings stream in, then restarted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evently_tests::app::{TestApp, TestOptions};
use parking_lot::RwLock;

use crate::load::{book_all, check_books, decided_at_least};
use crate::process::Evently;

#[tokio::test]
async fn a_consumer_process_killed_mid_stream_and_restarted_decides_every_booking_once() {
    // The gateway runs in the test; the consumers only in the child process.
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        decision_wait_ms: 300,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let capacity = 150;
    let event = app.create_event(&organizer, capacity, 0).await;
    let users = app.bulk_users(400).await;
    let consumer = Evently::consume(&app);

    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let load = book_all(&app.http, target, users, event, 40, answered.clone());
    let chaos = async {
        // Kill the consumer once it has decided some bookings and more are coming.
        let decided_at_kill = decided_at_least(&app, 60).await;
        consumer.kill().await;
        // Requests keep being accepted (JetStream holds them) while no consumer runs.
        let before = answered.load(Ordering::Relaxed);
        app.eventually("requests are still accepted", || async {
            answered.load(Ordering::Relaxed) >= before + 20
        })
        .await;
        (Evently::consume(&app), decided_at_kill)
    };
    let (outcome, (restarted, decided_at_kill)) = tokio::join!(load, chaos);
    assert_eq!(outcome.answered.len(), 400, "every request was answered");
    assert!(decided_at_kill < 400, "the kill happened mid-stream");
    check_books(&app, event, &outcome, i64::from(capacity)).await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE event_id = $1")
        .bind(event)
        .fetch_one(&app.pool)
        .await
        .expect("bookings");
    assert_eq!(applied, 400, "each command applied once: one booking each");
    restarted.kill().await;
    app.shutdown().await;
}
