//! A genuine QR payload with bytes changed, cut or appended: it must never verify (Ed25519 with
//! strict verification leaves no malleable encoding).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use evently_runtime::settings::Secret;
use evently_runtime::tickets::{TicketKeys, TicketSeat, TicketSettings};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use uuid::Uuid;

static KEYS: LazyLock<TicketKeys> = LazyLock::new(|| {
    TicketKeys::from_settings(&TicketSettings {
        signing_key: Some(Secret::new("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=")),
        key_id: "k1".into(),
        previous_keys: Vec::new(),
    })
    .expect("fuzz keys")
});

static GENUINE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let payload = KEYS.sign(
        Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        Uuid::from_u128(0xfedc_ba98_7654_3210_fedc_ba98_7654_3210),
        42,
        Some(&TicketSeat {
            section: "Stalls".into(),
            row: "C".into(),
            number: "12".into(),
        }),
        DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
    );
    URL_SAFE_NO_PAD.decode(payload).expect("base64")
});

fuzz_target!(|data: &[u8]| {
    // data = [new length, then bytes XORed over the genuine payload from the start].
    let Some((&len, mask)) = data.split_first() else {
        return;
    };
    let mut bytes = GENUINE.clone();
    bytes.resize(usize::from(len), 0);
    for (b, m) in bytes.iter_mut().zip(mask) {
        *b ^= m;
    }
    let verified = KEYS.verify(&URL_SAFE_NO_PAD.encode(&bytes)).is_ok();
    if bytes != *GENUINE {
        assert!(!verified, "a tampered payload verified: {bytes:?}");
    } else {
        assert!(verified, "the genuine payload no longer verifies");
    }
});
