//! Capacity changes: applied by the reservations consumer because they touch the same inventory
//! row as bookings. A change applies only if the event is still at the version the editor read
//! (optimistic locking) and no fewer seats remain than are sold or held.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::{ChangeCapacity, EventCapacityChanged, EventChanges};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::Locked;

/// An accepted change, to write before commit.
pub struct Accepted {
    pub event_id: Uuid,
    pub capacity: i32,
    pub version: i32,
    pub changes: EventChanges,
}

/// Decides a capacity change against the locked event; on acceptance updates the batch's view.
pub fn decide(
    locked: &mut Locked,
    command: &ChangeCapacity,
    now: DateTime<Utc>,
) -> (EventCapacityChanged, Option<Accepted>) {
    let committed = locked.inventory.sold + locked.inventory.held + locked.inventory.offered;
    let reason = if locked.version != command.expected_version {
        Some("stale")
    } else if command.capacity < committed.max(1) {
        Some("below_sold")
    } else {
        None
    };
    let old = locked.inventory.capacity;
    let accepted = reason.is_none().then(|| {
        locked.inventory.capacity = command.capacity;
        locked.version += 1;
        locked.touched = true;
        Accepted {
            event_id: command.event_id,
            capacity: command.capacity,
            version: locked.version,
            changes: command.changes.clone(),
        }
    });
    let outcome = EventCapacityChanged {
        command_id: command.command_id(),
        event_id: command.event_id,
        outcome: if accepted.is_some() {
            "updated"
        } else {
            "rejected"
        }
        .to_owned(),
        reason: reason.map(str::to_owned),
        version: locked.version,
        availability: locked.inventory.availability(),
        seats_freed: if accepted.is_some() {
            (command.capacity - old).max(0)
        } else {
            0
        },
        occurred_at: now,
    };
    (outcome, accepted)
}

/// Writes an accepted change to the event's row (the inventory row is written with the batch).
pub async fn write(tx: &mut Transaction<'_, Postgres>, a: &Accepted) -> anyhow::Result<()> {
    let c = &a.changes;
    sqlx::query(
        "UPDATE events SET capacity = $2, version = $3, updated_at = now(), \
         name = COALESCE($4, name), description = COALESCE($5, description), category = COALESCE($6, category), \
         starts_at = COALESCE($7, starts_at), ends_at = COALESCE($8, ends_at), price_cents = COALESCE($9, price_cents), \
         sales_start = COALESCE($10, sales_start), sales_end = COALESCE($11, sales_end), \
         max_per_booking = COALESCE($12, max_per_booking), hold_minutes = COALESCE($13, hold_minutes) \
         WHERE id = $1",
    )
    .bind(a.event_id)
    .bind(a.capacity)
    .bind(a.version)
    .bind(&c.name)
    .bind(&c.description)
    .bind(&c.category)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(c.price_cents)
    .bind(c.sales_start)
    .bind(c.sales_end)
    .bind(c.max_per_booking)
    .bind(c.hold_minutes)
    .execute(&mut **tx)
    .await
    .context("updating the event")?;
    Ok(())
}
