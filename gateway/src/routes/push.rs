//! Web Push: the VAPID public key browsers subscribe with, and the caller's push subscriptions
//! (`{endpoint, keys: {p256dh, auth}}` as `PushSubscription.toJSON()` gives them). An endpoint
//! must be on an allowed push service (`evently_runtime::push_policy`), so that no user can make
//! the server post into its own network; the consumer checks it again, and its addresses, on send.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::reply;
use crate::auth::current_user;
use crate::body::{Checks, parse_json, path_id};
use crate::error::ApiError;
use crate::state::state;

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("push/public-key").get(push_public_key))
        .push(Router::with_path("me/push-subscriptions").post(subscribe))
        .push(Router::with_path("me/push-subscriptions/{id}").delete(unsubscribe))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyOut {
    /// base64url (unpadded) uncompressed P-256 point: `applicationServerKey` for
    /// `pushManager.subscribe`.
    pub public_key: String,
}

/// The VAPID public key. 404 when Web Push is not configured.
#[endpoint(tags("notifications"), responses((status_code = 200, body = PublicKeyOut)))]
pub async fn push_public_key(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let state = state(depot)?;
    let key = state
        .settings
        .notifications
        .vapid_private_key
        .as_ref()
        .ok_or(ApiError::NotFound(
            "push public key (Web Push is not configured)",
        ))?;
    let out = PublicKeyOut {
        public_key: evently_runtime::vapid::public_key(key)?,
    };
    reply(res, StatusCode::OK, &out);
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubscriptionKeys {
    /// base64url of the browser's P-256 public key (65 bytes, uncompressed).
    #[salvo(schema(pattern = "^B[A-Za-z0-9_-]{86}={0,1}$"))]
    pub p256dh: String,
    /// base64url of the 16-byte auth secret.
    #[salvo(schema(pattern = "^[A-Za-z0-9_-]{22}(==)?$"))]
    pub auth: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubscriptionRequest {
    /// The push service URL: https, on a push service's host the server allows (by default the major browsers': FCM, Mozilla, Apple, WNS), port 443; never an IP address.
    #[salvo(schema(format = "uri", pattern = "^https://", max_length = 2048))]
    pub endpoint: String,
    pub keys: SubscriptionKeys,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct SubscriptionOut {
    pub id: Uuid,
    pub endpoint: String,
    pub created_at: DateTime<Utc>,
}

fn decoded_len(value: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()
}

/// Registers (or refreshes) a push subscription of the caller.
#[endpoint(security(("bearer" = [])), tags("notifications"), request_body = SubscriptionRequest,
    responses((status_code = 201, body = SubscriptionOut)))]
pub async fn subscribe(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let body: SubscriptionRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let p256dh = decoded_len(&body.keys.p256dh);
    let auth = decoded_len(&body.keys.auth);
    let endpoint = state
        .settings
        .notifications
        .push_policy()?
        .check_endpoint(&body.endpoint)
        .err()
        .map(|refusal| refusal.to_string());
    Checks::default()
        .check(
            endpoint.is_none(),
            "endpoint",
            endpoint.as_deref().unwrap_or_default(),
        )
        .check(
            p256dh.is_some_and(|k| k.len() == 65 && k[0] == 4),
            "keys.p256dh",
            "must be the base64url uncompressed P-256 public key (65 bytes)",
        )
        .check(
            auth.is_some_and(|k| k.len() == 16),
            "keys.auth",
            "must be the base64url 16-byte auth secret",
        )
        .finish()?;
    let saved: SubscriptionOut = sqlx::query_as(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, endpoint) DO UPDATE SET p256dh = $4, auth = $5 \
         RETURNING id, endpoint, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(caller.id)
    .bind(&body.endpoint)
    .bind(body.keys.p256dh.trim_end_matches('='))
    .bind(body.keys.auth.trim_end_matches('='))
    .fetch_one(&state.pool)
    .await?;
    super::set_location(res, &format!("/api/v1/me/push-subscriptions/{}", saved.id));
    reply(res, StatusCode::CREATED, &saved);
    Ok(())
}

/// Removes one of the caller's push subscriptions.
#[endpoint(security(("bearer" = [])), tags("notifications"), parameters(("id" = Uuid, Path)),
    responses((status_code = 204)))]
pub async fn unsubscribe(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "push subscription")?;
    let deleted = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(caller.id)
        .execute(&state.pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(ApiError::NotFound("push subscription"));
    }
    res.status_code(StatusCode::NO_CONTENT);
    Ok(())
}
