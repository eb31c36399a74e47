//! Domain events: what happened, published on `<prefix>.evt.*` subjects after the step committed,
//! with deterministic message ids (`<booking id>.<status>`) so a re-publish is dropped by the
//! stream's duplicate window.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::booking::BookingSnapshot;

/// An event's seat counts right after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Availability {
    pub capacity: i32,
    pub sold: i32,
    pub held: i32,
    pub available: i32,
    /// Seats held for open waitlist offers.
    #[serde(default)]
    pub offered: i32,
    /// Each ticket type's seats left (its quota's, within the event's), for an event that sells
    /// ticket types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ticket_types: Vec<TypeAvailability>,
}

/// A ticket type's seats left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TypeAvailability {
    pub id: Uuid,
    pub available: i32,
}

/// A booking changed status (`confirmed`, `held`, `rejected`, `cancelled`, `expired`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BookingEvent {
    pub booking: BookingSnapshot,
    /// The event's availability after this step, when the step touched the inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Availability>,
    pub occurred_at: DateTime<Utc>,
}

impl BookingEvent {
    /// The deterministic message id of this event.
    pub fn message_id(&self) -> String {
        format!("{}.{}", self.booking.id, self.booking.status.as_str())
    }
}

/// The outcome of a capacity change (`updated` or `update_rejected` on
/// `<prefix>.evt.event.<outcome>.<event_id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventCapacityChanged {
    pub command_id: String,
    pub event_id: uuid::Uuid,
    /// `updated` or `rejected`.
    pub outcome: String,
    /// Why it was rejected: `stale` (the event changed since it was read) or `below_sold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The event's version after the step.
    pub version: i32,
    pub availability: Availability,
    /// Seats that became available (for the waitlist): `new capacity - old capacity` when raised.
    pub seats_freed: i32,
    pub occurred_at: DateTime<Utc>,
}

impl EventCapacityChanged {
    pub fn message_id(&self) -> String {
        format!("{}.{}", self.command_id, self.outcome)
    }
}

/// An event was cancelled (`<prefix>.evt.event.cancelled.<event_id>`): its bookings are being
/// cancelled and refunded, and their holders are to be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventCancelled {
    pub event_id: uuid::Uuid,
    pub cancelled_by: uuid::Uuid,
    pub occurred_at: DateTime<Utc>,
}

impl EventCancelled {
    pub fn message_id(&self) -> String {
        format!("{}.cancelled", self.event_id)
    }
}
