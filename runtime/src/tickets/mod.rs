//! Tickets, shared by the gateway, the `tickets` consumer and the notifications consumer:
//! human-readable numbers, signed QR payloads, the QR image and the printable PDF.

pub mod number;
pub mod pdf;
pub mod qr;
pub mod signing;

use anyhow::Context;
use sqlx::PgPool;
use uuid::Uuid;

pub use pdf::{TicketDocument, render_ticket_pdf};
pub use signing::{
    Jwk, PreviousKey, PublicKey, TicketClaims, TicketKeys, TicketSettings, VerifyError, verify,
};

/// Ticket ids live in this namespace: UUIDv5 of `<booking id>:<seat index>`, so every attempt
/// to issue a seat's ticket names the same row.
const TICKET_NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0006);

/// The id of the ticket for seat `seat_index` of `booking_id`.
pub fn ticket_id(booking_id: Uuid, seat_index: i32) -> Uuid {
    Uuid::new_v5(
        &TICKET_NAMESPACE,
        format!("{booking_id}:{seat_index}").as_bytes(),
    )
}

#[derive(sqlx::FromRow)]
struct DocumentRow {
    user_id: Uuid,
    event_name: String,
    venue_name: String,
    address: String,
    city: String,
    starts_at: chrono::DateTime<chrono::Utc>,
    holder_name: String,
    ticket_number: String,
    seat_index: i32,
    quantity: i32,
    qr_payload: String,
    status: String,
}

/// A ticket's printable document and its holder's user id, from PostgreSQL.
pub async fn load_document(
    pool: &PgPool,
    ticket_id: Uuid,
) -> anyhow::Result<Option<(Uuid, TicketDocument)>> {
    let row: Option<DocumentRow> = sqlx::query_as(
        "SELECT t.user_id, e.name AS event_name, v.name AS venue_name, v.address, v.city, \
         e.starts_at, u.name AS holder_name, t.ticket_number, t.seat_index, b.quantity, \
         t.qr_payload, t.status \
         FROM tickets t JOIN bookings b ON b.id = t.booking_id JOIN events e ON e.id = t.event_id \
         JOIN venues v ON v.id = e.venue_id JOIN users u ON u.id = t.user_id WHERE t.id = $1",
    )
    .bind(ticket_id)
    .fetch_optional(pool)
    .await
    .context("loading a ticket")?;
    Ok(row.map(|r| {
        let venue_address = [r.address.as_str(), r.city.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        (
            r.user_id,
            TicketDocument {
                ticket_id,
                event_name: r.event_name,
                venue_name: r.venue_name,
                venue_address,
                starts_at: r.starts_at,
                holder_name: r.holder_name,
                ticket_number: r.ticket_number,
                seat_index: r.seat_index,
                seats_in_booking: r.quantity,
                qr_payload: r.qr_payload,
                status: r.status,
            },
        )
    }))
}
