//! Evently's durable JetStream consumers, one module each, and the runner they share.

pub mod dead_letters;
pub mod notifications;
pub mod reservations;
pub mod runner;

use std::time::Duration;

use anyhow::bail;
use evently_runtime::Settings;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use runner::{Handler, Incoming, Outcome, RunnerConfig, Step};

/// Every consumer this crate runs, by durable name.
pub const ALL: &[&str] = &[reservations::NAME, notifications::NAME];

/// Starts the named consumers (all when `names` is empty) as tasks of `set`; each runs until
/// `shutdown` fires.
pub fn spawn(
    set: &mut JoinSet<anyhow::Result<()>>,
    names: &[String],
    settings: &Settings,
    pool: PgPool,
    nats: async_nats::Client,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    evently_runtime::telemetry::metrics();
    let names: Vec<&str> = if names.is_empty() {
        ALL.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    let config = RunnerConfig {
        prefix: settings.prefix()?,
        batch_size: settings.consumer.batch_size,
        retry_base: Duration::from_millis(settings.consumer.retry_base_ms),
    };
    let js = evently_runtime::nats::jetstream(nats);
    for name in names {
        match name {
            reservations::NAME => {
                let handler = reservations::Reservations::new(
                    pool.clone(),
                    js.clone(),
                    config.prefix.clone(),
                );
                set.spawn(runner::run(
                    js.clone(),
                    config.clone(),
                    handler,
                    shutdown.clone(),
                ));
            }
            notifications::NAME => {
                // At most half the database pool, so notifications never starve the booking path.
                let mut own = settings.notifications.clone();
                own.concurrency = own
                    .concurrency
                    .min((settings.db_max_connections as usize / 2).max(1));
                let handler = notifications::Notifications::new(
                    pool.clone(),
                    js.clone(),
                    config.prefix.clone(),
                    &own,
                )?;
                let config = RunnerConfig {
                    batch_size: settings.notifications.batch_size,
                    ..config.clone()
                };
                set.spawn(runner::run(js.clone(), config, handler, shutdown.clone()));
            }
            other => bail!("unknown consumer {other:?}; known: {}", ALL.join(", ")),
        }
    }
    Ok(())
}
