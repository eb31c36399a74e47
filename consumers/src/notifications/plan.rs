//! What to tell whom: each kind of domain event maps to its notices (recipient, template, data,
//! urgency). Adding a kind is one arm in [`plan`] (decode the event, call a small function here)
//! plus its templates.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::{
    BookingEvent, BookingSnapshot, BookingStatus, EventCancelled, TicketsIssued, WaitlistEvent,
};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::push::Urgency;

/// Whether `booking.confirmed` also sends an email. It does not: the confirmation email goes out
/// on `ticket.issued`, when the tickets exist, with their PDF attached; `booking.confirmed` is
/// told in-app and by push.
pub const CONFIRMATION_EMAIL_ON_BOOKING: bool = false;

/// One thing to tell one user.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The domain event's deterministic id (`<booking id>.confirmed`): the first part of every
    /// delivery key, the same however often the event is delivered or republished.
    pub source_id: String,
    pub user_id: Uuid,
    pub event_id: Uuid,
    /// The template.
    pub kind: &'static str,
    /// Template data besides `user`, `event` and `url`.
    pub data: Value,
    pub urgency: Urgency,
    pub email: bool,
    /// Whether the notice is also an in-app notification and a Web Push message.
    pub in_app_and_push: bool,
    /// Ticket PDFs to attach: the booking whose tickets they are.
    pub attach_tickets_of: Option<Uuid>,
}

impl Notice {
    fn new(
        source_id: String,
        user_id: Uuid,
        event_id: Uuid,
        kind: &'static str,
        data: Value,
    ) -> Self {
        Self {
            source_id,
            user_id,
            event_id,
            kind,
            data,
            urgency: Urgency::Normal,
            email: true,
            in_app_and_push: true,
            attach_tickets_of: None,
        }
    }
}

/// Why a message gave no notices.
#[derive(Debug)]
pub enum PlanError {
    /// Undecodable: will never work.
    Invalid(anyhow::Error),
    /// The database failed: retry.
    Unavailable(anyhow::Error),
}

fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, PlanError> {
    serde_json::from_slice(payload).map_err(|e| PlanError::Invalid(e.into()))
}

/// The notices of one domain event, from its subject's `<aggregate>.<verb>` and payload;
/// `message_id` (its `Nats-Msg-Id`) names it when its content has no id of its own.
pub async fn plan(
    pool: &PgPool,
    aggregate: &str,
    verb: &str,
    payload: &[u8],
    message_id: Option<&str>,
) -> Result<Vec<Notice>, PlanError> {
    let db = PlanError::Unavailable;
    Ok(match (aggregate, verb) {
        ("booking", "confirmed" | "held" | "expired") => {
            let e: BookingEvent = decode(payload)?;
            booking_notice(&e).into_iter().collect()
        }
        ("booking", "cancelled") => {
            let e: BookingEvent = decode(payload)?;
            if cancelled_with_event(pool, &e.booking).await.map_err(db)? {
                Vec::new()
            } else {
                booking_notice(&e).into_iter().collect()
            }
        }
        ("event", "cancelled") => {
            let e: EventCancelled = decode(payload)?;
            let holders = holders(pool, e.event_id, true).await.map_err(db)?;
            holders
                .into_iter()
                .map(|user| {
                    Notice::new(
                        e.message_id(),
                        user,
                        e.event_id,
                        "event_cancelled",
                        json!({}),
                    )
                })
                .collect()
        }
        ("event", "updated") => {
            let e: Value = decode(payload)?;
            let event_id = e["event_id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
            // A capacity change concerns the waitlist, not the holders.
            match event_id {
                Some(id) if e.get("seats_freed").is_none() => {
                    let source = match (e["version"].as_i64(), message_id) {
                        (Some(version), _) => format!("{id}.updated.v{version}"),
                        (None, Some(message_id)) => message_id.to_owned(),
                        (None, None) => {
                            return Err(PlanError::Invalid(anyhow::anyhow!(
                                "an event update without a version or message id"
                            )));
                        }
                    };
                    holders(pool, id, false)
                        .await
                        .map_err(db)?
                        .into_iter()
                        .map(|user| {
                            Notice::new(source.clone(), user, id, "event_updated", json!({}))
                        })
                        .collect()
                }
                _ => Vec::new(),
            }
        }
        ("waitlist", "offered") => {
            let e: WaitlistEvent = decode(payload)?;
            let x = e.entry;
            vec![waitlist_offered(
                x.id,
                x.event_id,
                x.user_id,
                x.quantity,
                Some(x.position),
                x.offer_expires_at,
            )]
        }
        ("waitlist", "expiring") => {
            let e: WaitlistEvent = decode(payload)?;
            let x = e.entry;
            match x.offer_expires_at {
                Some(deadline) => vec![offer_expiring(
                    x.id, x.event_id, x.user_id, x.quantity, deadline,
                )],
                None => Vec::new(),
            }
        }
        ("ticket", "issued") => {
            let e: TicketsIssued = decode(payload)?;
            let tickets = e
                .tickets
                .iter()
                .map(|t| (t.id, t.ticket_number.clone(), Some(t.seat_index)))
                .collect();
            vec![tickets_issued(e.booking_id, e.event_id, e.user_id, tickets)]
        }
        _ => Vec::new(),
    })
}

/// The notice for a booking's holder.
fn booking_notice(e: &BookingEvent) -> Option<Notice> {
    let b = &e.booking;
    let kind = match b.status {
        BookingStatus::Confirmed => "booking_confirmed",
        BookingStatus::Held => "booking_held",
        BookingStatus::Cancelled => "booking_cancelled",
        BookingStatus::Expired => "booking_expired",
        _ => return None,
    };
    let mut notice = Notice::new(
        e.message_id(),
        b.user_id,
        b.event_id,
        kind,
        json!({"booking": booking_data(b)}),
    );
    if b.status == BookingStatus::Held {
        notice.urgency = Urgency::High;
    }
    if b.status == BookingStatus::Confirmed {
        notice.email = CONFIRMATION_EMAIL_ON_BOOKING;
    }
    Some(notice)
}

fn booking_data(b: &BookingSnapshot) -> Value {
    json!({
        "id": b.id,
        "quantity": b.quantity,
        "amount": money(b.amount_cents, &b.currency),
        "hold_expires_at": b.hold_expires_at.map(time),
        "status": b.status.as_str(),
    })
}

/// Seats offered to a waitlisted user (`evt.waitlist.offered`): urgent, the offer expires.
pub fn waitlist_offered(
    entry_id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    quantity: i32,
    position: Option<i64>,
    offer_expires_at: Option<DateTime<Utc>>,
) -> Notice {
    let expires = offer_expires_at.map(|t| t.timestamp()).unwrap_or_default();
    let mut n = Notice::new(
        format!("{entry_id}.offered.{expires}"),
        user_id,
        event_id,
        "waitlist_offered",
        json!({"entry": {"id": entry_id, "quantity": quantity, "position": position,
                "offer_expires_at": offer_expires_at.map(time)}}),
    );
    n.urgency = Urgency::High;
    n
}

/// A reminder that an offer is about to expire (`evt.waitlist.expiring`, from the sweeper).
pub fn offer_expiring(
    entry_id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    quantity: i32,
    offer_expires_at: DateTime<Utc>,
) -> Notice {
    let mut n = Notice::new(
        format!("{entry_id}.expiring.{}", offer_expires_at.timestamp()),
        user_id,
        event_id,
        "waitlist_offer_expiring",
        json!({"entry": {"id": entry_id, "quantity": quantity, "offer_expires_at": time(offer_expires_at)}}),
    );
    n.urgency = Urgency::High;
    n
}

/// Tickets issued for a booking (`evt.ticket.issued`): the confirmation email, with each ticket's
/// PDF attached.
pub fn tickets_issued(
    booking_id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    tickets: Vec<(Uuid, String, Option<i32>)>,
) -> Notice {
    let tickets: Vec<Value> = tickets
        .into_iter()
        .map(|(id, number, seat)| json!({"id": id, "ticket_number": number, "seat_index": seat}))
        .collect();
    let mut n = Notice::new(
        format!("{booking_id}.tickets"),
        user_id,
        event_id,
        "tickets_issued",
        json!({"booking": {"id": booking_id}, "tickets": tickets}),
    );
    n.attach_tickets_of = Some(booking_id);
    // The holder was told in-app and by push when the booking was confirmed; this is the email
    // that carries the tickets.
    n.in_app_and_push = false;
    n
}

/// Whether a cancelled booking was cancelled with its event (the event's notice covers it).
async fn cancelled_with_event(pool: &PgPool, b: &BookingSnapshot) -> anyhow::Result<bool> {
    let cancelled_at: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT updated_at FROM events WHERE id = $1 AND status = 'cancelled'")
            .bind(b.event_id)
            .fetch_optional(pool)
            .await
            .context("loading the booking's event")?;
    Ok(cancelled_at.is_some_and(|at| b.updated_at >= at))
}

/// The users holding seats (or a waitlisted booking) of an event; with `including_cancelled`,
/// also those whose booking the event's cancellation cancelled.
async fn holders(
    pool: &PgPool,
    event_id: Uuid,
    including_cancelled: bool,
) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT DISTINCT b.user_id FROM bookings b JOIN events e ON e.id = b.event_id \
         WHERE b.event_id = $1 AND (b.status IN ('confirmed', 'held', 'waitlisted') \
         OR ($2 AND b.status = 'cancelled' AND e.status = 'cancelled' AND b.updated_at >= e.updated_at))",
    )
    .bind(event_id)
    .bind(including_cancelled)
    .fetch_all(pool)
    .await
    .context("loading the event's holders")
}

/// `1250, "EUR"` -> `12.50 EUR`; free -> `free`.
pub fn money(cents: i64, currency: &str) -> String {
    if cents == 0 {
        return "free".into();
    }
    format!(
        "{}.{:02} {}",
        cents / 100,
        (cents % 100).abs(),
        currency.trim()
    )
}

/// A time as people read it in a message.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%a %-d %b %Y, %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_reads_well() {
        assert_eq!(super::money(1250, "EUR"), "12.50 EUR");
        assert_eq!(super::money(0, "EUR"), "free");
        assert_eq!(super::money(5, "USD"), "0.05 USD");
    }
}
