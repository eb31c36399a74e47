//! Waitlist entry rows, as both the reservations consumer (join, leave, claim, expire) and the
//! waitlist consumer (promotion) read and write them.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::{WaitlistEntrySnapshot, WaitlistStatus};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// The columns of [`EntryRow`], for a query on `waitlist_entries w`.
pub const ENTRY_COLUMNS: &str = "w.id, w.event_id, w.user_id, w.quantity, w.status, w.position, \
    w.passed, w.offer_expires_at, w.booking_id, w.created_at, w.updated_at, w.ticket_type_id";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    pub status: String,
    pub position: i64,
    pub passed: i32,
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub booking_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ticket_type_id: Option<Uuid>,
}

impl EntryRow {
    pub fn snapshot(&self) -> WaitlistEntrySnapshot {
        WaitlistEntrySnapshot {
            id: self.id,
            event_id: self.event_id,
            user_id: self.user_id,
            quantity: self.quantity,
            // The CHECK constraint admits only known statuses.
            status: WaitlistStatus::parse(&self.status).unwrap_or(WaitlistStatus::Left),
            position: self.position,
            offer_expires_at: self.offer_expires_at,
            booking_id: self.booking_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            ticket_type_id: self.ticket_type_id,
        }
    }
}

/// Loads entries by id (locked), in id order.
pub async fn load(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
) -> anyhow::Result<Vec<EntryRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.id = ANY($1) ORDER BY w.id FOR UPDATE"
    )))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
    .context("loading waitlist entries")
}

/// Inserts new entries in the given order (their positions follow it) and returns each id's
/// position.
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    new: &[&WaitlistEntrySnapshot],
) -> anyhow::Result<Vec<(Uuid, i64)>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    // One statement per entry keeps the sequence in join order without relying on how a
    // multi-row insert orders its default expressions; joins are rare next to reserves.
    let mut positions = Vec::with_capacity(new.len());
    for e in new {
        let position: i64 = sqlx::query_scalar(
            "INSERT INTO waitlist_entries (id, event_id, user_id, quantity, status, offer_expires_at, \
             booking_id, created_at, updated_at, ticket_type_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING position",
        )
        .bind(e.id)
        .bind(e.event_id)
        .bind(e.user_id)
        .bind(e.quantity)
        .bind(e.status.as_str())
        .bind(e.offer_expires_at)
        .bind(e.booking_id)
        .bind(e.created_at)
        .bind(e.updated_at)
        .bind(e.ticket_type_id)
        .fetch_one(&mut **tx)
        .await
        .context("inserting a waitlist entry")?;
        positions.push((e.id, position));
    }
    Ok(positions)
}

/// Writes the status, offer and booking of existing entries.
pub async fn update(
    tx: &mut Transaction<'_, Postgres>,
    changed: &[&WaitlistEntrySnapshot],
    passed: &[(Uuid, i32)],
) -> anyhow::Result<()> {
    if !changed.is_empty() {
        sqlx::query(
            "UPDATE waitlist_entries w SET status = u.status, offer_expires_at = u.offer_expires_at, \
             booking_id = u.booking_id, updated_at = u.updated_at \
             FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::uuid[], $5::timestamptz[]) \
             AS u(id, status, offer_expires_at, booking_id, updated_at) WHERE w.id = u.id",
        )
        .bind(changed.iter().map(|e| e.id).collect::<Vec<_>>())
        .bind(changed.iter().map(|e| e.status.as_str()).collect::<Vec<_>>())
        .bind(changed.iter().map(|e| e.offer_expires_at).collect::<Vec<_>>())
        .bind(changed.iter().map(|e| e.booking_id).collect::<Vec<_>>())
        .bind(changed.iter().map(|e| e.updated_at).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await
        .context("updating waitlist entries")?;
    }
    if !passed.is_empty() {
        sqlx::query(
            "UPDATE waitlist_entries w SET passed = u.passed \
             FROM unnest($1::uuid[], $2::int[]) AS u(id, passed) WHERE w.id = u.id",
        )
        .bind(passed.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind(passed.iter().map(|p| p.1).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await
        .context("counting passes")?;
    }
    Ok(())
}
