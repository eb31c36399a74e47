//! Checking a booking request's `quantity` or `lines` against what the event sells, before it is
//! published: an event that sells ticket types is booked by `lines` of its listed types, one sold
//! as one pool of seats by `quantity`. The reservations consumer decides authoritatively.

use salvo::oapi::ToSchema;
use serde::Deserialize;
use uuid::Uuid;

use crate::body::Checks;
use crate::error::ApiError;

/// Seats of one ticket type in a booking request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    pub ticket_type_id: Uuid,
    #[salvo(schema(minimum = 1, maximum = 100))]
    pub quantity: i32,
}

/// What a booking request asks for, checked against the event's rules.
pub struct Asked {
    /// Seats in all.
    pub quantity: i32,
    /// The price the gateway expects (the consumer prices authoritatively).
    pub amount_cents: i64,
    /// By ticket type, at the prices the gateway knows (empty for an event sold as one pool).
    pub lines: Vec<evently_schemas::BookingLine>,
}

/// Most lines one booking has.
const MOST_LINES: usize = 20;

/// Checks a booking request's `quantity` or `lines` against the event: an event that sells ticket
/// types is booked by `lines` of its listed types (or hidden ones a promo code unlocks), one sold
/// as one pool of seats by `quantity`.
pub fn check_booking(
    rules: &crate::events_cache::EventRules,
    quantity: Option<i32>,
    lines: &[LineIn],
    unlocked: &[Uuid],
) -> Result<Asked, ApiError> {
    let max = rules.max_per_booking;
    let types = &rules.ticket_types.0;
    if types.is_empty() {
        if !lines.is_empty() {
            return Err(ApiError::field(
                "lines",
                "this event sells no ticket types: book a quantity",
            ));
        }
        let quantity = quantity.ok_or_else(|| ApiError::field("quantity", "is required"))?;
        Checks::default()
            .check(
                (1..=max).contains(&quantity),
                "quantity",
                &format!("must be from 1 to {max}"),
            )
            .finish()?;
        return Ok(Asked {
            quantity,
            amount_cents: rules.price_cents * i64::from(quantity),
            lines: Vec::new(),
        });
    }
    if lines.is_empty() {
        return Err(ApiError::field(
            "lines",
            "this event sells ticket types: book lines of them ({ticket_type_id, quantity})",
        ));
    }
    if lines.len() > MOST_LINES {
        return Err(ApiError::field(
            "lines",
            format!("at most {MOST_LINES} lines"),
        ));
    }
    let mut checks = Checks::default();
    let mut priced = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let listed = types
            .iter()
            .find(|t| t.id == line.ticket_type_id && (!t.hidden || unlocked.contains(&t.id)));
        let twice = lines[..i]
            .iter()
            .any(|l| l.ticket_type_id == line.ticket_type_id);
        checks.check(
            listed.is_some(),
            &format!("lines[{i}].ticket_type_id"),
            "is not a ticket type of this event",
        );
        checks.check(
            !twice,
            &format!("lines[{i}].ticket_type_id"),
            "names a ticket type an earlier line names",
        );
        let most = listed
            .and_then(|t| t.max_per_booking)
            .unwrap_or(100)
            .min(max);
        checks.check(
            (1..=most).contains(&line.quantity),
            &format!("lines[{i}].quantity"),
            &format!("must be from 1 to {most}"),
        );
        if let Some(t) = listed {
            priced.push(evently_schemas::BookingLine {
                ticket_type_id: t.id,
                quantity: line.quantity,
                unit_price_cents: t.price_cents,
            });
        }
    }
    checks.finish()?;
    let total: i32 = priced.iter().map(|l| l.quantity).sum();
    Checks::default()
        .check(
            (1..=max).contains(&total),
            "lines",
            &format!("must add up to 1 to {max} tickets"),
        )
        .check(
            quantity.is_none_or(|q| q == total),
            "quantity",
            "must be the lines' total (or left out)",
        )
        .finish()?;
    Ok(Asked {
        quantity: total,
        amount_cents: priced
            .iter()
            .map(|l| l.unit_price_cents * i64::from(l.quantity))
            .sum(),
        lines: priced,
    })
}
