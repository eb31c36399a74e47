//! `GET /events/{id}/attendees`: the holders of an event's confirmed bookings, for its organizer
//! and admins. JSON with cursor pagination, or the whole list as CSV (`Accept: text/csv` or
//! `?format=csv`). Reads `bookings` and `users` through the `(event_id, status, created_at, id)`
//! index, one page at a time.

use chrono::{DateTime, Utc};
use salvo::http::{HeaderValue, StatusCode, header};
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::analytics::authorise;
use super::reply;
use crate::body::path_id;
use crate::error::ApiError;
use crate::pagination::PageRequest;
use crate::state::state;

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Attendee {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub quantity: i32,
    pub status: String,
    pub booked_at: DateTime<Utc>,
}

/// Rows fetched per query when writing CSV.
const CSV_CHUNK: i64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

fn format(req: &Request) -> Result<Format, ApiError> {
    match req.query::<String>("format").as_deref() {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(ApiError::field("format", "must be `json` or `csv`")),
        None => {
            let wants_csv = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"));
            Ok(if wants_csv { Format::Csv } else { Format::Json })
        }
    }
}

async fn page(
    pool: &PgPool,
    event_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Attendee>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT b.id AS booking_id, b.user_id, u.name, u.email, b.quantity, b.status, \
         b.created_at AS booked_at FROM bookings b JOIN users u ON u.id = b.user_id \
         WHERE b.event_id = $1 AND b.status = 'confirmed' AND u.deleted_at IS NULL \
         AND ($2::timestamptz IS NULL OR (b.created_at, b.id) > ($2, $3)) \
         ORDER BY b.created_at, b.id LIMIT $4",
    )
    .bind(event_id)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The holders of the event's confirmed bookings, oldest first: JSON pages
/// (`?limit=&cursor=`), or every row as CSV with `Accept: text/csv` or `?format=csv`.
#[endpoint(security(("bearer" = [])), tags("analytics"),
    parameters(("id" = Uuid, Path),
               ("format" = Option<String>, Query, description = "`json` (default) or `csv`"),
               ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status_code = 200, body = crate::pagination::Page<Attendee>,
               description = "JSON page; `text/csv` (booking_id, user_id, name, email, quantity, status, booked_at) when asked")))]
pub async fn attendees(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    authorise(depot, &state.pool, event_id).await?;
    match format(req)? {
        Format::Json => {
            let request = PageRequest::from_request(req)?;
            let rows = page(&state.pool, event_id, request.after, request.limit + 1).await?;
            let body = request.page(rows, |a| (a.booked_at, a.booking_id), |a| a);
            reply(res, StatusCode::OK, &body);
        }
        Format::Csv => {
            let body = csv_body(&state.pool, event_id).await?;
            res.status_code(StatusCode::OK);
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"attendees-{event_id}.csv\""
            )) {
                res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            res.write_body(body)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing the CSV body: {e}")))?;
        }
    }
    Ok(())
}

/// Every confirmed holder as CSV (RFC 4180 quoting by the `csv` crate), read in chunks.
async fn csv_body(pool: &PgPool, event_id: Uuid) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error =
        |e: csv::Error| ApiError::Internal(anyhow::Error::new(e).context("writing CSV"));
    writer
        .write_record([
            "booking_id",
            "user_id",
            "name",
            "email",
            "quantity",
            "status",
            "booked_at",
        ])
        .map_err(csv_error)?;
    let mut after = None;
    loop {
        let rows = page(pool, event_id, after, CSV_CHUNK).await?;
        for a in &rows {
            writer
                .write_record([
                    a.booking_id.to_string(),
                    a.user_id.to_string(),
                    spreadsheet_safe(&a.name),
                    spreadsheet_safe(&a.email),
                    a.quantity.to_string(),
                    a.status.clone(),
                    a.booked_at.to_rfc3339(),
                ])
                .map_err(csv_error)?;
        }
        if (rows.len() as i64) < CSV_CHUNK {
            break;
        }
        after = rows.last().map(|a| (a.booked_at, a.booking_id));
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("finishing the CSV: {e}")))
}

/// A cell a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return gets a leading `'` (OWASP's advice against CSV injection; names are
/// chosen by users).
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}
