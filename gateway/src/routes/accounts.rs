//! Accounts: register, log in, who am I.

use chrono::{DateTime, Utc};
use evently_runtime::identity::{self, Role};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::reply;
use crate::auth::current_user;
use crate::body::{Checks, parse_json};
use crate::error::ApiError;
use crate::state::{AppState, state};

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("auth/register").post(register))
        .push(Router::with_path("auth/login").post(login))
        .push(Router::with_path("me").get(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// A valid email address; unique, case-insensitive.
    pub email: String,
    /// 10 to 128 characters.
    pub password: String,
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
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

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
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

/// Register an account (role `attendee`) and get an access token.
#[endpoint(tags("accounts"), request_body = RegisterRequest, responses((status_code = 201, body = TokenOut)))]
pub async fn register(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let body: RegisterRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let email = body.email.trim().to_owned();
    let name = body.name.trim().to_owned();
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
            !name.is_empty() && name.chars().count() <= 200,
            "name",
            "must be 1 to 200 characters",
        )
        .finish()?;
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || identity::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let user = insert_user(&state, &email, &hash, &name, Role::Attendee).await?;
    let (access_token, expires_in) = state
        .keys
        .issue(user.id, Role::Attendee)
        .map_err(|e| ApiError::Internal(e.into()))?;
    reply(
        res,
        StatusCode::CREATED,
        &TokenOut {
            access_token,
            token_type: "Bearer",
            expires_in,
            user,
        },
    );
    Ok(())
}

async fn insert_user(
    state: &AppState,
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
    .fetch_one(&state.pool)
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
    id: Uuid,
    email: String,
    name: String,
    role: String,
    created_at: DateTime<Utc>,
    password_hash: String,
}

/// Log in with email and password.
#[endpoint(tags("accounts"), request_body = LoginRequest, responses((status_code = 200, body = TokenOut)))]
pub async fn login(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let body: LoginRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let found = sqlx::query_as::<_, Credentials>(
        "SELECT id, email, name, role, created_at, password_hash FROM users WHERE lower(email) = lower($1)",
    )
    .bind(body.email.trim())
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
    let Some(user) = found.filter(|_| ok) else {
        return Err(ApiError::Unauthorized);
    };
    let role = Role::parse(&user.role).unwrap_or(Role::Attendee);
    let (access_token, expires_in) = state
        .keys
        .issue(user.id, role)
        .map_err(|e| ApiError::Internal(e.into()))?;
    reply(
        res,
        StatusCode::OK,
        &TokenOut {
            access_token,
            token_type: "Bearer",
            expires_in,
            user: UserOut {
                id: user.id,
                email: user.email,
                name: user.name,
                role: user.role,
                created_at: user.created_at,
            },
        },
    );
    Ok(())
}

/// The caller's account.
#[endpoint(tags("accounts"), responses((status_code = 200, body = UserOut)))]
pub async fn me(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let user = current_user(depot)?;
    let state = state(depot)?;
    let found = sqlx::query_as::<_, UserOut>(
        "SELECT id, email, name, role, created_at FROM users WHERE id = $1",
    )
    .bind(user.id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::Unauthorized)?;
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
