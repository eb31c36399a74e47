//! The JSON Schema of every message, for services written in other languages. The files in
//! `schemas/json/` are generated from these types; a test keeps them up to date.

use schemars::{JsonSchema, schema_for};

use crate::NotificationSent;
use crate::{BookingCommand, BookingEvent, EventCancelled, EventCapacityChanged};

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
        ("notification-sent.json", render::<NotificationSent>()),
    ]
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
