//! The PostgreSQL pool and the migrations in `migrations/` (embedded in the binary).

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use evently_schemas::{BookingLine, BookingSeat, BookingSnapshot, BookingStatus, RejectReason};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

/// A connection idle for longer than this is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// Opens a pool of at most `max` connections.
///
/// sqlx pings every connection it hands out (`test_before_acquire`), a round trip per query on
/// top of the one it makes when a connection is given back; over TLS each costs the process a
/// record each way. Here only a connection that sat idle for [`PING_AFTER_IDLE`] is pinged (a
/// busy one just answered), and connections are renewed after 30 minutes, so that one broken
/// by a database restart or failover is noticed by its next query's error (which callers treat
/// as transient) and replaced.
pub async fn connect(url: &str, max: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max)
        .min_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .max_lifetime(Duration::from_secs(30 * 60))
        .connect(url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))
}

/// Applies every pending migration.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("../migrations")
        .run(pool)
        .await
        .context("applying migrations")
}

/// The columns of [`BookingRow`], for a query on `bookings b`.
pub const BOOKING_COLUMNS: &str = "b.id, b.event_id, b.user_id, b.quantity, b.status, b.reason, \
    b.amount_cents, b.currency::text AS currency, b.hold_expires_at, b.created_at, b.updated_at, \
    (SELECT COALESCE(jsonb_agg(jsonb_build_object('ticket_type_id', l.ticket_type_id, \
    'quantity', l.quantity, 'unit_price_cents', l.unit_price_cents) ORDER BY l.ticket_type_id), '[]') \
    FROM booking_lines l WHERE l.booking_id = b.id) AS lines, b.promo_code_id, b.discount_cents, \
    (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', s.seat_id, 'ticket_type_id', s.ticket_type_id, \
    'section', s.section, 'row', s.row_label, 'number', s.number) ORDER BY s.seat_id), '[]') \
    FROM booking_seats s WHERE s.booking_id = b.id) AS seats";

/// A row of `bookings`, as both the gateway and the consumers read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BookingRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    pub status: String,
    pub reason: Option<String>,
    pub amount_cents: i64,
    pub currency: String,
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: sqlx::types::Json<Vec<BookingLine>>,
    pub promo_code_id: Option<Uuid>,
    pub discount_cents: i64,
    pub seats: sqlx::types::Json<Vec<BookingSeat>>,
}

impl BookingRow {
    pub fn snapshot(self) -> BookingSnapshot {
        BookingSnapshot {
            id: self.id,
            event_id: self.event_id,
            user_id: self.user_id,
            quantity: self.quantity,
            // The CHECK constraint on `bookings.status` admits only decided statuses.
            status: BookingStatus::parse(&self.status).unwrap_or(BookingStatus::Pending),
            reason: self.reason.as_deref().and_then(RejectReason::parse),
            amount_cents: self.amount_cents,
            currency: self.currency.trim_end().to_owned(),
            hold_expires_at: self.hold_expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            lines: self.lines.0,
            promo_code_id: self.promo_code_id,
            discount_cents: self.discount_cents,
            seats: self.seats.0,
        }
    }
}

/// A URL with its password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_in_a_url_is_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
