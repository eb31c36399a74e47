//! Events: organizers and admins create them; anyone browses them with filters and cursor
//! pagination and reads one with its live availability.

use chrono::{DateTime, Utc};
use salvo::http::{HeaderValue, StatusCode, header};
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
    Router::with_path("events")
        .get(list_events)
        .post(create_event)
        .push(
            Router::with_path("{id}")
                .get(get_event)
                .patch(super::event_edit::patch_event)
                .push(Router::with_path("live").get(live_availability))
                .push(Router::with_path("cancel").post(super::event_edit::cancel_event)),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    #[salvo(schema(min_length = 1, max_length = 200))]
    pub name: String,
    #[serde(default)]
    #[salvo(schema(max_length = 10000))]
    pub description: String,
    pub venue_id: Uuid,
    /// One of music, theatre, comedy, dance, sports, conference, workshop, festival,
    /// exhibition, film, family, food, other.
    #[salvo(schema(min_length = 1, max_length = 50))]
    pub category: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Seats on sale; at most the venue's capacity.
    #[salvo(schema(minimum = 1, maximum = 1000000))]
    pub capacity: i32,
    /// Price of one seat in minor units of `currency`.
    #[salvo(schema(minimum = 0, maximum = 100000000))]
    pub price_cents: i64,
    /// ISO 4217, e.g. `EUR`.
    #[salvo(schema(pattern = "^[A-Z]{3}$"))]
    pub currency: String,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    /// Most seats in one booking (default 10).
    #[salvo(schema(minimum = 1, maximum = 100))]
    pub max_per_booking: Option<i32>,
    /// How long an unpaid booking holds its seats (default 10).
    #[salvo(schema(minimum = 1, maximum = 1440))]
    pub hold_minutes: Option<i32>,
    /// How long a waitlist offer stays open, in minutes (default 30).
    #[serde(default)]
    #[salvo(schema(minimum = 1, maximum = 10080))]
    pub offer_minutes: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityOut {
    pub capacity: i32,
    pub available: i32,
    /// Seats held: unpaid bookings and open waitlist offers.
    pub held: i32,
    pub sold: i32,
    /// Waitlist entries waiting.
    pub waitlist_length: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub organizer_id: Uuid,
    pub name: String,
    pub description: String,
    pub category: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub price_cents: i64,
    /// The lowest and the highest price of the ticket types on public sale (not hidden): what a
    /// listing shows ("from 20.00"). Both are `price_cents` for an event of one price.
    pub price_from_cents: i64,
    pub price_to_cents: i64,
    pub currency: String,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    pub max_per_booking: i32,
    pub hold_minutes: i32,
    /// How long a waitlist offer stays open, in minutes.
    pub offer_minutes: i32,
    /// `active` or `cancelled`.
    pub status: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub availability: AvailabilityOut,
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    pub(super) id: Uuid,
    pub(super) venue_id: Uuid,
    pub(super) organizer_id: Uuid,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) category: String,
    pub(super) starts_at: DateTime<Utc>,
    pub(super) ends_at: DateTime<Utc>,
    pub(super) capacity: i32,
    pub(super) price_cents: i64,
    pub(super) price_from_cents: Option<i64>,
    pub(super) price_to_cents: Option<i64>,
    pub(super) currency: String,
    pub(super) sales_start: Option<DateTime<Utc>>,
    pub(super) sales_end: Option<DateTime<Utc>>,
    pub(super) max_per_booking: i32,
    pub(super) hold_minutes: i32,
    pub(super) offer_minutes: i32,
    pub(super) status: String,
    pub(super) version: i32,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) sold: i32,
    pub(super) held: i32,
    pub(super) waitlist_length: i64,
}

impl EventRow {
    /// The ETag: the event's version, what `If-Match` on `PATCH` is checked against.
    pub(super) fn etag(&self) -> String {
        etag(self.version)
    }
}

impl From<EventRow> for EventOut {
    fn from(r: EventRow) -> Self {
        Self {
            availability: AvailabilityOut {
                capacity: r.capacity,
                available: (r.capacity - r.sold - r.held).max(0),
                held: r.held,
                sold: r.sold,
                waitlist_length: r.waitlist_length,
            },
            id: r.id,
            venue_id: r.venue_id,
            organizer_id: r.organizer_id,
            name: r.name,
            description: r.description,
            category: r.category,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            capacity: r.capacity,
            price_cents: r.price_cents,
            price_from_cents: r.price_from_cents.unwrap_or(r.price_cents),
            price_to_cents: r.price_to_cents.unwrap_or(r.price_cents),
            currency: r.currency.trim_end().to_owned(),
            sales_start: r.sales_start,
            sales_end: r.sales_end,
            max_per_booking: r.max_per_booking,
            hold_minutes: r.hold_minutes,
            offer_minutes: r.offer_minutes,
            status: r.status,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const SELECT: &str = "SELECT e.id, e.venue_id, e.organizer_id, e.name, e.description, e.category, \
    e.starts_at, e.ends_at, i.capacity, e.price_cents, e.currency::text AS currency, e.sales_start, \
    e.sales_end, e.max_per_booking, e.hold_minutes, e.offer_minutes, e.status, e.version, e.created_at, e.updated_at, \
    i.sold, i.held + i.offered AS held, \
    (SELECT min(t.price_cents) FROM ticket_types t WHERE t.event_id = e.id AND NOT t.hidden) AS price_from_cents, \
    (SELECT max(t.price_cents) FROM ticket_types t WHERE t.event_id = e.id AND NOT t.hidden) AS price_to_cents, \
    (SELECT count(*) FROM waitlist_entries w WHERE w.event_id = e.id AND w.status = 'waiting') AS waitlist_length \
    FROM events e JOIN inventory i ON i.event_id = e.id";

/// The categories an event may have.
pub const CATEGORIES: &[&str] = &[
    "music",
    "theatre",
    "comedy",
    "dance",
    "sports",
    "conference",
    "workshop",
    "festival",
    "exhibition",
    "film",
    "family",
    "food",
    "other",
];

pub(super) fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Checks an event's fields (all of them: a patch is checked merged with the current event).
/// `starts_at` must be in the future only when it is being set.
pub(super) fn validate(
    body: &EventRequest,
    now: DateTime<Utc>,
    new_start: bool,
) -> Result<(), ApiError> {
    let name = body.name.trim();
    let category = body.category.trim();
    let currency_ok =
        body.currency.len() == 3 && body.currency.chars().all(|c| c.is_ascii_uppercase());
    let max = body.max_per_booking.unwrap_or(10);
    let hold = body.hold_minutes.unwrap_or(10);
    Checks::default()
        .check(
            !name.is_empty() && name.chars().count() <= 200,
            "name",
            "must be 1 to 200 characters",
        )
        .check(
            body.description.chars().count() <= 10_000,
            "description",
            "must be at most 10000 characters",
        )
        .check(
            !category.is_empty() && category.chars().count() <= 50,
            "category",
            "must be 1 to 50 characters",
        )
        .check(!new_start || body.starts_at > now, "starts_at", "must be in the future")
        .check(
            CATEGORIES.contains(&category.to_lowercase().as_str()),
            "category",
            "must be one of music, theatre, comedy, dance, sports, conference, workshop, festival, exhibition, film, family, food, other",
        )
        .check(
            body.sales_start.is_none_or(|s| s < body.ends_at),
            "sales_start",
            "must be before ends_at",
        )
        .check(
            body.ends_at > body.starts_at,
            "ends_at",
            "must be after starts_at",
        )
        .check(
            (1..=1_000_000).contains(&body.capacity),
            "capacity",
            "must be from 1 to 1000000",
        )
        .check(
            (0..=100_000_000).contains(&body.price_cents),
            "price_cents",
            "must be from 0 to 100000000",
        )
        .check(
            currency_ok,
            "currency",
            "must be an ISO 4217 code such as EUR",
        )
        .check(
            (1..=100).contains(&max),
            "max_per_booking",
            "must be from 1 to 100",
        )
        .check(
            (1..=1440).contains(&hold),
            "hold_minutes",
            "must be from 1 to 1440",
        )
        .check(
            (1..=10_080).contains(&body.offer_minutes.unwrap_or(30)),
            "offer_minutes",
            "must be from 1 to 10080",
        )
        .check(
            match (body.sales_start, body.sales_end) {
                (Some(s), Some(e)) => s < e,
                _ => true,
            },
            "sales_end",
            "must be after sales_start",
        )
        .check(
            body.sales_end.is_none_or(|e| e <= body.ends_at),
            "sales_end",
            "must not be after ends_at",
        )
        .finish()
}

/// Create an event at a venue you own (organizers and admins).
#[endpoint(security(("bearer" = [])), tags("events"), request_body = EventRequest, responses((status_code = 201, body = EventOut)))]
pub async fn create_event(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    caller.require_organizer()?;
    let state = state(depot)?;
    let body: EventRequest = parse_json(req, state.settings.max_body_bytes).await?;
    validate(&body, Utc::now(), true)?;
    let venue: Option<(Uuid, i32)> =
        sqlx::query_as("SELECT owner_id, capacity FROM venues WHERE id = $1")
            .bind(body.venue_id)
            .fetch_optional(&state.pool)
            .await?;
    let Some((owner, venue_capacity)) = venue else {
        return Err(ApiError::field("venue_id", "no such venue"));
    };
    if !caller.owns_or_admin(owner) {
        return Err(ApiError::field("venue_id", "is not a venue you manage"));
    }
    if body.capacity > venue_capacity {
        return Err(ApiError::field(
            "capacity",
            format!("must not exceed the venue's capacity of {venue_capacity}"),
        ));
    }
    let id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "INSERT INTO events (id, venue_id, organizer_id, name, description, category, starts_at, ends_at, \
         capacity, price_cents, currency, sales_start, sales_end, max_per_booking, hold_minutes, offer_minutes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(id)
    .bind(body.venue_id)
    .bind(caller.id)
    .bind(body.name.trim())
    .bind(body.description.trim())
    .bind(body.category.trim().to_lowercase())
    .bind(body.starts_at)
    .bind(body.ends_at)
    .bind(body.capacity)
    .bind(body.price_cents)
    .bind(&body.currency)
    .bind(body.sales_start)
    .bind(body.sales_end)
    .bind(body.max_per_booking.unwrap_or(10))
    .bind(body.hold_minutes.unwrap_or(10))
    .bind(body.offer_minutes.unwrap_or(30))
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO inventory (event_id, capacity) VALUES ($1, $2)")
        .bind(id)
        .bind(body.capacity)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(event_id = %id, organizer_id = %caller.id, "event created");
    let row = fetch(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    set_location(res, &format!("/api/v1/events/{id}"));
    set_etag(res, &row.etag());
    reply(res, StatusCode::CREATED, &EventOut::from(row));
    Ok(())
}

pub(super) async fn fetch(pool: &sqlx::PgPool, id: Uuid) -> Result<Option<EventRow>, sqlx::Error> {
    sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!("{SELECT} WHERE e.id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub(super) fn set_etag(res: &mut Response, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
}

/// One event with its live availability, and its version as `ETag` (for `If-Match` on `PATCH`).
#[endpoint(tags("events"), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = EventOut)))]
pub async fn get_event(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let id = path_id(req, "id", "event")?;
    let row = fetch(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    set_etag(res, &row.etag());
    // Availability changes by the second: caches may keep it briefly, then must ask again.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=1"),
    );
    reply(res, StatusCode::OK, &EventOut::from(row));
    Ok(())
}

/// The filters of `GET /events`.
struct Filters {
    q: Option<String>,
    category: Option<String>,
    venue_id: Option<Uuid>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    available_only: bool,
}

/// A query parameter: absent is `None`, present must parse (an empty `venue_id=` is a 422 like any
/// other value that is not a UUID). Free-text filters treat an empty value as absent themselves.
fn query_param<T>(
    req: &Request,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
    hint: &str,
) -> Result<Option<T>, ApiError> {
    match req.query::<String>(name) {
        None => Ok(None),
        Some(s) => parse(&s)
            .map(Some)
            .ok_or_else(|| ApiError::field(name, hint)),
    }
}

impl Filters {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let time = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let price = |s: &str| s.parse::<i64>().ok().filter(|p| *p >= 0);
        Ok(Self {
            q: query_param(
                req,
                "q",
                |s| (s.chars().count() <= 200).then(|| s.to_owned()),
                "must be at most 200 characters",
            )?
            .filter(|q| !q.is_empty()),
            category: query_param(req, "category", |s| Some(s.trim().to_lowercase()), "")?
                .filter(|c| !c.is_empty()),
            venue_id: query_param(
                req,
                "venue_id",
                |s| Uuid::parse_str(s).ok(),
                "must be a UUID",
            )?,
            from: query_param(req, "from", time, "must be an RFC 3339 time")?,
            to: query_param(req, "to", time, "must be an RFC 3339 time")?,
            min_price: query_param(
                req,
                "min_price",
                price,
                "must be a non-negative integer (minor units)",
            )?,
            max_price: query_param(
                req,
                "max_price",
                price,
                "must be a non-negative integer (minor units)",
            )?,
            available_only: query_param(
                req,
                "available_only",
                |s| s.parse::<bool>().ok(),
                "must be true or false",
            )?
            .unwrap_or(false),
        })
    }
}

/// Browse active events by start time, with filters.
#[endpoint(
    tags("events"),
    parameters(
        ("q" = Option<String>, Query, description = "words in the name or description"),
        ("category" = Option<String>, Query),
        ("venue_id" = Option<Uuid>, Query),
        ("from" = Option<String>, Query, description = "starts at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "starts before (RFC 3339)"),
        ("min_price" = Option<i64>, Query), ("max_price" = Option<i64>, Query),
        ("available_only" = Option<bool>, Query),
        ("mine" = Option<bool>, Query, description = "the caller's events, cancelled ones included"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"), ("cursor" = Option<String>, Query)
    ),
    responses((status_code = 200, body = Page<EventOut>))
)]
pub async fn list_events(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let page = PageRequest::from_request(req)?;
    let f = Filters::from_request(req)?;
    let organizer = super::venues::mine(req, depot)?;
    let words = f.q.filter(|q| !q.trim().is_empty());
    let (after_at, after_id) = page.after.unzip();
    let rows = sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE (e.status = 'active' OR $12::uuid IS NOT NULL) AND ($12::uuid IS NULL OR e.organizer_id = $12) \
         AND ($1::text IS NULL OR e.search @@ websearch_to_tsquery('simple', $1)) \
         AND ($2::text IS NULL OR e.category = $2) \
         AND ($3::uuid IS NULL OR e.venue_id = $3) \
         AND ($4::timestamptz IS NULL OR e.starts_at >= $4) \
         AND ($5::timestamptz IS NULL OR e.starts_at < $5) \
         AND ($6::bigint IS NULL OR e.price_cents >= $6) \
         AND ($7::bigint IS NULL OR e.price_cents <= $7) \
         AND (NOT $8 OR i.sold + i.held + i.offered < i.capacity) \
         AND ($9::timestamptz IS NULL OR (e.starts_at, e.id) > ($9, $10)) \
         ORDER BY e.starts_at, e.id LIMIT $11"
    )))
    .bind(words)
    .bind(f.category)
    .bind(f.venue_id)
    .bind(f.from)
    .bind(f.to)
    .bind(f.min_price)
    .bind(f.max_price)
    .bind(f.available_only)
    .bind(after_at)
    .bind(after_id)
    .bind(page.limit + 1)
    .bind(organizer)
    .fetch_all(&state.pool)
    .await?;
    if organizer.is_none() {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=5"),
        );
    }
    let out: Page<EventOut> = page.page(rows, |r| (r.starts_at, r.id), EventOut::from);
    reply(res, StatusCode::OK, &out);
    Ok(())
}

/// Server-Sent Events: `availability` events (`{capacity, sold, held, available}`) whenever the
/// event's seats change, the current figure first; at most about ten a second per stream.
#[endpoint(tags("events"), parameters(("id" = Uuid, Path)), responses((status_code = 200, description = "text/event-stream of `availability` events")))]
pub async fn live_availability(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let id = path_id(req, "id", "event")?;
    let row = fetch(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    let current = evently_schemas::Availability {
        capacity: row.capacity,
        sold: row.sold,
        held: row.held,
        available: (row.capacity - row.sold - row.held).max(0),
        // `held` of the read side includes the seats held for open waitlist offers.
        offered: 0,
        ticket_types: super::ticket_types::availability_of(&state.pool, id).await?,
    };
    let rx = state.decisions.live.watch(id, current);
    metrics::gauge!("evently_live_events_watched").set(state.decisions.live.watched() as f64);
    let shutdown = state.shutdown.clone();
    let updates = futures::stream::unfold((rx, true), move |(mut rx, first)| {
        let shutdown = shutdown.clone();
        async move {
            if !first {
                // Coalesce: wait a little, then send only the newest figure.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    changed = rx.changed() => changed.ok()?,
                }
            }
            let availability = rx.borrow_and_update().clone();
            let event = salvo::sse::SseEvent::default()
                .name("availability")
                .json(availability)
                .map_err(std::io::Error::other);
            Some((event, (rx, false)))
        }
    });
    salvo::sse::SseKeepAlive::new(updates)
        .max_interval(std::time::Duration::from_secs(15))
        .stream(res);
    Ok(())
}
