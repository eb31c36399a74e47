//! Confirming a payment: only this consumer moves a booking from `held` to `confirmed`. A payment
//! for a hold that is still open confirms it (`held -= q`, `sold += q`); a payment that comes
//! after the hold expired, after a cancellation, twice, or for the wrong amount is recorded and
//! refunded, never put on a seat. Either way the money is a `payments` row (and a `refunds` row),
//! decided once: a payment already recorded is replayed.

use chrono::{DateTime, Utc};
use evently_schemas::{
    BookingSnapshot, BookingStatus, ConfirmPayment, PaymentSnapshot, PaymentStatus,
};

use crate::reservations::engine::{Replay, State, locked};

/// Why a payment cannot pay its booking, if it cannot.
pub fn refusal(
    booking: &BookingSnapshot,
    c: &ConfirmPayment,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    match booking.status {
        BookingStatus::Held if booking.hold_expires_at.is_some_and(|t| t > now) => {
            let same_currency = booking.currency.eq_ignore_ascii_case(&c.currency);
            (c.amount_cents != booking.amount_cents || !same_currency).then_some("amount_mismatch")
        }
        BookingStatus::Held | BookingStatus::Expired => Some("hold_expired"),
        BookingStatus::Confirmed => Some("already_paid"),
        BookingStatus::Cancelled => Some("booking_cancelled"),
        _ => Some("not_payable"),
    }
}

/// Applies a confirmed payment to its booking, or records it for a refund.
pub fn decide(c: &ConfirmPayment, state: &mut State) -> anyhow::Result<()> {
    let now = state.now;
    // The payment id is the payments table's key: a payment recorded already (its inbox row
    // pruned, or a copy republished late) is replayed, never decided again.
    if !state.payments.insert(c.payment_id) {
        state.effects.replays.push(Replay::Payment(c.payment_id));
        state.effects.replays.push(Replay::Booking(c.booking_id));
        return Ok(());
    }
    let tracked = state
        .bookings
        .get_mut(&c.booking_id)
        .ok_or_else(|| anyhow::anyhow!("booking {} does not exist", c.booking_id))?;
    let event = locked(&mut state.events, tracked.value.event_id)?;
    let reason = refusal(&tracked.value, c, now);
    if reason.is_none() {
        let booking = tracked.change();
        event.move_seats(booking.quantity, &booking.lines, -1, 1);
        booking.status = BookingStatus::Confirmed;
        booking.hold_expires_at = None;
        booking.updated_at = now;
        state
            .effects
            .booking(booking, Some(event.availability()), now);
    }
    let booking = &tracked.value;
    let payment = PaymentSnapshot {
        id: c.payment_id,
        booking_id: booking.id,
        event_id: booking.event_id,
        user_id: booking.user_id,
        provider: c.provider.clone(),
        provider_payment_id: c.provider_payment_id.clone(),
        amount_cents: c.amount_cents,
        currency: c.currency.to_ascii_uppercase(),
        status: if reason.is_some() {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::Applied
        },
        refund_reason: reason.map(str::to_owned),
    };
    tracing::info!(booking_id = %booking.id, payment_id = %payment.id, status = payment.status.as_str(), reason, "payment applied");
    state.effects.payments.push(payment);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn held(expires_in: i64) -> BookingSnapshot {
        let now = Utc::now();
        BookingSnapshot {
            id: Uuid::new_v4(),
            event_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            quantity: 2,
            status: BookingStatus::Held,
            reason: None,
            amount_cents: 3000,
            currency: "EUR".into(),
            hold_expires_at: Some(now + chrono::Duration::seconds(expires_in)),
            created_at: now,
            updated_at: now,
            lines: Vec::new(),
            promo_code_id: None,
            discount_cents: 0,
            seats: Vec::new(),
        }
    }

    fn payment(b: &BookingSnapshot, amount: i64) -> ConfirmPayment {
        ConfirmPayment {
            payment_id: Uuid::new_v4(),
            booking_id: b.id,
            event_id: b.event_id,
            provider: "test".into(),
            provider_payment_id: "pi_1".into(),
            amount_cents: amount,
            currency: "eur".into(),
            requested_at: Utc::now(),
        }
    }

    #[test]
    fn only_an_open_hold_paid_in_full_is_confirmed() {
        let now = Utc::now();
        let open = held(60);
        assert_eq!(refusal(&open, &payment(&open, 3000), now), None);
        assert_eq!(
            refusal(&open, &payment(&open, 2999), now),
            Some("amount_mismatch")
        );
        let late = held(-1);
        assert_eq!(
            refusal(&late, &payment(&late, 3000), now),
            Some("hold_expired")
        );
        let mut paid = held(60);
        paid.status = BookingStatus::Confirmed;
        assert_eq!(
            refusal(&paid, &payment(&paid, 3000), now),
            Some("already_paid")
        );
        let mut cancelled = held(60);
        cancelled.status = BookingStatus::Cancelled;
        assert_eq!(
            refusal(&cancelled, &payment(&cancelled, 3000), now),
            Some("booking_cancelled")
        );
    }
}
