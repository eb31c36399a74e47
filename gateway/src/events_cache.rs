//! A short-lived cache of what the booking path needs to know about an event (exists, on sale,
//! limits, price), so a flash sale does not cost a PostgreSQL query per request. The reservations
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
            "SELECT id, organizer_id, status, sales_start, sales_end, ends_at, max_per_booking, \
             price_cents, currency FROM events WHERE id = $1",
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
