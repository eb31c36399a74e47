//! Venues: where events happen. Organizers and admins create them; anyone can list and read them.

use chrono::{DateTime, Utc};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{reply, set_location};
use crate::auth::current_user;
use crate::body::{Checks, parse_json, path_id};
use crate::error::ApiError;
use crate::pagination::{Page, PageRequest};
use crate::state::state;

pub fn router() -> Router {
    Router::with_path("venues")
        .get(list_venues)
        .post(create_venue)
        .push(Router::with_path("{id}").get(get_venue))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueRequest {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub city: String,
    /// Most people the venue holds; an event's capacity cannot exceed it.
    pub capacity: i32,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct VenueOut {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub address: String,
    pub city: String,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, owner_id, name, address, city, capacity, created_at";

/// Create a venue (organizers and admins).
#[endpoint(security(("bearer" = [])), tags("venues"), request_body = VenueRequest, responses((status_code = 201, body = VenueOut)))]
pub async fn create_venue(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    caller.require_organizer()?;
    let state = state(depot)?;
    let body: VenueRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let name = body.name.trim();
    Checks::default()
        .check(
            !name.is_empty() && name.chars().count() <= 200,
            "name",
            "must be 1 to 200 characters",
        )
        .check(
            body.address.chars().count() <= 500,
            "address",
            "must be at most 500 characters",
        )
        .check(
            body.city.chars().count() <= 200,
            "city",
            "must be at most 200 characters",
        )
        .check(
            (1..=1_000_000).contains(&body.capacity),
            "capacity",
            "must be from 1 to 1000000",
        )
        .finish()?;
    let venue = sqlx::query_as::<_, VenueOut>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO venues (id, owner_id, name, address, city, capacity) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(caller.id)
    .bind(name)
    .bind(body.address.trim())
    .bind(body.city.trim())
    .bind(body.capacity)
    .fetch_one(&state.pool)
    .await?;
    set_location(res, &format!("/api/v1/venues/{}", venue.id));
    reply(res, StatusCode::CREATED, &venue);
    Ok(())
}

/// List venues, oldest first.
#[endpoint(tags("venues"), parameters(("limit" = Option<i64>, Query, description = "1-100, default 20"), ("cursor" = Option<String>, Query, description = "from `next_cursor`")), responses((status_code = 200, body = Page<VenueOut>)))]
pub async fn list_venues(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let page = PageRequest::from_request(req)?;
    let (after_at, after_id) = page.after.unzip();
    let rows = sqlx::query_as::<_, VenueOut>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM venues WHERE ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2)) \
         ORDER BY created_at, id LIMIT $3"
    )))
    .bind(after_at)
    .bind(after_id)
    .bind(page.limit + 1)
    .fetch_all(&state.pool)
    .await?;
    reply(
        res,
        StatusCode::OK,
        &page.page(rows, |v| (v.created_at, v.id), |v| v),
    );
    Ok(())
}

/// One venue.
#[endpoint(tags("venues"), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = VenueOut)))]
pub async fn get_venue(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let id = path_id(req, "id", "venue")?;
    let venue = sqlx::query_as::<_, VenueOut>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM venues WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound("venue"))?;
    reply(res, StatusCode::OK, &venue);
    Ok(())
}
