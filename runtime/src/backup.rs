//! Backups of PostgreSQL that the pipeline can bring up to date: [`backup`] records where every
//! durable consumer stands in its stream (`positions.json`), then dumps the database
//! (`pg_dump --format=custom`, `postgres.dump`); [`restore_database`] loads a dump into an empty
//! database and [`rewind`] moves each durable back to where it stood when the backup began, so
//! the consumers apply again every message after that point. What the dump already holds is met
//! by the consumers' guards (inbox rows, booking ids, unique keys) and changes nothing.
//!
//! Why the positions are read before the dump starts: a consumer acknowledges a message only
//! after its transaction committed, so everything at or below a durable's ack floor at that
//! instant is in the dump's snapshot, which is taken later. Messages after it may be in the dump
//! too; applied again, they are no-ops. README: Operating it, Backups and restore.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, bail};
use async_nats::jetstream::{self, consumer::DeliverPolicy};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::process::Command;

use crate::Settings;
use crate::nats::{consumer_config, consumer_names};

/// The file of a backup that holds the durables' positions.
pub const POSITIONS_FILE: &str = "positions.json";
/// The file of a backup that holds the PostgreSQL dump (custom format).
pub const DUMP_FILE: &str = "postgres.dump";

/// Where every durable consumer stood when a backup began.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Positions {
    pub taken_at: DateTime<Utc>,
    /// The subject prefix of the deployment the backup belongs to.
    pub prefix: String,
    pub consumers: Vec<Position>,
}

/// One durable's position: every message of its stream up to `acked_through` was applied (and
/// so is in the dump).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Position {
    pub stream: String,
    pub durable: String,
    pub acked_through: u64,
    /// The stream's last sequence at that instant (for the operator: how far behind it was).
    pub stream_last_sequence: u64,
}

/// A durable moved back by [`rewind`].
#[derive(Debug, Clone)]
pub struct Rewound {
    pub stream: String,
    pub durable: String,
    /// The first stream sequence it delivers again.
    pub from: u64,
    /// Messages after the backup point that the stream no longer holds (older than its
    /// `max_age`): what a restore cannot bring back. Zero when nothing is missing.
    pub expired: u64,
}

/// Reads every durable consumer's ack floor.
pub async fn record_positions(
    js: &jetstream::Context,
    settings: &Settings,
) -> anyhow::Result<Positions> {
    let prefix = settings.prefix()?;
    let mut consumers = Vec::new();
    for durable in consumer_names() {
        let (stream_name, _) = consumer_config(&prefix, durable, None)?;
        let mut stream = js
            .get_stream(&stream_name)
            .await
            .with_context(|| format!("looking up stream {stream_name}"))?;
        let last = stream.info().await?.state.last_sequence;
        let info = stream
            .consumer_info(durable)
            .await
            .with_context(|| format!("reading consumer {durable} on {stream_name}"))?;
        consumers.push(Position {
            stream: stream_name,
            durable: durable.to_owned(),
            acked_through: info.ack_floor.stream_sequence,
            stream_last_sequence: last,
        });
    }
    Ok(Positions {
        taken_at: Utc::now(),
        prefix: prefix.to_string(),
        consumers,
    })
}

/// Writes a backup into `dir` (created; must not hold one already): the positions first, then
/// the dump of `database_url`.
pub async fn backup(
    dir: &Path,
    js: &jetstream::Context,
    settings: &Settings,
) -> anyhow::Result<Positions> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let positions_path = dir.join(POSITIONS_FILE);
    if positions_path.exists() {
        bail!("{} holds a backup already", dir.display());
    }
    let positions = record_positions(js, settings).await?;
    let text = serde_json::to_vec_pretty(&positions)?;
    std::fs::write(&positions_path, text)
        .with_context(|| format!("writing {}", positions_path.display()))?;
    let (url, password) = libpq_url(settings.require_database_url()?)?;
    let dump = dir.join(DUMP_FILE);
    let mut command = Command::new("pg_dump");
    command
        .arg("--format=custom")
        .arg("--no-unlogged-table-data")
        .arg("--file")
        .arg(&dump)
        .arg("--dbname")
        .arg(url);
    run(command, password, "pg_dump").await?;
    Ok(positions)
}

/// Reads a backup's positions.
pub fn read_positions(dir: &Path) -> anyhow::Result<Positions> {
    let path = dir.join(POSITIONS_FILE);
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Loads the backup's dump into `database_url`, which must be an empty database (one
/// transaction: all or nothing).
pub async fn restore_database(dir: &Path, database_url: &str) -> anyhow::Result<()> {
    let pool = crate::db::connect(database_url, 1).await?;
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&pool)
            .await
            .context("looking at the target database")?;
    pool.close().await;
    if tables > 0 {
        bail!(
            "the database to restore into has {tables} table(s): restore into a new, empty \
             database (CREATE DATABASE ...), then point DATABASE_URL at it"
        );
    }
    let (url, password) = libpq_url(database_url)?;
    let mut command = Command::new("pg_restore");
    command
        .args([
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
        ])
        .arg("--dbname")
        .arg(url)
        .arg(dir.join(DUMP_FILE));
    run(command, password, "pg_restore").await
}

/// Recreates every durable of `positions` to deliver again from the message after its
/// position (same definition as `nats/consumers`, the start sequence kept by later
/// `evently nats apply`). Every `evently consume` must be stopped first. Refuses when the
/// streams no longer hold messages after a position, unless `accept_gaps`.
pub async fn rewind(
    js: &jetstream::Context,
    settings: &Settings,
    positions: &Positions,
    accept_gaps: bool,
) -> anyhow::Result<Vec<Rewound>> {
    let prefix = settings.prefix()?;
    if positions.prefix != prefix.to_string() {
        bail!(
            "the backup belongs to prefix {:?}, this deployment is {:?}",
            positions.prefix,
            prefix.to_string()
        );
    }
    let ack_wait = settings
        .consumer
        .ack_wait_secs
        .map(std::time::Duration::from_secs);
    let mut plan = Vec::new();
    for p in &positions.consumers {
        let mut stream = js
            .get_stream(&p.stream)
            .await
            .with_context(|| format!("looking up stream {}", p.stream))?;
        let first = stream.info().await?.state.first_sequence;
        let from = p.acked_through + 1;
        let expired = first.saturating_sub(from);
        plan.push(Rewound {
            stream: p.stream.clone(),
            durable: p.durable.clone(),
            from,
            expired,
        });
    }
    let gaps: Vec<String> = plan
        .iter()
        .filter(|r| r.expired > 0)
        .map(|r| format!("{} for {}: {} message(s)", r.stream, r.durable, r.expired))
        .collect();
    if !gaps.is_empty() && !accept_gaps {
        bail!(
            "the streams no longer hold everything after the backup ({}): they are lost for \
             the restored database; use a newer backup, or --accept-gaps",
            gaps.join(", ")
        );
    }
    for r in &plan {
        let (stream_name, mut config) = consumer_config(&prefix, &r.durable, ack_wait)?;
        config.deliver_policy = DeliverPolicy::ByStartSequence {
            start_sequence: r.from,
        };
        let stream = js.get_stream(&stream_name).await?;
        // Absent already (a stream restored without its consumers) is fine.
        let _ = stream.delete_consumer(&r.durable).await;
        stream
            .create_consumer(config)
            .await
            .with_context(|| format!("recreating consumer {} on {stream_name}", r.durable))?;
        tracing::info!(
            stream = %stream_name,
            consumer = r.durable,
            from = r.from,
            "consumer rewound"
        );
    }
    Ok(plan)
}

/// The URL for libpq without its password, and the password (given to the child as
/// `PGPASSWORD`, so that it is not on a command line).
fn libpq_url(database_url: &str) -> anyhow::Result<(String, Option<String>)> {
    let mut url = url::Url::parse(database_url).context("parsing the database URL")?;
    let password = url.password().map(percent_decoded);
    url.set_password(None)
        .map_err(|()| anyhow::anyhow!("the database URL cannot hold a password"))?;
    Ok((url.to_string(), password))
}

/// `%XX` escapes decoded (a URL's userinfo); anything malformed is kept as written.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn run(mut command: Command, password: Option<String>, what: &str) -> anyhow::Result<()> {
    if let Some(p) = password {
        command.env("PGPASSWORD", p);
    }
    let out = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {what} (PostgreSQL's client tools on PATH?)"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let (url, password) =
            libpq_url("postgres://evently:s%40c+ret@db:5432/evently?sslmode=require")
                .expect("parses");
        assert_eq!(url, "postgres://evently@db:5432/evently?sslmode=require");
        assert_eq!(password.as_deref(), Some("s@c+ret"));
        let (url, password) = libpq_url("postgres://postgres@127.0.0.1/x").expect("parses");
        assert_eq!(url, "postgres://postgres@127.0.0.1/x");
        assert_eq!(password, None);
    }
}
