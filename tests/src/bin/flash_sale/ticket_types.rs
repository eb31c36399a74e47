//! `--ticket-types N`: the sale of N ticket types sharing the event's capacity. Type `k` (from 1)
//! has a quota of 1.5 × seats × k / (1 + 2 + ... + N), so together they offer half again what the
//! event holds: the first type's own quota runs out first (it is asked for as often as the
//! others), then the event's capacity. Request `i` books one ticket of type `i % N`. Afterwards it checks, in PostgreSQL, that no type sold more than its quota, that
//! each type's count is its confirmed bookings' lines, and that the types add up to the event.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use uuid::Uuid;

/// Creates the types; returns the booking body of each.
pub async fn create(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    event: Uuid,
    seats: i64,
    count: usize,
) -> anyhow::Result<Vec<Value>> {
    let weights = (count * (count + 1) / 2) as i64;
    let mut bodies = Vec::with_capacity(count);
    let mut quotas = Vec::with_capacity(count);
    for k in 0..count {
        let quota = seats * 3 * (k as i64 + 1) / (2 * weights);
        quotas.push(quota);
        let created: Value = http
            .post(format!("{base}/api/v1/events/{event}/ticket-types"))
            .bearer_auth(token)
            .json(&json!({"name": format!("Type {}", k + 1), "price_cents": 0, "quota": quota}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = created["id"].as_str().context("ticket type id")?;
        bodies.push(json!({"lines": [{"ticket_type_id": id, "quantity": 1}]}));
    }
    println!("{count} ticket types with quotas {quotas:?}, sharing {seats} seats");
    Ok(bodies)
}

/// Prints each type's figures and fails if a type or the event is oversold.
pub async fn check(pool: &sqlx::PgPool, event: Uuid, event_sold: i64) -> anyhow::Result<()> {
    let rows: Vec<(String, i32, i32, i64)> = sqlx::query_as(
        "SELECT t.name, t.quota, t.sold, (SELECT COALESCE(sum(l.quantity), 0) FROM booking_lines l \
         JOIN bookings b ON b.id = l.booking_id WHERE l.ticket_type_id = t.id AND b.status = 'confirmed')::bigint \
         FROM ticket_types t WHERE t.event_id = $1 ORDER BY t.position",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    let mut oversold = 0;
    for (name, quota, sold, lines) in &rows {
        println!("  {name:<10} sold {sold} of {quota} (confirmed lines {lines})");
        if sold > quota || i64::from(*sold) != *lines {
            oversold += 1;
        }
    }
    let by_types: i64 = rows.iter().map(|r| i64::from(r.2)).sum();
    println!(
        "types oversold      {} (the types add up to {by_types}, the event sold {event_sold})",
        if oversold == 0 {
            "0".to_owned()
        } else {
            format!("YES ({oversold})")
        }
    );
    if oversold > 0 || by_types != event_sold {
        bail!("a ticket type was oversold or its count is not its bookings'");
    }
    Ok(())
}
