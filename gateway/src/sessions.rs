//! Sessions: a short-lived access token (JWT) plus an opaque refresh token stored hashed in
//! PostgreSQL. Refreshing rotates the refresh token within its family; presenting a token that was
//! already rotated means it was copied, so the whole family is revoked (theft detection).
//!
//! The web app keeps its refresh token out of reach of scripts: with `Evently-Session: cookie` the
//! token travels in the `evently_refresh` cookie (`HttpOnly; Secure; SameSite=Strict`, scoped to
//! `/api/v1/auth`) instead of the JSON body. Other clients keep the JSON flow.

use std::fmt::Write as _;

use chrono::{Duration, Utc};
use evently_runtime::identity::Role;
use salvo::http::cookie::{Cookie, SameSite};
use salvo::oapi::ToSchema;
use salvo::{Request, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// An access token and the refresh token that renews it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque; exchange it at `POST /auth/refresh` for a new pair. Single use. Absent with
    /// `Evently-Session: cookie`: then it is in the `evently_refresh` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

/// A new random refresh token: 256 bits, hex.
fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Issues a pair for a user: in `family` when rotating, else in a new family (a new login).
pub async fn issue(
    state: &AppState,
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    role: Role,
    family: Option<Uuid>,
) -> Result<TokenPair, ApiError> {
    let (access_token, expires_in) = state
        .keys
        .issue(user_id, role)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let refresh_token = new_refresh_token();
    let ttl = state.settings.security.refresh_token_ttl_secs;
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(family.unwrap_or_else(Uuid::now_v7))
    .bind(user_id)
    .bind(digest(&refresh_token))
    .bind(Utc::now() + Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX / 2)))
    .execute(&mut **tx)
    .await?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token: Some(refresh_token),
        refresh_expires_in: ttl,
    })
}

/// Exchanges a refresh token for a new pair. Returns the user id with the pair.
pub async fn rotate(state: &AppState, presented: &str) -> Result<(Uuid, TokenPair), ApiError> {
    let hash = digest(presented);
    let mut tx = state.pool.begin().await?;
    let current: Option<(Uuid, Uuid, String)> = sqlx::query_as(
        "UPDATE refresh_tokens t SET used_at = now() FROM users u \
         WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now() \
         AND u.id = t.user_id RETURNING t.family_id, t.user_id, u.role",
    )
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((family, user_id, role)) = current else {
        tx.rollback().await?;
        revoke_if_reused(&state.pool, &hash).await?;
        return Err(ApiError::Unauthorized);
    };
    let role = Role::parse(&role).unwrap_or(Role::Attendee);
    let pair = issue(state, &mut tx, user_id, role, Some(family)).await?;
    tx.commit().await?;
    Ok((user_id, pair))
}

/// A rotated token presented again was stolen (or the client is confused): end the family.
async fn revoke_if_reused(pool: &PgPool, hash: &[u8]) -> Result<(), ApiError> {
    let revoked = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = \
         (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL)",
    )
    .bind(hash)
    .execute(pool)
    .await?;
    if revoked.rows_affected() > 0 {
        tracing::warn!(
            revoked = revoked.rows_affected(),
            "a used refresh token was presented again: its family is revoked"
        );
        metrics::counter!("evently_refresh_token_reuse_total").increment(1);
    }
    Ok(())
}

/// Revokes the family of `presented` when it belongs to `user_id`. Says nothing either way.
pub async fn revoke(pool: &PgPool, presented: &str, user_id: Uuid) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = \
         (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2)",
    )
    .bind(digest(presented))
    .bind(user_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The cookie that carries the refresh token of a browser session.
pub const REFRESH_COOKIE: &str = "evently_refresh";
/// The request header by which a client asks for the cookie flow (`Evently-Session: cookie`).
pub const SESSION_HEADER: &str = "evently-session";
/// Only the auth routes ever see the cookie.
const COOKIE_PATH: &str = "/api/v1/auth";

/// Where a client keeps its refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// In the JSON body (API clients).
    Body,
    /// In the `evently_refresh` cookie (the web app).
    Cookie,
}

impl Delivery {
    /// What the request asks for: `Evently-Session: cookie`, else the JSON body.
    pub fn requested(req: &Request) -> Self {
        let cookie = req
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("cookie"));
        if cookie { Self::Cookie } else { Self::Body }
    }

    /// Puts the refresh token where the client keeps it: in cookie mode it is moved out of the
    /// body into the cookie.
    pub fn deliver(self, res: &mut Response, tokens: &mut TokenPair) {
        if self == Self::Cookie
            && let Some(token) = tokens.refresh_token.take()
        {
            let max_age = i64::try_from(tokens.refresh_expires_in).unwrap_or(i64::MAX / 2);
            res.add_cookie(refresh_cookie(token, max_age));
        }
    }
}

fn refresh_cookie(value: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build((REFRESH_COOKIE, value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path(COOKIE_PATH)
        .max_age(salvo::http::cookie::time::Duration::seconds(max_age_secs))
        .build()
}

/// Tells the browser to forget the refresh cookie (`Max-Age=0`).
pub fn clear_cookie(res: &mut Response) {
    res.add_cookie(refresh_cookie(String::new(), 0));
}

/// A refresh token a client presented, and whether it came in the cookie.
pub struct Presented {
    pub token: String,
    pub from_cookie: bool,
}

impl Presented {
    /// The token from the JSON body, else from the cookie; `None` when there is neither.
    pub fn find(req: &Request, from_body: Option<String>) -> Option<Self> {
        if let Some(token) = from_body.filter(|t| !t.trim().is_empty()) {
            return Some(Self {
                token: token.trim().to_owned(),
                from_cookie: false,
            });
        }
        req.cookie(REFRESH_COOKIE)
            .map(|c| c.value().trim())
            .filter(|v| !v.is_empty())
            .map(|v| Self {
                token: v.to_owned(),
                from_cookie: true,
            })
    }

    /// How to answer: a token that came in the cookie is renewed in the cookie, whatever the
    /// header says, or the browser would keep a used token (and its next refresh would revoke
    /// the session).
    pub fn delivery(&self, req: &Request) -> Delivery {
        if self.from_cookie {
            Delivery::Cookie
        } else {
            Delivery::requested(req)
        }
    }
}
