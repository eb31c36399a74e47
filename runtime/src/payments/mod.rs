//! Payment providers behind one small trait, shaped like Stripe: the gateway creates an intent for
//! a held booking and confirms it with a payment method; the answer is `succeeded`, `declined`, or
//! `pending` (the provider confirms later through a signed webhook). Refunds are made by the
//! sweeper for refund rows the reservations consumer recorded, with the refund's id as the
//! provider's idempotency key. The built-in `test` provider is deterministic and does no I/O.

mod test_provider;
pub mod webhook;

use std::sync::Arc;

use futures::future::BoxFuture;
use uuid::Uuid;

pub use test_provider::{TEST_CARD_ASYNC, TEST_CARD_DECLINED, TEST_CARD_OK, TestProvider};

use crate::settings::PaymentSettings;

/// What an intent is for.
#[derive(Debug, Clone)]
pub struct IntentRequest {
    pub booking_id: Uuid,
    pub amount_cents: i64,
    pub currency: String,
    /// The same key always yields the same intent (a retried request pays once).
    pub idempotency_key: String,
}

/// An intent to pay, as the provider knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub amount_cents: i64,
    pub currency: String,
}

/// The provider's answer to confirming an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Paid: `payment_id` is the provider's id of the payment.
    Succeeded { payment_id: String },
    /// Refused by the card issuer; nothing was charged.
    Declined { code: String },
    /// The outcome comes later by webhook (e.g. 3-D Secure).
    Pending,
}

/// A refund to make once.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub provider_payment_id: String,
    pub amount_cents: i64,
    pub currency: String,
    /// Our refund's id: the provider's idempotency key.
    pub idempotency_key: String,
}

/// What a verified webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The provider's event id: a delivery of the same id is applied once.
    pub id: String,
    pub kind: WebhookKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookKind {
    PaymentSucceeded {
        payment_id: String,
        booking_id: Uuid,
        amount_cents: i64,
        currency: String,
    },
    PaymentFailed {
        booking_id: Uuid,
    },
    /// Anything else the provider sends: acknowledged and ignored.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The request was wrong (unknown intent, bad payment method): the client's fault.
    #[error("{0}")]
    Invalid(String),
    /// The provider could not be reached or failed: retry later.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// A payment provider. Implementations must be idempotent on the keys they are given.
pub trait PaymentProvider: Send + Sync + 'static {
    /// The name stored with payments (`test`, `stripe`).
    fn name(&self) -> &'static str;

    fn create_intent(&self, request: IntentRequest) -> BoxFuture<'_, Result<Intent, PaymentError>>;

    fn confirm<'a>(
        &'a self,
        intent: &'a Intent,
        payment_method: &'a str,
    ) -> BoxFuture<'a, Result<Confirmation, PaymentError>>;

    /// Refunds a payment; returns the provider's refund id.
    fn refund(&self, request: RefundRequest) -> BoxFuture<'_, Result<String, PaymentError>>;

    /// Verifies a webhook delivery (signature and age) and reads it.
    fn parse_webhook(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<WebhookEvent, webhook::WebhookError>;
}

/// The provider the settings name.
pub fn from_settings(settings: &PaymentSettings) -> anyhow::Result<Arc<dyn PaymentProvider>> {
    match settings.provider.as_str() {
        "test" => Ok(Arc::new(TestProvider::new(
            settings.webhook_secret.clone(),
            std::time::Duration::from_secs(settings.webhook_tolerance_secs),
        ))),
        other => anyhow::bail!(
            "EVENTLY_PAYMENTS__PROVIDER: unknown payment provider {other:?} (known: test)"
        ),
    }
}
