//! Paying a held booking through the payment provider, and the provider's signed webhook. Either
//! way a succeeded payment becomes a `ConfirmPayment` command (its id derived from the provider's
//! payment id, so the synchronous answer and a webhook about the same payment are one command);
//! the reservations consumer confirms the booking, or refunds a payment that came too late.

use chrono::Utc;
use evently_runtime::payments::{Confirmation, IntentRequest, PaymentError, WebhookKind};
use evently_schemas::{BookingCommand, BookingStatus, ConfirmPayment, payment_id};
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::reply;
use crate::auth::current_user;
use crate::body::{Checks, idempotency_key, parse_json, path_id};
use crate::error::ApiError;
use crate::live_user::wait_for;
use crate::publish::publish_booking_command;
use crate::state::{AppState, state};

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("bookings/{id}/pay").post(pay_booking))
        .push(Router::with_path("payments/webhook").post(payment_webhook))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// The provider's payment method; with the `test` provider a test card: `tok_visa`
    /// (succeeds), `tok_chargeDeclined` (declined), `tok_threeDSecure` (confirmed later by
    /// webhook).
    #[salvo(schema(min_length = 1, max_length = 255))]
    pub payment_method: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    /// Our payment id (absent while pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub booking_id: Uuid,
    /// `applied` (the booking is confirmed), `refunded` (too late: the money goes back),
    /// `pending` (the provider confirms by webhook) or `processing` (not decided yet).
    pub status: String,
    pub provider: String,
    pub provider_payment_id: String,
    pub amount_cents: i64,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PayableRow {
    event_id: Uuid,
    user_id: Uuid,
    status: String,
    amount_cents: i64,
    currency: String,
    hold_expires_at: Option<chrono::DateTime<Utc>>,
}

async fn load_booking(state: &AppState, id: Uuid) -> Result<Option<PayableRow>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT event_id, user_id, status, amount_cents, currency::text AS currency, hold_expires_at \
         FROM bookings WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?)
}

fn provider_error(e: PaymentError) -> ApiError {
    match e {
        PaymentError::Invalid(m) => ApiError::field("payment_method", m),
        PaymentError::Unavailable(m) => {
            tracing::warn!(error = m, "payment provider unavailable");
            ApiError::Unavailable {
                service: "the payment provider",
            }
        }
    }
}

/// Pay a held booking (its holder). `200` with the payment once the pipeline applied it
/// (`applied`, or `refunded` if the hold expired meanwhile); `202` while the provider or the
/// pipeline has not decided; `402` when the card is declined (the hold stays until it expires).
#[endpoint(security(("bearer" = [])), tags("bookings"),
    parameters(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "one intent per key (default: one per booking)")),
    request_body = PayRequest,
    responses((status_code = 200, body = PaymentOut), (status_code = 202, body = PaymentOut))
)]
pub async fn pay_booking(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let id = path_id(req, "id", "booking")?;
    let key = idempotency_key(req)?;
    let body: PayRequest = parse_json(req, state.settings.max_body_bytes).await?;
    Checks::default()
        .check(
            !body.payment_method.trim().is_empty() && body.payment_method.len() <= 255,
            "payment_method",
            "must be 1 to 255 characters",
        )
        .finish()?;
    let booking = load_booking(&state, id)
        .await?
        .filter(|b| b.user_id == caller.id)
        .ok_or(ApiError::NotFound("booking"))?;
    if booking.status != BookingStatus::Held.as_str() {
        return Err(ApiError::Conflict(format!(
            "only a held booking can be paid; this one is {}",
            booking.status
        )));
    }
    if booking.hold_expires_at.is_none_or(|t| t <= Utc::now()) {
        return Err(ApiError::Conflict("the hold has expired".into()));
    }
    let provider = state.payments.clone();
    let intent = provider
        .create_intent(IntentRequest {
            booking_id: id,
            amount_cents: booking.amount_cents,
            currency: booking.currency.trim_end().to_owned(),
            idempotency_key: key.unwrap_or_else(|| id.to_string()),
        })
        .await
        .map_err(provider_error)?;
    let mut out = PaymentOut {
        id: None,
        booking_id: id,
        status: "pending".into(),
        provider: provider.name().to_owned(),
        provider_payment_id: intent.id.clone(),
        amount_cents: intent.amount_cents,
        currency: intent.currency.clone(),
        refund_reason: None,
    };
    let paid_id = match provider
        .confirm(&intent, body.payment_method.trim())
        .await
        .map_err(provider_error)?
    {
        Confirmation::Declined { code } => {
            return Err(ApiError::PaymentRequired(format!(
                "the payment was declined ({code}); the hold stays until it expires"
            )));
        }
        Confirmation::Pending => {
            reply(res, StatusCode::ACCEPTED, &out);
            return Ok(());
        }
        Confirmation::Succeeded { payment_id } => payment_id,
    };
    let command = ConfirmPayment {
        payment_id: payment_id(provider.name(), &paid_id),
        booking_id: id,
        event_id: booking.event_id,
        provider: provider.name().to_owned(),
        provider_payment_id: paid_id.clone(),
        amount_cents: intent.amount_cents,
        currency: intent.currency.clone(),
        requested_at: Utc::now(),
    };
    out.id = Some(command.payment_id);
    out.provider_payment_id = paid_id;
    let mut live = state.users.subscribe(caller.id);
    publish_booking_command(&state, &BookingCommand::ConfirmPayment(command.clone())).await?;
    let wanted = command.payment_id;
    let decided = wait_for(&mut live, state.settings.decision_wait(), |i| {
        i.kind == "payment" && i.id == wanted
    })
    .await;
    let stored = match decided {
        Some(item) => Some((
            item.status.clone(),
            item.data["refund_reason"].as_str().map(str::to_owned),
        )),
        None => stored_payment(&state, wanted).await?,
    };
    match stored {
        Some((status, reason)) => {
            out.status = status;
            out.refund_reason = reason;
            reply(res, StatusCode::OK, &out);
        }
        None => {
            out.status = "processing".into();
            reply(res, StatusCode::ACCEPTED, &out);
        }
    }
    Ok(())
}

async fn stored_payment(
    state: &AppState,
    id: Uuid,
) -> Result<Option<(String, Option<String>)>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT p.status, r.reason FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id AND p.status = 'refunded' WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub received: bool,
    /// The provider event was already applied: nothing changed.
    pub duplicate: bool,
}

/// The payment provider's webhook: `Evently-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>">`. Refused when the signature is wrong or the timestamp is more than the tolerance
/// (5 minutes) away; a delivery of an event id already applied changes nothing.
#[endpoint(tags("payments"),
    parameters(("Evently-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256>")),
    responses((status_code = 200, body = WebhookOut))
)]
pub async fn payment_webhook(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    if state.settings.payments.webhook_secret.expose().is_empty() {
        return Err(ApiError::Forbidden(
            "webhooks are not configured (EVENTLY_PAYMENTS__WEBHOOK_SECRET)",
        ));
    }
    let signature = req
        .headers()
        .get(evently_runtime::payments::webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req
        .payload_with_max_size(state.settings.max_body_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?
        .to_vec();
    let provider = state.payments.clone();
    let event = provider
        .parse_webhook(signature.as_deref(), &body, Utc::now())
        .map_err(|e| ApiError::BadRequest {
            detail: e.to_string(),
        })?;
    // Signed, but text all the same: the provider's ids are stored.
    crate::text::check_json(&body)?;
    let seen: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM webhook_events WHERE provider = $1 AND event_id = $2)",
    )
    .bind(provider.name())
    .bind(&event.id)
    .fetch_one(&state.pool)
    .await?;
    if seen {
        reply(
            res,
            StatusCode::OK,
            &WebhookOut {
                received: true,
                duplicate: true,
            },
        );
        return Ok(());
    }
    if let WebhookKind::PaymentSucceeded {
        payment_id: paid_id,
        booking_id,
        amount_cents,
        currency,
    } = &event.kind
    {
        match load_booking(&state, *booking_id).await? {
            Some(booking) => {
                let command = BookingCommand::ConfirmPayment(ConfirmPayment {
                    payment_id: payment_id(provider.name(), paid_id),
                    booking_id: *booking_id,
                    event_id: booking.event_id,
                    provider: provider.name().to_owned(),
                    provider_payment_id: paid_id.clone(),
                    amount_cents: *amount_cents,
                    currency: currency.clone(),
                    requested_at: Utc::now(),
                });
                // Published before the delivery is recorded: a crash in between makes the
                // provider retry, and the command's id makes the retry a duplicate.
                publish_booking_command(&state, &command).await?;
            }
            None => {
                tracing::warn!(booking_id = %booking_id, "webhook for an unknown booking; ignored")
            }
        }
    }
    sqlx::query(
        "INSERT INTO webhook_events (provider, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(provider.name())
    .bind(&event.id)
    .execute(&state.pool)
    .await?;
    reply(
        res,
        StatusCode::OK,
        &WebhookOut {
            received: true,
            duplicate: false,
        },
    );
    Ok(())
}
