//! Organiser and admin analytics, answered from the roll-ups the `analytics` consumer maintains
//! (`analytics_event_hourly`, `analytics_event_totals`), never by scanning bookings: the admin
//! overview over a time range and one event's figures. The attendee list is in [`super::attendees`].

use chrono::{DateTime, NaiveDate, Utc};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::reply;
use crate::auth::current_user;
use crate::body::path_id;
use crate::error::ApiError;
use crate::state::state;

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("admin/analytics/overview").get(overview))
        .push(Router::with_path("events/{id}/analytics").get(event_analytics))
        .push(Router::with_path("events/{id}/attendees").get(super::attendees::attendees))
}

/// `from` (inclusive) and `to` (exclusive), both optional: RFC 3339 times or `YYYY-MM-DD` dates
/// (midnight UTC). Figures are kept per hour, so a range counts the whole hours it starts in.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Range {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Range {
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let from = time_param(req, "from")?;
        let to = time_param(req, "to")?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ApiError::field("from", "must not be after `to`"));
        }
        Ok(Self { from, to })
    }

    /// The first hour bucket inside the range.
    fn first_hour(&self) -> Option<DateTime<Utc>> {
        self.from.map(|f| {
            let secs = f.timestamp();
            DateTime::from_timestamp(secs - secs.rem_euclid(3600), 0).unwrap_or(f)
        })
    }
}

fn time_param(req: &Request, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = req.query::<String>(name).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
        .map(Some)
        .ok_or_else(|| ApiError::field(name, "must be an RFC 3339 time or a YYYY-MM-DD date"))
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revenue {
    pub currency: String,
    /// Confirmed bookings' amounts, in minor units.
    pub gross_cents: i64,
    /// Refunded to cancelled bookings.
    pub refunds_cents: i64,
    pub net_cents: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopEvent {
    pub event_id: Uuid,
    pub name: String,
    /// Seats sold in the range, less seats freed by cancellations in it.
    pub seats_sold: i64,
    pub bookings_confirmed: i64,
    pub net_revenue_cents: i64,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    pub range: Range,
    pub bookings_confirmed: i64,
    /// Confirmed bookings cancelled in the range.
    pub cancellations: i64,
    pub rejections: i64,
    /// Seats sold in the range, less seats freed by cancellations in it.
    pub seats_sold: i64,
    pub seats_freed: i64,
    /// `cancellations / bookings_confirmed`; absent without bookings.
    pub cancellation_rate: Option<f64>,
    pub revenue: Vec<Revenue>,
    /// Seats sold over capacity, now, of the events with activity in the range.
    pub capacity_utilisation: Option<f64>,
    /// The ten events with the most seats sold in the range.
    pub top_events: Vec<TopEvent>,
}

#[derive(sqlx::FromRow)]
struct Sums {
    currency: String,
    bookings_confirmed: i64,
    seats_sold: i64,
    revenue_cents: i64,
    cancellations: i64,
    seats_freed: i64,
    refunds_cents: i64,
    rejections: i64,
}

const RANGE: &str =
    "($1::timestamptz IS NULL OR hour >= $1) AND ($2::timestamptz IS NULL OR hour < $2)";

/// Admin: totals over `from`..`to` from the hourly roll-ups.
#[endpoint(security(("bearer" = [])), tags("analytics"),
    parameters(("from" = Option<String>, Query, description = "RFC 3339 time or YYYY-MM-DD, inclusive"),
               ("to" = Option<String>, Query, description = "RFC 3339 time or YYYY-MM-DD, exclusive")),
    responses((status_code = 200, body = Overview)))]
pub async fn overview(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    current_user(depot)?.require_admin()?;
    let state = state(depot)?;
    let range = Range::from_request(req)?;
    let (first, to) = (range.first_hour(), range.to);
    let sums: Vec<Sums> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT currency, sum(bookings_confirmed)::bigint AS bookings_confirmed, \
         sum(seats_sold)::bigint AS seats_sold, sum(revenue_cents)::bigint AS revenue_cents, \
         sum(cancellations)::bigint AS cancellations, sum(seats_freed)::bigint AS seats_freed, \
         sum(refunds_cents)::bigint AS refunds_cents, sum(rejections)::bigint AS rejections \
         FROM analytics_event_hourly WHERE {RANGE} GROUP BY currency ORDER BY currency"
    )))
    .bind(first)
    .bind(to)
    .fetch_all(&state.pool)
    .await?;
    let total = |f: fn(&Sums) -> i64| sums.iter().map(f).sum::<i64>();
    let (confirmed, cancellations) = (total(|s| s.bookings_confirmed), total(|s| s.cancellations));
    let body = Overview {
        range,
        bookings_confirmed: confirmed,
        cancellations,
        rejections: total(|s| s.rejections),
        seats_sold: total(|s| s.seats_sold - s.seats_freed),
        seats_freed: total(|s| s.seats_freed),
        cancellation_rate: ratio(cancellations, confirmed),
        revenue: sums
            .iter()
            .filter(|s| !s.currency.is_empty() && (s.revenue_cents != 0 || s.refunds_cents != 0))
            .map(|s| Revenue {
                currency: s.currency.clone(),
                gross_cents: s.revenue_cents,
                refunds_cents: s.refunds_cents,
                net_cents: s.revenue_cents - s.refunds_cents,
            })
            .collect(),
        capacity_utilisation: utilisation(&state.pool, first, to).await?,
        top_events: top_events(&state.pool, first, to).await?,
    };
    reply(res, StatusCode::OK, &body);
    Ok(())
}

async fn utilisation(
    pool: &PgPool,
    first: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Option<f64>, ApiError> {
    let (sold, capacity): (Option<i64>, Option<i64>) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT sum(t.seats_sold - t.seats_freed)::bigint, sum(t.capacity)::bigint \
         FROM analytics_event_totals t WHERE t.capacity IS NOT NULL AND t.event_id IN \
         (SELECT DISTINCT event_id FROM analytics_event_hourly WHERE {RANGE})"
        )))
        .bind(first)
        .bind(to)
        .fetch_one(pool)
        .await?;
    Ok(ratio(sold.unwrap_or(0), capacity.unwrap_or(0)))
}

async fn top_events(
    pool: &PgPool,
    first: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<TopEvent>, ApiError> {
    let rows: Vec<(Uuid, String, i64, i64, i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT h.event_id, e.name, sum(h.seats_sold - h.seats_freed)::bigint AS seats, \
             sum(h.bookings_confirmed)::bigint, sum(h.revenue_cents - h.refunds_cents)::bigint, \
             max(h.currency) FROM analytics_event_hourly h JOIN events e ON e.id = h.event_id \
             WHERE {RANGE} GROUP BY h.event_id, e.name ORDER BY seats DESC, h.event_id LIMIT 10"
        )))
        .bind(first)
        .bind(to)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(event_id, name, seats_sold, bookings, net, currency)| TopEvent {
                event_id,
                name,
                seats_sold,
                bookings_confirmed: bookings,
                net_revenue_cents: net,
                currency,
            },
        )
        .collect())
}

/// The event's organizer or an admin may see its analytics and attendees: 404 for an unknown
/// event, 403 for anyone else.
pub async fn authorise(depot: &Depot, pool: &PgPool, event_id: Uuid) -> Result<i32, ApiError> {
    let caller = current_user(depot)?;
    let (organizer, capacity): (Uuid, i32) =
        sqlx::query_as("SELECT organizer_id, capacity FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(pool)
            .await?
            .ok_or(ApiError::NotFound("event"))?;
    if !caller.owns_or_admin(organizer) {
        return Err(ApiError::Forbidden(
            "only the event's organizer and admins may see this",
        ));
    }
    Ok(capacity)
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Hour {
    pub hour: DateTime<Utc>,
    pub bookings_confirmed: i64,
    pub seats_sold: i64,
    pub revenue_cents: i64,
    pub cancellations: i64,
    pub seats_freed: i64,
    pub refunds_cents: i64,
    pub rejections: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Waitlist {
    pub joined: i64,
    pub offered: i64,
    pub claimed: i64,
    pub expired: i64,
    pub left: i64,
    /// Entries still waiting: joined less claimed, expired and left.
    pub length: i64,
    /// `claimed / joined`; absent when nobody joined.
    pub conversion: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tickets {
    pub issued: i64,
    pub checked_in: i64,
    /// `checked_in / issued`; absent before any ticket is issued.
    pub check_in_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventAnalytics {
    pub event_id: Uuid,
    pub currency: String,
    pub capacity: i32,
    /// Seats confirmed and not cancelled.
    pub seats_sold: i64,
    pub utilisation: Option<f64>,
    pub bookings_confirmed: i64,
    pub cancellations: i64,
    pub cancellation_rate: Option<f64>,
    pub rejections: i64,
    pub revenue_cents: i64,
    pub refunds_cents: i64,
    pub net_revenue_cents: i64,
    pub waitlist: Waitlist,
    pub tickets: Tickets,
    /// Per hour within `from`..`to` (hours without activity are left out).
    pub hourly: Vec<Hour>,
}

#[derive(sqlx::FromRow, Default)]
struct TotalsRow {
    currency: String,
    capacity: Option<i32>,
    bookings_confirmed: i64,
    seats_sold: i64,
    revenue_cents: i64,
    cancellations: i64,
    seats_freed: i64,
    refunds_cents: i64,
    rejections: i64,
    waitlist_joined: i64,
    waitlist_offered: i64,
    waitlist_claimed: i64,
    waitlist_expired: i64,
    waitlist_left: i64,
    tickets_issued: i64,
    tickets_checked_in: i64,
}

/// The event's organizer or an admin: bookings over time per hour, utilisation, waitlist length
/// and conversion, check-in rate.
#[endpoint(security(("bearer" = [])), tags("analytics"),
    parameters(("id" = Uuid, Path),
               ("from" = Option<String>, Query, description = "RFC 3339 time or YYYY-MM-DD, inclusive"),
               ("to" = Option<String>, Query, description = "RFC 3339 time or YYYY-MM-DD, exclusive")),
    responses((status_code = 200, body = EventAnalytics)))]
pub async fn event_analytics(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let event_capacity = authorise(depot, &state.pool, event_id).await?;
    let range = Range::from_request(req)?;
    let t: TotalsRow = sqlx::query_as("SELECT * FROM analytics_event_totals WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(&state.pool)
        .await?
        .unwrap_or_default();
    let hourly: Vec<Hour> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT hour, bookings_confirmed, seats_sold, revenue_cents, cancellations, seats_freed, \
             refunds_cents, rejections FROM analytics_event_hourly WHERE event_id = $3 AND {RANGE} \
             ORDER BY hour"
    )))
    .bind(range.first_hour())
    .bind(range.to)
    .bind(event_id)
    .fetch_all(&state.pool)
    .await?;
    let capacity = t.capacity.unwrap_or(event_capacity);
    let seats_sold = t.seats_sold - t.seats_freed;
    let body = EventAnalytics {
        event_id,
        currency: t.currency,
        capacity,
        seats_sold,
        utilisation: ratio(seats_sold, i64::from(capacity)),
        bookings_confirmed: t.bookings_confirmed,
        cancellations: t.cancellations,
        cancellation_rate: ratio(t.cancellations, t.bookings_confirmed),
        rejections: t.rejections,
        revenue_cents: t.revenue_cents,
        refunds_cents: t.refunds_cents,
        net_revenue_cents: t.revenue_cents - t.refunds_cents,
        waitlist: Waitlist {
            joined: t.waitlist_joined,
            offered: t.waitlist_offered,
            claimed: t.waitlist_claimed,
            expired: t.waitlist_expired,
            left: t.waitlist_left,
            length: (t.waitlist_joined - t.waitlist_claimed - t.waitlist_expired - t.waitlist_left)
                .max(0),
            conversion: ratio(t.waitlist_claimed, t.waitlist_joined),
        },
        tickets: Tickets {
            issued: t.tickets_issued,
            checked_in: t.tickets_checked_in,
            check_in_rate: ratio(t.tickets_checked_in, t.tickets_issued),
        },
        hourly,
    };
    reply(res, StatusCode::OK, &body);
    Ok(())
}
