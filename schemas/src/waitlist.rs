//! The waitlist's contract: its commands (join, leave, claim, expire an offer) and its domain
//! events, published on `<prefix>.evt.waitlist.<status>.<event_id>` with message id
//! `<entry_id>.<status>`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a waitlist entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitlistStatus {
    /// In the queue.
    Waiting,
    /// Seats are held for it until `offer_expires_at`.
    Offered,
    /// The offer became a booking.
    Claimed,
    /// The offer was not claimed in time.
    Expired,
    /// The user left the waitlist (or cancelled the waitlisted booking).
    Left,
}

impl WaitlistStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Offered => "offered",
            Self::Claimed => "claimed",
            Self::Expired => "expired",
            Self::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "waiting" => Self::Waiting,
            "offered" => Self::Offered,
            "claimed" => Self::Claimed,
            "expired" => Self::Expired,
            "left" => Self::Left,
            _ => return None,
        })
    }

    /// The verb of the domain event announcing this status (`waiting` is announced as `joined`).
    pub fn event_name(self) -> &'static str {
        match self {
            Self::Waiting => "joined",
            other => other.as_str(),
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Self::Waiting | Self::Offered)
    }
}

/// A waitlist entry as recorded after a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaitlistEntrySnapshot {
    pub id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    pub status: WaitlistStatus,
    /// Join order among the event's entries (increasing; not a rank).
    pub position: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// The booking it came from or that its claim created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The ticket type it waits for (an event that sells ticket types); none for an event sold
    /// as one pool of seats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type_id: Option<Uuid>,
}

/// A waitlist entry changed status: `joined`, `offered`, `claimed`, `expired` or `left`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaitlistEvent {
    pub entry: WaitlistEntrySnapshot,
    pub occurred_at: DateTime<Utc>,
}

impl WaitlistEvent {
    /// `<entry_id>.<status>`
    pub fn message_id(&self) -> String {
        format!("{}.{}", self.entry.id, self.entry.status.as_str())
    }
}

/// Join an event's waitlist for `quantity` seats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JoinWaitlist {
    pub entry_id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    pub requested_at: DateTime<Utc>,
    /// The ticket type to wait for, for an event that sells ticket types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type_id: Option<Uuid>,
}

/// Leave the waitlist (an open offer's seats pass on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeaveWaitlist {
    pub entry_id: Uuid,
    pub event_id: Uuid,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
}

/// Turn an open offer into a booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClaimOffer {
    pub entry_id: Uuid,
    pub event_id: Uuid,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
}

/// An offer's time is up (published by the sweeper). Applies only to the offer that expires at
/// `offer_expires_at`, whatever the consumer's clock says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExpireOffer {
    pub entry_id: Uuid,
    pub event_id: Uuid,
    pub offer_expires_at: DateTime<Utc>,
}

/// The booking id a claim creates for an entry that has no waitlisted booking: UUIDv5 of the
/// entry id, so a redelivered claim makes the same booking.
pub fn claim_booking_id(entry_id: Uuid) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0005);
    Uuid::new_v5(&NAMESPACE, entry_id.as_bytes())
}

/// The entry id a `waitlist_if_sold_out` booking gets: UUIDv5 of the booking id.
pub fn entry_id_for_booking(booking_id: Uuid) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0006);
    Uuid::new_v5(&NAMESPACE, booking_id.as_bytes())
}
