//! Payment webhooks come from the internet: any `Evently-Signature` header and body must be
//! refused without a panic unless signed with the secret, and a correct signature must pass.
#![no_main]

use chrono::DateTime;
use evently_runtime::payments::webhook;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

const SECRET: &str = "whsec_fuzz";
const TOLERANCE: Duration = Duration::from_secs(300);

fuzz_target!(|data: &[u8]| {
    // data = header, a 0 byte, body.
    let (header, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
    if webhook::verify(SECRET, Some(header), body, now, TOLERANCE).is_ok() {
        // Only the secret's own signature of this body passes: find its timestamp and re-sign.
        let t = header
            .split(',')
            .find_map(|p| p.trim().strip_prefix("t="))
            .and_then(|t| t.parse::<i64>().ok())
            .expect("a verified header has a timestamp");
        let genuine = webhook::sign(SECRET, t, body);
        let v1 = genuine.split_once(",v1=").expect("v1").1;
        assert!(
            header.contains(v1),
            "a signature the secret did not make was accepted"
        );
    }
    let signed = webhook::sign(SECRET, now.timestamp(), body);
    assert_eq!(
        webhook::verify(SECRET, Some(&signed), body, now, TOLERANCE),
        Ok(())
    );
});
