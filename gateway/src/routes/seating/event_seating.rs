//! An event's seating: which plan of its venue it uses and which of its ticket types each of the
//! plan's categories sells as. Setting it copies the plan's seats into the event's seat map,
//! under the event's inventory lock (the reservations consumer's), and only while no booking
//! holds seats: a seat map never changes under a sale.

use std::collections::{BTreeMap, HashSet};

use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::plan_format::{self, PlanDocument};
use crate::auth::current_user;
use crate::body::{Checks, parse_json, path_id};
use crate::error::ApiError;
use crate::routes::events::fetch;
use crate::routes::reply;
use crate::state::state;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatingRequest {
    /// A seating plan of the event's venue.
    pub plan_id: Uuid,
    /// Each of the plan's categories and the ticket type of this event its seats sell as.
    pub categories: BTreeMap<String, Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatingOut {
    pub plan_id: Uuid,
    pub categories: BTreeMap<String, Uuid>,
    pub seat_count: i32,
}

/// Give an event its seat map (the event's organiser or an admin): a plan of its venue, every
/// category used by a seat mapped to one of the event's ticket types. 409 while any booking of
/// the event holds seats.
#[endpoint(tags("seating"), security(("bearer" = [])), parameters(("id" = Uuid, Path)), request_body = SeatingRequest, responses((status_code = 200, body = SeatingOut)))]
pub async fn set_seating(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    caller.require_organizer()?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let body: SeatingRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let event = fetch(&state.pool, event_id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    if !caller.owns_or_admin(event.organizer_id) {
        return Err(ApiError::Forbidden(
            "only the event's organizer or an admin may set its seating",
        ));
    }
    let plan: Option<(Uuid, serde_json::Value)> =
        sqlx::query_as("SELECT venue_id, document FROM seating_plans WHERE id = $1")
            .bind(body.plan_id)
            .fetch_optional(&state.pool)
            .await?;
    let Some((venue_id, document)) = plan else {
        return Err(ApiError::field("plan_id", "is not a seating plan"));
    };
    if venue_id != event.venue_id {
        return Err(ApiError::field(
            "plan_id",
            "is a seating plan of another venue",
        ));
    }
    let plan: PlanDocument = serde_json::from_value(document)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored plan does not parse: {e}")))?;
    let seats = plan_format::seats(&plan);
    let types: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM ticket_types WHERE event_id = $1")
        .bind(event_id)
        .fetch_all(&state.pool)
        .await?;
    let used: HashSet<&str> = seats.iter().map(|s| s.category.as_str()).collect();
    let mut checks = Checks::default();
    for name in &used {
        checks.check(
            body.categories.contains_key(*name),
            &format!("categories.{name}"),
            "is a category of the plan's seats: map it to a ticket type",
        );
    }
    for (name, ty) in &body.categories {
        checks.check(
            used.contains(name.as_str()),
            &format!("categories.{name}"),
            "is not a category of the plan's seats",
        );
        checks.check(
            types.contains(ty),
            &format!("categories.{name}"),
            "is not a ticket type of this event",
        );
    }
    checks.finish()?;

    let mut tx = state.pool.begin().await?;
    // The reservations consumer's lock: no batch decides for this event meanwhile.
    sqlx::query("SELECT 1 FROM inventory WHERE event_id = $1 FOR UPDATE")
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    let live: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM bookings WHERE event_id = $1 AND status IN ('held', 'confirmed'))",
    )
    .bind(event_id)
    .fetch_one(&mut *tx)
    .await?;
    if live {
        return Err(ApiError::Conflict(
            "bookings hold seats of this event: its seat map cannot change now".into(),
        ));
    }
    sqlx::query("DELETE FROM event_seats WHERE event_id = $1")
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    let column = |f: fn(&plan_format::PlanSeat) -> String| seats.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO event_seats (event_id, seat_id, ticket_type_id, section, row_label, number, \
         category, row_index, seat_index, x, y, radius, accessible, companion) \
         SELECT $1, u.* FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], \
         $7::text[], $8::int[], $9::int[], $10::float8[], $11::float8[], $12::float8[], $13::bool[], \
         $14::bool[]) AS u",
    )
    .bind(event_id)
    .bind(column(|s| s.id.clone()))
    .bind(
        seats
            .iter()
            .map(|s| body.categories[&s.category])
            .collect::<Vec<_>>(),
    )
    .bind(column(|s| s.section.clone()))
    .bind(column(|s| s.row.clone()))
    .bind(column(|s| s.number.clone()))
    .bind(column(|s| s.category.clone()))
    .bind(seats.iter().map(|s| s.row_index).collect::<Vec<_>>())
    .bind(seats.iter().map(|s| s.seat_index).collect::<Vec<_>>())
    .bind(seats.iter().map(|s| s.x).collect::<Vec<_>>())
    .bind(seats.iter().map(|s| s.y).collect::<Vec<_>>())
    .bind(seats.iter().map(|s| s.radius).collect::<Vec<_>>())
    .bind(seats.iter().map(|s| s.accessible).collect::<Vec<_>>())
    .bind(seats.iter().map(|s| s.companion).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO event_seating (event_id, plan_id, categories) VALUES ($1, $2, $3) \
         ON CONFLICT (event_id) DO UPDATE SET plan_id = $2, categories = $3, \
         seat_version = event_seating.seat_version + 1, updated_at = now()",
    )
    .bind(event_id)
    .bind(body.plan_id)
    .bind(sqlx::types::Json(&body.categories))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    reply(
        res,
        StatusCode::OK,
        &SeatingOut {
            plan_id: body.plan_id,
            categories: body.categories,
            seat_count: seats.len() as i32,
        },
    );
    Ok(())
}
