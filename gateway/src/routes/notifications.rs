//! The caller's notifications: the in-app list (cursor-paginated, `unread=true` for unread only),
//! marking one read, and the channel preferences. Users only ever see their own.

use chrono::{DateTime, Utc};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::reply;
use crate::auth::current_user;
use crate::body::{parse_json, path_id};
use crate::error::ApiError;
use crate::pagination::{Page, PageRequest};
use crate::state::state;

pub fn router() -> Router {
    Router::with_path("me")
        .push(Router::with_path("notifications").get(my_notifications))
        .push(Router::with_path("notifications/{id}/read").post(mark_read))
        .push(
            Router::with_path("notification-preferences")
                .get(get_preferences)
                .put(put_preferences),
        )
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct NotificationOut {
    pub id: Uuid,
    /// What it is about: `booking_confirmed`, `booking_held`, `booking_cancelled`,
    /// `booking_expired`, `event_cancelled`, `event_updated`, `waitlist_offered`, `tickets_issued`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Ids it refers to (`booking.id`, `entry.id`, ...).
    #[salvo(schema(value_type = Object))]
    pub data: serde_json::Value,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, kind, title, body, data, read_at, created_at";

/// The caller's in-app notifications, newest first; `unread=true` for unread ones only.
#[endpoint(security(("bearer" = [])), tags("notifications"),
    parameters(("unread" = Option<bool>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status_code = 200, body = Page<NotificationOut>)))]
pub async fn my_notifications(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let page = PageRequest::from_request(req)?;
    let unread = match req.query::<String>("unread").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::field("unread", "must be true or false")),
    };
    let (after_at, after_id) = page.after.unzip();
    let rows: Vec<NotificationOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL) \
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    )))
    .bind(caller.id)
    .bind(unread)
    .bind(after_at)
    .bind(after_id)
    .bind(page.limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let out = page.page(rows, |r| (r.created_at, r.id), |r| r);
    reply(res, StatusCode::OK, &out);
    Ok(())
}

/// Marks one of the caller's notifications read (again: no change).
#[endpoint(security(("bearer" = [])), tags("notifications"), parameters(("id" = Uuid, Path)),
    responses((status_code = 200, body = NotificationOut)))]
pub async fn mark_read(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "notification")?;
    let row: Option<NotificationOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = $1 AND user_id = $2 \
         RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(caller.id)
    .fetch_optional(&state.pool)
    .await?;
    let row = row.ok_or(ApiError::NotFound("notification"))?;
    reply(res, StatusCode::OK, &row);
    Ok(())
}

/// Which channels the caller is notified on. All are on until turned off.
#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    pub email: bool,
    pub push: bool,
    pub in_app: bool,
}

/// The caller's notification channels.
#[endpoint(security(("bearer" = [])), tags("notifications"), responses((status_code = 200, body = Preferences)))]
pub async fn get_preferences(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let prefs: Option<Preferences> = sqlx::query_as(
        "SELECT email, push, in_app FROM notification_preferences WHERE user_id = $1",
    )
    .bind(caller.id)
    .fetch_optional(&state.pool)
    .await?;
    let prefs = prefs.unwrap_or(Preferences {
        email: true,
        push: true,
        in_app: true,
    });
    reply(res, StatusCode::OK, &prefs);
    Ok(())
}

/// Sets the caller's notification channels (all three fields).
#[endpoint(security(("bearer" = [])), tags("notifications"), request_body = Preferences,
    responses((status_code = 200, body = Preferences)))]
pub async fn put_preferences(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let body: Preferences = parse_json(req, state.settings.max_body_bytes).await?;
    let saved: Preferences = sqlx::query_as(
        "INSERT INTO notification_preferences (user_id, email, push, in_app) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET email = $2, push = $3, in_app = $4, updated_at = now() \
         RETURNING email, push, in_app",
    )
    .bind(caller.id)
    .bind(body.email)
    .bind(body.push)
    .bind(body.in_app)
    .fetch_one(&state.pool)
    .await?;
    reply(res, StatusCode::OK, &saved);
    Ok(())
}
