//! Tickets: a booking's tickets (with their signed QR payloads), a ticket's QR image and printable
//! PDF (rendered on demand), the public keys a door scanner verifies payloads with, and check-in
//! (in `checkin.rs`).

mod checkin;

use chrono::{DateTime, Utc};
use evently_runtime::tickets::{Jwk, qr, render_ticket_pdf};
use salvo::http::{HeaderValue, StatusCode, header};
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::reply;
use crate::auth::current_user;
use crate::body::path_id;
use crate::error::ApiError;
use crate::state::state;

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("bookings/{id}/tickets").get(booking_tickets))
        .push(Router::with_path("tickets/public-keys").get(public_keys))
        .push(Router::with_path("tickets/{id}/qr.png").get(ticket_qr))
        .push(Router::with_path("tickets/{id}/pdf").get(ticket_pdf))
        .push(Router::with_path("events/{id}/checkin").post(checkin::checkin))
}

/// One ticket.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct TicketOut {
    pub id: Uuid,
    pub booking_id: Uuid,
    pub event_id: Uuid,
    /// Human-readable, e.g. `K7QM-3XPA-9ZR`; the last character is a check character.
    pub ticket_number: String,
    /// Zero-based seat of the booking.
    pub seat_index: i32,
    /// `valid` or `void` (its booking was cancelled).
    pub status: String,
    /// The signed QR payload (base64url), verifiable with `GET /tickets/public-keys`.
    pub qr_payload: String,
    pub issued_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<DateTime<Utc>>,
    /// The particular seat it admits to, for a seated event.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[salvo(schema(value_type = Option<TicketSeatOut>))]
    pub seat: Option<sqlx::types::Json<TicketSeatOut>>,
}

/// A seat of a seat map, as a ticket names it.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct TicketSeatOut {
    pub section: String,
    pub row: String,
    pub number: String,
}

/// A booking's tickets: empty until the booking is confirmed and its tickets are issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingTickets {
    pub booking_id: Uuid,
    /// The booking's status.
    pub status: String,
    pub tickets: Vec<TicketOut>,
}

/// The verification keys, as JWKs (`kty: OKP`, `crv: Ed25519`, `kid`, `x`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeys {
    /// The key that signs new tickets.
    pub current_kid: String,
    #[salvo(schema(value_type = Vec<Object>))]
    pub keys: Vec<Jwk>,
}

#[derive(sqlx::FromRow)]
struct BookingAccess {
    user_id: Uuid,
    organizer_id: Uuid,
    status: String,
}

/// A booking's tickets (its holder, the event's organizer, or an admin; anyone else 404).
#[endpoint(security(("bearer" = [])), tags("tickets"), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = BookingTickets)))]
pub async fn booking_tickets(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "booking")?;
    let access: Option<BookingAccess> = sqlx::query_as(
        "SELECT b.user_id, e.organizer_id, b.status FROM bookings b \
         JOIN events e ON e.id = b.event_id WHERE b.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    let access = access
        .filter(|a| caller.may_see_booking(a.user_id, a.organizer_id))
        .ok_or(ApiError::NotFound("booking"))?;
    let tickets: Vec<TicketOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT t.id, t.booking_id, t.event_id, t.ticket_number, t.seat_index, t.status, \
         t.qr_payload, t.issued_at, t.checked_in_at, {} AS seat FROM tickets t \
         WHERE t.booking_id = $1 ORDER BY t.seat_index",
        evently_runtime::tickets::TICKET_SEAT
    )))
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    reply(
        res,
        StatusCode::OK,
        &BookingTickets {
            booking_id: id,
            status: access.status,
            tickets,
        },
    );
    Ok(())
}

/// The keys ticket QR payloads are signed with (anyone): a door scanner verifies offline.
#[endpoint(tags("tickets"), responses((status_code = 200, body = PublicKeys)))]
pub async fn public_keys(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let state = state(depot)?;
    let keys = state
        .tickets
        .public_keys()
        .iter()
        .map(|k| k.jwk())
        .collect();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    reply(
        res,
        StatusCode::OK,
        &PublicKeys {
            current_kid: state.tickets.key_id().to_owned(),
            keys,
        },
    );
    Ok(())
}

/// A ticket as its holder may fetch it; anyone else is told it does not exist.
async fn owned_ticket(
    req: &Request,
    depot: &Depot,
) -> Result<evently_runtime::tickets::TicketDocument, ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "ticket")?;
    match evently_runtime::tickets::load_document(&state.pool, id).await {
        Ok(Some((owner, doc))) if owner == caller.id => Ok(doc),
        Ok(_) => Err(ApiError::NotFound("ticket")),
        Err(e) => Err(ApiError::Internal(e)),
    }
}

fn binary(res: &mut Response, content_type: &'static str, bytes: Vec<u8>) {
    res.status_code(StatusCode::OK);
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Err(e) = res.write_body(bytes) {
        tracing::error!(error = %e, "writing a response body");
    }
}

/// Runs CPU-bound rendering off the async workers.
async fn render<F>(work: F) -> Result<Vec<u8>, ApiError>
where
    F: FnOnce() -> anyhow::Result<Vec<u8>> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("rendering task")))?
        .map_err(ApiError::Internal)
}

/// The ticket's QR code as a PNG (its holder only).
#[endpoint(security(("bearer" = [])), tags("tickets"), parameters(("id" = Uuid, Path)), responses((status_code = 200, description = "image/png")))]
pub async fn ticket_qr(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let doc = owned_ticket(req, depot).await?;
    let png = render(move || qr::png(&doc.qr_payload, 8)).await?;
    binary(res, "image/png", png);
    Ok(())
}

/// The printable one-page PDF ticket (its holder only).
#[endpoint(security(("bearer" = [])), tags("tickets"), parameters(("id" = Uuid, Path)), responses((status_code = 200, description = "application/pdf")))]
pub async fn ticket_pdf(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let doc = owned_ticket(req, depot).await?;
    let disposition = format!("inline; filename=\"ticket-{}.pdf\"", doc.ticket_number);
    let pdf = render(move || render_ticket_pdf(&doc)).await?;
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    binary(res, "application/pdf", pdf);
    Ok(())
}
