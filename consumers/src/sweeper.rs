//! The sweeper: time is data. Every `sweep_interval_ms` it turns what is due in PostgreSQL into
//! commands: holds past `hold_expires_at` (`cmd.hold.expire.<event>`, message id
//! `<booking>.expire`) and offers past `offer_expires_at` (`cmd.waitlist.expire.<event>`,
//! `<entry>.expire`); and offers about to expire into a reminder (`evt.waitlist.expiring.<event>`,
//! once per offer, for the notifications). The rows are selected `FOR UPDATE SKIP LOCKED`, so any number of instances
//! share the work; the deterministic message ids let the stream drop a command published twice,
//! and the consumer re-checks the state under its lock. It also makes the provider refunds that
//! the reservations consumer recorded (`refunds` without `refunded_at`), with the refund's key as
//! the provider's idempotency key, and publishes the outbox rows the gateway could not (check-ins
//! while NATS was away), and every [`PRUNE_INTERVAL`] deletes what the retention settings no
//! longer keep ([`crate::retention`]). Nothing is kept in memory: a restart loses no timer.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use chrono::{DateTime, Utc};
use evently_runtime::outbox::OutboxRow;
use evently_runtime::payments::{PaymentProvider, RefundRequest};
use evently_runtime::retention::RetentionSettings;
use evently_schemas::{BookingCommand, ExpireHold, ExpireOffer, Prefix, WaitlistEvent};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::retention::{PRUNE_INTERVAL, Pruned};
use crate::waitlist::entries::{ENTRY_COLUMNS, EntryRow};

pub const NAME: &str = "sweeper";

/// How old an outbox row must be before the sweeper publishes it: the gateway publishes each row
/// at once, and the sweeper should not race it (a copy would be dropped by the stream anyway).
pub const OUTBOX_GRACE: Duration = Duration::from_secs(3);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub holds: usize,
    pub offers: usize,
    pub refunds: usize,
    /// Outbox rows published.
    pub relayed: usize,
    /// Rows deleted by the retention rules (on the passes that prune).
    pub pruned: Pruned,
}

pub struct Sweeper {
    pub pool: PgPool,
    pub js: jetstream::Context,
    pub prefix: Prefix,
    pub provider: Arc<dyn PaymentProvider>,
    pub interval: Duration,
    pub batch: i64,
    /// How long before an offer expires its holder is reminded, in minutes.
    pub reminder_minutes: i64,
    pub retention: RetentionSettings,
    /// When this instance last pruned (`None`: not yet).
    pub last_prune: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Sweeper {
    /// Sweeps until `shutdown` fires; a failed sweep is logged and retried next time.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(
            interval_ms = self.interval.as_millis() as u64,
            "sweeper running"
        );
        loop {
            match self.sweep().await {
                Ok(Swept {
                    holds,
                    offers,
                    refunds,
                    relayed,
                    pruned,
                }) if holds + offers + refunds + relayed > 0 || pruned.total() > 0 => {
                    tracing::info!(
                        holds,
                        offers,
                        refunds,
                        relayed,
                        inbox_pruned = pruned.inbox,
                        notifications_pruned = pruned.notifications,
                        lapsed_holds_pruned = pruned.holds,
                        "swept"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = format!("{e:#}"), "sweep failed; retrying"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
        tracing::info!("sweeper stopped");
        Ok(())
    }

    /// One pass: due holds, due offers, reminders of offers about to expire, pending refunds,
    /// outbox rows left unpublished, and, when [`PRUNE_INTERVAL`] has passed, the retention rules.
    pub async fn sweep(&self) -> anyhow::Result<Swept> {
        let holds = self.expire_holds().await?;
        let offers = self.expire_offers().await?;
        self.remind_offers().await?;
        let refunds = self.refund().await?;
        let relayed = self.relay_outbox().await?;
        let pruned = if self.prune_due() {
            self.prune().await?
        } else {
            Pruned::default()
        };
        Ok(Swept {
            holds,
            offers,
            refunds,
            relayed,
            pruned,
        })
    }

    /// Deletes what the retention settings no longer keep, now.
    pub async fn prune(&self) -> anyhow::Result<Pruned> {
        crate::retention::prune(&self.pool, &self.retention, self.batch.max(1000)).await
    }

    /// Whether this pass prunes; if so, the next one is [`PRUNE_INTERVAL`] away.
    fn prune_due(&self) -> bool {
        let Ok(mut last) = self.last_prune.lock() else {
            return false;
        };
        let due = last.is_none_or(|at| at.elapsed() >= PRUNE_INTERVAL);
        if due {
            *last = Some(std::time::Instant::now());
        }
        due
    }

    /// Publishes the outbox rows older than [`OUTBOX_GRACE`] (the gateway publishes each at once;
    /// one still there means that failed), oldest first, each with its own `Nats-Msg-Id`, and
    /// deletes them once every PubAck came.
    async fn relay_outbox(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await.context("beginning a sweep")?;
        let due: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, subject, message_id, payload, traceparent FROM outbox \
             WHERE created_at <= now() - make_interval(secs => $2) \
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch)
        .bind(OUTBOX_GRACE.as_secs_f64())
        .fetch_all(&mut *tx)
        .await
        .context("finding unpublished outbox rows")?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut acks = Vec::with_capacity(due.len());
        for row in &due {
            acks.push(
                self.js
                    .send_publish(row.subject.clone(), row.message())
                    .await
                    .with_context(|| format!("publishing outbox row on {}", row.subject))?,
            );
        }
        for ack in
            futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
                .await
        {
            ack.context("awaiting an outbox row's PubAck")?;
        }
        let ids: Vec<i64> = due.iter().map(|row| row.id).collect();
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .context("deleting published outbox rows")?;
        tx.commit().await.context("ending the sweep")?;
        Ok(ids.len())
    }

    async fn expire_holds(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await.context("beginning a sweep")?;
        let due: Vec<(Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, event_id, hold_expires_at FROM bookings WHERE status = 'held' AND hold_expires_at <= now() \
             ORDER BY hold_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await
        .context("finding due holds")?;
        let commands = due.iter().map(|&(booking_id, event_id, hold_expires_at)| {
            BookingCommand::ExpireHold(ExpireHold {
                booking_id,
                event_id,
                hold_expires_at,
            })
        });
        self.publish(commands, |c| self.prefix.expire_hold(c.event_id()))
            .await?;
        tx.commit().await.context("ending the sweep")?;
        Ok(due.len())
    }

    /// Offers that expire within `reminder` and were not reminded yet: publishes
    /// `evt.waitlist.expiring.<event>` (id `<entry>.expiring.<deadline>`, so a crash before the
    /// row is marked re-publishes a copy the stream drops), then marks them.
    async fn remind_offers(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await.context("beginning a sweep")?;
        let due: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.status = 'offered' \
             AND w.reminded_at IS NULL AND w.offer_expires_at > now() \
             AND w.offer_expires_at <= now() + make_interval(mins => $2::int) \
             ORDER BY w.offer_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED"
        )))
        .bind(self.batch)
        .bind(i32::try_from(self.reminder_minutes).unwrap_or(i32::MAX))
        .fetch_all(&mut *tx)
        .await
        .context("finding offers to remind")?;
        let now = Utc::now();
        let mut acks = Vec::with_capacity(due.len());
        for row in &due {
            let event = WaitlistEvent {
                entry: row.snapshot(),
                occurred_at: now,
            };
            let deadline = event.entry.offer_expires_at.map(|t| t.timestamp());
            let id = format!(
                "{}.expiring.{}",
                event.entry.id,
                deadline.unwrap_or_default()
            );
            let subject = self.prefix.waitlist_event("expiring", event.entry.event_id);
            acks.push(crate::publish::send(&self.js, subject, &event, id, None).await?);
        }
        for ack in acks {
            ack.await.context("awaiting a reminder's PubAck")?;
        }
        let ids: Vec<Uuid> = due.iter().map(|r| r.id).collect();
        sqlx::query("UPDATE waitlist_entries SET reminded_at = now() WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .context("marking reminded offers")?;
        tx.commit().await.context("ending the sweep")?;
        Ok(due.len())
    }

    async fn expire_offers(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await.context("beginning a sweep")?;
        let due: Vec<(Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, event_id, offer_expires_at FROM waitlist_entries WHERE status = 'offered' AND offer_expires_at <= now() \
             ORDER BY offer_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await
        .context("finding due offers")?;
        let commands = due.iter().map(|&(entry_id, event_id, offer_expires_at)| {
            BookingCommand::ExpireOffer(ExpireOffer {
                entry_id,
                event_id,
                offer_expires_at,
            })
        });
        self.publish(commands, |c| {
            self.prefix.waitlist_command("expire", c.event_id())
        })
        .await?;
        tx.commit().await.context("ending the sweep")?;
        Ok(due.len())
    }

    /// Publishes commands with their deterministic ids and waits for every PubAck.
    async fn publish(
        &self,
        commands: impl Iterator<Item = BookingCommand>,
        subject: impl Fn(&BookingCommand) -> String,
    ) -> anyhow::Result<()> {
        let mut acks = Vec::new();
        for command in commands {
            let id = command.command_id();
            acks.push(crate::publish::send(&self.js, subject(&command), &command, id, None).await?);
        }
        for ack in
            futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
                .await
        {
            ack.context("awaiting an expiry's PubAck")?;
        }
        Ok(())
    }

    /// Makes the refunds recorded but not yet made at the provider.
    async fn refund(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await.context("beginning a sweep")?;
        let pending: Vec<(Uuid, String, i64, String)> = sqlx::query_as(
            "SELECT r.payment_id, p.provider_payment_id, r.amount_cents, r.currency::text FROM refunds r \
             JOIN payments p ON p.id = r.payment_id WHERE r.refunded_at IS NULL AND r.payment_id IS NOT NULL \
             AND p.provider = $1 ORDER BY r.created_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED",
        )
        .bind(self.provider.name())
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await
        .context("finding refunds to make")?;
        let mut made = 0;
        for (payment_id, provider_payment_id, amount_cents, currency) in pending {
            let request = RefundRequest {
                provider_payment_id,
                amount_cents,
                currency: currency.trim_end().to_owned(),
                idempotency_key: format!("refund-{payment_id}"),
            };
            match self.provider.refund(request).await {
                Ok(refund_id) => {
                    sqlx::query(
                        "UPDATE refunds SET provider_refund_id = $2, refunded_at = now() WHERE payment_id = $1",
                    )
                    .bind(payment_id)
                    .bind(refund_id)
                    .execute(&mut *tx)
                    .await
                    .context("recording a refund made")?;
                    made += 1;
                }
                Err(e) => {
                    tracing::warn!(payment_id = %payment_id, error = %e, "refund failed; retrying later")
                }
            }
        }
        tx.commit().await.context("ending the sweep")?;
        Ok(made)
    }
}
