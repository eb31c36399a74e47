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

/// The seat of ticket `t` of a seated booking (its seats in id order, one per ticket) as jsonb
/// `{section, row, number}`, NULL for an event sold without a seat map.
macro_rules! ticket_seat {
    () => {
        "(SELECT jsonb_build_object('section', s.section, 'row', s.row_label, 'number', s.number) \
         FROM booking_seats s WHERE s.booking_id = t.booking_id ORDER BY s.seat_id \
         OFFSET t.seat_index LIMIT 1)"
    };
}
pub const TICKET_SEAT: &str = ticket_seat!();

/// The particular seat a ticket admits to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TicketSeat {
    pub section: String,
    pub row: String,
    pub number: String,
}

impl TicketSeat {
    /// As printed: "Stalls, row C, seat 12".
    pub fn label(&self) -> String {
        format!("{}, row {}, seat {}", self.section, self.row, self.number)
    }
}

#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: Uuid,
    booking_id: Uuid,
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
    seat: Option<sqlx::types::Json<TicketSeat>>,
}

impl DocumentRow {
    fn document(self) -> TicketDocument {
        let venue_address = [self.address.as_str(), self.city.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        TicketDocument {
            ticket_id: self.id,
            event_name: self.event_name,
            venue_name: self.venue_name,
            venue_address,
            starts_at: self.starts_at,
            holder_name: self.holder_name,
            ticket_number: self.ticket_number,
            seat_index: self.seat_index,
            seats_in_booking: self.quantity,
            qr_payload: self.qr_payload,
            status: self.status,
            seat: self.seat.map(|s| s.0.label()),
        }
    }
}

const DOCUMENT_QUERY: &str = concat!(
    "SELECT t.id, t.booking_id, t.user_id, e.name AS event_name, \
     v.name AS venue_name, v.address, v.city, e.starts_at, u.name AS holder_name, t.ticket_number, \
     t.seat_index, b.quantity, t.qr_payload, t.status, ",
    ticket_seat!(),
    " AS seat \
     FROM tickets t JOIN bookings b ON b.id = t.booking_id JOIN events e ON e.id = t.event_id \
     JOIN venues v ON v.id = e.venue_id JOIN users u ON u.id = t.user_id"
);

/// A ticket's printable document and its holder's user id, from PostgreSQL.
pub async fn load_document(
    pool: &PgPool,
    ticket_id: Uuid,
) -> anyhow::Result<Option<(Uuid, TicketDocument)>> {
    let row: Option<DocumentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{DOCUMENT_QUERY} WHERE t.id = $1"
    )))
    .bind(ticket_id)
    .fetch_optional(pool)
    .await
    .context("loading a ticket")?;
    Ok(row.map(|r| (r.user_id, r.document())))
}

/// The documents of every valid ticket of `bookings`, by booking, in seat order: one query.
pub async fn load_documents_of_bookings(
    pool: &PgPool,
    bookings: &[Uuid],
) -> anyhow::Result<Vec<(Uuid, TicketDocument)>> {
    if bookings.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<DocumentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{DOCUMENT_QUERY} WHERE t.booking_id = ANY($1) AND t.status = 'valid' \
         ORDER BY t.booking_id, t.seat_index"
    )))
    .bind(bookings)
    .fetch_all(pool)
    .await
    .context("loading the bookings' tickets")?;
    Ok(rows
        .into_iter()
        .map(|r| (r.booking_id, r.document()))
        .collect())
}
