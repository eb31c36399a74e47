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
        .push(Router::with_path("{id}").get(get_venue).patch(update_venue))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueRequest {
    #[salvo(schema(min_length = 1, max_length = 200))]
    pub name: String,
    #[serde(default)]
    #[salvo(schema(max_length = 500))]
    pub address: String,
    #[serde(default)]
    #[salvo(schema(max_length = 200))]
    pub city: String,
    /// Most people the venue holds; an event's capacity cannot exceed it.
    #[salvo(schema(minimum = 1, maximum = 1000000))]
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
#[endpoint(tags("venues"), parameters(("mine" = Option<bool>, Query, description = "only the caller's venues"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"), ("cursor" = Option<String>, Query, description = "from `next_cursor`")), responses((status_code = 200, body = Page<VenueOut>)))]
pub async fn list_venues(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let page = PageRequest::from_request(req)?;
    let owner = mine(req, depot)?;
    let (after_at, after_id) = page.after.unzip();
    let rows = sqlx::query_as::<_, VenueOut>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM venues WHERE ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2)) \
         AND ($4::uuid IS NULL OR owner_id = $4) ORDER BY created_at, id LIMIT $3"
    )))
    .bind(after_at)
    .bind(after_id)
    .bind(page.limit + 1)
    .bind(owner)
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

/// `?mine=true`: the caller's id (401 without a token); else `None`.
pub fn mine(req: &Request, depot: &Depot) -> Result<Option<Uuid>, ApiError> {
    match req.query::<String>("mine").as_deref() {
        None | Some("false") => Ok(None),
        Some("true") => Ok(Some(current_user(depot)?.id)),
        Some(_) => Err(ApiError::field("mine", "must be true or false")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenuePatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    /// Not below the capacity of any active event at the venue.
    #[salvo(schema(minimum = 1, maximum = 1000000))]
    pub capacity: Option<i32>,
}

/// Update a venue (its owner or an admin).
#[endpoint(tags("venues"), security(("bearer" = [])), parameters(("id" = Uuid, Path)), request_body = VenuePatch, responses((status_code = 200, body = VenueOut)))]
pub async fn update_venue(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    caller.require_organizer()?;
    let state = state(depot)?;
    let id = path_id(req, "id", "venue")?;
    let body: VenuePatch = parse_json(req, state.settings.max_body_bytes).await?;
    let current = sqlx::query_as::<_, VenueOut>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM venues WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound("venue"))?;
    if !caller.owns_or_admin(current.owner_id) {
        return Err(ApiError::Forbidden(
            "only the venue's owner or an admin may change it",
        ));
    }
    let name = body.name.as_deref().map(str::trim);
    Checks::default()
        .check(
            name.is_none_or(|n| !n.is_empty() && n.chars().count() <= 200),
            "name",
            "must be 1 to 200 characters",
        )
        .check(
            body.address
                .as_ref()
                .is_none_or(|a| a.chars().count() <= 500),
            "address",
            "must be at most 500 characters",
        )
        .check(
            body.city.as_ref().is_none_or(|c| c.chars().count() <= 200),
            "city",
            "must be at most 200 characters",
        )
        .check(
            body.capacity.is_none_or(|c| (1..=1_000_000).contains(&c)),
            "capacity",
            "must be from 1 to 1000000",
        )
        .finish()?;
    if let Some(capacity) = body.capacity {
        let largest: Option<i32> = sqlx::query_scalar(
            "SELECT max(i.capacity) FROM events e JOIN inventory i ON i.event_id = e.id WHERE e.venue_id = $1 AND e.status = 'active'",
        )
        .bind(id)
        .fetch_one(&state.pool)
        .await?;
        if let Some(largest) = largest.filter(|l| *l > capacity) {
            return Err(ApiError::Conflict(format!(
                "an active event at this venue has {largest} seats"
            )));
        }
    }
    let venue = sqlx::query_as::<_, VenueOut>(sqlx::AssertSqlSafe(format!(
        "UPDATE venues SET name = COALESCE($2, name), address = COALESCE($3, address), city = COALESCE($4, city), \
         capacity = COALESCE($5, capacity) WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(name)
    .bind(body.address.as_deref().map(str::trim))
    .bind(body.city.as_deref().map(str::trim))
    .bind(body.capacity)
    .fetch_one(&state.pool)
    .await?;
    reply(res, StatusCode::OK, &venue);
    Ok(())
}
