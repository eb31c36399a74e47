//! The notification side of the flash-sale benchmark: an in-process SMTP sink (Evently's SMTP is
//! pointed at it) and a local push service with one subscription per user; after the sale it waits
//! for the notification backlog to drain and prints emails/s, pushes/s, the lag from confirmation
//! to email (p50/p99, from the delivery ledger) and the drain time.

use std::time::{Duration, Instant};

use anyhow::bail;
use sqlx::PgPool;
use uuid::Uuid;

use crate::push_service::{PushService, SubscriberKeys};
use crate::smtp_sink::SmtpSink;

pub struct NotifyBench {
    sink: SmtpSink,
    push: Option<PushService>,
}

impl NotifyBench {
    /// Starts the SMTP sink on `smtp_port` and, with `push`, a push service.
    pub async fn start(smtp_port: u16, push: bool) -> anyhow::Result<Self> {
        let sink = SmtpSink::start_on(smtp_port).await?;
        let push = if push {
            Some(PushService::start().await?)
        } else {
            None
        };
        println!(
            "SMTP sink on 127.0.0.1:{} (start Evently with EVENTLY_NOTIFICATIONS__SMTP_HOST=127.0.0.1 \
             EVENTLY_NOTIFICATIONS__SMTP_PORT={} EVENTLY_NOTIFICATIONS__SMTP_TLS=none){}",
            sink.port,
            sink.port,
            if push.is_some() {
                "; push service on"
            } else {
                ""
            },
        );
        Ok(Self { sink, push })
    }

    /// Emails received so far.
    pub fn emails(&self) -> usize {
        self.sink.count()
    }

    /// Push messages received so far.
    pub fn pushes(&self) -> usize {
        self.push.as_ref().map_or(0, PushService::count)
    }

    /// Keep no message bytes from now on (long runs).
    pub fn light(&self) {
        self.sink.keep_envelopes_only();
    }

    /// One push subscription per user, to the local push service.
    pub async fn subscribe(&self, pool: &PgPool, users: &[Uuid]) -> anyhow::Result<()> {
        let Some(push) = &self.push else {
            return Ok(());
        };
        let keys = SubscriberKeys::generate().json();
        let (p256dh, auth) = (keys["p256dh"].as_str(), keys["auth"].as_str());
        for chunk in users.chunks(10_000) {
            let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
            let endpoints: Vec<String> = chunk
                .iter()
                .map(|u| push.endpoint(&u.simple().to_string()))
                .collect();
            sqlx::query(
                "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth) \
                 SELECT id, user_id, endpoint, $4, $5 FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS s(id, user_id, endpoint)",
            )
            .bind(&ids)
            .bind(chunk)
            .bind(&endpoints)
            .bind(p256dh)
            .bind(auth)
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// Waits (at most `limit`) until every confirmed booking of `event` has its email (and push)
    /// settled, then prints the figures. `sale_end`: when every booking was decided.
    pub async fn report(
        &self,
        pool: &PgPool,
        event: Uuid,
        sale_start: Instant,
        sale_end: Instant,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let confirmed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'confirmed'",
        )
        .bind(event)
        .fetch_one(pool)
        .await?;
        let expected_pushes = if self.push.is_some() { confirmed } else { 0 };
        let deadline = sale_end + limit;
        // Wait on the receivers' own counts (the ledger's join costs PostgreSQL hundreds of
        // milliseconds per look once earlier runs filled it), then on the ledger's settled marks.
        while (self.emails() as i64) < confirmed || (self.pushes() as i64) < expected_pushes {
            if Instant::now() > deadline {
                bail!(
                    "the notification backlog did not drain within {limit:?}: {}/{confirmed} emails, {}/{expected_pushes} pushes received",
                    self.emails(),
                    self.pushes()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (emails, pushes) = loop {
            let (emails, pushes): (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE d.channel = 'email'), count(*) FILTER (WHERE d.channel = 'push') \
                 FROM notification_deliveries d \
                 WHERE split_part(d.source_id, '.', 1) IN (SELECT id::text FROM bookings WHERE event_id = $1) \
                 AND split_part(d.source_id, '.', 2) IN ('confirmed', 'tickets') \
                 AND d.status IN ('sent', 'failed', 'skipped')",
            )
            .bind(event)
            .fetch_one(pool)
            .await?;
            if emails >= confirmed && pushes >= expected_pushes {
                break (emails, pushes);
            }
            if Instant::now() > deadline {
                bail!(
                    "the notification backlog did not drain within {limit:?}: {emails}/{confirmed} emails, {pushes}/{expected_pushes} pushes"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let drained = sale_end
            .elapsed()
            .saturating_sub(Duration::from_millis(100));
        let lag: (Option<f64>, Option<f64>, Option<f64>) = sqlx::query_as(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), percentile_cont(0.99) WITHIN GROUP (ORDER BY s), max(s) \
             FROM (SELECT extract(epoch FROM d.updated_at - b.updated_at)::float8 * 1000 AS s \
             FROM notification_deliveries d JOIN bookings b ON d.source_id = b.id::text || '.tickets' \
             WHERE b.event_id = $1 AND d.channel = 'email' AND d.status = 'sent') x",
        )
        .bind(event)
        .fetch_one(pool)
        .await?;
        let rate = |times: Vec<Instant>| -> String {
            match (times.iter().min(), times.iter().max()) {
                (Some(first), Some(last)) if times.len() > 1 => {
                    let window = last.duration_since(*first).as_secs_f64().max(0.001);
                    format!(
                        "{} in {:.2} s = {:.0}/s",
                        times.len(),
                        window,
                        times.len() as f64 / window
                    )
                }
                _ => format!("{}", times.len()),
            }
        };
        let received: Vec<Instant> = self.sink.messages().iter().map(|m| m.at).collect();
        let during = received.iter().filter(|t| **t <= sale_end).count();
        println!();
        println!(
            "emails received     {} (ledger: {emails} settled for {confirmed} confirmed)",
            rate(received.clone())
        );
        println!(
            "emails during sale  {during} in {:.2} s",
            sale_end.duration_since(sale_start).as_secs_f64()
        );
        if let Some(push) = &self.push {
            println!(
                "pushes received     {} (ledger: {pushes} settled)",
                rate(push.requests().iter().map(|r| r.at).collect())
            );
        }
        let f = |v: Option<f64>| v.map_or_else(|| "?".into(), |v| format!("{v:.0}"));
        println!(
            "confirmation->email ms  p50 {}  p99 {}  max {}",
            f(lag.0),
            f(lag.1),
            f(lag.2)
        );
        println!(
            "backlog drained     {:.2} s after the sale ended (limit {:?})",
            drained.as_secs_f64(),
            limit
        );
        Ok(())
    }
}
