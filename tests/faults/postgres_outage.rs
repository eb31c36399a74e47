//! PostgreSQL away for longer than a consumer's retries last, during a sale of careful clients
//! (an `Idempotency-Key` each, retrying whatever was not answered): the gateway answers 503 with
//! `Retry-After` where it needs the database, never 500; the consumers stop pulling and hold what
//! failed instead of spending its deliveries, so nothing is dead-lettered; afterwards every
//! acknowledged booking is decided once and no seat is oversold.
//!
//! The test app's consumers retry from 100 ms, doubling, 8 deliveries at most: a message naked
//! through the outage would be dead-lettered after about 13 s. The outage lasts 25 s
//! (`EVENTLY_FAULT_PG_OUTAGE_SECS` makes it longer, e.g. 300 for the five minutes of a real one).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use evently_runtime::local::Postgres;
use parking_lot::RwLock;
use serde_json::json;

use crate::load::{PrivateSale, book_all, check_books, decided_at_least, private_sale};

fn outage() -> Duration {
    Duration::from_secs(
        std::env::var("EVENTLY_FAULT_PG_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(25),
    )
}

#[tokio::test]
async fn a_long_postgres_outage_dead_letters_nothing_and_answers_503_not_500() {
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
    let reader = users[0].clone();

    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let load = book_all(&app.http, target, users, event, 20, answered);
    let chaos = async {
        let decided = decided_at_least(&app, 30).await;
        pg.stop().await.expect("stop PostgreSQL");
        // Other routes while it is away: each answers (from a cache) or says 503 and when to
        // retry; none answers 500.
        let mut seen = BTreeMap::<String, u16>::new();
        let ends = tokio::time::Instant::now() + outage();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let login = json!({"email": reader.email, "password": reader.password});
        let probes = [
            ("GET", "/api/v1/me/bookings"),
            ("GET", "/api/v1/me/tickets"),
            ("GET", "/api/v1/me/notifications"),
            ("GET", "/api/v1/events"),
            ("POST", "/api/v1/auth/login"),
            ("GET", "/health/ready"),
        ];
        for (method, path) in probes {
            let request = match method {
                "GET" => app.http.get(app.url(path)).bearer_auth(&reader.token),
                _ => app.http.post(app.url(path)).json(&login),
            };
            let res = request.send().await.expect("the gateway answers");
            let status = res.status().as_u16();
            assert_ne!(
                status, 500,
                "{method} {path} answered 500 while PostgreSQL was away"
            );
            if status == 503 {
                assert!(
                    res.headers().contains_key("retry-after"),
                    "{method} {path}: a 503 without Retry-After"
                );
            }
            seen.insert(format!("{method} {path}"), status);
        }
        tokio::time::sleep_until(ends).await;
        let restarted = Postgres::start(&dir, port, true)
            .await
            .expect("restart PostgreSQL");
        (restarted, decided, seen)
    };
    let (outcome, (restarted, decided_at_stop, seen)) = tokio::join!(load, chaos);
    println!(
        "answers during the sale: {:?}; routes during the outage: {seen:?}",
        outcome.statuses
    );
    assert_eq!(outcome.answered.len(), 300);
    assert!(decided_at_stop < 300, "the outage came mid-stream");
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
    let dead = app.dead_letters().await;
    assert_eq!(
        dead, 0,
        "an outage longer than the retries dead-letters nothing"
    );
    app.shutdown().await;
    let mut restarted = restarted;
    restarted.stop().await.expect("stop");
}
