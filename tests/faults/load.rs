//! A booking load for fault tests: one request per user with an `Idempotency-Key`, from a pool
//! of concurrent clients that retry (same key) whatever did not get an answer: connection errors,
//! 5xx. It returns the booking id each user was finally answered with, and every status seen.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use evently_runtime::local::{Postgres, free_port};
use evently_tests::app::{TestApp, TestOptions, TestUser};
use parking_lot::RwLock;
use serde_json::{Value, json};
use uuid::Uuid;

/// Where the clients send their requests; a test may move it (a restarted gateway).
pub type Target = Arc<RwLock<String>>;

/// What the load saw.
pub struct Outcome {
    /// `(user, booking id)` of every request that was answered 201 or 202.
    pub answered: Vec<(Uuid, Uuid)>,
    /// Attempts that failed and were retried (connection refused or reset, 5xx).
    pub retries: usize,
    /// How many answers of each status the clients got, retried ones included.
    pub statuses: BTreeMap<u16, usize>,
    /// 503 and 429 answers that did not say when to retry (`Retry-After`).
    pub without_retry_after: usize,
}

impl Outcome {
    /// Adds what another load saw (a sale in waves).
    pub fn merge(&mut self, other: Outcome) {
        self.answered.extend(other.answered);
        self.retries += other.retries;
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.without_retry_after += other.without_retry_after;
    }
}

/// Books one seat for each user of `users` on `event` through `target`, `concurrency` at a time.
pub async fn book_all(
    http: &reqwest::Client,
    target: Target,
    users: Vec<TestUser>,
    event: Uuid,
    concurrency: usize,
    answered_so_far: Arc<AtomicUsize>,
) -> Outcome {
    let http = http.clone();
    let retries = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(parking_lot::Mutex::new(BTreeMap::<u16, usize>::new()));
    let without_retry_after = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for user in users {
        let (http, target, gate, retries, answered) = (
            http.clone(),
            target.clone(),
            gate.clone(),
            retries.clone(),
            answered_so_far.clone(),
        );
        let (statuses, without_retry_after) = (statuses.clone(), without_retry_after.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore");
            let key = format!("fault-{}", user.id);
            // Longer than any outage a fault test makes (`EVENTLY_FAULT_*_OUTAGE_SECS`, five
            // minutes at most), with the backlog drained after it.
            let deadline = Instant::now() + Duration::from_secs(600);
            loop {
                let base = target.read().clone();
                let sent = http
                    .post(format!("{base}/api/v1/events/{event}/bookings"))
                    .bearer_auth(&user.token)
                    .header("Idempotency-Key", &key)
                    .timeout(Duration::from_secs(15))
                    .json(&json!({"quantity": 1}))
                    .send()
                    .await;
                if let Ok(res) = sent {
                    let status = res.status().as_u16();
                    *statuses.lock().entry(status).or_default() += 1;
                    if (status == 503 || status == 429)
                        && !res.headers().contains_key("retry-after")
                    {
                        without_retry_after.fetch_add(1, Ordering::Relaxed);
                    }
                    if status == 201 || status == 202 {
                        let body: Value = res.json().await.expect("json");
                        let id = body["id"].as_str().and_then(|s| s.parse().ok());
                        answered.fetch_add(1, Ordering::Relaxed);
                        return (user.id, id.expect("booking id"));
                    }
                    assert!(
                        status >= 500 || status == 429,
                        "unexpected answer {status} for user {}",
                        user.id
                    );
                }
                retries.fetch_add(1, Ordering::Relaxed);
                assert!(
                    Instant::now() < deadline,
                    "user {} never got an answer",
                    user.id
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    let mut answered = Vec::new();
    while let Some(done) = tasks.join_next().await {
        answered.push(done.expect("client task"));
    }
    let statuses = statuses.lock().clone();
    Outcome {
        answered,
        retries: retries.load(Ordering::Relaxed),
        statuses,
        without_retry_after: without_retry_after.load(Ordering::Relaxed),
    }
}

/// Waits until every one of `n` bookings of `event` is decided, then checks the books: each
/// answered booking exists exactly once, nobody holds two, seats sold = confirmed seats <= capacity.
pub async fn check_books(app: &TestApp, event: Uuid, outcome: &Outcome, capacity: i64) {
    let n = outcome.answered.len() as i64;
    app.eventually("every accepted booking is decided", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM bookings WHERE event_id = $1")
            .bind(event)
            .fetch_one(&app.pool)
            .await
            .expect("count")
            == n
    })
    .await;
    for (user, booking) in &outcome.answered {
        let owner: Option<Uuid> = sqlx::query_scalar("SELECT user_id FROM bookings WHERE id = $1")
            .bind(booking)
            .fetch_optional(&app.pool)
            .await
            .expect("booking");
        assert_eq!(owner, Some(*user), "booking {booking} answered but missing");
    }
    let doubles: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT user_id FROM bookings WHERE event_id = $1 \
         GROUP BY user_id HAVING count(*) > 1) d",
    )
    .bind(event)
    .fetch_one(&app.pool)
    .await
    .expect("doubles");
    assert_eq!(doubles, 0, "a user got two bookings");
    let (sold, held, cap) = app.seats(event).await;
    let confirmed = app.count_bookings(event, "confirmed").await;
    assert_eq!(cap, capacity);
    assert_eq!(sold, confirmed, "inventory and bookings agree");
    assert_eq!(held, 0);
    assert_eq!(
        confirmed,
        capacity.min(n),
        "every seat sold once, none oversold"
    );
}

/// Waits until at least `at_least` bookings are decided (a fault is injected mid-stream), and
/// returns how many are.
pub async fn decided_at_least(app: &TestApp, at_least: i64) -> i64 {
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM bookings")
            .fetch_one(&app.pool)
            .await
    };
    app.eventually("some bookings are decided", || async {
        count().await.is_ok_and(|n| n >= at_least)
    })
    .await;
    count().await.expect("count the bookings")
}

/// A sale on a private PostgreSQL that the test can stop and start again (`Postgres::start(&dir,
/// port, true)`): the app on it (decisions waited for 1 s), one free event of `capacity` seats and
/// `users` registered users.
pub struct PrivateSale {
    /// Holds the cluster's directory for the test's length.
    pub store: tempfile::TempDir,
    pub dir: std::path::PathBuf,
    pub port: u16,
    pub pg: Postgres,
    pub app: TestApp,
    pub event: Uuid,
    pub users: Vec<TestUser>,
}

pub async fn private_sale(capacity: i32, users: usize) -> PrivateSale {
    let store = tempfile::tempdir().expect("tempdir");
    let dir = store.path().join("pg");
    let port = free_port().expect("port");
    let pg = Postgres::start(&dir, port, true)
        .await
        .expect("private PostgreSQL");
    let app = TestApp::spawn_with(TestOptions {
        admin_database_url: Some(pg.url()),
        decision_wait_ms: 1000,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, capacity, 0).await;
    let users = app.bulk_users(users).await;
    PrivateSale {
        store,
        dir,
        port,
        pg,
        app,
        event,
        users,
    }
}
