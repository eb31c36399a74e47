//! Commands: what the gateway asks the pipeline to do. Published on `<prefix>.cmd.*` subjects into
//! the command stream, with the command id as `Nats-Msg-Id`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Reserve `quantity` seats of an event for a user. The booking id is the command id: it is
/// derived from the client's `Idempotency-Key` (or generated), so a retried request is the same
/// command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReserveSeats {
    pub booking_id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    /// Seats in all (the sum of `lines` when there are lines).
    pub quantity: i32,
    #[serde(default)]
    pub waitlist_if_sold_out: bool,
    pub requested_at: DateTime<Utc>,
    /// Seats by ticket type, decided as a whole (every line or none); empty for an event sold as
    /// one pool of seats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineRequest>,
    /// A promo code (upper case): its discount applies, and it may unlock hidden ticket types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo_code: Option<String>,
    /// Particular seats of a seated event (the plan's seat ids), decided as a whole: every seat
    /// or none. Their ticket types make the booking's lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seats: Vec<String>,
    /// The best seats of a seated event the consumer can find for one ticket type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_available: Option<BestAvailable>,
}

/// Ask the consumer for the best free seats of a type: side by side in one row without leaving a
/// single seat stranded where that can be avoided, closest to the plan's focus, then wider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BestAvailable {
    pub ticket_type_id: Uuid,
    pub quantity: i32,
    /// Wheelchair places and their companion seats (left out otherwise).
    #[serde(default)]
    pub accessible: bool,
}

/// Seats of one ticket type asked for in a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LineRequest {
    pub ticket_type_id: Uuid,
    pub quantity: i32,
}

/// Cancel a booking and free its seats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CancelBooking {
    pub booking_id: Uuid,
    pub event_id: Uuid,
    /// Who asked: the booking's owner or an admin.
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
}

/// Every command the reservations consumer handles, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BookingCommand {
    Reserve(ReserveSeats),
    Cancel(CancelBooking),
    ChangeCapacity(ChangeCapacity),
    CancelEvent(CancelEvent),
    ConfirmPayment(crate::payments::ConfirmPayment),
    ExpireHold(crate::payments::ExpireHold),
    JoinWaitlist(crate::waitlist::JoinWaitlist),
    LeaveWaitlist(crate::waitlist::LeaveWaitlist),
    ClaimOffer(crate::waitlist::ClaimOffer),
    ExpireOffer(crate::waitlist::ExpireOffer),
}

/// Cancel every booking of a cancelled event, one round of bookings at a time: each round is one
/// transaction, and publishes the next round while bookings remain, so a crash halfway resumes
/// where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CancelEvent {
    pub event_id: Uuid,
    pub round: u32,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
}

impl CancelEvent {
    pub fn command_id(&self) -> String {
        format!("{}.cancel-event.{}", self.event_id, self.round)
    }

    pub fn next_round(&self) -> Self {
        Self {
            round: self.round + 1,
            ..self.clone()
        }
    }
}

impl BookingCommand {
    pub fn event_id(&self) -> Uuid {
        match self {
            Self::Reserve(c) => c.event_id,
            Self::Cancel(c) => c.event_id,
            Self::ChangeCapacity(c) => c.event_id,
            Self::CancelEvent(c) => c.event_id,
            Self::ConfirmPayment(c) => c.event_id,
            Self::ExpireHold(c) => c.event_id,
            Self::JoinWaitlist(c) => c.event_id,
            Self::LeaveWaitlist(c) => c.event_id,
            Self::ClaimOffer(c) => c.event_id,
            Self::ExpireOffer(c) => c.event_id,
        }
    }

    /// The waitlist entry the command is about.
    pub fn entry_id(&self) -> Option<Uuid> {
        match self {
            Self::JoinWaitlist(c) => Some(c.entry_id),
            Self::LeaveWaitlist(c) => Some(c.entry_id),
            Self::ClaimOffer(c) => Some(c.entry_id),
            Self::ExpireOffer(c) => Some(c.entry_id),
            _ => None,
        }
    }

    /// The booking the command is about (none for an event-level command).
    pub fn booking_id(&self) -> Option<Uuid> {
        match self {
            Self::Reserve(c) => Some(c.booking_id),
            Self::Cancel(c) => Some(c.booking_id),
            Self::ConfirmPayment(c) => Some(c.booking_id),
            Self::ExpireHold(c) => Some(c.booking_id),
            Self::ChangeCapacity(_) | Self::CancelEvent(_) => None,
            Self::JoinWaitlist(_)
            | Self::LeaveWaitlist(_)
            | Self::ClaimOffer(_)
            | Self::ExpireOffer(_) => None,
        }
    }

    /// The id that makes this command unique: used as `Nats-Msg-Id` and as the consumer's inbox
    /// key, so the same command is never applied twice.
    pub fn command_id(&self) -> String {
        match self {
            Self::Reserve(c) => format!("{}.reserve", c.booking_id),
            Self::Cancel(c) => format!("{}.cancel", c.booking_id),
            Self::ChangeCapacity(c) => c.command_id(),
            Self::CancelEvent(c) => c.command_id(),
            Self::ConfirmPayment(c) => format!("{}.pay", c.payment_id),
            Self::ExpireHold(c) => format!("{}.expire", c.booking_id),
            Self::JoinWaitlist(c) => format!("{}.join", c.entry_id),
            Self::LeaveWaitlist(c) => format!("{}.leave", c.entry_id),
            Self::ClaimOffer(c) => format!("{}.claim", c.entry_id),
            Self::ExpireOffer(c) => format!("{}.expire", c.entry_id),
        }
    }
}

/// Changes to an event's descriptive fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_cents: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_end: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_booking: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_minutes: Option<i32>,
}

/// Change an event's capacity (and, in the same step, its other fields), if the event is still at
/// `expected_version` and no fewer seats remain than are sold or held. Handled by the
/// reservations consumer, the only writer of the inventory row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeCapacity {
    /// Unique per edit request.
    pub change_id: Uuid,
    pub event_id: Uuid,
    pub capacity: i32,
    pub expected_version: i32,
    #[serde(default)]
    pub changes: EventChanges,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
}

impl ChangeCapacity {
    pub fn command_id(&self) -> String {
        format!("{}.capacity.{}", self.event_id, self.change_id)
    }
}
