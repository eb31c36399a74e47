//! What the load programs (`flash-sale`, `sold-out-churn`, `soak`) share: users inserted straight
//! into PostgreSQL with tokens minted from the server's signing secret (argon2 registrations would
//! measure argon2), a venue and an event created over HTTP, and readings of the running `evently`
//! process (resident memory, open sockets).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use evently_runtime::identity::TokenKeys;
use evently_runtime::settings::Secret;
use serde_json::{Value, json};
use uuid::Uuid;

/// The token keys of a running Evently: `secret` (`--jwt-secret` / `EVENTLY_JWT_SECRET`), else the
/// `.evently/jwt_secret` that `evently up` generated.
pub fn token_keys(secret: Option<&str>) -> anyhow::Result<TokenKeys> {
    let secret = match secret {
        Some(s) => s.to_owned(),
        None => std::fs::read_to_string(PathBuf::from(".evently/jwt_secret"))
            .context(
                "no --jwt-secret / EVENTLY_JWT_SECRET and no .evently/jwt_secret (run from the \
                 repository after `evently up`)",
            )?
            .trim()
            .to_owned(),
    };
    Ok(TokenKeys::new(
        &Secret::new(secret),
        Duration::from_secs(3 * 3600),
    ))
}

/// Inserts users with `role` who cannot log in (their tokens are minted).
pub async fn insert_users(pool: &sqlx::PgPool, ids: &[Uuid], role: &str) -> anyhow::Result<()> {
    for chunk in ids.chunks(10_000) {
        let emails: Vec<String> = chunk
            .iter()
            .map(|id| format!("load-{}@example.com", id.simple()))
            .collect();
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, name, role) \
             SELECT id, email, 'load-test-user-cannot-log-in', 'Load Test', $3 \
             FROM unnest($1::uuid[], $2::text[]) AS u(id, email)",
        )
        .bind(chunk)
        .bind(&emails)
        .bind(role)
        .execute(pool)
        .await
        .context("inserting load-test users")?;
    }
    Ok(())
}

/// A venue holding `capacity`.
pub async fn create_venue(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    capacity: i64,
) -> anyhow::Result<Value> {
    Ok(http
        .post(format!("{base}/api/v1/venues"))
        .bearer_auth(token)
        .json(&json!({"name": name, "city": "Benchmark", "capacity": capacity}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// A free event at `venue` a week from now with `seats` seats, one per booking.
pub async fn create_event(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    venue: &Value,
    name: &str,
    seats: i64,
) -> anyhow::Result<Uuid> {
    create_event_with(http, base, token, venue, name, seats, 1).await
}

/// A free event at `venue` a week from now with `seats` seats, `max_per_booking` per booking.
pub async fn create_event_with(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    venue: &Value,
    name: &str,
    seats: i64,
    max_per_booking: i32,
) -> anyhow::Result<Uuid> {
    let starts = chrono::Utc::now() + chrono::Duration::days(7);
    let event: Value = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .json(&json!({
            "name": name, "venue_id": venue["id"], "category": "music",
            "starts_at": starts, "ends_at": starts + chrono::Duration::hours(2),
            "capacity": seats, "price_cents": 0, "currency": "EUR", "max_per_booking": max_per_booking
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    event["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .context("event id in the response")
}

/// An event's seats as PostgreSQL has them: `(inventory sold, capacity, confirmed bookings)`.
/// Not oversold means `sold <= capacity` and `confirmed == sold`.
pub async fn seats(pool: &sqlx::PgPool, event: Uuid) -> anyhow::Result<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT i.sold::bigint, i.capacity::bigint, \
                (SELECT count(*) FROM bookings b WHERE b.event_id = i.event_id AND b.status = 'confirmed') \
         FROM inventory i WHERE i.event_id = $1",
    )
    .bind(event)
    .fetch_one(pool)
    .await
    .context("reading the event's seats")
}

/// Polls a booking answered `202` until it is decided (at most two minutes): its status, or
/// `None` when it is still pending.
pub async fn wait_decided(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: Uuid,
) -> anyhow::Result<Option<String>> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let res = http
            .get(format!("{base}/api/v1/bookings/{id}"))
            .bearer_auth(token)
            .send()
            .await?;
        if res.status() == 200 {
            let body: Value = res.json().await?;
            if let Some(status) = body["status"].as_str().filter(|s| *s != "pending") {
                return Ok(Some(status.to_owned()));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(None)
}

/// The pid of the running `evently up` (or `evently gateway`) process (Linux).
pub fn evently_pid() -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let is_evently = cmdline
            .split_whitespace()
            .next()
            .is_some_and(|b| b.ends_with("/evently") || b == "evently");
        if is_evently && (cmdline.contains(" up") || cmdline.contains(" gateway")) {
            return Some(pid);
        }
    }
    None
}

/// Resident memory of process `pid`, in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user and system) of the processes a sale runs on, in seconds: the running Evently,
/// every PostgreSQL process, nats-server and this program (Linux, from `/proc/<pid>/stat`). The
/// difference of two readings is what a stretch of work cost each, a figure that is comparable
/// between sittings where requests per second depend on how fast the machine is that day.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTimes {
    pub evently: f64,
    pub postgres: f64,
    pub nats: f64,
    pub generator: f64,
}

impl CpuTimes {
    pub fn now() -> Self {
        let mut times = Self::default();
        let evently = evently_pid();
        let me = std::process::id();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return times;
        };
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Some((comm, seconds)) = cpu_seconds(pid) else {
                continue;
            };
            if Some(pid) == evently {
                times.evently += seconds;
            } else if pid == me {
                times.generator += seconds;
            } else if comm == "postgres" {
                times.postgres += seconds;
            } else if comm == "nats-server" {
                times.nats += seconds;
            }
        }
        times
    }

    /// What was spent between `earlier` and this reading.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            evently: self.evently - earlier.evently,
            postgres: self.postgres - earlier.postgres,
            nats: self.nats - earlier.nats,
            generator: self.generator - earlier.generator,
        }
    }

    pub fn total(&self) -> f64 {
        self.evently + self.postgres + self.nats + self.generator
    }
}

/// A process's name and CPU seconds (utime + stime, in the kernel's fixed 100 ticks a second).
fn cpu_seconds(pid: u32) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    // After the name: state is field 3, utime field 14 and stime field 15.
    let mut fields = stat.get(close + 1..)?.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((comm, (utime + stime) / 100.0))
}

/// Resident memory of the running `evently`, in MiB.
pub fn evently_rss_mib() -> Option<f64> {
    rss_mib(evently_pid()?)
}

/// Open sockets (TCP connections and listeners) of process `pid`.
pub fn open_sockets(pid: u32) -> Option<usize> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        fds.flatten()
            .filter(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
            })
            .count(),
    )
}
