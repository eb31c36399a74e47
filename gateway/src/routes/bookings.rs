//! Bookings: the request that publishes a reserve command and answers from its decision, reading
//! one booking, the caller's bookings, and cancelling (also through the pipeline).

use chrono::{DateTime, SubsecRound, Utc};
use evently_schemas::{
    BestAvailable, BookingCommand, BookingLine, BookingSnapshot, BookingStatus, CancelBooking,
    LineRequest, ReserveSeats,
};
use salvo::http::{HeaderValue, StatusCode};
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::promo_codes::check_code;
use super::seating::{BestAvailableIn, check_seated};
use super::ticket_types::{LineIn, check_booking};
use super::{reply, set_location};
use crate::auth::{CurrentUser, current_user};
use crate::body::{idempotency_key, parse_json, path_id};
use crate::error::ApiError;
use crate::pagination::{Page, PageRequest};
use crate::publish::publish_booking_command;
use crate::state::{AppState, state};

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("events/{id}/bookings").post(create_booking))
        .push(Router::with_path("bookings/{id}").get(get_booking))
        .push(Router::with_path("bookings/{id}/cancel").post(cancel_booking))
        .push(Router::with_path("me/bookings").get(my_bookings))
}

/// Booking ids derived from an `Idempotency-Key` live in this namespace (UUIDv5 of user and key).
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0001);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    /// Seats to book: 1 to the event's `max_per_booking`, for an event sold as one pool of seats
    /// (with `lines`, their total or left out).
    #[salvo(schema(minimum = 1, maximum = 100))]
    #[serde(default)]
    pub quantity: Option<i32>,
    /// Seats by ticket type, for an event that sells ticket types: decided as a whole (every line
    /// or none).
    #[serde(default)]
    pub lines: Vec<LineIn>,
    /// A promo code for this event: its discount applies, and it unlocks the hidden ticket types
    /// it names.
    #[salvo(schema(min_length = 3, max_length = 40))]
    pub promo_code: Option<String>,
    /// Particular seats of a seated event (the plan's seat ids), booked as a whole: every seat or
    /// none.
    #[serde(default)]
    #[salvo(schema(max_items = 100))]
    pub seats: Vec<String>,
    /// The best free seats of one ticket type of a seated event.
    pub best_available: Option<BestAvailableIn>,
    /// Join the waitlist instead of being rejected when sold out.
    #[serde(default)]
    pub waitlist_if_sold_out: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingOut {
    pub id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    /// `pending`, `held`, `confirmed`, `rejected`, `waitlisted`, `cancelled` or `expired`.
    pub status: String,
    /// Why it was rejected, e.g. `sold_out`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub amount_cents: i64,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What was booked by ticket type (absent for an event sold as one pool of seats).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<BookingLineOut>,
    /// The promo code the booking used; `amount_cents` is after its discount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promo_code_id: Option<Uuid>,
    /// What the promo code took off.
    pub discount_cents: i64,
    /// The seats booked, for a seated event.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seats: Vec<BookingSeatOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingSeatOut {
    /// The plan's seat id.
    pub id: String,
    pub ticket_type_id: Uuid,
    pub section: String,
    pub row: String,
    pub number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingLineOut {
    pub ticket_type_id: Uuid,
    pub quantity: i32,
    pub unit_price_cents: i64,
}

impl From<BookingSnapshot> for BookingOut {
    fn from(b: BookingSnapshot) -> Self {
        Self {
            id: b.id,
            event_id: b.event_id,
            user_id: b.user_id,
            quantity: b.quantity,
            status: b.status.as_str().to_owned(),
            reason: b.reason.map(|r| r.as_str().to_owned()),
            amount_cents: b.amount_cents,
            currency: b.currency,
            hold_expires_at: b.hold_expires_at,
            created_at: b.created_at,
            updated_at: b.updated_at,
            lines: b
                .lines
                .into_iter()
                .map(|l| BookingLineOut {
                    ticket_type_id: l.ticket_type_id,
                    quantity: l.quantity,
                    unit_price_cents: l.unit_price_cents,
                })
                .collect(),
            promo_code_id: b.promo_code_id,
            discount_cents: b.discount_cents,
            seats: b
                .seats
                .into_iter()
                .map(|s| BookingSeatOut {
                    id: s.id,
                    ticket_type_id: s.ticket_type_id,
                    section: s.section,
                    row: s.row,
                    number: s.number,
                })
                .collect(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    #[sqlx(flatten)]
    booking: evently_runtime::db::BookingRow,
    organizer_id: Uuid,
}

impl BookingRow {
    fn snapshot(self) -> BookingSnapshot {
        self.booking.snapshot()
    }
}

fn select() -> String {
    format!(
        "SELECT {}, e.organizer_id FROM bookings b JOIN events e ON e.id = b.event_id",
        evently_runtime::db::BOOKING_COLUMNS
    )
}

async fn load(state: &AppState, id: Uuid) -> Result<Option<BookingRow>, ApiError> {
    Ok(sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "{} WHERE b.id = $1",
        select()
    )))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?)
}

fn answer(res: &mut Response, status: StatusCode, booking: BookingSnapshot) {
    set_location(res, &format!("/api/v1/bookings/{}", booking.id));
    reply(res, status, &BookingOut::from(booking));
}

/// Booking commands count against the caller's limit.
async fn limit_booking_commands(state: &AppState, user: &CurrentUser) -> Result<(), ApiError> {
    let security = &state.settings.security;
    state
        .limiter
        .check_optimistic(
            format!("booking:{}", user.id),
            security.booking_rate_limit,
            std::time::Duration::from_secs(security.booking_rate_window_secs),
        )
        .await
}

fn count(answer: &'static str) {
    metrics::counter!("evently_booking_requests_total", "answer" => answer).increment(1);
}

/// Book seats. Publishes a reserve command and waits briefly for the decision: `201` with the
/// decided booking, else `202` with `status: pending` and `Location` to poll. The same
/// `Idempotency-Key` from the same user always yields the same booking.
#[endpoint(security(("bearer" = [])), 
    tags("bookings"),
    parameters(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "makes retries safe")),
    request_body = BookingRequest,
    responses((status_code = 201, body = BookingOut), (status_code = 202, body = BookingOut))
)]
pub async fn create_booking(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    limit_booking_commands(&state, &caller).await?;
    let key = idempotency_key(req)?;
    let body: BookingRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let rules = state
        .events
        .get(&state.pool, event_id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    let code = match &body.promo_code {
        Some(code) => Some(check_code(&state.pool, event_id, code, Utc::now()).await?),
        None => None,
    };
    let unlocked = code.as_ref().map_or(&[][..], |c| &c.1.ticket_type_ids[..]);
    let asked = if rules.seated || !body.seats.is_empty() || body.best_available.is_some() {
        check_seated(&rules, &body, unlocked)?
    } else {
        check_booking(&rules, body.quantity, &body.lines, unlocked)?
    };
    if let Some((_, c)) = &code
        && !c.ticket_type_ids.is_empty()
        && !asked
            .lines
            .iter()
            .any(|l| c.ticket_type_ids.contains(&l.ticket_type_id))
    {
        return Err(ApiError::field(
            "promo_code",
            "applies to none of these tickets",
        ));
    }
    // Microseconds, as PostgreSQL keeps it: a booking whose `created_at` is not this instant was
    // made by an earlier request with the same key.
    let now = Utc::now().trunc_subsecs(6);
    if rules.status != "active" || rules.ends_at <= now {
        return Err(ApiError::Conflict("the event is not on sale".into()));
    }
    if rules.sales_start.is_some_and(|s| now < s) {
        return Err(ApiError::Conflict(
            "sales for this event have not opened yet".into(),
        ));
    }
    if rules.sales_end.is_some_and(|e| now >= e) {
        return Err(ApiError::Conflict(
            "sales for this event have closed".into(),
        ));
    }
    let booking_id = match &key {
        Some(k) => Uuid::new_v5(
            &IDEMPOTENCY_NAMESPACE,
            format!("{}:{k}", caller.id).as_bytes(),
        ),
        None => Uuid::now_v7(),
    };
    let command = BookingCommand::Reserve(ReserveSeats {
        booking_id,
        event_id,
        user_id: caller.id,
        quantity: asked.quantity,
        waitlist_if_sold_out: body.waitlist_if_sold_out,
        requested_at: now,
        lines: asked
            .lines
            .iter()
            .map(|l| LineRequest {
                ticket_type_id: l.ticket_type_id,
                quantity: l.quantity,
            })
            .collect(),
        promo_code: code.map(|c| c.0),
        seats: body.seats.clone(),
        best_available: body.best_available.as_ref().map(|b| BestAvailable {
            ticket_type_id: b.ticket_type_id,
            quantity: b.quantity,
            accessible: b.accessible,
        }),
    });
    tracing::debug!(booking_id = %booking_id, event_id = %event_id, command_id = %command.command_id(), "publishing a reserve command");
    // No database read before publishing: the stream's duplicate window tells whether this key
    // was seen (the PubAck's `duplicate`), and only then is PostgreSQL asked for the booking.
    // Beyond the window the consumer finds the booking id already applied and republishes its
    // decision, which answers this request like any other.
    let decision = state
        .decisions
        .subscribe(booking_id, BookingStatus::is_decided);
    let ack = publish_booking_command(&state, &command).await?;
    let decided = if ack.duplicate {
        // A retry of a command already in the stream: it may have been decided before we listened.
        match load(&state, booking_id).await? {
            Some(row) => Some(row.snapshot()),
            None => decision.wait(state.settings.decision_wait()).await,
        }
    } else {
        decision.wait(state.settings.decision_wait()).await
    };
    let decided = match decided {
        Some(d) => Some(d),
        None => load(&state, booking_id).await?.map(BookingRow::snapshot),
    };
    if key.is_some()
        && let Some(booking) = &decided
        && (ack.duplicate || booking.created_at != now)
    {
        // The key's booking was made by an earlier request: the same request, or a refusal.
        if booking.event_id != event_id
            || booking.quantity != asked.quantity
            || !same_lines(&booking.lines, &asked.lines)
            || !same_seats(&booking.seats, &body.seats)
        {
            return Err(ApiError::field(
                "Idempotency-Key",
                "was already used for a different booking request",
            ));
        }
        count("replayed");
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        answer(res, StatusCode::CREATED, booking.clone());
        return Ok(());
    }
    match decided {
        Some(booking) => {
            count("decided");
            answer(res, StatusCode::CREATED, booking);
        }
        None => {
            count("pending");
            let pending = BookingSnapshot {
                id: booking_id,
                event_id,
                user_id: caller.id,
                quantity: asked.quantity,
                status: BookingStatus::Pending,
                reason: None,
                amount_cents: asked.amount_cents,
                currency: rules.currency.trim_end().to_owned(),
                hold_expires_at: None,
                created_at: now,
                updated_at: now,
                lines: asked.lines,
                promo_code_id: None,
                discount_cents: 0,
                seats: Vec::new(),
            };
            state.decisions.remember_pending(pending.clone());
            answer(res, StatusCode::ACCEPTED, pending);
        }
    }
    Ok(())
}

/// Whether a decided booking's seats are the particular seats asked for (a rejected booking has
/// none, and best-available chose them).
fn same_seats(decided: &[evently_schemas::BookingSeat], asked: &[String]) -> bool {
    let mut decided: Vec<&str> = decided.iter().map(|s| s.id.as_str()).collect();
    let mut asked: Vec<&str> = asked.iter().map(String::as_str).collect();
    decided.sort_unstable();
    asked.sort_unstable();
    decided.is_empty() || asked.is_empty() || decided == asked
}

/// Whether a decided booking's lines are the ones asked for (a booking rejected before its lines
/// were priced has none to compare).
fn same_lines(decided: &[BookingLine], asked: &[BookingLine]) -> bool {
    let key = |lines: &[BookingLine]| {
        let mut k: Vec<(Uuid, i32)> = lines
            .iter()
            .map(|l| (l.ticket_type_id, l.quantity))
            .collect();
        k.sort();
        k
    };
    decided.is_empty() || asked.is_empty() || key(decided) == key(asked)
}

/// Whether `caller` may read the booking: its holder, the event's organizer or an admin. Anyone
/// else is told it does not exist.
fn visible(caller: &CurrentUser, row: &BookingRow) -> bool {
    caller.may_see_booking(row.booking.user_id, row.organizer_id)
}

/// One booking (its holder, the event's organizer, or an admin).
#[endpoint(security(("bearer" = [])), tags("bookings"), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = BookingOut)))]
pub async fn get_booking(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "booking")?;
    match load(&state, id).await? {
        Some(row) if visible(&caller, &row) => {
            reply(res, StatusCode::OK, &BookingOut::from(row.snapshot()));
            Ok(())
        }
        Some(_) => Err(ApiError::NotFound("booking")),
        None => match state.decisions.pending(id) {
            Some(p) if p.snapshot.user_id == caller.id => {
                reply(res, StatusCode::OK, &BookingOut::from(p.snapshot));
                Ok(())
            }
            _ => Err(ApiError::NotFound("booking")),
        },
    }
}

/// Cancel a booking (its holder or an admin). Goes through the pipeline, which frees the seats;
/// cancelling a cancelled booking answers it again.
#[endpoint(security(("bearer" = [])), tags("bookings"), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = BookingOut), (status_code = 202, body = BookingOut)))]
pub async fn cancel_booking(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "booking")?;
    let Some(row) = load(&state, id).await? else {
        return match state.decisions.pending(id) {
            Some(p) if p.snapshot.user_id == caller.id => Err(ApiError::Conflict(
                "the booking is still being decided; retry shortly".into(),
            )),
            _ => Err(ApiError::NotFound("booking")),
        };
    };
    if !visible(&caller, &row) {
        return Err(ApiError::NotFound("booking"));
    }
    if !caller.owns_or_admin(row.booking.user_id) {
        return Err(ApiError::Forbidden(
            "only the booking's holder or an admin may cancel it",
        ));
    }
    let booking = row.snapshot();
    match booking.status {
        BookingStatus::Cancelled => {
            reply(res, StatusCode::OK, &BookingOut::from(booking));
            return Ok(());
        }
        BookingStatus::Held | BookingStatus::Confirmed | BookingStatus::Waitlisted => {}
        other => {
            return Err(ApiError::Conflict(format!(
                "a {} booking cannot be cancelled",
                other.as_str()
            )));
        }
    }
    limit_booking_commands(&state, &caller).await?;
    let command = BookingCommand::Cancel(CancelBooking {
        booking_id: id,
        event_id: booking.event_id,
        requested_by: caller.id,
        requested_at: Utc::now(),
    });
    let decision = state
        .decisions
        .subscribe(id, |s| s == BookingStatus::Cancelled);
    publish_booking_command(&state, &command).await?;
    let cancelled = match decision.wait(state.settings.decision_wait()).await {
        Some(b) => Some(b),
        None => load(&state, id)
            .await?
            .map(BookingRow::snapshot)
            .filter(|b| b.status == BookingStatus::Cancelled),
    };
    match cancelled {
        Some(b) => reply(res, StatusCode::OK, &BookingOut::from(b)),
        None => answer(res, StatusCode::ACCEPTED, booking),
    }
    Ok(())
}

/// The caller's bookings, newest first, optionally only those with `status`.
#[endpoint(security(("bearer" = [])), 
    tags("bookings"),
    parameters(("status" = Option<String>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status_code = 200, body = Page<BookingOut>))
)]
pub async fn my_bookings(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let page = PageRequest::from_request(req)?;
    let status = match req.query::<String>("status") {
        None => None,
        Some(s) => Some(
            BookingStatus::parse(&s)
                .filter(|s| s.is_decided())
                .ok_or_else(|| {
                    ApiError::field(
                        "status",
                        "must be held, confirmed, rejected, waitlisted, cancelled or expired",
                    )
                })?,
        ),
    };
    let (after_at, after_id) = page.after.unzip();
    let rows = sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "{} WHERE b.user_id = $1 AND ($2::text IS NULL OR b.status = $2) \
         AND ($3::timestamptz IS NULL OR (b.created_at, b.id) < ($3, $4)) \
         ORDER BY b.created_at DESC, b.id DESC LIMIT $5",
        select()
    )))
    .bind(caller.id)
    .bind(status.map(BookingStatus::as_str))
    .bind(after_at)
    .bind(after_id)
    .bind(page.limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let out: Page<BookingOut> = page.page(
        rows,
        |r| (r.booking.created_at, r.booking.id),
        |r| BookingOut::from(r.snapshot()),
    );
    reply(res, StatusCode::OK, &out);
    Ok(())
}
