//! A short-lived cache of what the booking path needs to know about an event (exists, on sale,
//! limits, price, ticket types), so a flash sale does not cost a PostgreSQL query per request. The reservations
//! consumer re-checks everything authoritatively; this only turns away requests early.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRules {
    pub id: Uuid,
    pub organizer_id: Uuid,
    pub status: String,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    pub max_per_booking: i32,
    pub price_cents: i64,
    pub currency: String,
    /// The event's ticket types (none for an event sold as one pool of seats).
    pub ticket_types: sqlx::types::Json<Vec<TypeRules>>,
    /// Booked by particular seats or best-available (the event uses a seating plan).
    pub seated: bool,
}

/// What the booking path checks of a ticket type.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TypeRules {
    pub id: Uuid,
    pub price_cents: i64,
    pub max_per_booking: Option<i32>,
    pub hidden: bool,
}

const TTL: Duration = Duration::from_secs(2);

/// When an entry was read, and the event's rules (`None`: no such event).
type Entry = (Instant, Option<Arc<EventRules>>);

#[derive(Default)]
pub struct EventsCache {
    entries: RwLock<HashMap<Uuid, Entry>>,
}

impl EventsCache {
    /// The event's rules, or `None` if it does not exist.
    pub async fn get(
        &self,
        pool: &PgPool,
        id: Uuid,
    ) -> Result<Option<Arc<EventRules>>, sqlx::Error> {
        if let Some((at, rules)) = self.entries.read().get(&id)
            && at.elapsed() < TTL
        {
            return Ok(rules.clone());
        }
        let rules = sqlx::query_as::<_, EventRules>(
            "SELECT e.id, e.organizer_id, e.status, e.sales_start, e.sales_end, e.ends_at, \
             e.max_per_booking, e.price_cents, e.currency, \
             (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', t.id, 'price_cents', t.price_cents, \
             'max_per_booking', t.max_per_booking, 'hidden', t.hidden) ORDER BY t.position, t.id), '[]') \
             FROM ticket_types t WHERE t.event_id = e.id) AS ticket_types, \
             EXISTS (SELECT 1 FROM event_seating s WHERE s.event_id = e.id) AS seated \
             FROM events e WHERE e.id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(Arc::new);
        let mut entries = self.entries.write();
        // Expired entries are only dropped when the cache is large, and then all at once: a
        // flash sale hits one event, so this scan is rare.
        if entries.len() > 10_000 {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
        }
        entries.insert(id, (Instant::now(), rules.clone()));
        Ok(rules)
    }
}
