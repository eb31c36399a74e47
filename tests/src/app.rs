//! One helper builds a whole app for a test: a private nats-server on a free port (so the test can
//! stop and restart it), a fresh database `test_<uuid>` (migrated, dropped at the end), a fresh
//! subject prefix `t<uuid>`, and the gateway on port 0 with the consumers in the same process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use evently_runtime::Settings;
use evently_runtime::local::NatsServer;
use evently_runtime::settings::Secret;
use evently_schemas::Prefix;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The webhook secret of test apps (`EVENTLY_PAYMENTS__WEBHOOK_SECRET`).
pub const TEST_WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789abcdef";

/// How to build a [`TestApp`].
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// Start the consumers with the app.
    pub consumers: bool,
    /// The consumers' `ack_wait`: short, so that a killed consumer's messages come back soon.
    pub ack_wait_secs: u64,
    pub decision_wait_ms: u64,
    pub batch_size: usize,
    /// Last word on the settings, e.g. tight security limits.
    pub configure: fn(&mut Settings),
    /// The PostgreSQL server to create the test database on, instead of `DATABASE_URL`'s (a
    /// private one a test can stop and restart).
    pub admin_database_url: Option<String>,
    /// The NATS servers to use instead of the app's own nats-server (a cluster a test runs).
    pub nats_url: Option<String>,
    /// Notification settings (SMTP receiver, VAPID key) of this app.
    pub notifications: Option<evently_runtime::notify_settings::NotificationSettings>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            consumers: true,
            ack_wait_secs: 3,
            decision_wait_ms: 10_000,
            batch_size: 256,
            configure: |_| {},
            admin_database_url: None,
            nats_url: None,
            notifications: None,
        }
    }
}

/// A registered user and their access token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    pub token: String,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub pool: PgPool,
    pub nats: NatsServer,
    pub settings: Arc<Settings>,
    pub prefix: Prefix,
    shutdown: CancellationToken,
    gateway: JoinSet<()>,
    consumers: Option<(CancellationToken, JoinSet<anyhow::Result<()>>)>,
    /// A second set of consumers (another instance of every durable consumer and the sweeper).
    second: Option<(CancellationToken, JoinSet<anyhow::Result<()>>)>,
    nats_client: async_nats::Client,
    database: String,
    admin_url: String,
    _store: tempfile::TempDir,
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The PostgreSQL server tests create their databases on.
pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestOptions::default()).await
    }

    pub async fn spawn_with(options: TestOptions) -> Self {
        Self::try_spawn(options).await.expect("spawning a test app")
    }

    async fn try_spawn(options: TestOptions) -> anyhow::Result<Self> {
        evently_runtime::telemetry::init_logging();
        evently_runtime::vapid::install_crypto_provider();
        let store = tempfile::tempdir()?;
        let binary =
            evently_runtime::local::nats_server_binary(&workspace_root().join(".evently"))?;
        let nats = NatsServer::start(&binary, store.path(), None).await?;

        let admin_url = options
            .admin_database_url
            .clone()
            .unwrap_or_else(admin_database_url);
        let database = format!("test_{}", Uuid::new_v4().simple());
        let admin = evently_runtime::db::connect(&admin_url, 2).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&admin)
            .await
            .context("creating the test database")?;
        admin.close().await;

        let tag = Uuid::new_v4().simple().to_string();
        let mut settings = Settings {
            http_addr: "127.0.0.1:0".parse()?,
            database_url: Some(with_database(&admin_url, &database)),
            nats_url: Some(options.nats_url.clone().unwrap_or_else(|| nats.url())),
            nats_prefix: format!("t{}", &tag[..12]),
            db_max_connections: 12,
            jwt_secret: Some(Secret::new(format!("test-secret-{tag}"))),
            decision_wait_ms: options.decision_wait_ms,
            consumer: evently_runtime::settings::ConsumerSettings {
                batch_size: options.batch_size,
                ack_wait_secs: Some(options.ack_wait_secs),
                retry_base_ms: 100,
                // A killed reservations instance's lease passes on quickly.
                lease_ttl_secs: 3,
            },
            payments: evently_runtime::settings::PaymentSettings {
                webhook_secret: Secret::new(TEST_WEBHOOK_SECRET),
                sweep_interval_ms: 100,
                ..Default::default()
            },
            security: evently_runtime::settings::SecuritySettings {
                // Tests share one client address; the limits get tests of their own.
                auth_rate_limit: 100_000,
                booking_rate_limit: 100_000,
                ..Default::default()
            },
            tickets: evently_runtime::tickets::TicketSettings {
                signing_key: Some(evently_runtime::tickets::signing::generate_seed()),
                ..Default::default()
            },
            ..Settings::default()
        };
        if let Some(n) = options.notifications.clone() {
            settings.notifications = n;
        }
        (options.configure)(&mut settings);
        settings.validate()?;
        let settings = Arc::new(settings);
        let pool = evently_runtime::db::connect(
            settings.require_database_url()?,
            settings.db_max_connections,
        )
        .await?;
        evently_runtime::db::migrate(&pool).await?;
        let nats_client =
            evently_runtime::nats::connect(settings.require_nats_url()?, "evently-test").await?;
        evently_runtime::nats::apply(
            &evently_runtime::nats::jetstream(nats_client.clone()),
            &settings,
        )
        .await?;

        let shutdown = CancellationToken::new();
        let app = evently_gateway::Application::build(evently_gateway::GatewayDeps {
            settings: settings.clone(),
            pool: pool.clone(),
            nats: nats_client.clone(),
            shutdown: shutdown.clone(),
        })
        .await?;
        let base = format!("http://{}", app.local_addr());
        let mut gateway = JoinSet::new();
        gateway.spawn(app.run_until_stopped());
        let mut test_app = Self {
            base,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(400)
                .build()?,
            pool,
            nats,
            prefix: settings.prefix()?,
            settings,
            shutdown,
            gateway,
            consumers: None,
            second: None,
            nats_client,
            database,
            admin_url,
            _store: store,
        };
        if options.consumers {
            test_app.start_consumers();
        }
        Ok(test_app)
    }

    /// Starts another gateway instance on the same database and NATS (its own connection), as a
    /// second instance behind a load balancer; returns its base URL.
    pub async fn spawn_gateway(&mut self) -> String {
        let nats = evently_runtime::nats::connect(
            self.settings.require_nats_url().expect("nats url"),
            "evently-test-2",
        )
        .await
        .expect("connect");
        let app = evently_gateway::Application::build(evently_gateway::GatewayDeps {
            settings: self.settings.clone(),
            pool: self.pool.clone(),
            nats,
            shutdown: self.shutdown.clone(),
        })
        .await
        .expect("second gateway");
        let base = format!("http://{}", app.local_addr());
        self.gateway.spawn(app.run_until_stopped());
        base
    }

    /// Starts every consumer (again).
    pub fn start_consumers(&mut self) {
        let token = self.shutdown.child_token();
        let mut set = JoinSet::new();
        evently_consumers::spawn(
            &mut set,
            &[],
            &self.settings,
            self.pool.clone(),
            self.nats_client.clone(),
            token.clone(),
        )
        .expect("starting consumers");
        self.consumers = Some((token, set));
    }

    /// Starts a second instance of every consumer (and the sweeper), as another process would.
    pub fn start_second_consumers(&mut self) {
        self.second = Some(self.spawn_consumer_set());
    }

    /// Kills the second set of consumers where they stand.
    pub async fn kill_second_consumers(&mut self) {
        if let Some((_, mut set)) = self.second.take() {
            set.abort_all();
            while set.join_next().await.is_some() {}
        }
    }

    /// Starts one more instance of every consumer (sharing their durables with the running ones);
    /// stop it by cancelling the token.
    pub fn spawn_consumer_set(&self) -> (CancellationToken, JoinSet<anyhow::Result<()>>) {
        let token = self.shutdown.child_token();
        let mut set = JoinSet::new();
        evently_consumers::spawn(
            &mut set,
            &[],
            &self.settings,
            self.pool.clone(),
            self.nats_client.clone(),
            token.clone(),
        )
        .expect("starting another consumer set");
        (token, set)
    }

    /// Kills the consumers where they stand, as a crash would: no batch is finished, nothing is
    /// acked.
    pub async fn kill_consumers(&mut self) {
        if let Some((_, mut set)) = self.consumers.take() {
            set.abort_all();
            while set.join_next().await.is_some() {}
        }
    }

    /// Stops the consumers gracefully: the batch in hand is finished.
    pub async fn stop_consumers(&mut self) {
        if let Some((token, mut set)) = self.consumers.take() {
            token.cancel();
            while let Some(done) = set.join_next().await {
                done.expect("consumer task").expect("consumer ran");
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("POST")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("GET")
    }

    /// Registers a new attendee.
    pub async fn register(&self) -> TestUser {
        let email = format!("user-{}@example.com", Uuid::new_v4().simple());
        let password = "a long enough password".to_owned();
        let res = self
            .post(
                "/auth/register",
                None,
                &json!({"email": email, "password": password, "name": "Test User"}),
            )
            .await;
        assert_eq!(
            res.status(),
            201,
            "register: {}",
            res.text().await.unwrap_or_default()
        );
        let body: Value = res.json().await.expect("json");
        TestUser {
            id: body["user"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("user id"),
            email,
            password,
            token: body["access_token"].as_str().expect("token").to_owned(),
        }
    }

    /// Registers a user and gives them `role` (through the database, as an admin would), then
    /// logs in again so the token carries the role.
    pub async fn user_with_role(&self, role: &str) -> TestUser {
        let mut user = self.register().await;
        sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
            .bind(user.id)
            .bind(role)
            .execute(&self.pool)
            .await
            .expect("set role");
        user.token = self.login(&user.email, &user.password).await;
        user
    }

    /// `n` attendees inserted straight into the database, with tokens minted with the app's key:
    /// for tests that need hundreds of users without hundreds of argon2 hashes.
    pub async fn bulk_users(&self, n: usize) -> Vec<TestUser> {
        let keys = evently_runtime::identity::TokenKeys::new(
            self.settings.require_jwt_secret().expect("secret"),
            Duration::from_secs(3600),
        );
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let emails: Vec<String> = ids
            .iter()
            .map(|id| format!("bulk-{}@example.com", id.simple()))
            .collect();
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, name) \
             SELECT id, email, 'not-a-hash', 'Bulk User' FROM unnest($1::uuid[], $2::text[]) AS u(id, email)",
        )
        .bind(&ids)
        .bind(&emails)
        .execute(&self.pool)
        .await
        .expect("bulk users");
        ids.into_iter()
            .zip(emails)
            .map(|(id, email)| TestUser {
                id,
                email,
                password: String::new(),
                token: keys
                    .issue(id, evently_runtime::identity::Role::Attendee)
                    .expect("token")
                    .0,
            })
            .collect()
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .post(
                "/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// Creates a venue and an event with `capacity` seats, on sale now; returns the event id.
    pub async fn create_event(
        &self,
        organizer: &TestUser,
        capacity: i32,
        price_cents: i64,
    ) -> Uuid {
        let res = self
            .post(
                "/venues",
                Some(&organizer.token),
                &json!({"name": "Hall", "city": "Lyon", "capacity": capacity.max(1)}),
            )
            .await;
        assert_eq!(
            res.status(),
            201,
            "venue: {}",
            res.text().await.unwrap_or_default()
        );
        let venue: Value = res.json().await.expect("json");
        let starts = chrono::Utc::now() + chrono::Duration::days(30);
        let res = self
            .post(
                "/events",
                Some(&organizer.token),
                &json!({
                    "name": "Concert", "description": "A test concert", "venue_id": venue["id"],
                    "category": "music", "starts_at": starts, "ends_at": starts + chrono::Duration::hours(3),
                    "capacity": capacity, "price_cents": price_cents, "currency": "EUR", "max_per_booking": 10
                }),
            )
            .await;
        assert_eq!(
            res.status(),
            201,
            "event: {}",
            res.text().await.unwrap_or_default()
        );
        let event: Value = res.json().await.expect("json");
        event["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("event id")
    }

    /// `POST /events/{id}/bookings`, with an `Idempotency-Key` when given.
    pub async fn book(
        &self,
        user: &TestUser,
        event: Uuid,
        quantity: i32,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(self.url(&format!("/events/{event}/bookings")))
            .bearer_auth(&user.token)
            .json(&json!({"quantity": quantity}));
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.expect("POST booking")
    }

    /// Polls a booking until it is decided (or the deadline passes).
    pub async fn wait_decided(&self, user: &TestUser, booking: Uuid) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let res = self
                .get(&format!("/bookings/{booking}"), Some(&user.token))
                .await;
            if res.status() == 200 {
                let body: Value = res.json().await.expect("json");
                if body["status"] != "pending" {
                    return body;
                }
            }
            assert!(
                Instant::now() < deadline,
                "booking {booking} was not decided in time"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `check` holds on the database, polling with a deadline.
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `(confirmed seats, bookings by status)` of an event, straight from PostgreSQL.
    pub async fn seats(&self, event: Uuid) -> (i64, i64, i64) {
        let (sold, held, capacity): (i32, i32, i32) =
            sqlx::query_as("SELECT sold, held, capacity FROM inventory WHERE event_id = $1")
                .bind(event)
                .fetch_one(&self.pool)
                .await
                .expect("inventory");
        (i64::from(sold), i64::from(held), i64::from(capacity))
    }

    pub async fn count_bookings(&self, event: Uuid, status: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM bookings WHERE event_id = $1 AND status = $2")
            .bind(event)
            .bind(status)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    pub fn nats_client(&self) -> async_nats::Client {
        self.nats_client.clone()
    }

    /// How many messages the dead-letter stream holds.
    pub async fn dead_letters(&self) -> u64 {
        evently_runtime::nats::jetstream(self.nats_client())
            .get_stream(self.prefix.dlq_stream())
            .await
            .expect("dlq stream")
            .info()
            .await
            .expect("dlq info")
            .state
            .messages
    }

    /// Stops everything and drops the database.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        self.kill_consumers().await;
        self.kill_second_consumers().await;
        while self.gateway.join_next().await.is_some() {}
        self.pool.close().await;
        drop_database(&self.admin_url, &self.database).await;
    }
}

async fn drop_database(admin_url: &str, database: &str) {
    if let Ok(admin) = evently_runtime::db::connect(admin_url, 2).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
        admin.close().await;
    }
}
