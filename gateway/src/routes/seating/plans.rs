//! A venue's seating plans: imported in pretix's format (`plan_format.rs`) by the venue's owner
//! or an admin, listed per venue, and exported as the same document.

use chrono::{DateTime, Utc};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use super::plan_format::{self, PlanDocument};
use crate::auth::current_user;
use crate::body::{parse_json, path_id};
use crate::error::ApiError;
use crate::routes::{reply, set_location};
use crate::state::state;

/// A plan of 100,000 seats is about 15 MB of JSON.
const MOST_PLAN_BYTES: usize = 20 * 1024 * 1024;

/// Most plans one venue has.
const MOST_PLANS: i64 = 200;

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct SeatingPlanOut {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub seat_count: i32,
    #[salvo(schema(value_type = Vec<CategoryOut>))]
    pub categories: Json<Vec<CategoryOut>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct CategoryOut {
    pub name: String,
    pub color: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatingPlanList {
    pub items: Vec<SeatingPlanOut>,
}

const COLUMNS: &str = "id, venue_id, name, seat_count, \
    (SELECT COALESCE(jsonb_agg(jsonb_build_object('name', c->>'name', 'color', c->>'color')), '[]') \
    FROM jsonb_array_elements(document->'categories') c) AS categories, created_at";

/// Import a seating plan for a venue, in pretix's seating-plan JSON format (the venue's owner or
/// an admin). Duplicate seat ids and seats of undeclared categories are refused, naming the seat.
#[endpoint(tags("seating"), security(("bearer" = [])), parameters(("id" = Uuid, Path)), request_body = PlanDocument, responses((status_code = 201, body = SeatingPlanOut)))]
pub async fn create_plan(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    caller.require_organizer()?;
    let state = state(depot)?;
    let venue_id = path_id(req, "id", "venue")?;
    let owner: Option<Uuid> = sqlx::query_scalar("SELECT owner_id FROM venues WHERE id = $1")
        .bind(venue_id)
        .fetch_optional(&state.pool)
        .await?;
    let owner = owner.ok_or(ApiError::NotFound("venue"))?;
    if !caller.owns_or_admin(owner) {
        return Err(ApiError::Forbidden(
            "only the venue's owner or an admin may add seating plans",
        ));
    }
    // Kept as sent (the export is the same document); checked through the typed format.
    let document: serde_json::Value = parse_json(req, MOST_PLAN_BYTES).await?;
    let plan: PlanDocument = serde_path_to_error::deserialize(&document).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::field(&field, message)
    })?;
    plan_format::check(&plan)?;
    let seats = plan_format::seats(&plan);
    let focus = plan_format::focus(&plan, &seats);
    let plans: i64 = sqlx::query_scalar("SELECT count(*) FROM seating_plans WHERE venue_id = $1")
        .bind(venue_id)
        .fetch_one(&state.pool)
        .await?;
    if plans >= MOST_PLANS {
        return Err(ApiError::Conflict(format!(
            "a venue has at most {MOST_PLANS} seating plans"
        )));
    }
    let id = Uuid::now_v7();
    let out: SeatingPlanOut = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO seating_plans (id, venue_id, name, document, seat_count, focus_x, focus_y) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(venue_id)
    .bind(plan.name.trim())
    .bind(&document)
    .bind(seats.len() as i32)
    .bind(focus.x)
    .bind(focus.y)
    .fetch_one(&state.pool)
    .await?;
    set_location(res, &format!("/api/v1/seating-plans/{id}"));
    reply(res, StatusCode::CREATED, &out);
    Ok(())
}

/// A venue's seating plans (anyone).
#[endpoint(tags("seating"), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = SeatingPlanList)))]
pub async fn list_plans(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let venue_id = path_id(req, "id", "venue")?;
    let items: Vec<SeatingPlanOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM seating_plans WHERE venue_id = $1 ORDER BY created_at, id"
    )))
    .bind(venue_id)
    .fetch_all(&state.pool)
    .await?;
    reply(res, StatusCode::OK, &SeatingPlanList { items });
    Ok(())
}

/// A seating plan, exported in pretix's format: the document as it was imported (anyone).
#[endpoint(tags("seating"), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = PlanDocument)))]
pub async fn get_plan(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let id = path_id(req, "id", "seating plan")?;
    let document: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT document FROM seating_plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.pool)
            .await?;
    let document = document.ok_or(ApiError::NotFound("seating plan"))?;
    reply(res, StatusCode::OK, &document);
    Ok(())
}
