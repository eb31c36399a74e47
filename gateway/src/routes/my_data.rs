//! People's data. `GET /me/export`: everything Evently holds about the caller as one JSON
//! document. Each table's rows are exported whole (`to_jsonb`), so a column added later is
//! exported too; only secrets are left out (the password hash, refresh-token hashes, push
//! subscriptions' keys) and other people's ids (who checked a ticket in).
//!
//! `DELETE /me {password}`: the account is deleted. In one transaction the name and email are
//! shredded, the password can never match again, refresh tokens, push subscriptions,
//! notification history and preferences and failed logins are removed, and the cancellation of
//! every upcoming booking and the leaving of every open waitlist entry are written to the outbox:
//! the pipeline applies them like the holder's own requests (seats go to the waitlist, paid
//! bookings are refunded). Bookings, payments, refunds and tickets stay, owned
//! by the anonymised account, so the accounting still adds up; attendee lists and notifications
//! leave deleted accounts out.

use chrono::Utc;
use evently_runtime::identity;
use evently_schemas::{BookingCommand, CancelBooking, LeaveWaitlist};
use salvo::http::{HeaderValue, StatusCode, header};
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::reply;
use crate::auth::current_user;
use crate::body::parse_json;
use crate::error::ApiError;
use crate::outbox;
use crate::state::state;

pub fn router() -> Router {
    Router::with_path("me")
        .delete(delete_account)
        .push(Router::with_path("export").get(export))
}

/// One array of a table's rows, oldest first.
const EXPORT: &str = "SELECT jsonb_build_object(
    'exported_at', now(),
    'account', (SELECT to_jsonb(u) - 'password_hash' FROM users u WHERE u.id = $1),
    'bookings', (SELECT coalesce(jsonb_agg(to_jsonb(b) ORDER BY b.created_at, b.id), '[]')
        FROM bookings b WHERE b.user_id = $1),
    'payments', (SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.created_at, p.id), '[]')
        FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE b.user_id = $1),
    'refunds', (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.created_at), '[]')
        FROM refunds r JOIN bookings b ON b.id = r.booking_id WHERE b.user_id = $1),
    'tickets', (SELECT coalesce(jsonb_agg(to_jsonb(t) - 'checked_in_by' ORDER BY t.created_at, t.id), '[]')
        FROM tickets t WHERE t.user_id = $1),
    'waitlist_entries', (SELECT coalesce(jsonb_agg(to_jsonb(w) ORDER BY w.created_at, w.id), '[]')
        FROM waitlist_entries w WHERE w.user_id = $1),
    'notifications', (SELECT coalesce(jsonb_agg(to_jsonb(n) ORDER BY n.created_at, n.id), '[]')
        FROM notifications n WHERE n.user_id = $1),
    'notification_deliveries', (SELECT coalesce(jsonb_agg(to_jsonb(d) - 'claimed_until'
            ORDER BY d.created_at, d.source_id, d.channel, d.target), '[]')
        FROM notification_deliveries d WHERE d.user_id = $1),
    'notification_preferences', (SELECT to_jsonb(p) FROM notification_preferences p WHERE p.user_id = $1),
    'push_subscriptions', (SELECT coalesce(jsonb_agg(to_jsonb(s) - 'p256dh' - 'auth' ORDER BY s.created_at), '[]')
        FROM push_subscriptions s WHERE s.user_id = $1),
    'sessions', (SELECT coalesce(jsonb_agg(to_jsonb(r) - 'token_hash' ORDER BY r.created_at), '[]')
        FROM refresh_tokens r WHERE r.user_id = $1),
    'failed_logins', (SELECT coalesce(jsonb_agg(f.failed_at ORDER BY f.failed_at), '[]')
        FROM login_failures f JOIN users u ON lower(f.email) = lower(u.email) WHERE u.id = $1),
    'organised_events', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'name', e.name,
            'starts_at', e.starts_at, 'status', e.status) ORDER BY e.starts_at), '[]')
        FROM events e WHERE e.organizer_id = $1)
)";

/// Everything Evently holds about the caller (account, bookings, payments, refunds, tickets,
/// waitlist entries, notifications and their deliveries, preferences, push subscriptions,
/// sessions, failed logins, events they organise), as a JSON download.
#[endpoint(security(("bearer" = [])), tags("accounts"), responses((status_code = 200, description = "application/json: the caller's data, one array per kind")))]
pub async fn export(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let document: serde_json::Value = sqlx::query_scalar(EXPORT)
        .bind(caller.id)
        .fetch_one(&state.pool)
        .await?;
    reply(res, StatusCode::OK, &document);
    let name = format!(
        "attachment; filename=\"evently-data-{}.json\"",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(())
}

/// The account's password, asked again before it is deleted.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteAccount {
    pub password: String,
}

/// Deletes the caller's account (see the module's documentation for what goes and what stays):
/// 204. The password must be given again (422 naming `password` when it does not match); the
/// last admin, and an organiser of events not yet over, are refused with 409.
#[endpoint(security(("bearer" = [])), tags("accounts"), request_body = DeleteAccount, responses((status_code = 204, description = "the account is deleted")))]
pub async fn delete_account(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let body: DeleteAccount = parse_json(req, state.settings.max_body_bytes).await?;
    let found: Option<(String, String, String)> = sqlx::query_as(
        "SELECT password_hash, role, email FROM users WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(caller.id)
    .fetch_optional(&state.pool)
    .await?;
    let Some((hash, role, email)) = found else {
        return Err(ApiError::NotFound("account"));
    };
    let password = body.password;
    let matches = tokio::task::spawn_blocking(move || identity::verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !matches {
        return Err(ApiError::field(
            "password",
            "does not match this account's password",
        ));
    }
    if role == "admin" {
        let admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM users WHERE role = 'admin' AND deleted_at IS NULL",
        )
        .fetch_one(&state.pool)
        .await?;
        if admins <= 1 {
            return Err(ApiError::Conflict(
                "the last admin cannot delete their account: make another admin first".into(),
            ));
        }
    }
    let organising: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE organizer_id = $1 AND status = 'active' AND ends_at > now()",
    )
    .bind(caller.id)
    .fetch_one(&state.pool)
    .await?;
    if organising > 0 {
        return Err(ApiError::Conflict(format!(
            "you organise {organising} event(s) not yet over: cancel them, or ask an admin to, first"
        )));
    }
    // One transaction: the shredding, and the cancellations and waitlist leaves as outbox rows
    // (published after the commit, by the sweeper if NATS is away), so the account is never half
    // deleted, and a cancellation is never told to the person at their old address.
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let bookings: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT b.id, b.event_id FROM bookings b JOIN events e ON e.id = b.event_id \
         WHERE b.user_id = $1 AND b.status IN ('held', 'confirmed', 'waitlisted') AND e.starts_at > now()",
    )
    .bind(caller.id)
    .fetch_all(&mut *tx)
    .await?;
    let entries: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, event_id FROM waitlist_entries WHERE user_id = $1 AND status IN ('waiting', 'offered')",
    )
    .bind(caller.id)
    .fetch_all(&mut *tx)
    .await?;
    let commands = bookings
        .into_iter()
        .map(|(booking_id, event_id)| {
            BookingCommand::Cancel(CancelBooking {
                booking_id,
                event_id,
                requested_by: caller.id,
                requested_at: now,
            })
        })
        .chain(entries.into_iter().map(|(entry_id, event_id)| {
            BookingCommand::LeaveWaitlist(LeaveWaitlist {
                entry_id,
                event_id,
                requested_by: caller.id,
                requested_at: now,
            })
        }));
    let mut queued = Vec::new();
    for command in commands {
        let subject = state.prefix.command(&command);
        queued.push(outbox::enqueue(&mut tx, subject, command.command_id(), &command).await?);
    }
    sqlx::query(
        "UPDATE users SET name = 'Deleted account', email = 'deleted-' || id || '@deleted.invalid', \
         password_hash = '!deleted', deleted_at = now() WHERE id = $1",
    )
    .bind(caller.id)
    .execute(&mut *tx)
    .await?;
    for table in [
        "refresh_tokens",
        "push_subscriptions",
        "notifications",
        "notification_deliveries",
        "notification_preferences",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_id = $1"
        )))
        .bind(caller.id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM login_failures WHERE lower(email) = lower($1)")
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    outbox::publish_after_commit(&state, queued);
    tracing::info!(user_id = %caller.id, "account deleted");
    metrics::counter!("evently_accounts_deleted_total").increment(1);
    res.status_code(StatusCode::NO_CONTENT);
    Ok(())
}
