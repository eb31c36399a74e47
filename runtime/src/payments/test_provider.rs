//! The built-in `test` provider: deterministic, no network. Test cards (payment methods):
//! `tok_visa` succeeds at once, `tok_chargeDeclined` is declined (`card_declined`), and
//! `tok_threeDSecure` answers `pending`: the payment is confirmed by a signed webhook
//! (`payment_intent.succeeded`), as a real provider does after 3-D Secure. Its webhooks use the
//! Stripe event shape: `{"id": "evt_..", "type": "payment_intent.succeeded", "data": {"object":
//! {"id": "pi_..", "amount": 1500, "currency": "eur", "metadata": {"booking_id": ".."}}}}`.

use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;
use uuid::Uuid;

use super::webhook::{self, WebhookError};
use super::{
    Confirmation, Intent, IntentRequest, PaymentError, PaymentProvider, RefundRequest,
    WebhookEvent, WebhookKind,
};
use crate::settings::Secret;

pub const TEST_CARD_OK: &str = "tok_visa";
pub const TEST_CARD_DECLINED: &str = "tok_chargeDeclined";
pub const TEST_CARD_ASYNC: &str = "tok_threeDSecure";

const NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0008);

pub struct TestProvider {
    secret: Secret,
    tolerance: Duration,
}

impl TestProvider {
    pub fn new(secret: Secret, tolerance: Duration) -> Self {
        Self { secret, tolerance }
    }
}

#[derive(Deserialize)]
struct Body {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    object: Object,
}

#[derive(Deserialize)]
struct Object {
    id: String,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize, Default)]
struct Metadata {
    booking_id: Option<Uuid>,
}

impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    fn create_intent(&self, request: IntentRequest) -> BoxFuture<'_, Result<Intent, PaymentError>> {
        Box::pin(async move {
            let key = format!("{}:{}", request.booking_id, request.idempotency_key);
            Ok(Intent {
                id: format!(
                    "pi_test_{}",
                    Uuid::new_v5(&NAMESPACE, key.as_bytes()).simple()
                ),
                amount_cents: request.amount_cents,
                currency: request.currency,
            })
        })
    }

    fn confirm<'a>(
        &'a self,
        intent: &'a Intent,
        payment_method: &'a str,
    ) -> BoxFuture<'a, Result<Confirmation, PaymentError>> {
        Box::pin(async move {
            match payment_method {
                TEST_CARD_OK => Ok(Confirmation::Succeeded {
                    payment_id: intent.id.clone(),
                }),
                TEST_CARD_DECLINED => Ok(Confirmation::Declined {
                    code: "card_declined".into(),
                }),
                TEST_CARD_ASYNC => Ok(Confirmation::Pending),
                _ => Err(PaymentError::Invalid(format!(
                    "unknown test card; use {TEST_CARD_OK}, {TEST_CARD_DECLINED} or {TEST_CARD_ASYNC}"
                ))),
            }
        })
    }

    fn refund(&self, request: RefundRequest) -> BoxFuture<'_, Result<String, PaymentError>> {
        Box::pin(async move { Ok(format!("re_test_{}", request.idempotency_key)) })
    }

    fn parse_webhook(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<WebhookEvent, WebhookError> {
        webhook::verify(
            self.secret.expose(),
            signature_header,
            body,
            now,
            self.tolerance,
        )?;
        let body: Body =
            serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
        let object = body.data.object;
        let booking = || {
            object.metadata.booking_id.ok_or_else(|| {
                WebhookError::Body("data.object.metadata.booking_id is missing".into())
            })
        };
        let kind = match body.kind.as_str() {
            "payment_intent.succeeded" => WebhookKind::PaymentSucceeded {
                booking_id: booking()?,
                payment_id: object.id.clone(),
                amount_cents: object.amount,
                currency: object.currency.to_ascii_uppercase(),
            },
            "payment_intent.payment_failed" => WebhookKind::PaymentFailed {
                booking_id: booking()?,
            },
            _ => WebhookKind::Ignored,
        };
        Ok(WebhookEvent { id: body.id, kind })
    }
}
