//! Accounts: register, log in (with lockout), refresh (rotating), log out, who am I. Every
//! `/auth/*` route is rate-limited per client address. With `Evently-Session: cookie` the refresh
//! token travels in an `HttpOnly` cookie instead of the body (`sessions::Delivery`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use evently_runtime::identity::{self, Role};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::reply;
use crate::auth::{client_ip, current_user};
use crate::body::{Checks, parse_json, parse_optional_json};
use crate::error::ApiError;
use crate::lockout::Lockout;
use crate::sessions::{self, Delivery, Presented, TokenPair};
use crate::state::{AppState, state};

pub fn router() -> Router {
    Router::new()
        .push(
            Router::with_path("auth")
                .hoop(limit_by_address)
                .push(Router::with_path("register").post(register))
                .push(Router::with_path("login").post(login))
                .push(Router::with_path("refresh").post(refresh))
                .push(Router::with_path("logout").post(logout)),
        )
        .push(Router::with_path("me").get(me))
}

/// Every `/auth/*` request counts against its client address.
#[handler]
async fn limit_by_address(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let checked = match state(depot) {
        Ok(state) => {
            let security = &state.settings.security;
            let key = format!("auth:{}", client_ip(req, security.trust_forwarded_for));
            state
                .limiter
                .check(
                    key,
                    security.auth_rate_limit,
                    Duration::from_secs(security.auth_rate_window_secs),
                )
                .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = checked {
        e.write(req, depot, res).await;
        ctrl.skip_rest();
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// A valid email address; unique, case-insensitive.
    #[salvo(schema(format = "email", max_length = 254))]
    pub email: String,
    /// 10 to 128 characters, not a commonly used password.
    #[salvo(schema(min_length = 10, max_length = 128))]
    pub password: String,
    #[salvo(schema(min_length = 1, max_length = 200))]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The refresh token; may be left out (or the body be empty) when it is in the `evently_refresh`
/// cookie.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[serde(default)]
    #[salvo(schema(min_length = 1, max_length = 200))]
    pub refresh_token: Option<String>,
}

/// The refresh token of a refresh or logout request: from the body, else from the cookie.
async fn presented(req: &mut Request, state: &AppState) -> Result<Presented, ApiError> {
    let body: Option<RefreshRequest> =
        parse_optional_json(req, state.settings.max_body_bytes).await?;
    let from_body = body.and_then(|b| b.refresh_token);
    if let Some(token) = &from_body {
        Checks::default()
            .check(
                !token.trim().is_empty() && token.chars().count() <= 200,
                "refresh_token",
                "must be 1 to 200 characters",
            )
            .finish()?;
    }
    Presented::find(req, from_body).ok_or_else(|| {
        ApiError::field(
            "refresh_token",
            "missing: send it in the body, or in the evently_refresh cookie",
        )
    })
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// `attendee`, `organizer` or `admin`.
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// A token pair and the user it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    #[serde(flatten)]
    pub tokens: TokenPair,
    pub user: UserOut,
}

pub const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 128;

fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.len() <= 254
}

/// Whether a password is on the list of the most common ones (compared case-insensitively).
fn is_common_password(password: &str) -> bool {
    let lower = password.to_lowercase();
    include_str!("../common_passwords.txt")
        .lines()
        .any(|p| p == lower)
}

async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || identity::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(ApiError::Internal)
}

/// Register an account (role `attendee`) and get a token pair.
#[endpoint(tags("accounts"), parameters(("Evently-Session" = Option<String>, Header, description = "`cookie`: the refresh token is set in, and read from, the `evently_refresh` cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/v1/auth) and left out of the body")), request_body = RegisterRequest, responses((status_code = 201, body = SessionOut)))]
pub async fn register(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let body: RegisterRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let email = body.email.trim().to_owned();
    let name = body.name.trim().to_owned();
    let local_part = email.split('@').next().unwrap_or_default().to_lowercase();
    Checks::default()
        .check(
            plausible_email(&email),
            "email",
            "must be a valid email address",
        )
        .check(
            (MIN_PASSWORD..=MAX_PASSWORD).contains(&body.password.chars().count()),
            "password",
            "must be 10 to 128 characters",
        )
        .check(
            !is_common_password(&body.password),
            "password",
            "is too common; choose another",
        )
        .check(
            local_part.len() < 4 || !body.password.to_lowercase().contains(&local_part),
            "password",
            "must not contain your email address",
        )
        .check(
            !name.is_empty() && name.chars().count() <= 200,
            "name",
            "must be 1 to 200 characters",
        )
        .finish()?;
    let hash = hash(body.password).await?;
    let mut tx = state.pool.begin().await?;
    let user = insert_user(&mut tx, &email, &hash, &name, Role::Attendee).await?;
    let mut tokens = sessions::issue(&state, &mut tx, user.id, Role::Attendee, None).await?;
    tx.commit().await?;
    Delivery::requested(req).deliver(res, &mut tokens);
    tracing::info!(user_id = %user.id, "account registered");
    reply(res, StatusCode::CREATED, &SessionOut { tokens, user });
    Ok(())
}

async fn insert_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    email: &str,
    hash: &str,
    name: &str,
    role: Role,
) -> Result<UserOut, ApiError> {
    sqlx::query_as::<_, UserOut>(
        "INSERT INTO users (id, email, password_hash, name, role) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, email, name, role, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(hash)
    .bind(name)
    .bind(role.as_str())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("users_email_key") => {
            ApiError::Conflict("an account with this email already exists".into())
        }
        _ => e.into(),
    })
}

#[derive(sqlx::FromRow)]
struct Credentials {
    #[sqlx(flatten)]
    user: UserOut,
    password_hash: String,
}

fn lockout(state: &AppState) -> Lockout<'_> {
    Lockout {
        pool: &state.pool,
        threshold: state.settings.security.lockout_threshold,
        window: Duration::from_secs(state.settings.security.lockout_window_secs),
    }
}

/// Log in with email and password. `401` on bad credentials (the same for an unknown email),
/// `423` with `Retry-After` while the account is locked after repeated failures.
#[endpoint(tags("accounts"), parameters(("Evently-Session" = Option<String>, Header, description = "`cookie`: the refresh token is set in, and read from, the `evently_refresh` cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/v1/auth) and left out of the body")), request_body = LoginRequest, responses((status_code = 200, body = SessionOut)))]
pub async fn login(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let body: LoginRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let email = body.email.trim().to_lowercase();
    let lockout = lockout(&state);
    lockout.check(&email).await?;
    let found = sqlx::query_as::<_, Credentials>(
        "SELECT id, email, name, role, created_at, password_hash FROM users WHERE lower(email) = $1",
    )
    .bind(&email)
    .fetch_optional(&state.pool)
    .await?;
    // Verify against a dummy hash for unknown emails: same work, same answer, no enumeration.
    let hash = found
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| identity::dummy_hash().to_owned());
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || identity::verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let Some(Credentials { user, .. }) = found.filter(|_| ok) else {
        lockout.record_failure(&email).await?;
        metrics::counter!("evently_logins_total", "outcome" => "failed").increment(1);
        return Err(ApiError::Unauthorized);
    };
    lockout.clear(&email).await?;
    let role = Role::parse(&user.role).unwrap_or(Role::Attendee);
    let mut tx = state.pool.begin().await?;
    let mut tokens = sessions::issue(&state, &mut tx, user.id, role, None).await?;
    tx.commit().await?;
    Delivery::requested(req).deliver(res, &mut tokens);
    metrics::counter!("evently_logins_total", "outcome" => "ok").increment(1);
    reply(res, StatusCode::OK, &SessionOut { tokens, user });
    Ok(())
}

/// Exchange a refresh token for a new pair. Each refresh token works once: presenting a used one
/// revokes every token of its session. The token comes from the body, else from the
/// `evently_refresh` cookie (then the new one is set in the cookie, and a refused one cleared).
#[endpoint(tags("accounts"), parameters(("Evently-Session" = Option<String>, Header, description = "`cookie`: the refresh token is set in, and read from, the `evently_refresh` cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/v1/auth) and left out of the body")), request_body = Option<RefreshRequest>, responses((status_code = 200, body = SessionOut)))]
pub async fn refresh(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let presented = presented(req, &state).await?;
    let delivery = presented.delivery(req);
    let rotated = match sessions::rotate(&state, &presented.token).await {
        Ok(rotated) => rotated,
        Err(e) => {
            if presented.from_cookie {
                sessions::clear_cookie(res);
            }
            return Err(e);
        }
    };
    let (user_id, mut tokens) = rotated;
    let user = load_user(&state, user_id).await?;
    delivery.deliver(res, &mut tokens);
    reply(res, StatusCode::OK, &SessionOut { tokens, user });
    Ok(())
}

/// Log out: revokes the refresh token (from the body, else from the `evently_refresh` cookie) and
/// every token rotated from the same login; clears the cookie.
#[endpoint(tags("accounts"), security(("bearer" = [])), parameters(("Evently-Session" = Option<String>, Header, description = "`cookie`: the refresh token is set in, and read from, the `evently_refresh` cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/v1/auth) and left out of the body")), request_body = Option<RefreshRequest>, responses((status_code = 204)))]
pub async fn logout(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let presented = presented(req, &state).await?;
    sessions::revoke(&state.pool, &presented.token, caller.id).await?;
    if presented.delivery(req) == Delivery::Cookie {
        sessions::clear_cookie(res);
    }
    res.status_code(StatusCode::NO_CONTENT);
    Ok(())
}

async fn load_user(state: &AppState, id: Uuid) -> Result<UserOut, ApiError> {
    sqlx::query_as::<_, UserOut>(
        "SELECT id, email, name, role, created_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::Unauthorized)
}

/// The caller's account.
#[endpoint(tags("accounts"), security(("bearer" = [])), responses((status_code = 200, body = UserOut)))]
pub async fn me(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let user = current_user(depot)?;
    let state = state(depot)?;
    let found = load_user(&state, user.id).await?;
    reply(res, StatusCode::OK, &found);
    Ok(())
}

/// Creates the first admin from settings, or makes an existing account with that email an admin.
pub async fn ensure_admin(
    pool: &sqlx::PgPool,
    email: &str,
    password: &str,
) -> anyhow::Result<Uuid> {
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || identity::hash_password(&password)).await??;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO users (id, email, password_hash, name, role) VALUES ($1, $2, $3, 'Administrator', 'admin') \
         ON CONFLICT (lower(email)) DO UPDATE SET role = 'admin' RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(email.trim())
    .bind(hash)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn common_passwords_are_recognised_whatever_their_case() {
        assert!(super::is_common_password("Password123"));
        assert!(super::is_common_password("qwertyuiop"));
        assert!(!super::is_common_password("correct horse battery staple"));
    }
}
