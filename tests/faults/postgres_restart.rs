//! PostgreSQL stopped and started again while bookings stream in: the gateway answers 503 where
//! it needs the database, the consumers nak with backoff, and everything catches up.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use evently_runtime::local::{Postgres, free_port};
use evently_tests::app::{TestApp, TestOptions};
use parking_lot::RwLock;

use crate::load::{book_all, check_books, decided_at_least};

#[tokio::test]
async fn a_postgres_restart_during_a_sale_loses_and_doubles_nothing() {
    let store = tempfile::tempdir().expect("tempdir");
    let dir = store.path().join("pg");
    let port = free_port().expect("port");
    let mut pg = Postgres::start(&dir, port, true)
        .await
        .expect("private PostgreSQL");
    let app = TestApp::spawn_with(TestOptions {
        admin_database_url: Some(pg.url()),
        decision_wait_ms: 1000,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let capacity = 150;
    let event = app.create_event(&organizer, capacity, 0).await;
    let users = app.bulk_users(300).await;

    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let load = book_all(&app, target, users, event, 40, answered);
    let chaos = async {
        let decided = decided_at_least(&app, 50).await;
        pg.stop().await.expect("stop PostgreSQL");
        // The outage itself: requests and consumer steps fail while it lasts.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let restarted = Postgres::start(&dir, port, true)
            .await
            .expect("restart PostgreSQL");
        (restarted, decided)
    };
    let (outcome, (restarted, decided_at_stop)) = tokio::join!(load, chaos);
    assert_eq!(outcome.answered.len(), 300);
    assert!(decided_at_stop < 300, "the outage came mid-stream");
    check_books(&app, event, &outcome, i64::from(capacity)).await;
    let dead: u64 = evently_runtime::nats::jetstream(app.nats_client())
        .get_stream(app.prefix.dlq_stream())
        .await
        .expect("dlq")
        .info()
        .await
        .expect("info")
        .state
        .messages;
    assert_eq!(dead, 0, "a short outage dead-letters nothing");
    app.shutdown().await;
    let mut restarted = restarted;
    restarted.stop().await.expect("stop");
}
