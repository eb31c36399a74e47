//! The waitlist: join an event's queue, see my entries with their live position, claim an offer,
//! leave. Every change is a command applied by the reservations consumer under the event's lock;
//! the request waits briefly for its outcome on the caller's live channel.

use chrono::{DateTime, Utc};
use evently_schemas::{BookingCommand, ClaimOffer, JoinWaitlist, LeaveWaitlist, WaitlistStatus};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::bookings::BookingOut;
use super::{reply, set_location};
use crate::auth::current_user;
use crate::body::{Checks, idempotency_key, parse_json, path_id};
use crate::error::ApiError;
use crate::live_user::wait_for;
use crate::pagination::{Page, PageRequest};
use crate::publish::publish_booking_command;
use crate::state::{AppState, state};

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("events/{id}/waitlist").post(join_waitlist))
        .push(Router::with_path("me/waitlist").get(my_waitlist))
        .push(Router::with_path("waitlist/{id}").delete(leave_waitlist))
        .push(Router::with_path("waitlist/{id}/claim").post(claim_offer))
}

/// Entry ids derived from an `Idempotency-Key` live in this namespace.
const NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0009);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// Seats wanted: 1 to the event's `max_per_booking` (and the type's).
    #[salvo(schema(minimum = 1, maximum = 100))]
    pub quantity: i32,
    /// The ticket type to wait for: required for an event that sells ticket types (a freed seat
    /// of a type goes to the first person waiting for that type), absent for one sold as one pool.
    pub ticket_type_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct WaitlistEntryOut {
    pub id: Uuid,
    pub event_id: Uuid,
    pub quantity: i32,
    /// `pending` (not applied yet), `waiting`, `offered`, `claimed`, `expired` or `left`.
    pub status: String,
    /// Rank among the event's waiting entries (1 = next), while `waiting`.
    pub position: Option<i64>,
    /// Until when an offer can be claimed, while `offered`.
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// The booking the entry came from or that its claim created.
    pub booking_id: Option<Uuid>,
    /// The ticket type it waits for.
    pub ticket_type_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub user_id: Uuid,
}

const SELECT: &str = "SELECT w.id, w.event_id, w.user_id, w.quantity, w.status, \
    CASE WHEN w.status = 'waiting' THEN (SELECT count(*) FROM waitlist_entries o \
      WHERE o.event_id = w.event_id AND o.status = 'waiting' AND o.position <= w.position \
      AND o.ticket_type_id IS NOT DISTINCT FROM w.ticket_type_id) END AS position, \
    CASE WHEN w.status = 'offered' THEN w.offer_expires_at END AS offer_expires_at, \
    w.booking_id, w.ticket_type_id, w.created_at, w.updated_at FROM waitlist_entries w";

async fn load(state: &AppState, id: Uuid) -> Result<Option<WaitlistEntryOut>, ApiError> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE w.id = $1")))
            .bind(id)
            .fetch_optional(&state.pool)
            .await?,
    )
}

/// The caller's entry, or 404 (another user's entry does not exist for them).
async fn load_mine(state: &AppState, id: Uuid, user: Uuid) -> Result<WaitlistEntryOut, ApiError> {
    load(state, id)
        .await?
        .filter(|e| e.user_id == user)
        .ok_or(ApiError::NotFound("waitlist entry"))
}

/// Join an event's waitlist. `201` with the entry and its `position` once applied, `202` with
/// `status: pending` if that takes longer. One active entry per user and event (`409`).
#[endpoint(security(("bearer" = [])), tags("waitlist"),
    parameters(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "makes retries safe")),
    request_body = JoinRequest,
    responses((status_code = 201, body = WaitlistEntryOut), (status_code = 202, body = WaitlistEntryOut))
)]
pub async fn join_waitlist(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let key = idempotency_key(req)?;
    let body: JoinRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let rules = state
        .events
        .get(&state.pool, event_id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    let types = &rules.ticket_types.0;
    let listed = body
        .ticket_type_id
        .and_then(|t| types.iter().find(|k| k.id == t && !k.hidden));
    let most = listed
        .and_then(|t| t.max_per_booking)
        .unwrap_or(100)
        .min(rules.max_per_booking);
    Checks::default()
        .check(
            (1..=most).contains(&body.quantity),
            "quantity",
            &format!("must be from 1 to {most}"),
        )
        .check(
            types.is_empty() || listed.is_some(),
            "ticket_type_id",
            "this event sells ticket types: name the one to wait for",
        )
        .check(
            !types.is_empty() || body.ticket_type_id.is_none(),
            "ticket_type_id",
            "this event sells no ticket types",
        )
        .check(!rules.seated, "quantity", "a seated event has no waitlist")
        .finish()?;
    let now = Utc::now();
    if rules.status != "active" || rules.ends_at <= now || rules.sales_end.is_some_and(|e| now >= e)
    {
        return Err(ApiError::Conflict("the event is not on sale".into()));
    }
    let entry_id = match &key {
        Some(k) => Uuid::new_v5(&NAMESPACE, format!("{}:{k}", caller.id).as_bytes()),
        None => Uuid::now_v7(),
    };
    if let Some(existing) = load(&state, entry_id)
        .await?
        .filter(|e| e.user_id == caller.id)
    {
        if existing.event_id != event_id
            || existing.quantity != body.quantity
            || existing.ticket_type_id != body.ticket_type_id
        {
            return Err(ApiError::field(
                "Idempotency-Key",
                "was already used for a different waitlist request",
            ));
        }
        set_location(res, "/api/v1/me/waitlist");
        reply(res, StatusCode::CREATED, &existing);
        return Ok(());
    }
    let active: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM waitlist_entries WHERE event_id = $1 AND user_id = $2 AND status IN ('waiting', 'offered'))",
    )
    .bind(event_id)
    .bind(caller.id)
    .fetch_one(&state.pool)
    .await?;
    if active {
        return Err(ApiError::Conflict(
            "you are already on this event's waitlist".into(),
        ));
    }
    let mut live = state.users.subscribe(caller.id);
    let command = BookingCommand::JoinWaitlist(JoinWaitlist {
        entry_id,
        event_id,
        user_id: caller.id,
        quantity: body.quantity,
        requested_at: now,
        ticket_type_id: body.ticket_type_id,
    });
    publish_booking_command(&state, &command).await?;
    wait_for(&mut live, state.settings.decision_wait(), |i| {
        i.kind == "waitlist" && i.id == entry_id
    })
    .await;
    set_location(res, "/api/v1/me/waitlist");
    match load(&state, entry_id).await? {
        Some(entry) => reply(res, StatusCode::CREATED, &entry),
        None => reply(
            res,
            StatusCode::ACCEPTED,
            &WaitlistEntryOut {
                id: entry_id,
                event_id,
                quantity: body.quantity,
                status: "pending".into(),
                position: None,
                offer_expires_at: None,
                booking_id: None,
                ticket_type_id: body.ticket_type_id,
                created_at: now,
                updated_at: now,
                user_id: caller.id,
            },
        ),
    }
    Ok(())
}

/// The caller's waitlist entries, newest first, with their live `position` while waiting;
/// optionally only those with `status`.
#[endpoint(security(("bearer" = [])), tags("waitlist"),
    parameters(("status" = Option<String>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status_code = 200, body = Page<WaitlistEntryOut>))
)]
pub async fn my_waitlist(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let page = PageRequest::from_request(req)?;
    let status = match req.query::<String>("status") {
        None => None,
        Some(s) => Some(WaitlistStatus::parse(&s).ok_or_else(|| {
            ApiError::field(
                "status",
                "must be waiting, offered, claimed, expired or left",
            )
        })?),
    };
    let (after_at, after_id) = page.after.unzip();
    let rows: Vec<WaitlistEntryOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE w.user_id = $1 AND ($2::text IS NULL OR w.status = $2) \
         AND ($3::timestamptz IS NULL OR (w.created_at, w.id) < ($3, $4)) \
         ORDER BY w.created_at DESC, w.id DESC LIMIT $5"
    )))
    .bind(caller.id)
    .bind(status.map(WaitlistStatus::as_str))
    .bind(after_at)
    .bind(after_id)
    .bind(page.limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let out = page.page(rows, |r| (r.created_at, r.id), |r| r);
    reply(res, StatusCode::OK, &out);
    Ok(())
}

/// Claim an open offer (its holder): `201` with the booking (confirmed for a free event, held
/// until paid for a paid one). `409` when the offer expired or is not open.
#[endpoint(security(("bearer" = [])), tags("waitlist"), parameters(("id" = Uuid, Path)),
    responses((status_code = 201, body = BookingOut), (status_code = 202, body = WaitlistEntryOut))
)]
pub async fn claim_offer(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "waitlist entry")?;
    let entry = load_mine(&state, id, caller.id).await?;
    if entry.status == "claimed" {
        return answer_booking(&state, res, &entry).await;
    }
    if entry.status != "offered" {
        return Err(ApiError::Conflict(format!(
            "there is no open offer to claim: the entry is {}",
            entry.status
        )));
    }
    if entry.offer_expires_at.is_none_or(|t| t <= Utc::now()) {
        return Err(ApiError::Conflict("the offer has expired".into()));
    }
    let mut live = state.users.subscribe(caller.id);
    let command = BookingCommand::ClaimOffer(ClaimOffer {
        entry_id: id,
        event_id: entry.event_id,
        requested_by: caller.id,
        requested_at: Utc::now(),
    });
    publish_booking_command(&state, &command).await?;
    wait_for(&mut live, state.settings.decision_wait(), |i| {
        i.kind == "waitlist" && i.id == id && i.status != "offered"
    })
    .await;
    let entry = load_mine(&state, id, caller.id).await?;
    match entry.status.as_str() {
        "claimed" => answer_booking(&state, res, &entry).await,
        "offered" if entry.offer_expires_at.is_some_and(|t| t > Utc::now()) => {
            reply(res, StatusCode::ACCEPTED, &entry);
            Ok(())
        }
        _ => Err(ApiError::Conflict("the offer has expired".into())),
    }
}

async fn answer_booking(
    state: &AppState,
    res: &mut Response,
    entry: &WaitlistEntryOut,
) -> Result<(), ApiError> {
    let booking_id = entry
        .booking_id
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("claimed entry without booking")))?;
    let row: evently_runtime::db::BookingRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM bookings b WHERE b.id = $1",
        evently_runtime::db::BOOKING_COLUMNS
    )))
    .bind(booking_id)
    .fetch_one(&state.pool)
    .await?;
    set_location(res, &format!("/api/v1/bookings/{booking_id}"));
    reply(res, StatusCode::CREATED, &BookingOut::from(row.snapshot()));
    Ok(())
}

/// Leave the waitlist (its holder); an open offer is declined and its seats pass to the next
/// person. `200` with the entry.
#[endpoint(security(("bearer" = [])), tags("waitlist"), parameters(("id" = Uuid, Path)),
    responses((status_code = 200, body = WaitlistEntryOut), (status_code = 202, body = WaitlistEntryOut))
)]
pub async fn leave_waitlist(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "waitlist entry")?;
    let entry = load_mine(&state, id, caller.id).await?;
    match entry.status.as_str() {
        "left" => {
            reply(res, StatusCode::OK, &entry);
            return Ok(());
        }
        "waiting" | "offered" => {}
        other => {
            return Err(ApiError::Conflict(format!(
                "a {other} entry cannot be left"
            )));
        }
    }
    let mut live = state.users.subscribe(caller.id);
    let command = BookingCommand::LeaveWaitlist(LeaveWaitlist {
        entry_id: id,
        event_id: entry.event_id,
        requested_by: caller.id,
        requested_at: Utc::now(),
    });
    publish_booking_command(&state, &command).await?;
    wait_for(&mut live, state.settings.decision_wait(), |i| {
        i.kind == "waitlist" && i.id == id && i.status == "left"
    })
    .await;
    let entry = load_mine(&state, id, caller.id).await?;
    let status = if entry.status == "left" {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    reply(res, status, &entry);
    Ok(())
}
