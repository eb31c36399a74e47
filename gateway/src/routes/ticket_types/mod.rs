//! Ticket types: the kinds of ticket an event sells (general, VIP, student, early bird), each with
//! its price, quota, optional sales window and per-booking limit; a hidden type is listed only to
//! the event's organiser and admins. The organiser creates, edits (`If-Match`) and deletes them;
//! their seat counts are the reservations consumer's. An edit locks the type's row, which the
//! consumer locks too while it decides, so a quota is never set below what is sold or held. The
//! event's capacity still caps the sum of its types.

use chrono::{DateTime, Utc};
use evently_schemas::TypeAvailability;
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

mod lines;
mod write;

pub use lines::{Asked, LineIn, check_booking};

use super::events::fetch;
use super::reply;
use crate::auth::current_user;
use crate::body::path_id;
use crate::error::ApiError;
use crate::state::state;

pub fn router() -> Router {
    Router::with_path("events/{id}/ticket-types")
        .get(list_ticket_types)
        .post(write::create_ticket_type)
        .push(
            Router::with_path("{type_id}")
                .patch(write::patch_ticket_type)
                .delete(write::delete_ticket_type),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketTypeRequest {
    #[salvo(schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[serde(default)]
    #[salvo(schema(max_length = 2000))]
    pub description: String,
    /// Price per ticket in minor units of the event's currency; 0 is free.
    #[salvo(schema(minimum = 0, maximum = 100000000))]
    pub price_cents: i64,
    /// Tickets of this type on sale; the event's capacity caps all types together.
    #[salvo(schema(minimum = 0, maximum = 1000000))]
    pub quota: i32,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    /// Most tickets of this type in one booking (the event's own limit applies too).
    #[salvo(schema(minimum = 1, maximum = 100))]
    pub max_per_booking: Option<i32>,
    /// Not listed to the public.
    #[serde(default)]
    pub hidden: bool,
}

/// The fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketTypePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i64>,
    /// Lowering it below what is sold or held is refused with `409`.
    pub quota: Option<i32>,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    pub max_per_booking: Option<i32>,
    pub hidden: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketTypeOut {
    pub id: Uuid,
    pub event_id: Uuid,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub quota: i32,
    pub sold: i32,
    pub held: i32,
    /// Tickets of this type that can still be booked now: its quota's, within the event's seats.
    pub available: i32,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    pub max_per_booking: Option<i32>,
    pub hidden: bool,
    pub position: i32,
    pub version: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketTypeList {
    pub items: Vec<TicketTypeOut>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct TypeRow {
    pub(super) id: Uuid,
    pub(super) event_id: Uuid,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) price_cents: i64,
    pub(super) currency: String,
    pub(super) quota: i32,
    pub(super) sold: i32,
    pub(super) held: i32,
    /// Held for open waitlist offers of the type.
    pub(super) offered: i32,
    pub(super) event_available: i32,
    pub(super) sales_start: Option<DateTime<Utc>>,
    pub(super) sales_end: Option<DateTime<Utc>>,
    pub(super) max_per_booking: Option<i32>,
    pub(super) hidden: bool,
    pub(super) position: i32,
    pub(super) version: i32,
}

impl From<TypeRow> for TicketTypeOut {
    fn from(r: TypeRow) -> Self {
        Self {
            available: (r.quota - r.sold - r.held - r.offered)
                .max(0)
                .min(r.event_available.max(0)),
            id: r.id,
            event_id: r.event_id,
            name: r.name,
            description: r.description,
            price_cents: r.price_cents,
            currency: r.currency.trim_end().to_owned(),
            quota: r.quota,
            sold: r.sold,
            held: r.held,
            sales_start: r.sales_start,
            sales_end: r.sales_end,
            max_per_booking: r.max_per_booking,
            hidden: r.hidden,
            position: r.position,
            version: r.version,
        }
    }
}

pub(super) const SELECT: &str = "SELECT t.id, t.event_id, t.name, t.description, t.price_cents, \
     e.currency::text AS currency, t.quota, t.sold, t.held, t.offered, \
     (i.capacity - i.sold - i.held - i.offered) AS event_available, t.sales_start, t.sales_end, \
     t.max_per_booking, t.hidden, t.position, t.version \
     FROM ticket_types t JOIN events e ON e.id = t.event_id JOIN inventory i ON i.event_id = t.event_id";

async fn types_of(pool: &PgPool, event_id: Uuid) -> Result<Vec<TypeRow>, ApiError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.event_id = $1 ORDER BY t.position, t.id"
    )))
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

/// Each ticket type's seats left, as the live availability stream carries them.
pub async fn availability_of(
    pool: &PgPool,
    event_id: Uuid,
) -> Result<Vec<TypeAvailability>, ApiError> {
    Ok(types_of(pool, event_id)
        .await?
        .into_iter()
        .map(TicketTypeOut::from)
        .map(|t| TypeAvailability {
            id: t.id,
            available: t.available,
        })
        .collect())
}

/// The event's ticket types with each one's live `available`. Hidden types are listed only to
/// the event's organiser and admins, or with a `promo_code` that unlocks them.
#[endpoint(tags("ticket types"), parameters(("id" = Uuid, Path), ("promo_code" = Option<String>, Query, description = "also list the hidden types this code unlocks")), responses((status_code = 200, body = TicketTypeList)))]
pub async fn list_ticket_types(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let event = fetch(&state.pool, event_id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    let manager = current_user(depot)
        .ok()
        .is_some_and(|c| c.owns_or_admin(event.organizer_id));
    let unlocked = match req.query::<String>("promo_code") {
        Some(code) => {
            super::promo_codes::check_code(&state.pool, event_id, &code, chrono::Utc::now())
                .await?
                .1
                .ticket_type_ids
        }
        None => Vec::new(),
    };
    let items = types_of(&state.pool, event_id)
        .await?
        .into_iter()
        .filter(|t| manager || !t.hidden || unlocked.contains(&t.id))
        .map(TicketTypeOut::from)
        .collect();
    reply(res, StatusCode::OK, &TicketTypeList { items });
    Ok(())
}
