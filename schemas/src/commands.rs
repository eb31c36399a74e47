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
    pub quantity: i32,
    #[serde(default)]
    pub waitlist_if_sold_out: bool,
    pub requested_at: DateTime<Utc>,
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
}

impl BookingCommand {
    pub fn event_id(&self) -> Uuid {
        match self {
            Self::Reserve(c) => c.event_id,
            Self::Cancel(c) => c.event_id,
        }
    }

    pub fn booking_id(&self) -> Uuid {
        match self {
            Self::Reserve(c) => c.booking_id,
            Self::Cancel(c) => c.booking_id,
        }
    }

    /// The id that makes this command unique: used as `Nats-Msg-Id` and as the consumer's inbox
    /// key, so the same command is never applied twice.
    pub fn command_id(&self) -> String {
        match self {
            Self::Reserve(c) => format!("{}.reserve", c.booking_id),
            Self::Cancel(c) => format!("{}.cancel", c.booking_id),
        }
    }
}
