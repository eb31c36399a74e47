//! The JSON Schema of every message, for services written in other languages. The files in
//! `schemas/json/` are generated from these types; a test keeps them up to date.

use schemars::{JsonSchema, schema_for};

use crate::{
    BookingCommand, BookingEvent, EventCancelled, EventCapacityChanged, NotificationSent,
    TicketsIssued, TicketsVoided,
};

/// `(file name, pretty JSON)` for every message schema.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("booking-command.json", render::<BookingCommand>()),
        ("booking-event.json", render::<BookingEvent>()),
        (
            "event-capacity-changed.json",
            render::<EventCapacityChanged>(),
        ),
        ("event-cancelled.json", render::<EventCancelled>()),
        ("waitlist-event.json", render::<crate::WaitlistEvent>()),
        ("payment-event.json", render::<crate::PaymentEvent>()),
        ("tickets-issued.json", render::<TicketsIssued>()),
        ("tickets-voided.json", render::<TicketsVoided>()),
        ("ticket-checked-in.json", render::<crate::TicketCheckedIn>()),
        ("notification-sent.json", render::<NotificationSent>()),
    ]
}

/// Which schema file describes the messages of a subject, by the subject's tokens after the
/// prefix (`*` matches one token): `booking.confirmed.<event_id>` under `evt` is a
/// `booking-event.json`. Services in other languages read the same table in `schemas/README.md`.
pub const SUBJECTS: &[(&str, &str)] = &[
    ("cmd.booking.*.*", "booking-command.json"),
    ("cmd.event.*.*", "booking-command.json"),
    ("evt.booking.*.*", "booking-event.json"),
    ("evt.event.updated.*", "event-capacity-changed.json"),
    ("evt.event.update_rejected.*", "event-capacity-changed.json"),
    ("evt.event.cancelled.*", "event-cancelled.json"),
    ("cmd.payment.*.*", "booking-command.json"),
    ("cmd.hold.*.*", "booking-command.json"),
    ("cmd.waitlist.*.*", "booking-command.json"),
    ("evt.waitlist.*.*", "waitlist-event.json"),
    ("evt.payment.*.*", "payment-event.json"),
    ("evt.ticket.issued.*", "tickets-issued.json"),
    ("evt.ticket.voided.*", "tickets-voided.json"),
    ("evt.ticket.checked_in.*", "ticket-checked-in.json"),
    ("evt.notification.sent.*", "notification-sent.json"),
];

/// The schema file of `subject` (with or without its prefix), if it is one of Evently's.
pub fn schema_file_for(subject: &str) -> Option<&'static str> {
    let tokens: Vec<&str> = subject.split('.').collect();
    SUBJECTS.iter().find_map(|(pattern, file)| {
        let pattern: Vec<&str> = pattern.split('.').collect();
        // Subjects carry the prefix as their first token: match the pattern against the tail.
        let tail = tokens.get(tokens.len().checked_sub(pattern.len())?..)?;
        let matches = pattern.iter().zip(tail).all(|(p, t)| *p == "*" || p == t);
        matches.then_some(*file)
    })
}

fn render<T: JsonSchema>() -> String {
    let schema = schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn every_subject_pattern_names_a_schema_that_exists() {
        let files: Vec<&str> = super::all().into_iter().map(|(f, _)| f).collect();
        for (_, file) in super::SUBJECTS {
            assert!(files.contains(file), "{file}");
        }
        assert_eq!(
            super::schema_file_for("evently.evt.booking.confirmed.0190"),
            Some("booking-event.json")
        );
        assert_eq!(
            super::schema_file_for("t1.cmd.event.capacity.0190"),
            Some("booking-command.json")
        );
        assert_eq!(super::schema_file_for("evently.evt.unknown.x.y"), None);
    }

    #[test]
    fn checked_in_json_schemas_are_up_to_date() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json");
        let regenerate = std::env::var_os("EVENTLY_REGENERATE_SCHEMAS").is_some();
        for (name, text) in super::all() {
            let path = dir.join(name);
            if regenerate {
                std::fs::create_dir_all(&dir).expect("create schemas/json");
                std::fs::write(&path, &text).expect("write schema");
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(
                on_disk, text,
                "{name} is stale: run EVENTLY_REGENERATE_SCHEMAS=1 cargo test -p evently-schemas"
            );
        }
    }
}
