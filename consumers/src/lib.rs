//! Evently's durable JetStream consumers, one module each, and the runner they share.

pub mod analytics;
pub mod dead_letters;
pub mod lease;
pub mod notifications;
pub mod publish;
pub mod reservations;
pub mod retention;
pub mod runner;
pub mod status;
pub mod sweeper;
pub mod tickets;
pub mod waitlist;

use std::time::Duration;

use anyhow::bail;
use evently_runtime::Settings;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use runner::{Handler, Incoming, Outcome, RunnerConfig, Step};

/// Every consumer this crate runs, by durable name.
pub const ALL: &[&str] = &[
    reservations::NAME,
    waitlist::NAME,
    sweeper::NAME,
    tickets::NAME,
    notifications::NAME,
    analytics::NAME,
];

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
        database: Some(pool.clone()),
    };
    let js = evently_runtime::nats::jetstream(nats);
    for name in names {
        match name {
            reservations::NAME => {
                // One active instance however many run, so bookings are decided in stream order
                // (lease.rs); the others stand by.
                let (pool, js, config, shutdown) =
                    (pool.clone(), js.clone(), config.clone(), shutdown.clone());
                let ttl = Duration::from_secs(settings.consumer.lease_ttl_secs);
                let replicas = settings.nats_replicas;
                set.spawn(async move {
                    let store = lease::bucket(&js, &config.prefix, replicas, ttl).await?;
                    let holder = format!(
                        "pid {} on {}",
                        std::process::id(),
                        std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into())
                    );
                    lease::run_as_holder(store, reservations::NAME, holder, ttl, shutdown, |term| {
                        let handler = reservations::Reservations::new(
                            pool.clone(),
                            js.clone(),
                            config.prefix.clone(),
                        );
                        let (js, config) = (js.clone(), config.clone());
                        async move {
                            runner::await_previous_holder(
                                &js,
                                &config.prefix,
                                reservations::NAME,
                                &term,
                            )
                            .await?;
                            runner::run(js, config, handler, term).await
                        }
                    })
                    .await
                });
            }
            waitlist::NAME => {
                let handler = waitlist::Waitlist::new(
                    pool.clone(),
                    js.clone(),
                    config.prefix.clone(),
                    settings.waitlist.max_passes,
                );
                set.spawn(runner::run(
                    js.clone(),
                    config.clone(),
                    handler,
                    shutdown.clone(),
                ));
            }
            analytics::NAME => {
                let handler = analytics::Analytics::new(
                    pool.clone(),
                    config.prefix.clone(),
                    Some(settings.retention.inbox()),
                );
                set.spawn(runner::run(
                    js.clone(),
                    config.clone(),
                    handler,
                    shutdown.clone(),
                ));
            }
            sweeper::NAME => {
                let sweeper = sweeper::Sweeper {
                    pool: pool.clone(),
                    js: js.clone(),
                    prefix: config.prefix.clone(),
                    provider: evently_runtime::payments::from_settings(&settings.payments)?,
                    interval: Duration::from_millis(settings.payments.sweep_interval_ms),
                    batch: settings.payments.sweep_batch,
                    reminder_minutes: settings.waitlist.reminder_minutes,
                    retention: settings.retention,
                    last_prune: std::sync::Mutex::new(None),
                };
                set.spawn(sweeper.run(shutdown.clone()));
            }
            tickets::NAME => {
                let keys = evently_runtime::tickets::TicketKeys::from_settings(&settings.tickets)?;
                let handler =
                    tickets::Tickets::new(pool.clone(), js.clone(), config.prefix.clone(), keys);
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

/// Starts the background readings every process exports as metrics: JetStream's streams and
/// consumers (lag, unacknowledged, redelivered, dead letters) and the database pool.
pub fn spawn_watchers(
    set: &mut JoinSet<anyhow::Result<()>>,
    settings: &Settings,
    pool: PgPool,
    nats: async_nats::Client,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    evently_runtime::telemetry::metrics();
    let js = evently_runtime::nats::jetstream(nats);
    let every = Duration::from_secs(5);
    set.spawn(status::watch(
        js,
        settings.prefix()?,
        every,
        shutdown.clone(),
    ));
    set.spawn(status::watch_pool(pool, every, shutdown));
    Ok(())
}
