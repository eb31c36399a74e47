//! Payments' contract: confirming a payment and expiring a hold (commands of the reservations
//! consumer, the only one that moves a booking from `held`), and the payment events published on
//! `<prefix>.evt.payment.<status>.<event_id>` with message id `<payment_id>.<status>`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A provider reported a payment for a booking as succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfirmPayment {
    /// Derived from `provider` and `provider_payment_id` ([`payment_id`]).
    pub payment_id: Uuid,
    pub booking_id: Uuid,
    pub event_id: Uuid,
    pub provider: String,
    pub provider_payment_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub requested_at: DateTime<Utc>,
}

/// A hold's time is up (published by the sweeper). Applies only to the hold that expires at
/// `hold_expires_at`, whatever the consumer's clock says; a booking paid meanwhile stays paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExpireHold {
    pub booking_id: Uuid,
    pub event_id: Uuid,
    pub hold_expires_at: DateTime<Utc>,
}

/// What became of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// It paid the booking, which is now confirmed.
    Applied,
    /// It could not pay the booking (hold expired, booking cancelled or already paid) and was
    /// refunded.
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "applied" => Some(Self::Applied),
            "refunded" => Some(Self::Refunded),
            _ => None,
        }
    }
}

/// A payment as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentSnapshot {
    pub id: Uuid,
    pub booking_id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub provider: String,
    pub provider_payment_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: PaymentStatus,
    /// Why it was refunded: `hold_expired`, `booking_cancelled`, `already_paid`, `amount_mismatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
}

/// A payment was applied or refunded (`<prefix>.evt.payment.<status>.<event_id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentEvent {
    pub payment: PaymentSnapshot,
    pub occurred_at: DateTime<Utc>,
}

impl PaymentEvent {
    pub fn message_id(&self) -> String {
        format!("{}.{}", self.payment.id, self.payment.status.as_str())
    }
}

/// The payment id of a provider's payment: UUIDv5 of `provider:provider_payment_id`, so the
/// synchronous answer and a webhook about the same payment make the same command.
pub fn payment_id(provider: &str, provider_payment_id: &str) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_746c_7900_8000_0000_0000_0007);
    Uuid::new_v5(
        &NAMESPACE,
        format!("{provider}:{provider_payment_id}").as_bytes(),
    )
}
