//! The delivery ledger (`notification_deliveries`), keyed (source, user, channel, target). The rule:
//! claim the row (`pending`, with a lease) before sending, send, then mark it `sent`. A redelivered
//! domain event finds the row `sent` (or `failed`, `skipped`) and sends nothing. A crash between the
//! send and the mark leaves it `pending`: once the lease runs out it is sent again (at-least-once on
//! that narrow window), with the same `Message-ID` / push `Topic`, so the receiver can drop it.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::PgPool;
use uuid::Uuid;

/// How long a claim keeps other deliveries of the same key away (longer than any one send).
pub const LEASE: Duration = Duration::from_secs(30);

/// Namespace of ids derived from delivery keys (notification ids, Message-IDs, topics).
const NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0007);

/// One delivery's key.
#[derive(Debug, Clone)]
pub struct Key<'a> {
    pub source_id: &'a str,
    pub user_id: Uuid,
    pub channel: &'static str,
    /// The push subscription id for push, '' otherwise.
    pub target: String,
}

impl Key<'_> {
    /// A stable id of this delivery (the same on every attempt).
    pub fn stable_id(&self) -> Uuid {
        Uuid::new_v5(
            &NAMESPACE,
            format!(
                "{}|{}|{}|{}",
                self.source_id, self.user_id, self.channel, self.target
            )
            .as_bytes(),
        )
    }
}

/// The id of the in-app notification of (source, user): the same for every channel of a notice.
pub fn notification_id(source_id: &str, user_id: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{source_id}|{user_id}").as_bytes())
}

/// What a claim found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours to send (this is attempt `n`).
    Claimed(i32),
    /// Sent before: send nothing.
    Sent,
    /// Failed for good or skipped before: send nothing.
    Settled,
    /// Another delivery holds the lease: try later.
    Busy,
}

pub async fn claim(pool: &PgPool, key: &Key<'_>, kind: &str) -> anyhow::Result<Claim> {
    let attempts: Option<i32> = sqlx::query_scalar(
        "INSERT INTO notification_deliveries AS d (source_id, user_id, channel, target, kind, status, attempts, claimed_until) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 1, now() + make_interval(secs => $6)) \
         ON CONFLICT (source_id, user_id, channel, target) DO UPDATE \
         SET attempts = d.attempts + 1, claimed_until = EXCLUDED.claimed_until, updated_at = now() \
         WHERE d.status = 'pending' AND (d.claimed_until IS NULL OR d.claimed_until < now()) \
         RETURNING attempts",
    )
    .bind(key.source_id)
    .bind(key.user_id)
    .bind(key.channel)
    .bind(&key.target)
    .bind(kind)
    .bind(LEASE.as_secs_f64())
    .fetch_optional(pool)
    .await
    .context("claiming a delivery")?;
    if let Some(n) = attempts {
        return Ok(Claim::Claimed(n));
    }
    let status: Option<String> = sqlx::query_scalar(
        "SELECT status FROM notification_deliveries \
         WHERE source_id = $1 AND user_id = $2 AND channel = $3 AND target = $4",
    )
    .bind(key.source_id)
    .bind(key.user_id)
    .bind(key.channel)
    .bind(&key.target)
    .fetch_optional(pool)
    .await
    .context("reading a delivery")?;
    Ok(match status.as_deref() {
        Some("sent") => Claim::Sent,
        Some("pending") => Claim::Busy,
        _ => Claim::Settled,
    })
}

/// Settles a claimed delivery: `sent` or `failed` (with the error).
pub async fn finish(
    pool: &PgPool,
    key: &Key<'_>,
    status: &str,
    error: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE notification_deliveries SET status = $5, last_error = coalesce($6, last_error), \
         claimed_until = NULL, updated_at = now() \
         WHERE source_id = $1 AND user_id = $2 AND channel = $3 AND target = $4",
    )
    .bind(key.source_id)
    .bind(key.user_id)
    .bind(key.channel)
    .bind(&key.target)
    .bind(status)
    .bind(error)
    .execute(pool)
    .await
    .context("settling a delivery")?;
    Ok(())
}

/// Gives a claimed delivery back after a transient failure: still `pending`, lease released, error
/// recorded; the redelivered domain event tries again.
pub async fn release(pool: &PgPool, key: &Key<'_>, error: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE notification_deliveries SET last_error = $5, claimed_until = NULL, updated_at = now() \
         WHERE source_id = $1 AND user_id = $2 AND channel = $3 AND target = $4 AND status = 'pending'",
    )
    .bind(key.source_id)
    .bind(key.user_id)
    .bind(key.channel)
    .bind(&key.target)
    .bind(error)
    .execute(pool)
    .await
    .context("releasing a delivery")?;
    Ok(())
}

/// Records a channel that was not used (not configured, turned off), once.
pub async fn skip(pool: &PgPool, key: &Key<'_>, kind: &str, reason: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO notification_deliveries (source_id, user_id, channel, target, kind, status, last_error) \
         VALUES ($1, $2, $3, $4, $5, 'skipped', $6) ON CONFLICT DO NOTHING",
    )
    .bind(key.source_id)
    .bind(key.user_id)
    .bind(key.channel)
    .bind(&key.target)
    .bind(kind)
    .bind(reason)
    .execute(pool)
    .await
    .context("recording a skipped delivery")?;
    Ok(())
}

/// The in-app notification and its ledger row, in one statement: `true` when it is new.
pub async fn insert_in_app(
    pool: &PgPool,
    key: &Key<'_>,
    kind: &str,
    title: &str,
    body: &str,
    data: &serde_json::Value,
) -> anyhow::Result<bool> {
    let inserted = sqlx::query(
        "WITH d AS (INSERT INTO notification_deliveries (source_id, user_id, channel, target, kind, status, attempts) \
         VALUES ($1, $2, 'in_app', '', $3, 'sent', 1) ON CONFLICT DO NOTHING RETURNING 1) \
         INSERT INTO notifications (id, user_id, kind, title, body, data, source_id) \
         SELECT $4, $2, $3, $5, $6, $7, $1 WHERE EXISTS (SELECT 1 FROM d) ON CONFLICT (id) DO NOTHING",
    )
    .bind(key.source_id)
    .bind(key.user_id)
    .bind(kind)
    .bind(notification_id(key.source_id, key.user_id))
    .bind(title)
    .bind(body)
    .bind(data)
    .execute(pool)
    .await
    .context("inserting an in-app notification")?
    .rows_affected();
    Ok(inserted == 1)
}

/// Deletes a subscription its push service says is gone.
pub async fn delete_subscription(pool: &PgPool, id: Uuid) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .context("deleting a gone push subscription")?;
    Ok(())
}
