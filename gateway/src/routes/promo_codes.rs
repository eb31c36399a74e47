//! Promo codes: an event's organiser hands out codes for a percent or fixed discount, optionally
//! only on some ticket types (which a code also unlocks when they are hidden), within a validity
//! window and with a use limit. Codes are case-insensitive (kept upper case). Their uses are
//! counted by the reservations consumer, which decides the limit in stream order; the list shows
//! them. The booking path checks a code here first, to answer a mistyped or expired one with a
//! 422 naming `promo_code`.

use chrono::{DateTime, Utc};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::events::fetch;
use super::{reply, set_location};
use crate::auth::{CurrentUser, current_user};
use crate::body::{Checks, parse_json, path_id};
use crate::error::ApiError;
use crate::state::state;

pub fn router() -> Router {
    Router::with_path("events/{id}/promo-codes")
        .get(list_promo_codes)
        .post(create_promo_code)
}

/// Most codes one event has.
const MOST_CODES: i64 = 1000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoCodeRequest {
    /// 3 to 40 letters, digits, `-` or `_`; case-insensitive.
    #[salvo(schema(min_length = 3, max_length = 40))]
    pub code: String,
    /// A percent off (1 to 100), or
    #[salvo(schema(minimum = 1, maximum = 100))]
    pub percent_off: Option<i32>,
    /// an amount off each booking, in minor units (never more than what it applies to).
    #[salvo(schema(minimum = 1))]
    pub amount_off_cents: Option<i64>,
    /// The ticket types it applies to (and unlocks when hidden); absent or empty: all.
    #[serde(default)]
    pub ticket_type_ids: Vec<Uuid>,
    /// Bookings that may use it; absent: no limit.
    #[salvo(schema(minimum = 1))]
    pub max_uses: Option<i32>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PromoCodeOut {
    pub id: Uuid,
    pub event_id: Uuid,
    pub code: String,
    pub percent_off: Option<i32>,
    pub amount_off_cents: Option<i64>,
    pub ticket_type_ids: Vec<Uuid>,
    pub max_uses: Option<i32>,
    /// Bookings holding seats with it now (a cancelled or lapsed booking gives its use back).
    pub uses: i32,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromoCodeList {
    pub items: Vec<PromoCodeOut>,
}

const COLUMNS: &str = "id, event_id, code, percent_off, amount_off_cents, ticket_type_ids, \
     max_uses, uses, valid_from, valid_to, created_at";

/// A code as people type it, or a 422 naming `field`.
pub fn normalise(code: &str, field: &str) -> Result<String, ApiError> {
    let code = code.trim().to_ascii_uppercase();
    let ok = (3..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(ApiError::field(
            field,
            "must be 3 to 40 letters, digits, - or _",
        ))
    }
}

/// What the booking path needs of a code.
#[derive(Debug, sqlx::FromRow)]
pub struct CodeCheck {
    pub ticket_type_ids: Vec<Uuid>,
    max_uses: Option<i32>,
    uses: i32,
    valid_from: Option<DateTime<Utc>>,
    valid_to: Option<DateTime<Utc>>,
}

/// Checks a booking's code: it exists for the event, is valid `now` and has uses left (the
/// consumer decides the last use authoritatively). Returns the normalised code and what it covers.
pub async fn check_code(
    pool: &PgPool,
    event_id: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(String, CodeCheck), ApiError> {
    let code = normalise(code, "promo_code")?;
    let found: Option<CodeCheck> = sqlx::query_as(
        "SELECT ticket_type_ids, max_uses, uses, valid_from, valid_to FROM promo_codes \
         WHERE event_id = $1 AND code = $2",
    )
    .bind(event_id)
    .bind(&code)
    .fetch_optional(pool)
    .await?;
    let found =
        found.ok_or_else(|| ApiError::field("promo_code", "is not a code for this event"))?;
    if found.valid_from.is_some_and(|f| now < f) || found.valid_to.is_some_and(|t| now >= t) {
        return Err(ApiError::field("promo_code", "is not valid now"));
    }
    if found.max_uses.is_some_and(|m| found.uses >= m) {
        return Err(ApiError::field("promo_code", "has been used up"));
    }
    Ok((code, found))
}

async fn managed(
    pool: &PgPool,
    caller: &CurrentUser,
    event_id: Uuid,
) -> Result<super::events::EventRow, ApiError> {
    caller.require_organizer()?;
    let event = fetch(pool, event_id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    if !caller.owns_or_admin(event.organizer_id) {
        return Err(ApiError::Forbidden(
            "only the event's organizer or an admin may manage its promo codes",
        ));
    }
    Ok(event)
}

/// The event's promo codes with their uses (its organiser or an admin).
#[endpoint(tags("promo codes"), security(("bearer" = [])), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = PromoCodeList)))]
pub async fn list_promo_codes(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    managed(&state.pool, &caller, event_id).await?;
    let items: Vec<PromoCodeOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM promo_codes WHERE event_id = $1 ORDER BY created_at, id"
    )))
    .bind(event_id)
    .fetch_all(&state.pool)
    .await?;
    reply(res, StatusCode::OK, &PromoCodeList { items });
    Ok(())
}

/// Create a promo code for an event (its organiser or an admin).
#[endpoint(tags("promo codes"), security(("bearer" = [])), parameters(("id" = Uuid, Path)), request_body = PromoCodeRequest, responses((status_code = 201, body = PromoCodeOut)))]
pub async fn create_promo_code(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let body: PromoCodeRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let event = managed(&state.pool, &caller, event_id).await?;
    if event.status != "active" {
        return Err(ApiError::Conflict(
            "a cancelled event takes no new promo codes".into(),
        ));
    }
    let code = normalise(&body.code, "code")?;
    let types: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM ticket_types WHERE event_id = $1")
        .bind(event_id)
        .fetch_all(&state.pool)
        .await?;
    Checks::default()
        .check(
            body.percent_off.is_some() != body.amount_off_cents.is_some(),
            "percent_off",
            "give percent_off or amount_off_cents, not both",
        )
        .check(
            body.percent_off.is_none_or(|p| (1..=100).contains(&p)),
            "percent_off",
            "must be from 1 to 100",
        )
        .check(
            body.amount_off_cents
                .is_none_or(|a| (1..=100_000_000).contains(&a)),
            "amount_off_cents",
            "must be from 1 to 100000000",
        )
        .check(
            body.max_uses.is_none_or(|m| (1..=10_000_000).contains(&m)),
            "max_uses",
            "must be from 1 to 10000000",
        )
        .check(
            body.ticket_type_ids.iter().all(|t| types.contains(t)),
            "ticket_type_ids",
            "must name ticket types of this event",
        )
        .check(
            body.ticket_type_ids.len() <= 50,
            "ticket_type_ids",
            "at most 50 ticket types",
        )
        .check(
            match (body.valid_from, body.valid_to) {
                (Some(f), Some(t)) => f < t,
                _ => true,
            },
            "valid_to",
            "must be after valid_from",
        )
        .finish()?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM promo_codes WHERE event_id = $1")
        .bind(event_id)
        .fetch_one(&state.pool)
        .await?;
    if count >= MOST_CODES {
        return Err(ApiError::Conflict(format!(
            "an event has at most {MOST_CODES} promo codes"
        )));
    }
    let mut ids = body.ticket_type_ids.clone();
    ids.sort();
    ids.dedup();
    let created: PromoCodeOut = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO promo_codes (id, event_id, code, percent_off, amount_off_cents, ticket_type_ids, \
         max_uses, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(event_id)
    .bind(&code)
    .bind(body.percent_off)
    .bind(body.amount_off_cents)
    .bind(&ids)
    .bind(body.max_uses)
    .bind(body.valid_from)
    .bind(body.valid_to)
    .fetch_one(&state.pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("promo_codes_event_id_code_key") => {
            ApiError::field("code", "this event already has this code")
        }
        _ => e.into(),
    })?;
    set_location(res, &format!("/api/v1/events/{event_id}/promo-codes"));
    reply(res, StatusCode::CREATED, &created);
    Ok(())
}
