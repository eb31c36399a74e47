//! PostgreSQL stopped and started again while bookings stream in: the gateway answers 503 where
//! it needs the database, the consumers hold what failed until it is back, and everything catches
//! up.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use evently_runtime::local::Postgres;
use parking_lot::RwLock;

use crate::load::{PrivateSale, book_all, check_books, decided_at_least, private_sale};

#[tokio::test]
async fn a_postgres_restart_during_a_sale_loses_and_doubles_nothing() {
    let capacity = 150;
    let PrivateSale {
        store: _store,
        dir,
        port,
        mut pg,
        app,
        event,
        users,
    } = private_sale(capacity, 300).await;

    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let load = book_all(&app.http, target, users, event, 40, answered);
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
    let dead = app.dead_letters().await;
    assert_eq!(dead, 0, "a short outage dead-letters nothing");
    app.shutdown().await;
    let mut restarted = restarted;
    restarted.stop().await.expect("stop");
}
