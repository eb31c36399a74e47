//! Changing an event's capacity (and its other fields with it): decided by the reservations
//! consumer because it touches the same inventory row as bookings. A change applies only if the
//! event is still at the version the editor read (optimistic locking) and no fewer seats remain
//! than are sold, held or offered. Its outcome is kept with the inbox row and published again when
//! the command comes a second time.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::{ChangeCapacity, EventCapacityChanged, EventChanges};
use uuid::Uuid;

use crate::reservations::engine::{State, locked};
use crate::reservations::model::Locked;

/// An accepted change, to write before commit.
pub struct Accepted {
    pub event_id: Uuid,
    pub capacity: i32,
    pub version: i32,
    pub changes: EventChanges,
}

pub fn decide(c: &ChangeCapacity, state: &mut State) -> anyhow::Result<()> {
    let event = locked(&mut state.events, c.event_id)?;
    let (outcome, accepted) = judge(event, c, state.now);
    let stored = serde_json::to_value(&outcome).context("encoding a capacity outcome")?;
    state
        .effects
        .outcomes
        .push((outcome.command_id.clone(), stored));
    state.effects.capacity.push(outcome);
    state.effects.edits.extend(accepted);
    Ok(())
}

/// Judges a capacity change against the locked event; on acceptance updates the batch's view.
fn judge(
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
        availability: locked.availability(),
        seats_freed: if accepted.is_some() {
            (command.capacity - old).max(0)
        } else {
            0
        },
        occurred_at: now,
    };
    (outcome, accepted)
}
