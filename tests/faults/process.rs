//! `evently` child processes wired to a [`TestApp`]'s database, NATS and subject prefix.

use std::process::Stdio;
use std::time::{Duration, Instant};

use evently_tests::app::TestApp;
use tokio::process::{Child, Command};

/// A running `evently <args>`; killed with SIGKILL when dropped.
pub struct Evently {
    child: Child,
    pub base: Option<String>,
}

/// The environment that points a child at the app's services, with generous rate limits.
fn command(app: &TestApp, args: &[&str]) -> Command {
    let settings = &app.settings;
    let mut command = Command::new(env!("CARGO_BIN_EXE_evently"));
    command
        .args(args)
        .env(
            "DATABASE_URL",
            settings.database_url.as_deref().expect("database url"),
        )
        .env("NATS_URL", settings.nats_url.as_deref().expect("nats url"))
        .env("EVENTLY_NATS_PREFIX", &settings.nats_prefix)
        .env(
            "EVENTLY_JWT_SECRET",
            settings.jwt_secret.as_ref().expect("secret").expose(),
        )
        .env("EVENTLY_CONSUMER__BATCH_SIZE", "64")
        .env("EVENTLY_CONSUMER__RETRY_BASE_MS", "100")
        .env("EVENTLY_DECISION_WAIT_MS", "2000")
        .env("EVENTLY_SECURITY__BOOKING_RATE_LIMIT", "100000")
        .env("EVENTLY_SECURITY__AUTH_RATE_LIMIT", "100000")
        .env("EVENTLY_DB_MAX_CONNECTIONS", "8")
        .env("RUST_LOG", "warn")
        .env_remove("EVENTLY_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

impl Evently {
    /// `evently consume` (every consumer).
    pub fn consume(app: &TestApp) -> Self {
        let child = command(app, &["consume"]).spawn().expect("spawn consume");
        Self { child, base: None }
    }

    /// `evently gateway` on `port`, once it answers `/health/ready`.
    pub async fn gateway(app: &TestApp, port: u16) -> Self {
        let addr = format!("127.0.0.1:{port}");
        let child = command(app, &["gateway"])
            .env("EVENTLY_HTTP_ADDR", &addr)
            .spawn()
            .expect("spawn gateway");
        let base = format!("http://{addr}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = app
                .http
                .get(format!("{base}/health/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            base: Some(base),
        }
    }

    /// SIGKILL: no graceful shutdown, nothing in hand is finished.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reaped");
    }
}
