//! A booking as the pipeline reports it: its status, why it was rejected, and its snapshot.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a booking stands. `pending` exists only between the gateway's publish and the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Pending,
    Held,
    Confirmed,
    Rejected,
    Waitlisted,
    Cancelled,
    Expired,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Held => "held",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
            Self::Waitlisted => "waitlisted",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "held" => Self::Held,
            "confirmed" => Self::Confirmed,
            "rejected" => Self::Rejected,
            "waitlisted" => Self::Waitlisted,
            "cancelled" => Self::Cancelled,
            "expired" => Self::Expired,
            _ => return None,
        })
    }

    /// Whether the reservations consumer has decided this booking.
    pub fn is_decided(self) -> bool {
        self != Self::Pending
    }

    /// Whether the booking still occupies seats (and so can be cancelled to free them).
    pub fn holds_seats(self) -> bool {
        matches!(self, Self::Held | Self::Confirmed)
    }
}

/// Why a booking was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Fewer seats are left than were asked for.
    SoldOut,
    /// The event's sales window has not opened yet.
    SalesNotOpen,
    /// The event's sales window has closed.
    SalesClosed,
    /// The event was cancelled or is not active.
    EventNotOnSale,
    /// The event does not exist.
    EventNotFound,
    /// More seats than the event (or a ticket type) allows in one booking.
    ExceedsMaxPerBooking,
    /// A line names a ticket type the event does not sell.
    UnknownTicketType,
    /// A line's ticket type is outside its own sales window.
    TicketTypeNotOnSale,
    /// The promo code does not exist for this event, is outside its validity window, or applies
    /// to none of the booking's tickets.
    PromoCodeNotValid,
    /// The promo code's uses are all taken.
    PromoCodeUsedUp,
    /// A seat asked for is not a seat of this event.
    UnknownSeat,
    /// A seat asked for is held, sold or blocked (or asked for twice).
    SeatTaken,
    /// The event is seated: book particular seats.
    SeatsRequired,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SoldOut => "sold_out",
            Self::SalesNotOpen => "sales_not_open",
            Self::SalesClosed => "sales_closed",
            Self::EventNotOnSale => "event_not_on_sale",
            Self::EventNotFound => "event_not_found",
            Self::ExceedsMaxPerBooking => "exceeds_max_per_booking",
            Self::UnknownTicketType => "unknown_ticket_type",
            Self::TicketTypeNotOnSale => "ticket_type_not_on_sale",
            Self::PromoCodeNotValid => "promo_code_not_valid",
            Self::PromoCodeUsedUp => "promo_code_used_up",
            Self::UnknownSeat => "unknown_seat",
            Self::SeatTaken => "seat_taken",
            Self::SeatsRequired => "seats_required",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sold_out" => Self::SoldOut,
            "sales_not_open" => Self::SalesNotOpen,
            "sales_closed" => Self::SalesClosed,
            "event_not_on_sale" => Self::EventNotOnSale,
            "event_not_found" => Self::EventNotFound,
            "exceeds_max_per_booking" => Self::ExceedsMaxPerBooking,
            "unknown_ticket_type" => Self::UnknownTicketType,
            "ticket_type_not_on_sale" => Self::TicketTypeNotOnSale,
            "promo_code_not_valid" => Self::PromoCodeNotValid,
            "promo_code_used_up" => Self::PromoCodeUsedUp,
            "unknown_seat" => Self::UnknownSeat,
            "seat_taken" => Self::SeatTaken,
            "seats_required" => Self::SeatsRequired,
            _ => return None,
        })
    }
}

/// A booking as recorded in PostgreSQL after a step, carried by every booking event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BookingSnapshot {
    pub id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    pub status: BookingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    /// Total price in minor units of `currency`.
    pub amount_cents: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What was booked, by ticket type (empty for an event sold as one pool of seats). The lines'
    /// quantities add up to `quantity`, their prices to `amount_cents`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<BookingLine>,
    /// The promo code the booking used, if any; `amount_cents` is after its discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo_code_id: Option<Uuid>,
    /// What the promo code took off, in minor units.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub discount_cents: i64,
    /// The particular seats booked, for a seated event (their ticket types are in `lines`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seats: Vec<BookingSeat>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One seat of a seated booking: the plan's seat id and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BookingSeat {
    pub id: String,
    pub ticket_type_id: Uuid,
    pub section: String,
    pub row: String,
    pub number: String,
}

/// One ticket type of a booking, at the price it was booked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BookingLine {
    pub ticket_type_id: Uuid,
    pub quantity: i32,
    /// The type's price per ticket when booked, in minor units of the booking's currency.
    pub unit_price_cents: i64,
}
