//! Seat maps. A venue's organiser imports seating plans in pretix's published seating-plan JSON
//! format (`plans.rs`: checked, kept as sent so the export is the same document); an event uses
//! one, its categories mapped to the event's ticket types (`event_seating.rs`); anyone reads an
//! event's seats with their status in one request and follows the changes live (`seats.rs`).
//! People book particular seats or the best available (checked here, decided by the reservations
//! consumer in stream order).

mod areas;
mod event_seating;
mod plan_format;
mod plans;
mod seats;

use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::bookings::BookingRequest;
use super::ticket_types::Asked;
use crate::body::Checks;
use crate::error::ApiError;
use crate::events_cache::EventRules;

pub fn router() -> Router {
    Router::new()
        .push(
            Router::with_path("venues/{id}/seating-plans")
                .get(plans::list_plans)
                .post(plans::create_plan),
        )
        .push(Router::with_path("seating-plans/{id}").get(plans::get_plan))
        .push(Router::with_path("events/{id}/seating").put(event_seating::set_seating))
        .push(
            Router::with_path("events/{id}/seats")
                .get(seats::seat_map)
                .push(Router::with_path("live").get(seats::live_seats)),
        )
}

/// Ask for the best free seats of one ticket type.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BestAvailableIn {
    pub ticket_type_id: Uuid,
    #[salvo(schema(minimum = 1, maximum = 100))]
    pub quantity: i32,
    /// Wheelchair places and their companion seats (kept out otherwise).
    #[serde(default)]
    pub accessible: bool,
}

/// Checks a booking request for a seated event (or one that names seats): particular `seats` or
/// `best_available`, exactly one of them, within the event's limits. Whether each seat is the
/// event's and free is the consumer's to decide (a rejected booking with its reason).
pub fn check_seated(
    rules: &EventRules,
    body: &BookingRequest,
    unlocked: &[Uuid],
) -> Result<Asked, ApiError> {
    if !rules.seated {
        return Err(ApiError::field(
            if body.seats.is_empty() {
                "best_available"
            } else {
                "seats"
            },
            "this event is not seated: book a quantity or lines",
        ));
    }
    if body.quantity.is_some() || !body.lines.is_empty() {
        return Err(ApiError::field(
            if body.quantity.is_some() {
                "quantity"
            } else {
                "lines"
            },
            "this event is seated: book seats or best_available instead",
        ));
    }
    let max = rules.max_per_booking;
    match (&body.best_available, body.seats.is_empty()) {
        (Some(_), false) => Err(ApiError::field(
            "seats",
            "give seats or best_available, not both",
        )),
        (None, true) => Err(ApiError::field(
            "seats",
            "this event is seated: book seats or best_available",
        )),
        (None, false) => {
            let mut checks = Checks::default();
            let seats = &body.seats;
            checks.check(
                (1..=max as usize).contains(&seats.len()),
                "seats",
                &format!("must be 1 to {max} seats"),
            );
            for (i, seat) in seats.iter().enumerate() {
                checks.check(
                    (1..=200).contains(&seat.chars().count()),
                    &format!("seats[{i}]"),
                    "must be a seat id of 1 to 200 characters",
                );
                checks.check(
                    !seats[..i].contains(seat),
                    &format!("seats[{i}]"),
                    "names a seat an earlier entry names",
                );
            }
            checks.finish()?;
            Ok(Asked {
                quantity: seats.len() as i32,
                amount_cents: 0,
                lines: Vec::new(),
            })
        }
        (Some(best), true) => {
            let listed =
                rules.ticket_types.0.iter().find(|t| {
                    t.id == best.ticket_type_id && (!t.hidden || unlocked.contains(&t.id))
                });
            let most = listed
                .and_then(|t| t.max_per_booking)
                .unwrap_or(100)
                .min(max);
            Checks::default()
                .check(
                    listed.is_some(),
                    "best_available.ticket_type_id",
                    "is not a ticket type of this event",
                )
                .check(
                    (1..=most).contains(&best.quantity),
                    "best_available.quantity",
                    &format!("must be from 1 to {most}"),
                )
                .finish()?;
            let price = listed.map_or(0, |t| t.price_cents);
            Ok(Asked {
                quantity: best.quantity,
                amount_cents: price * i64::from(best.quantity),
                lines: vec![evently_schemas::BookingLine {
                    ticket_type_id: best.ticket_type_id,
                    quantity: best.quantity,
                    unit_price_cents: price,
                }],
            })
        }
    }
}
