//! Bounded growth: deletes what can no longer be needed, run by the sweeper every
//! [`PRUNE_INTERVAL`] (and callable directly, as the tests do).
//!
//! - **Inbox rows** (`processed_messages`) older than `EVENTLY_RETENTION__INBOX_DAYS` (35). A
//!   message comes back to a consumer in four ways: JetStream redelivers an unacknowledged one
//!   (at most `max_deliver` times, minutes in all: `nats/consumers`); the stream drops a copy
//!   published under the same id within its duplicate window (20 minutes); `evently dlq replay`
//!   publishes a dead letter again, at most 30 days after it was written (the dead-letter stream's
//!   `max_age`), which is minutes after its first delivery; and a step republishes an event it
//!   applied before, under its old id, when its command comes back (a client retrying an old
//!   `Idempotency-Key`, which a reserve command meets with its booking id, not an inbox row). The
//!   first three are over long before 35 days. The fourth can happen at any age, and is met by
//!   each consumer's domain keys, not by the inbox (README, Operating it: Retention).
//!   A payment command's own guard is its payment id, the payments table's key: a payment
//!   already recorded is replayed, never decided again.
//! - **In-app notifications** older than `EVENTLY_RETENTION__NOTIFICATION_DAYS` (180). Their
//!   ledger rows (`notification_deliveries`, no text) stay: they are what keeps a domain event
//!   that comes back from being told twice.
//! - **Lapsed holds**: bookings `expired` without any payment, of events that ended more than
//!   `EVENTLY_RETENTION__EXPIRED_HOLD_DAYS` (60) ago. Nothing can be booked for an event that has
//!   ended, so the booking id is no longer needed as a reserve command's guard.
//! - **Rejected bookings** decided more than `EVENTLY_RETENTION__REJECTED_DAYS` (35) ago. They
//!   hold nothing; their booking id guards their reserve command, which can only come back after
//!   the dead-letter stream's 30 days as a client's retry of its old key: that is decided afresh,
//!   and as the first attempt got nothing, nothing is doubled. So storage grows with what was
//!   sold, not with what was asked (the decisions stay in `EVENTLY_EVT` for its 400 days).

use std::time::Duration;

use anyhow::Context as _;
use evently_runtime::retention::RetentionSettings;
use sqlx::PgPool;

/// How often the sweeper prunes (the first sweep after a start always does).
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// Most rows one pass deletes per table (in statements of `batch` rows).
const MOST_PER_PASS: i64 = 1_000_000;

/// What one prune deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub inbox: u64,
    pub notifications: u64,
    pub holds: u64,
    pub rejected: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.inbox + self.notifications + self.holds + self.rejected
    }
}

const INBOX: &str = "DELETE FROM processed_messages WHERE ctid = ANY(ARRAY( \
     SELECT ctid FROM processed_messages \
     WHERE processed_at < now() - make_interval(days => $1) LIMIT $2))";

const NOTIFICATIONS: &str = "DELETE FROM notifications WHERE ctid = ANY(ARRAY( \
     SELECT ctid FROM notifications WHERE created_at < now() - make_interval(days => $1) LIMIT $2))";

const HOLDS: &str = "DELETE FROM bookings WHERE id = ANY(ARRAY( \
     SELECT b.id FROM bookings b JOIN events e ON e.id = b.event_id \
     WHERE b.status = 'expired' AND e.ends_at < now() - make_interval(days => $1) \
     AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.booking_id = b.id) \
     AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.booking_id = b.id) \
     AND NOT EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.booking_id = b.id) \
     AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.booking_id = b.id) LIMIT $2))";

const REJECTED: &str = "DELETE FROM bookings WHERE id = ANY(ARRAY( \
     SELECT b.id FROM bookings b \
     WHERE b.status = 'rejected' AND b.updated_at < now() - make_interval(days => $1) \
     AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.booking_id = b.id) \
     AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.booking_id = b.id) \
     AND NOT EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.booking_id = b.id) \
     AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.booking_id = b.id) LIMIT $2))";

/// Deletes what the retention settings say is no longer kept, `batch` rows per statement.
pub async fn prune(
    pool: &PgPool,
    retention: &RetentionSettings,
    batch: i64,
) -> anyhow::Result<Pruned> {
    let batch = batch.max(1);
    Ok(Pruned {
        inbox: delete(pool, INBOX, retention.inbox_days, batch)
            .await
            .context("pruning the inbox")?,
        notifications: delete(pool, NOTIFICATIONS, retention.notification_days, batch)
            .await
            .context("pruning notification history")?,
        holds: delete(pool, HOLDS, retention.expired_hold_days, batch)
            .await
            .context("pruning lapsed holds")?,
        rejected: delete(pool, REJECTED, retention.rejected_days, batch)
            .await
            .context("pruning rejected bookings")?,
    })
}

/// Runs `statement` (`$1` days, `$2` rows) until it deletes fewer than `batch` rows; 0 days keeps
/// everything.
async fn delete(
    pool: &PgPool,
    statement: &'static str,
    days: u32,
    batch: i64,
) -> anyhow::Result<u64> {
    if days == 0 {
        return Ok(0);
    }
    let days = i32::try_from(days).context("retention days")?;
    let mut total = 0;
    loop {
        let deleted = sqlx::query(statement)
            .bind(days)
            .bind(batch)
            .execute(pool)
            .await?
            .rows_affected();
        total += deleted;
        if deleted < batch.unsigned_abs() || total >= MOST_PER_PASS.unsigned_abs() {
            return Ok(total);
        }
    }
}
