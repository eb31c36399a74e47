//! Webhook signatures: `Evently-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `<t>.<body>` with the shared webhook secret (Stripe's scheme). A delivery older (or newer) than
//! the tolerance is refused, so a captured delivery cannot be replayed later; the comparison is
//! constant-time.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Evently-Signature";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("missing or malformed Evently-Signature header (t=<unix>,v1=<hex>)")]
    Malformed,
    #[error("the timestamp is outside the tolerance (stale or replayed delivery)")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the body is not a webhook event: {0}")]
    Body(String),
}

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// The header value signing `body` at `timestamp` (what a provider sends; used by tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(m.finalize().into_bytes())
    )
}

/// Checks a signature header against `body`.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: std::time::Duration,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => {
                signatures.push(hex::decode(v).map_err(|_| WebhookError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::Malformed)?;
    if signatures.is_empty() {
        return Err(WebhookError::Malformed);
    }
    // `abs_diff`: a timestamp near i64::MIN or MAX must not overflow (a panic in debug builds).
    let age = now.timestamp().abs_diff(timestamp);
    if age > tolerance.as_secs() {
        return Err(WebhookError::Stale);
    }
    for signature in signatures {
        let mut m = mac(secret);
        m.update(timestamp.to_string().as_bytes());
        m.update(b".");
        m.update(body);
        // `verify_slice` compares in constant time.
        if m.verify_slice(&signature).is_ok() {
            return Ok(());
        }
    }
    Err(WebhookError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_signed_body_verifies_and_a_tampered_or_stale_one_does_not() {
        let now = Utc::now();
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("s3cret", now.timestamp(), body);
        let tolerance = Duration::from_secs(300);
        assert_eq!(
            verify("s3cret", Some(&header), body, now, tolerance),
            Ok(())
        );
        assert_eq!(
            verify("s3cret", Some(&header), b"{}", now, tolerance),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify("other", Some(&header), body, now, tolerance),
            Err(WebhookError::Mismatch)
        );
        let old = sign("s3cret", now.timestamp() - 301, body);
        assert_eq!(
            verify("s3cret", Some(&old), body, now, tolerance),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            verify("s3cret", Some("v1=00"), body, now, tolerance),
            Err(WebhookError::Malformed)
        );
        assert_eq!(
            verify("s3cret", None, body, now, tolerance),
            Err(WebhookError::Malformed)
        );
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        let now = Utc::now();
        let tolerance = Duration::from_secs(300);
        for t in [i64::MIN, i64::MAX, i64::MIN + 1] {
            assert_eq!(
                verify(
                    "s3cret",
                    Some(&format!("t={t},v1=00")),
                    b"{}",
                    now,
                    tolerance
                ),
                Err(WebhookError::Stale)
            );
        }
    }
}
