//! Creating, editing (`If-Match`) and deleting an event's ticket types, by its organiser or an
//! admin. An edit locks the type's row, which the reservations consumer locks too while it
//! decides, so a quota is never set below what is sold or held; a type with bookings is never
//! deleted.

use salvo::http::StatusCode;
use salvo::prelude::*;
use sqlx::PgPool;
use uuid::Uuid;

use super::{SELECT, TicketTypeOut, TicketTypePatch, TicketTypeRequest, TypeRow};
use crate::auth::{CurrentUser, current_user};
use crate::body::{Checks, parse_json, path_id};
use crate::error::ApiError;
use crate::routes::event_edit::if_match;
use crate::routes::events::{EventRow, fetch, set_etag};
use crate::routes::{reply, set_location};
use crate::state::state;

/// Most ticket types one event sells.
const MOST_TYPES: i64 = 50;

pub(super) fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The checks every ticket type passes, on create and after a patch.
fn validate(t: &TicketTypeRequest) -> Result<(), ApiError> {
    let name = t.name.trim();
    Checks::default()
        .check(
            (1..=100).contains(&name.chars().count()),
            "name",
            "must be 1 to 100 characters",
        )
        .check(
            t.description.chars().count() <= 2000,
            "description",
            "must be at most 2000 characters",
        )
        .check(
            (0..=100_000_000).contains(&t.price_cents),
            "price_cents",
            "must be from 0 to 100000000",
        )
        .check(
            (0..=1_000_000).contains(&t.quota),
            "quota",
            "must be from 0 to 1000000",
        )
        .check(
            t.max_per_booking.is_none_or(|m| (1..=100).contains(&m)),
            "max_per_booking",
            "must be from 1 to 100",
        )
        .check(
            match (t.sales_start, t.sales_end) {
                (Some(s), Some(e)) => s < e,
                _ => true,
            },
            "sales_end",
            "must be after sales_start",
        )
        .finish()
}

/// The event, if the caller may manage its ticket types (its organiser or an admin).
async fn managed_event(
    pool: &PgPool,
    caller: &CurrentUser,
    event_id: Uuid,
) -> Result<EventRow, ApiError> {
    caller.require_organizer()?;
    let event = fetch(pool, event_id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    if !caller.owns_or_admin(event.organizer_id) {
        return Err(ApiError::Forbidden(
            "only the event's organizer or an admin may manage its ticket types",
        ));
    }
    if event.status != "active" {
        return Err(ApiError::Conflict(
            "a cancelled event's ticket types cannot change".into(),
        ));
    }
    Ok(event)
}

/// A unique-name violation as the field error it is.
fn name_taken(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("ticket_types_event_id_name_key") => {
            ApiError::field("name", "another ticket type of this event has this name")
        }
        _ => e.into(),
    }
}

/// Add a ticket type to an event (its organiser or an admin).
#[endpoint(tags("ticket types"), security(("bearer" = [])), parameters(("id" = Uuid, Path)), request_body = TicketTypeRequest, responses((status_code = 201, body = TicketTypeOut)))]
pub async fn create_ticket_type(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let body: TicketTypeRequest = parse_json(req, state.settings.max_body_bytes).await?;
    managed_event(&state.pool, &caller, event_id).await?;
    validate(&body)?;
    let mut tx = state.pool.begin().await?;
    // The event's row, locked, orders concurrent creations (their positions and the limit).
    sqlx::query("SELECT 1 FROM events WHERE id = $1 FOR UPDATE")
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket_types WHERE event_id = $1")
        .bind(event_id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MOST_TYPES {
        return Err(ApiError::Conflict(format!(
            "an event sells at most {MOST_TYPES} ticket types"
        )));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO ticket_types (id, event_id, name, description, price_cents, quota, sales_start, \
         sales_end, max_per_booking, hidden, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(event_id)
    .bind(body.name.trim())
    .bind(body.description.trim())
    .bind(body.price_cents)
    .bind(body.quota)
    .bind(body.sales_start)
    .bind(body.sales_end)
    .bind(body.max_per_booking)
    .bind(body.hidden)
    .bind(i32::try_from(count).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await
    .map_err(name_taken)?;
    tx.commit().await?;
    let created = one(&state.pool, event_id, id).await?;
    set_location(res, &format!("/api/v1/events/{event_id}/ticket-types/{id}"));
    set_etag(res, &etag(created.version));
    reply(res, StatusCode::CREATED, &TicketTypeOut::from(created));
    Ok(())
}

async fn one(pool: &PgPool, event_id: Uuid, id: Uuid) -> Result<TypeRow, ApiError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.event_id = $1 AND t.id = $2"
    )))
    .bind(event_id)
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(ApiError::NotFound("ticket type"))
}

/// Locks a type's row (the reservations consumer waits for it, and it for the consumer), checks
/// the `If-Match` version.
async fn lock(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    event_id: Uuid,
    id: Uuid,
    expected: i32,
) -> Result<TypeRow, ApiError> {
    let row: TypeRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.event_id = $1 AND t.id = $2 FOR UPDATE OF t"
    )))
    .bind(event_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApiError::NotFound("ticket type"))?;
    if row.version != expected {
        return Err(ApiError::PreconditionFailed);
    }
    Ok(row)
}

/// Edit a ticket type (the event's organiser or an admin). Needs `If-Match` with its `ETag`.
#[endpoint(tags("ticket types"), security(("bearer" = [])), parameters(("id" = Uuid, Path), ("type_id" = Uuid, Path), ("If-Match" = String, Header, description = "the ETag from create or a previous edit")), request_body = TicketTypePatch, responses((status_code = 200, body = TicketTypeOut)))]
pub async fn patch_ticket_type(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let id = path_id(req, "type_id", "ticket type")?;
    managed_event(&state.pool, &caller, event_id).await?;
    let expected = if_match(req)?;
    let patch: TicketTypePatch = parse_json(req, state.settings.max_body_bytes).await?;
    let mut tx = state.pool.begin().await?;
    let current = lock(&mut tx, event_id, id, expected).await?;
    let merged = TicketTypeRequest {
        name: patch.name.unwrap_or(current.name),
        description: patch.description.unwrap_or(current.description),
        price_cents: patch.price_cents.unwrap_or(current.price_cents),
        quota: patch.quota.unwrap_or(current.quota),
        sales_start: patch.sales_start.or(current.sales_start),
        sales_end: patch.sales_end.or(current.sales_end),
        max_per_booking: patch.max_per_booking.or(current.max_per_booking),
        hidden: patch.hidden.unwrap_or(current.hidden),
    };
    validate(&merged)?;
    let taken = current.sold + current.held + current.offered;
    if merged.quota < taken {
        return Err(ApiError::Conflict(format!(
            "{taken} tickets of this type are sold, held or offered to the waitlist: the quota cannot be lower"
        )));
    }
    sqlx::query(
        "UPDATE ticket_types SET name = $2, description = $3, price_cents = $4, quota = $5, \
         sales_start = $6, sales_end = $7, max_per_booking = $8, hidden = $9, version = version + 1, \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(merged.name.trim())
    .bind(merged.description.trim())
    .bind(merged.price_cents)
    .bind(merged.quota)
    .bind(merged.sales_start)
    .bind(merged.sales_end)
    .bind(merged.max_per_booking)
    .bind(merged.hidden)
    .execute(&mut *tx)
    .await
    .map_err(name_taken)?;
    tx.commit().await?;
    let updated = one(&state.pool, event_id, id).await?;
    set_etag(res, &etag(updated.version));
    reply(res, StatusCode::OK, &TicketTypeOut::from(updated));
    Ok(())
}

/// Delete a ticket type nobody has booked (the event's organiser or an admin; `If-Match`). A
/// type with bookings is refused with `409`: hide it, or set its quota to what is sold.
#[endpoint(tags("ticket types"), security(("bearer" = [])), parameters(("id" = Uuid, Path), ("type_id" = Uuid, Path), ("If-Match" = String, Header, description = "the ETag from create or a previous edit")), responses((status_code = 204)))]
pub async fn delete_ticket_type(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let id = path_id(req, "type_id", "ticket type")?;
    managed_event(&state.pool, &caller, event_id).await?;
    let expected = if_match(req)?;
    let mut tx = state.pool.begin().await?;
    lock(&mut tx, event_id, id, expected).await?;
    let booked: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM booking_lines WHERE ticket_type_id = $1)")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if booked {
        return Err(ApiError::Conflict(
            "this ticket type has bookings: hide it, or set its quota to what is sold".into(),
        ));
    }
    sqlx::query("DELETE FROM ticket_types WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    res.status_code(StatusCode::NO_CONTENT);
    Ok(())
}
