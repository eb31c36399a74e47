//! `evently` child processes wired to a [`TestApp`]'s database, NATS and subject prefix.

use std::process::Stdio;
use std::time::{Duration, Instant};

use evently_tests::app::TestApp;
use tokio::process::{Child, Command};

/// A running `evently <args>`; killed with SIGKILL when dropped (its settings file removed).
pub struct Evently {
    child: Child,
    pub base: Option<String>,
    _config: tempfile::TempPath,
}

/// A child with the app's own settings (database, NATS, prefix, signing keys, SMTP, ...) as its
/// configuration file (private to the owner, removed with the returned path), and generous rate
/// limits.
fn command(app: &TestApp, args: &[&str]) -> (Command, tempfile::TempPath) {
    command_with(app, args, |_| {})
}

/// [`command`] with the app's settings changed by `configure` (another database, say).
fn command_with(
    app: &TestApp,
    args: &[&str],
    configure: impl FnOnce(&mut evently_runtime::Settings),
) -> (Command, tempfile::TempPath) {
    let mut settings = (*app.settings).clone();
    configure(&mut settings);
    settings.consumer.batch_size = 64;
    settings.db_max_connections = 8;
    settings.decision_wait_ms = 2000;
    settings.consumer.lease_ttl_secs = 3;
    let config = tempfile::Builder::new()
        .prefix("evently-child-")
        .suffix(".toml")
        .tempfile()
        .expect("a file for the child's settings");
    std::fs::write(
        config.path(),
        toml::to_string(&settings).expect("settings as TOML"),
    )
    .expect("writing the child's settings");
    let config = config.into_temp_path();
    let mut command = Command::new(env!("CARGO_BIN_EXE_evently"));
    command
        .args(args)
        .env("EVENTLY_CONFIG", &config)
        .env_remove("DATABASE_URL")
        .env_remove("NATS_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    (command, config)
}

impl Evently {
    /// `evently consume` (every consumer).
    pub fn consume(app: &TestApp) -> Self {
        Self::consume_only(app, &[])
    }

    /// `evently consume <names>` (every consumer when `names` is empty).
    pub fn consume_only(app: &TestApp, names: &[&str]) -> Self {
        let args: Vec<&str> = std::iter::once("consume")
            .chain(names.iter().copied())
            .collect();
        let (mut command, config) = command(app, &args);
        let child = command.spawn().expect("spawn consume");
        Self {
            child,
            base: None,
            _config: config,
        }
    }

    /// `evently consume` (every consumer) with the app's settings changed by `configure`.
    pub fn consume_with(
        app: &TestApp,
        configure: impl FnOnce(&mut evently_runtime::Settings),
    ) -> Self {
        let (mut command, config) = command_with(app, &["consume"], configure);
        let child = command.spawn().expect("spawn consume");
        Self {
            child,
            base: None,
            _config: config,
        }
    }

    /// Runs `evently <args>` to its end with the app's settings changed by `configure`; panics
    /// with its output when it fails, returns its standard output.
    pub async fn run(
        app: &TestApp,
        args: &[&str],
        configure: impl FnOnce(&mut evently_runtime::Settings),
    ) -> String {
        let (mut command, _config) = command_with(app, args, configure);
        let out = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .expect("run evently");
        assert!(
            out.status.success(),
            "evently {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `evently gateway` on `port`, once it answers `/health/ready`.
    pub async fn gateway(app: &TestApp, port: u16) -> Self {
        let addr = format!("127.0.0.1:{port}");
        let (mut command, config) = command(app, &["gateway"]);
        let child = command
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
            _config: config,
        }
    }

    /// SIGKILL: no graceful shutdown, nothing in hand is finished.
    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reaped");
    }
}
