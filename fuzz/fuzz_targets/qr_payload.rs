//! Any text a door scanner reads: verifying it never panics, and whatever verifies carries claims
//! that re-sign to the same payload (only the signer's key makes a valid code).
#![no_main]

use chrono::DateTime;
use evently_runtime::settings::Secret;
use evently_runtime::tickets::{TicketKeys, TicketSettings};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static KEYS: LazyLock<TicketKeys> = LazyLock::new(|| {
    TicketKeys::from_settings(&TicketSettings {
        // base64 of 32 bytes 0x07: a fixed seed, so a crash reproduces.
        signing_key: Some(Secret::new("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=")),
        key_id: "k1".into(),
        previous_keys: Vec::new(),
    })
    .expect("fuzz keys")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(claims) = KEYS.verify(text) {
        // Only a payload this key signed verifies: it is exactly the signature of its claims.
        let issued_at = DateTime::from_timestamp(claims.issued_at.timestamp(), 0).expect("time");
        let again = KEYS.sign(
            claims.ticket_id,
            claims.event_id,
            claims.seat_index,
            claims.seat.as_ref(),
            issued_at,
        );
        assert_eq!(
            again,
            text.trim(),
            "a payload verified that the key did not sign"
        );
    }
});
