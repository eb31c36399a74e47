//! Check-in at the door: `POST /events/{id}/checkin {qr_payload}` by the event's organizer or an
//! admin. The signature is verified first (offline-capable, no database read), then one
//! conditional `UPDATE ... WHERE checked_in_at IS NULL AND status = 'valid'` admits the ticket:
//! of any number of concurrent scans of one ticket, exactly one gets the row.

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
    let admitted: Option<CheckinOut> = sqlx::query_as(
        "UPDATE tickets SET checked_in_at = clock_timestamp(), checked_in_by = $3 \
         WHERE id = $1 AND event_id = $2 AND checked_in_at IS NULL AND status = 'valid' \
         RETURNING id AS ticket_id, booking_id, ticket_number, seat_index, checked_in_at",
    )
    .bind(claims.ticket_id)
    .bind(event_id)
    .bind(caller.id)
    .fetch_optional(&state.pool)
    .await?;
    if let Some(admitted) = admitted {
        outcome("admitted");
        tracing::info!(ticket_id = %admitted.ticket_id, event_id = %event_id, "ticket checked in");
        publish_checked_in(&state, &admitted, event_id, caller.id).await;
        reply(res, StatusCode::OK, &admitted);
        return Ok(());
    }
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

/// Tells the pipeline (analytics' check-in rate) that a ticket admitted its holder. The door does
/// not wait on the broker for its answer: the admission is committed already, so a failure to
/// publish is logged, and the event is not published again later (the check-in itself stands).
async fn publish_checked_in(
    state: &crate::state::AppState,
    admitted: &CheckinOut,
    event_id: Uuid,
    by: Uuid,
) {
    let event = evently_schemas::TicketCheckedIn {
        ticket_id: admitted.ticket_id,
        booking_id: admitted.booking_id,
        event_id,
        checked_in_by: by,
        occurred_at: admitted.checked_in_at,
    };
    let Ok(payload) = serde_json::to_vec(&event) else {
        return;
    };
    let message = crate::publish::traced(
        async_nats::jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .message_id(event.message_id()),
    );
    let sent = state
        .js
        .send_publish(state.prefix.ticket_checked_in(event_id), message)
        .await;
    let acked = match sent {
        Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = acked {
        tracing::warn!(ticket_id = %event.ticket_id, error, "check-in event not published");
    }
}
