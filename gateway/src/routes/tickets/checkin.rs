//! Check-in at the door: `POST /events/{id}/checkin {qr_payload}` by the event's organizer or an
//! admin. The signature is verified first (offline-capable, no database read), then one
//! conditional `UPDATE ... WHERE checked_in_at IS NULL AND status = 'valid'` admits the ticket:
//! of any number of concurrent scans of one ticket, exactly one gets the row. Its
//! `ticket.checked_in` event is written to the outbox in the same transaction and published after
//! the answer (by the sweeper when that fails).

use chrono::{DateTime, Utc};
use evently_runtime::tickets::VerifyError;
use evently_runtime::tickets::signing::MAX_PAYLOAD_CHARS;
use salvo::http::{HeaderValue, StatusCode, header};
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::current_user;
use crate::body::{parse_json, path_id};
use crate::error::{ApiError, Problem};
use crate::routes::reply;
use crate::state::state;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    /// The QR code's content, as scanned.
    pub qr_payload: String,
}

/// An admitted ticket.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct CheckinOut {
    pub ticket_id: Uuid,
    pub booking_id: Uuid,
    pub ticket_number: String,
    pub seat_index: i32,
    pub checked_in_at: DateTime<Utc>,
    /// The particular seat, for a seated event.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[salvo(schema(value_type = Option<super::TicketSeatOut>))]
    pub seat: Option<sqlx::types::Json<super::TicketSeatOut>>,
}

/// A 409: the ticket was already used.
#[derive(Debug, Serialize)]
struct AlreadyUsed {
    #[serde(flatten)]
    problem: Problem,
    ticket_id: Uuid,
    ticket_number: String,
    first_checked_in_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Stored {
    status: String,
    ticket_number: String,
    checked_in_at: Option<DateTime<Utc>>,
}

fn outcome(label: &'static str) {
    metrics::counter!("evently_checkins_total", "outcome" => label).increment(1);
}

fn refuse(label: &'static str, message: &str) -> ApiError {
    outcome(label);
    ApiError::field("qr_payload", message)
}

/// Admit a ticket (the event's organizer or an admin): 200 the first time, 409 with
/// `first_checked_in_at` afterwards, 422 for a forged or garbled code, a ticket of another event
/// or a voided ticket.
#[endpoint(security(("bearer" = [])), tags("tickets"), parameters(("id" = Uuid, Path)), request_body = CheckinRequest, responses((status_code = 200, body = CheckinOut)))]
pub async fn checkin(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let organizer: Option<Uuid> =
        sqlx::query_scalar("SELECT organizer_id FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(&state.pool)
            .await?;
    let organizer = organizer.ok_or(ApiError::NotFound("event"))?;
    if !caller.owns_or_admin(organizer) {
        return Err(ApiError::Forbidden(
            "only the event's organizer or an admin may check tickets in",
        ));
    }
    let body: CheckinRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let payload = body.qr_payload.trim();
    if payload.is_empty() || payload.len() > MAX_PAYLOAD_CHARS {
        return Err(refuse(
            "malformed",
            &format!("must be a ticket code of 1 to {MAX_PAYLOAD_CHARS} characters"),
        ));
    }
    let claims = state.tickets.verify(payload).map_err(|e| match e {
        VerifyError::Malformed | VerifyError::Version => refuse("malformed", &e.to_string()),
        VerifyError::UnknownKey | VerifyError::Signature => refuse("forged", &e.to_string()),
    })?;
    if claims.event_id != event_id {
        return Err(refuse("other_event", "the ticket is for another event"));
    }
    // The admission and its event for the pipeline commit together (the outbox), so the event
    // reaches the stream however long NATS is away.
    let mut tx = state.pool.begin().await?;
    let admitted: Option<CheckinOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE tickets t SET checked_in_at = clock_timestamp(), checked_in_by = $3 \
         WHERE t.id = $1 AND t.event_id = $2 AND t.checked_in_at IS NULL AND t.status = 'valid' \
         RETURNING t.id AS ticket_id, t.booking_id, t.ticket_number, t.seat_index, t.checked_in_at, \
         {} AS seat",
        evently_runtime::tickets::TICKET_SEAT
    )))
    .bind(claims.ticket_id)
    .bind(event_id)
    .bind(caller.id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(admitted) = admitted {
        let queued = queue_checked_in(&state, &mut tx, &admitted, event_id, caller.id).await?;
        tx.commit().await?;
        outcome("admitted");
        tracing::info!(ticket_id = %admitted.ticket_id, event_id = %event_id, "ticket checked in");
        // The door does not wait on the broker: the admission is committed, and the sweeper
        // publishes the row if this does not.
        crate::outbox::publish_after_commit(&state, vec![queued]);
        reply(res, StatusCode::OK, &admitted);
        return Ok(());
    }
    tx.rollback().await?;
    let stored: Option<Stored> = sqlx::query_as(
        "SELECT status, ticket_number, checked_in_at FROM tickets WHERE id = $1 AND event_id = $2",
    )
    .bind(claims.ticket_id)
    .bind(event_id)
    .fetch_optional(&state.pool)
    .await?;
    match stored {
        None => Err(refuse("unknown", "no such ticket for this event")),
        Some(s) if s.status != "valid" => Err(refuse(
            "void",
            "the ticket was voided (its booking was cancelled)",
        )),
        Some(Stored {
            ticket_number,
            checked_in_at: Some(first),
            ..
        }) => {
            outcome("already_used");
            let problem = ApiError::Conflict(format!(
                "ticket {ticket_number} was already checked in at {}",
                first.to_rfc3339()
            ))
            .problem();
            reply(
                res,
                StatusCode::CONFLICT,
                &AlreadyUsed {
                    problem,
                    ticket_id: claims.ticket_id,
                    ticket_number,
                    first_checked_in_at: first,
                },
            );
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            Ok(())
        }
        Some(_) => Err(ApiError::Conflict(
            "the ticket changed during the scan; scan again".into(),
        )),
    }
}

/// Writes the `ticket.checked_in` event (analytics' check-in rate) to the outbox, in the
/// admission's transaction.
async fn queue_checked_in(
    state: &crate::state::AppState,
    tx: &mut sqlx::PgConnection,
    admitted: &CheckinOut,
    event_id: Uuid,
    by: Uuid,
) -> Result<evently_runtime::outbox::OutboxRow, ApiError> {
    let event = evently_schemas::TicketCheckedIn {
        ticket_id: admitted.ticket_id,
        booking_id: admitted.booking_id,
        event_id,
        checked_in_by: by,
        occurred_at: admitted.checked_in_at,
    };
    crate::outbox::enqueue(
        tx,
        state.prefix.ticket_checked_in(event_id),
        event.message_id(),
        &event,
    )
    .await
}
