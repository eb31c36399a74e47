//! A backup taken in the middle of a sale (`evently backup`, while commands keep flowing) and
//! restored into a new database (`evently restore`: the dump loaded, the durable consumers
//! rewound to the positions recorded with it): `evently consume` against the restored database
//! re-applies everything after the backup from the streams, and the database ends in the state of
//! the run that was never restored: the same bookings (ids, owners, statuses), inventory, tickets
//! and analytics, nothing doubled.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use evently_runtime::nats::{consumer_config, consumer_names};
use evently_tests::app::{TestApp, TestOptions};
use parking_lot::RwLock;
use sqlx::PgPool;
use uuid::Uuid;

use crate::load::{book_all, check_books};
use crate::process::Evently;

/// What the sale left in a database, in an order that compares.
#[derive(Debug, PartialEq, Eq)]
struct Books {
    /// `(id, user, status, quantity, reason)`.
    bookings: Vec<(Uuid, Uuid, String, i32, Option<String>)>,
    /// `(sold, held, capacity)`.
    inventory: (i32, i32, i32),
    /// `(ticket id, booking, seat)`.
    tickets: Vec<(Uuid, Uuid, i32)>,
    /// `(bookings confirmed, seats sold, rejections, tickets issued)`.
    analytics: (i64, i64, i64, i64),
}

async fn books(pool: &PgPool, event: Uuid) -> Books {
    let bookings = sqlx::query_as(
        "SELECT id, user_id, status, quantity, reason FROM bookings WHERE event_id = $1 ORDER BY id",
    )
    .bind(event)
    .fetch_all(pool)
    .await
    .expect("bookings");
    let inventory =
        sqlx::query_as("SELECT sold, held, capacity FROM inventory WHERE event_id = $1")
            .bind(event)
            .fetch_one(pool)
            .await
            .expect("inventory");
    let tickets = sqlx::query_as(
        "SELECT id, booking_id, seat_index FROM tickets WHERE event_id = $1 ORDER BY id",
    )
    .bind(event)
    .fetch_all(pool)
    .await
    .expect("tickets");
    let analytics = sqlx::query_as(
        "SELECT bookings_confirmed, seats_sold, rejections, tickets_issued \
         FROM analytics_event_totals WHERE event_id = $1",
    )
    .bind(event)
    .fetch_optional(pool)
    .await
    .expect("analytics")
    .unwrap_or_default();
    Books {
        bookings,
        inventory,
        tickets,
        analytics,
    }
}

/// Whether every durable consumer has applied its stream: nothing pending, nothing in hand.
async fn idle(app: &TestApp) -> bool {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    for durable in consumer_names() {
        let (stream, _) = consumer_config(&app.prefix, durable, None).expect("definition");
        let Ok(stream) = js.get_stream(&stream).await else {
            return false;
        };
        match stream.consumer_info(durable).await {
            Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0 => {}
            _ => return false,
        }
    }
    true
}

/// Waits until the reservations durable's ack floor reaches stream sequence `at_least`.
async fn reservations_acked(app: &TestApp, at_least: u64) {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let (stream, _) = consumer_config(&app.prefix, "reservations", None).expect("definition");
    let stream = js
        .get_stream(&stream)
        .await
        .expect("the reservations stream");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let info = stream
            .consumer_info("reservations")
            .await
            .expect("consumer info");
        if info.ack_floor.stream_sequence >= at_least {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reservations consumer acknowledged only {} commands",
            info.ack_floor.stream_sequence
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `books` of `pool` have every ticket of the confirmed seats and the consumers
/// are idle, then returns them.
async fn settled(app: &TestApp, pool: &PgPool, event: Uuid, bookings: usize) -> Books {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let now = books(pool, event).await;
        let seats = usize::try_from(now.inventory.0).unwrap_or(0);
        let decided = now.bookings.iter().all(|b| b.2 != "pending");
        let rejected = now.bookings.iter().filter(|b| b.2 == "rejected").count();
        if now.bookings.len() == bookings
            && decided
            && now.tickets.len() == seats
            && now.analytics.3 == i64::from(now.inventory.0)
            // Every rejection counted too, not only the sales.
            && now.analytics.2 == i64::try_from(rejected).unwrap_or(i64::MAX)
            && idle(app).await
        {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled: {} bookings, {} tickets, inventory {:?}, analytics {:?}",
            now.bookings.len(),
            now.tickets.len(),
            now.inventory,
            now.analytics
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `url` with its database name replaced by `database`.
fn on_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    match query {
        Some(q) => format!("{server}/{database}?{q}"),
        None => format!("{server}/{database}"),
    }
}

#[tokio::test]
async fn a_database_restored_from_a_backup_taken_mid_sale_is_brought_by_the_consumers_to_the_state_of_the_run_never_restored()
 {
    let capacity = 150;
    let mut app = TestApp::spawn_with(TestOptions {
        decision_wait_ms: 1000,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, capacity, 0).await;
    let users = app.bulk_users(300).await;
    let store = tempfile::tempdir().expect("tempdir");
    let dir = store.path().join("backup");
    let dir_arg = dir.to_str().expect("utf-8 path").to_owned();

    // A hundred bookings before the backup, a hundred while it runs, a hundred after it.
    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let mut users = users.into_iter();
    let mut wave = |n: usize| {
        book_all(
            &app.http,
            target.clone(),
            users.by_ref().take(n).collect(),
            event,
            10,
            answered.clone(),
        )
    };
    let (before, during, after) = (wave(100), wave(100), wave(100));
    let mut outcome = before.await;
    // The first hundred may be answered 202 before they are decided (a loaded machine): the
    // backup starts once the reservations consumer has acknowledged them, so that it holds them.
    reservations_acked(&app, 100).await;
    let args = ["backup", dir_arg.as_str()];
    let (during, printed) = tokio::join!(during, Evently::run(&app, &args, |_| {}));
    println!("{printed}");
    outcome.merge(during);
    outcome.merge(after.await);
    check_books(&app, event, &outcome, i64::from(capacity)).await;
    let reference = settled(&app, &app.pool, event, 300).await;
    app.stop_consumers().await;

    // A new database on the same server, the dump loaded into it and the durables rewound.
    let database = format!("restored_{}", Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&app.pool)
        .await
        .expect("create the database to restore into");
    let url = on_database(
        app.settings.database_url.as_deref().expect("database url"),
        &database,
    );
    let printed = Evently::run(&app, &["restore", &dir_arg], |s| {
        s.database_url = Some(url.clone());
    })
    .await;
    println!("{printed}");
    let restored = evently_runtime::db::connect(&url, 4)
        .await
        .expect("connect to the restored database");
    // Each command of this sale is one booking: the backup holds the first `at_backup`.
    let positions = evently_runtime::backup::read_positions(&dir).expect("positions");
    let at_backup = positions
        .consumers
        .iter()
        .find(|p| p.durable == "reservations")
        .map(|p| p.acked_through)
        .expect("reservations' position");
    assert!(
        (100..300).contains(&at_backup),
        "the backup holds part of the sale: {at_backup} commands applied"
    );

    let consumers = Evently::consume_with(&app, |s| s.database_url = Some(url.clone()));
    let replayed = settled(&app, &restored, event, 300).await;
    assert_eq!(
        replayed.bookings, reference.bookings,
        "the same bookings, ids and statuses"
    );
    assert_eq!(
        replayed.inventory, reference.inventory,
        "the same inventory"
    );
    assert_eq!(
        replayed.tickets, reference.tickets,
        "one ticket per seat, as before"
    );
    assert_eq!(replayed.analytics, reference.analytics, "counted once");
    assert_eq!(app.dead_letters().await, 0, "nothing dead-lettered");
    println!(
        "{at_backup} commands applied in the backup, {} bookings after the replay; {} tickets",
        replayed.bookings.len(),
        replayed.tickets.len()
    );

    consumers.kill().await;
    restored.close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
    )))
    .execute(&app.pool)
    .await;
    app.shutdown().await;
}
