//! The PostgreSQL pool and the migrations in `migrations/` (embedded in the binary).

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use evently_schemas::{BookingSnapshot, BookingStatus, RejectReason};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

/// Opens a pool of at most `max` connections.
pub async fn connect(url: &str, max: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max)
        .min_connections(2)
        .acquire_timeout(Duration::from_secs(5))
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
    b.amount_cents, b.currency::text AS currency, b.hold_expires_at, b.created_at, b.updated_at";

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
