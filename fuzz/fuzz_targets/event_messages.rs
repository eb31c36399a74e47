//! Every message a consumer decodes from JetStream (commands and events, by their JSON Schema
//! table) and the analytics decoder: any subject and payload decode without a panic, and whatever
//! decodes re-encodes to the same value.
#![no_main]

use evently_consumers::analytics::decode;
use evently_schemas::json_schema::schema_file_for;
use evently_schemas::{
    BookingCommand, BookingEvent, EventCancelled, EventCapacityChanged, NotificationSent,
    PaymentEvent, Prefix, TicketCheckedIn, TicketsIssued, TicketsVoided, WaitlistEvent,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::LazyLock;

static PREFIX: LazyLock<Prefix> = LazyLock::new(|| Prefix::new("evently").expect("prefix"));

fn round_trips<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(payload: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(payload) {
        let bytes = serde_json::to_vec(&value).expect("a decoded message encodes");
        let again: T = serde_json::from_slice(&bytes).expect("an encoded message decodes");
        assert_eq!(again, value);
    }
}

fuzz_target!(|data: &[u8]| {
    // data = subject, a 0 byte, payload.
    let (subject, payload) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (
            &b"evently.evt.booking.confirmed.00000000-0000-0000-0000-000000000001"[..],
            data,
        ),
    };
    let Ok(subject) = std::str::from_utf8(subject) else {
        return;
    };
    let _ = schema_file_for(subject);
    let _ = decode(&PREFIX, subject, payload);
    round_trips::<BookingCommand>(payload);
    round_trips::<BookingEvent>(payload);
    round_trips::<EventCapacityChanged>(payload);
    round_trips::<EventCancelled>(payload);
    round_trips::<WaitlistEvent>(payload);
    round_trips::<PaymentEvent>(payload);
    round_trips::<TicketsIssued>(payload);
    round_trips::<TicketsVoided>(payload);
    round_trips::<TicketCheckedIn>(payload);
    round_trips::<NotificationSent>(payload);
});
