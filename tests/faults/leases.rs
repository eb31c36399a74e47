//! Several `reservations` instances: one holds the lease and decides, in stream order; when it is
//! killed a standby takes over.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evently_schemas::BookingCommand;
use evently_tests::app::{TestApp, TestOptions};
use parking_lot::RwLock;
use uuid::Uuid;

use crate::load::{book_all, check_books, decided_at_least};
use crate::process::Evently;

async fn jetstream(app: &TestApp) -> async_nats::jetstream::Context {
    let nats = evently_runtime::nats::connect(&app.nats.url(), "evently-test")
        .await
        .expect("nats");
    evently_runtime::nats::jetstream(nats)
}

/// The pid in the `reservations` lease (`pid <n> on <host>`), once an instance holds it.
async fn lease_holder(app: &TestApp) -> u32 {
    let js = jetstream(app).await;
    let bucket = format!("{}_LEASES", app.prefix.stream_prefix());
    for _ in 0..200 {
        if let Ok(store) = js.get_key_value(&bucket).await
            && let Ok(Some(value)) = store.get("reservations").await
            && let Some(pid) = String::from_utf8_lossy(&value)
                .strip_prefix("pid ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|pid| pid.parse().ok())
        {
            return pid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no instance took the reservations lease");
}

/// The booking ids of `event`'s reserve commands in the order the stream holds them (each once).
async fn stream_order(app: &TestApp, event: Uuid) -> Vec<Uuid> {
    let js = jetstream(app).await;
    let mut stream = js
        .get_stream(app.prefix.cmd_stream())
        .await
        .expect("command stream");
    let last = stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence;
    let subject = app.prefix.reserve(event);
    let mut seen = HashSet::new();
    let mut order = Vec::new();
    for sequence in 1..=last {
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        if message.subject.as_str() != subject {
            continue;
        }
        let command: BookingCommand =
            serde_json::from_slice(&message.payload).expect("a booking command");
        if let Some(id) = command.booking_id()
            && seen.insert(id)
        {
            order.push(id);
        }
    }
    order
}

#[tokio::test]
async fn two_reservations_instances_decide_in_stream_order_and_a_standby_takes_over() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        decision_wait_ms: 300,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let capacity = 120;
    let event = app.create_event(&organizer, capacity, 0).await;
    let users = app.bulk_users(400).await;
    let a = Evently::consume_only(&app, &["reservations"]);
    let b = Evently::consume_only(&app, &["reservations"]);
    let holder = lease_holder(&app).await;
    let (active, standby) = if a.pid() == Some(holder) {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(active.pid(), Some(holder), "the lease names one of the two");

    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let load = book_all(&app.http, target, users, event, 40, answered.clone());
    let chaos = async {
        // Kill the active instance mid-stream: the standby takes over once the lease expires.
        decided_at_least(&app, 100).await;
        active.kill().await;
        answered.load(Ordering::Relaxed)
    };
    let (outcome, answered_at_kill) = tokio::join!(load, chaos);
    assert_eq!(outcome.answered.len(), 400, "every request was answered");
    assert!(answered_at_kill < 400, "the kill happened mid-stream");
    check_books(&app, event, &outcome, i64::from(capacity)).await;

    // Fair: the seats went to the first `capacity` requests in stream order, exactly.
    let order = stream_order(&app, event).await;
    assert_eq!(order.len(), 400, "every request is in the stream once");
    let first_in_line: HashSet<Uuid> = order.iter().take(capacity as usize).copied().collect();
    let confirmed: HashSet<Uuid> = sqlx::query_scalar::<_, Uuid>(
        "SELECT id FROM bookings WHERE event_id = $1 AND status = 'confirmed'",
    )
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("confirmed")
    .into_iter()
    .collect();
    assert_eq!(
        confirmed.len(),
        first_in_line.len(),
        "as many confirmed as seats"
    );
    assert_eq!(
        confirmed, first_in_line,
        "the seats went to the first requests in stream order"
    );
    // The standby became the holder.
    assert_eq!(lease_holder(&app).await, standby.pid().expect("pid"));
    standby.kill().await;
    app.shutdown().await;
}
