//! Editing an event: `PATCH /events/{id}` with `If-Match` (optimistic locking: `428` without it,
//! `412` when stale). Descriptive fields are written directly; a capacity change goes through the
//! pipeline, because it touches the inventory row that only the reservations consumer writes.

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use chrono::{DateTime, Utc};
use evently_schemas::{
    BookingCommand, CancelEvent, ChangeCapacity, EventCancelled, EventCapacityChanged, EventChanges,
};
use futures::StreamExt;
use salvo::http::{StatusCode, header};
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::events::{EventOut, EventRequest, EventRow, fetch, set_etag, validate};
use super::{reply, set_location};
use crate::auth::current_user;
use crate::body::{parse_json, path_id};
use crate::error::ApiError;
use crate::publish::publish_booking_command;
use crate::state::{AppState, state};

/// The fields an organizer may change; absent fields stay as they are. The venue and currency of
/// an event do not change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Seats on sale: raising it frees seats (for the waitlist); lowering it below what is sold or
    /// held is refused with `409`.
    pub capacity: Option<i32>,
    pub price_cents: Option<i64>,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    pub max_per_booking: Option<i32>,
    pub hold_minutes: Option<i32>,
}

/// The version an `If-Match` header names: `428` without one, `412` when it is not a version.
pub(super) fn if_match(req: &Request) -> Result<i32, ApiError> {
    let value = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?
        .to_str()
        .map_err(|_| ApiError::PreconditionFailed)?;
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| ApiError::PreconditionFailed)
}

/// The event as it would be after the patch, to validate as a whole.
fn merged(current: &EventRow, patch: &EventPatch) -> EventRequest {
    EventRequest {
        name: patch.name.clone().unwrap_or_else(|| current.name.clone()),
        description: patch
            .description
            .clone()
            .unwrap_or_else(|| current.description.clone()),
        venue_id: current.venue_id,
        category: patch
            .category
            .clone()
            .unwrap_or_else(|| current.category.clone()),
        starts_at: patch.starts_at.unwrap_or(current.starts_at),
        ends_at: patch.ends_at.unwrap_or(current.ends_at),
        capacity: patch.capacity.unwrap_or(current.capacity),
        price_cents: patch.price_cents.unwrap_or(current.price_cents),
        currency: current.currency.trim_end().to_owned(),
        sales_start: patch.sales_start.or(current.sales_start),
        sales_end: patch.sales_end.or(current.sales_end),
        max_per_booking: Some(patch.max_per_booking.unwrap_or(current.max_per_booking)),
        hold_minutes: Some(patch.hold_minutes.unwrap_or(current.hold_minutes)),
        offer_minutes: None,
    }
}

fn changes(patch: &EventPatch) -> EventChanges {
    EventChanges {
        name: patch.name.as_ref().map(|s| s.trim().to_owned()),
        description: patch.description.as_ref().map(|s| s.trim().to_owned()),
        category: patch.category.as_ref().map(|s| s.trim().to_lowercase()),
        starts_at: patch.starts_at,
        ends_at: patch.ends_at,
        price_cents: patch.price_cents,
        sales_start: patch.sales_start,
        sales_end: patch.sales_end,
        max_per_booking: patch.max_per_booking,
        hold_minutes: patch.hold_minutes,
    }
}

/// Edit an event (its organizer or an admin). Needs `If-Match` with the `ETag` of `GET`.
#[endpoint(
    tags("events"),
    security(("bearer" = [])),
    parameters(("id" = Uuid, Path), ("If-Match" = String, Header, description = "the ETag from GET")),
    request_body = EventPatch,
    responses((status_code = 200, body = EventOut), (status_code = 202, body = EventOut))
)]
pub async fn patch_event(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    caller.require_organizer()?;
    let state = state(depot)?;
    let id = path_id(req, "id", "event")?;
    let current = fetch(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    if !caller.owns_or_admin(current.organizer_id) {
        return Err(ApiError::Forbidden(
            "only the event's organizer or an admin may edit it",
        ));
    }
    let expected = if_match(req)?;
    let patch: EventPatch = parse_json(req, state.settings.max_body_bytes).await?;
    if current.version != expected {
        return Err(ApiError::PreconditionFailed);
    }
    if current.status != "active" {
        return Err(ApiError::Conflict(
            "a cancelled event cannot be edited".into(),
        ));
    }
    validate(
        &merged(&current, &patch),
        Utc::now(),
        patch.starts_at.is_some(),
    )?;
    if let Some(capacity) = patch.capacity.filter(|c| *c != current.capacity) {
        let venue_capacity: i32 = sqlx::query_scalar("SELECT capacity FROM venues WHERE id = $1")
            .bind(current.venue_id)
            .fetch_one(&state.pool)
            .await?;
        if capacity > venue_capacity {
            return Err(ApiError::field(
                "capacity",
                format!("must not exceed the venue's capacity of {venue_capacity}"),
            ));
        }
        return change_capacity(&state, res, caller.id, &current, capacity, changes(&patch)).await;
    }
    let c = changes(&patch);
    let updated = sqlx::query(
        "UPDATE events SET version = version + 1, updated_at = now(), \
         name = COALESCE($3, name), description = COALESCE($4, description), category = COALESCE($5, category), \
         starts_at = COALESCE($6, starts_at), ends_at = COALESCE($7, ends_at), price_cents = COALESCE($8, price_cents), \
         sales_start = COALESCE($9, sales_start), sales_end = COALESCE($10, sales_end), \
         max_per_booking = COALESCE($11, max_per_booking), hold_minutes = COALESCE($12, hold_minutes) \
         WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(expected)
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
    .execute(&state.pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::PreconditionFailed);
    }
    answer(&state, res, id, StatusCode::OK).await
}

async fn answer(
    state: &AppState,
    res: &mut Response,
    id: Uuid,
    status: StatusCode,
) -> Result<(), ApiError> {
    let row = fetch(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    set_etag(res, &row.etag());
    set_location(res, &format!("/api/v1/events/{id}"));
    reply(res, status, &EventOut::from(row));
    Ok(())
}

/// Publishes the capacity change and waits for the reservations consumer's outcome.
async fn change_capacity(
    state: &AppState,
    res: &mut Response,
    caller: Uuid,
    current: &EventRow,
    capacity: i32,
    changes: EventChanges,
) -> Result<(), ApiError> {
    let command = ChangeCapacity {
        change_id: Uuid::now_v7(),
        event_id: current.id,
        capacity,
        expected_version: current.version,
        changes,
        requested_by: caller,
        requested_at: Utc::now(),
    };
    let command_id = command.command_id();
    // Listen before publishing, so that a fast outcome cannot be missed.
    let mut outcomes = state
        .nats
        .subscribe(state.prefix.event_event("*", current.id))
        .await
        .map_err(|_| ApiError::Unavailable {
            service: "the message broker",
        })?;
    publish_booking_command(state, &BookingCommand::ChangeCapacity(command)).await?;
    let wait = tokio::time::timeout(
        state.settings.decision_wait().max(Duration::from_secs(1)),
        async {
            while let Some(msg) = outcomes.next().await {
                if let Ok(outcome) = serde_json::from_slice::<EventCapacityChanged>(&msg.payload)
                    && outcome.command_id == command_id
                {
                    return Some(outcome);
                }
            }
            None
        },
    )
    .await;
    match wait.ok().flatten() {
        Some(o) if o.outcome == "updated" => answer(state, res, current.id, StatusCode::OK).await,
        Some(o) if o.reason.as_deref() == Some("stale") => Err(ApiError::PreconditionFailed),
        Some(o) => Err(ApiError::Conflict(format!(
            "capacity {capacity} is below the {} seats already sold or held",
            o.availability.sold + o.availability.held
        ))),
        None => answer(state, res, current.id, StatusCode::ACCEPTED).await,
    }
}

/// Cancel an event (its organizer or an admin): no more bookings are taken, and every booking is
/// cancelled and refunded through the pipeline, in rounds. Answers `202`: the cancellation of the
/// bookings proceeds after the answer. Cancelling a cancelled event resumes anything left.
#[endpoint(
    tags("events"),
    security(("bearer" = [])),
    parameters(("id" = Uuid, Path)),
    responses((status_code = 202, body = EventOut))
)]
pub async fn cancel_event(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    caller.require_organizer()?;
    let state = state(depot)?;
    let id = path_id(req, "id", "event")?;
    let current = fetch(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    if !caller.owns_or_admin(current.organizer_id) {
        return Err(ApiError::Forbidden(
            "only the event's organizer or an admin may cancel it",
        ));
    }
    sqlx::query("UPDATE events SET status = 'cancelled', version = version + 1, updated_at = now() WHERE id = $1 AND status = 'active'")
        .bind(id)
        .execute(&state.pool)
        .await?;
    let now = Utc::now();
    let cancelled = EventCancelled {
        event_id: id,
        cancelled_by: caller.id,
        occurred_at: now,
    };
    let payload = serde_json::to_vec(&cancelled).map_err(|e| ApiError::Internal(e.into()))?;
    state
        .js
        .send_publish(
            state.prefix.event_event("cancelled", id),
            crate::publish::traced(
                PublishMessage::build()
                    .payload(payload.into())
                    .message_id(cancelled.message_id()),
            ),
        )
        .await
        .map_err(|_| ApiError::Unavailable {
            service: "the message broker",
        })?
        .await
        .map_err(|_| ApiError::Unavailable {
            service: "the message broker",
        })?;
    let first_round = CancelEvent {
        event_id: id,
        round: 0,
        requested_by: caller.id,
        requested_at: now,
    };
    publish_booking_command(&state, &BookingCommand::CancelEvent(first_round)).await?;
    tracing::info!(event_id = %id, by = %caller.id, "event cancelled; cancelling its bookings");
    answer(&state, res, id, StatusCode::ACCEPTED).await
}
