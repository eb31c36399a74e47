//! The delivery ledger (`notification_deliveries`), keyed (source, user, channel, target). The rule:
//! claim the row (`pending`, with a lease) before sending, send, then mark it `sent`. A redelivered
//! domain event finds the row `sent` (or `failed`, `skipped`) and sends nothing. A crash between the
//! send and the mark leaves it `pending`: once the lease runs out it is sent again (at-least-once on
//! that narrow window), with the same `Message-ID` / push `Topic`, so the receiver can drop it.
//!
//! Every function takes a whole batch's rows and is one statement (claiming is two: the claim, and
//! reading what the rows not claimed hold), so a batch costs the same few round trips whatever its
//! size.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::PgPool;
use uuid::Uuid;

/// How long a claim keeps other deliveries of the same key away (longer than any one send).
pub const LEASE: Duration = Duration::from_secs(30);

/// Namespace of ids derived from delivery keys (notification ids, Message-IDs, topics).
const NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0007);

/// One delivery's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub source_id: String,
    pub user_id: Uuid,
    pub channel: &'static str,
    /// The push subscription id for push, '' otherwise.
    pub target: String,
}

impl Key {
    /// A stable id of this delivery (the same on every attempt).
    pub fn stable_id(&self) -> Uuid {
        Uuid::new_v5(
            &NAMESPACE,
            format!(
                "{}|{}|{}|{}",
                self.source_id, self.user_id, self.channel, self.target
            )
            .as_bytes(),
        )
    }
}

/// The id of the in-app notification of (source, user): the same for every channel of a notice.
pub fn notification_id(source_id: &str, user_id: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{source_id}|{user_id}").as_bytes())
}

/// What a claim found.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Claim {
    /// Ours to send (this is attempt `n`).
    Claimed(i32),
    /// Sent before: send nothing.
    Sent,
    /// Failed for good or skipped before: send nothing.
    Settled,
    /// Another delivery holds the lease: try later.
    Busy,
}

/// The key columns of `rows`, as arrays for `unnest`.
struct Columns {
    sources: Vec<String>,
    users: Vec<Uuid>,
    channels: Vec<String>,
    targets: Vec<String>,
}

impl Columns {
    fn of<'a>(keys: impl Iterator<Item = &'a Key>) -> Self {
        let mut c = Columns {
            sources: Vec::new(),
            users: Vec::new(),
            channels: Vec::new(),
            targets: Vec::new(),
        };
        for key in keys {
            c.sources.push(key.source_id.clone());
            c.users.push(key.user_id);
            c.channels.push(key.channel.to_owned());
            c.targets.push(key.target.clone());
        }
        c
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    source_id: String,
    user_id: Uuid,
    channel: String,
    target: String,
}

impl KeyRow {
    fn matches(&self, key: &Key) -> bool {
        self.source_id == key.source_id
            && self.user_id == key.user_id
            && self.channel == key.channel
            && self.target == key.target
    }
}

/// Claims every `(key, kind)` at once and says what each found, in order. A key that appears
/// twice is claimed once; its later copies find it [`Claim::Busy`].
pub async fn claim_all(pool: &PgPool, keys: &[(Key, &str)]) -> anyhow::Result<Vec<Claim>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut first: HashMap<&Key, usize> = HashMap::new();
    for (index, (key, _)) in keys.iter().enumerate() {
        first.entry(key).or_insert(index);
    }
    let unique: Vec<&(Key, &str)> = keys
        .iter()
        .enumerate()
        .filter(|(i, (k, _))| first.get(k) == Some(i))
        .map(|(_, row)| row)
        .collect();
    let c = Columns::of(unique.iter().map(|(k, _)| k));
    let kinds: Vec<String> = unique.iter().map(|(_, kind)| (*kind).to_owned()).collect();
    #[derive(sqlx::FromRow)]
    struct Claimed {
        #[sqlx(flatten)]
        key: KeyRow,
        attempts: i32,
    }
    let claimed: Vec<Claimed> = sqlx::query_as(
        "INSERT INTO notification_deliveries AS d (source_id, user_id, channel, target, kind, status, attempts, claimed_until) \
         SELECT s, u, c, t, k, 'pending', 1, now() + make_interval(secs => $6) \
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[]) AS x(s, u, c, t, k) \
         ON CONFLICT (source_id, user_id, channel, target) DO UPDATE \
         SET attempts = d.attempts + 1, claimed_until = EXCLUDED.claimed_until, updated_at = now() \
         WHERE d.status = 'pending' AND (d.claimed_until IS NULL OR d.claimed_until < now()) \
         RETURNING d.source_id, d.user_id, d.channel, d.target, d.attempts",
    )
    .bind(&c.sources)
    .bind(&c.users)
    .bind(&c.channels)
    .bind(&c.targets)
    .bind(&kinds)
    .bind(LEASE.as_secs_f64())
    .fetch_all(pool)
    .await
    .context("claiming deliveries")?;
    let mut found: HashMap<Key, Claim> = HashMap::new();
    for (key, _) in &unique {
        if let Some(row) = claimed.iter().find(|r| r.key.matches(key)) {
            found.insert(key.clone(), Claim::Claimed(row.attempts));
        }
    }
    let others: Vec<&Key> = unique
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !found.contains_key(*k))
        .collect();
    if !others.is_empty() {
        let c = Columns::of(others.iter().copied());
        #[derive(sqlx::FromRow)]
        struct Status {
            #[sqlx(flatten)]
            key: KeyRow,
            status: String,
        }
        let rows: Vec<Status> = sqlx::query_as(
            "SELECT d.source_id, d.user_id, d.channel, d.target, d.status FROM notification_deliveries d \
             JOIN unnest($1::text[], $2::uuid[], $3::text[], $4::text[]) AS x(s, u, c, t) \
             ON d.source_id = x.s AND d.user_id = x.u AND d.channel = x.c AND d.target = x.t",
        )
        .bind(&c.sources)
        .bind(&c.users)
        .bind(&c.channels)
        .bind(&c.targets)
        .fetch_all(pool)
        .await
        .context("reading deliveries")?;
        for key in others {
            let status = rows
                .iter()
                .find(|r| r.key.matches(key))
                .map(|r| r.status.as_str());
            let claim = match status {
                Some("sent") => Claim::Sent,
                Some("pending") => Claim::Busy,
                _ => Claim::Settled,
            };
            found.insert(key.clone(), claim);
        }
    }
    Ok(keys
        .iter()
        .enumerate()
        .map(|(index, (key, _))| match first.get(key) {
            Some(i) if *i == index => found.get(key).copied().unwrap_or(Claim::Busy),
            _ => Claim::Busy,
        })
        .collect())
}

/// Settles claimed deliveries: `sent` or `failed` (with the error).
pub async fn finish_all(
    pool: &PgPool,
    rows: &[(Key, &'static str, Option<String>)],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = Columns::of(rows.iter().map(|(k, _, _)| k));
    let statuses: Vec<&str> = rows.iter().map(|(_, s, _)| *s).collect();
    let errors: Vec<Option<String>> = rows.iter().map(|(_, _, e)| e.clone()).collect();
    sqlx::query(
        "UPDATE notification_deliveries d SET status = x.st, last_error = coalesce(x.e, d.last_error), \
         claimed_until = NULL, updated_at = now() \
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(s, u, c, t, st, e) \
         WHERE d.source_id = x.s AND d.user_id = x.u AND d.channel = x.c AND d.target = x.t",
    )
    .bind(&c.sources)
    .bind(&c.users)
    .bind(&c.channels)
    .bind(&c.targets)
    .bind(&statuses)
    .bind(&errors)
    .execute(pool)
    .await
    .context("settling deliveries")?;
    Ok(())
}

/// Gives claimed deliveries back after a transient failure: still `pending`, lease released,
/// error recorded; the redelivered domain event tries again.
pub async fn release_all(pool: &PgPool, rows: &[(Key, String)]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = Columns::of(rows.iter().map(|(k, _)| k));
    let errors: Vec<&str> = rows.iter().map(|(_, e)| e.as_str()).collect();
    sqlx::query(
        "UPDATE notification_deliveries d SET last_error = x.e, claimed_until = NULL, updated_at = now() \
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[]) AS x(s, u, c, t, e) \
         WHERE d.source_id = x.s AND d.user_id = x.u AND d.channel = x.c AND d.target = x.t \
         AND d.status = 'pending'",
    )
    .bind(&c.sources)
    .bind(&c.users)
    .bind(&c.channels)
    .bind(&c.targets)
    .bind(&errors)
    .execute(pool)
    .await
    .context("releasing deliveries")?;
    Ok(())
}

/// Records channels that were not used (not configured, turned off), once each.
pub async fn skip_all(pool: &PgPool, rows: &[(Key, &str, &'static str)]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = Columns::of(rows.iter().map(|(k, _, _)| k));
    let kinds: Vec<&str> = rows.iter().map(|(_, k, _)| *k).collect();
    let reasons: Vec<&str> = rows.iter().map(|(_, _, r)| *r).collect();
    sqlx::query(
        "INSERT INTO notification_deliveries (source_id, user_id, channel, target, kind, status, last_error) \
         SELECT s, u, c, t, k, 'skipped', r \
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(s, u, c, t, k, r) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&c.sources)
    .bind(&c.users)
    .bind(&c.channels)
    .bind(&c.targets)
    .bind(&kinds)
    .bind(&reasons)
    .execute(pool)
    .await
    .context("recording skipped deliveries")?;
    Ok(())
}

/// One in-app notification to record.
pub struct InApp<'a> {
    pub source_id: &'a str,
    pub user_id: Uuid,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub data: &'a serde_json::Value,
}

/// The in-app notifications and their ledger rows, in one statement: how many were new.
pub async fn insert_in_app_all(pool: &PgPool, rows: &[InApp<'_>]) -> anyhow::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let sources: Vec<&str> = rows.iter().map(|r| r.source_id).collect();
    let users: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind).collect();
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|r| notification_id(r.source_id, r.user_id))
        .collect();
    let titles: Vec<&str> = rows.iter().map(|r| r.title).collect();
    let bodies: Vec<&str> = rows.iter().map(|r| r.body).collect();
    let data: Vec<serde_json::Value> = rows.iter().map(|r| r.data.clone()).collect();
    let inserted = sqlx::query(
        "WITH x AS (SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], \
         $6::text[], $7::jsonb[]) AS x(source_id, user_id, kind, id, title, body, data)), \
         d AS (INSERT INTO notification_deliveries (source_id, user_id, channel, target, kind, status, attempts) \
         SELECT DISTINCT ON (source_id, user_id) source_id, user_id, 'in_app', '', kind, 'sent', 1 FROM x \
         ON CONFLICT DO NOTHING RETURNING source_id, user_id) \
         INSERT INTO notifications (id, user_id, kind, title, body, data, source_id) \
         SELECT DISTINCT ON (x.id) x.id, x.user_id, x.kind, x.title, x.body, x.data, x.source_id \
         FROM x JOIN d USING (source_id, user_id) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&sources)
    .bind(&users)
    .bind(&kinds)
    .bind(&ids)
    .bind(&titles)
    .bind(&bodies)
    .bind(&data)
    .execute(pool)
    .await
    .context("inserting in-app notifications")?
    .rows_affected();
    Ok(inserted)
}

/// Deletes subscriptions their push service says are gone.
pub async fn delete_subscriptions(pool: &PgPool, ids: &[Uuid]) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query("DELETE FROM push_subscriptions WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await
        .context("deleting gone push subscriptions")?;
    Ok(())
}
