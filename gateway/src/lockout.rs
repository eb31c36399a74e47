//! Login lockout: after `threshold` failed logins for one email within the window, every attempt
//! is refused with `423` and `Retry-After` until the window has passed, even with the right
//! password. Counted by email whether or not an account has it, so the lockout reveals nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::ApiError;

pub struct Lockout<'a> {
    pub pool: &'a PgPool,
    pub threshold: u32,
    pub window: Duration,
}

impl Lockout<'_> {
    fn window_secs(&self) -> i64 {
        i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX / 2)
    }

    /// `423` while `email` is locked.
    pub async fn check(&self, email: &str) -> Result<(), ApiError> {
        let recent: Vec<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT failed_at FROM login_failures WHERE email = $1 AND failed_at > now() - make_interval(secs => $2) \
             ORDER BY failed_at DESC LIMIT $3",
        )
        .bind(email)
        .bind(self.window_secs() as f64)
        .bind(i64::from(self.threshold))
        .fetch_all(self.pool)
        .await?;
        if recent.len() < self.threshold as usize {
            return Ok(());
        }
        // Locked until the oldest of the last `threshold` failures leaves the window.
        let oldest = recent.last().copied().unwrap_or_else(Utc::now);
        let until = oldest + chrono::Duration::seconds(self.window_secs());
        let retry_after = (until - Utc::now()).num_seconds().max(1) as u64;
        Err(ApiError::Locked { retry_after })
    }

    pub async fn record_failure(&self, email: &str) -> Result<(), ApiError> {
        sqlx::query(
            "WITH pruned AS (DELETE FROM login_failures WHERE email = $1 AND failed_at < now() - make_interval(secs => $2)) \
             INSERT INTO login_failures (email) VALUES ($1)",
        )
        .bind(email)
        .bind(self.window_secs() as f64)
        .execute(self.pool)
        .await?;
        Ok(())
    }

    pub async fn clear(&self, email: &str) -> Result<(), ApiError> {
        sqlx::query("DELETE FROM login_failures WHERE email = $1")
            .bind(email)
            .execute(self.pool)
            .await?;
        Ok(())
    }
}
