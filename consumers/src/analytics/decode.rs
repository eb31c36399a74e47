//! From a domain event's subject and payload to a [`Fact`]. The subject says what happened
//! (`<prefix>.evt.<aggregate>.<verb>.<event_id>`); the payload is decoded only as far as the roll-up
//! needs it.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::{BookingEvent, EventCancelled, EventCapacityChanged, Prefix};
use serde::Deserialize;
use uuid::Uuid;

use super::rollup::{Fact, WaitlistAction};

/// Decodes one message of `EVENTLY_EVT`. `Err` means it can never be rolled up (dead-letter it).
pub fn decode(prefix: &Prefix, subject: &str, payload: &[u8]) -> anyhow::Result<Fact> {
    let Some(rest) = subject
        .strip_prefix(prefix.as_str())
        .and_then(|s| s.strip_prefix(".evt."))
    else {
        return Ok(Fact::Ignored);
    };
    let tokens: Vec<&str> = rest.split('.').collect();
    let (aggregate, verb, last) = match tokens[..] {
        [aggregate, verb, last] => (aggregate, verb, last),
        _ => return Ok(Fact::Ignored),
    };
    let subject_event =
        || Uuid::parse_str(last).with_context(|| format!("{subject}: the last token is not an id"));
    Ok(match (aggregate, verb) {
        ("booking", _) => {
            let event: BookingEvent = json(subject, payload)?;
            Fact::Booking(Box::new(event))
        }
        ("event", "updated" | "update_rejected") => {
            let changed: EventCapacityChanged = json(subject, payload)?;
            Fact::Capacity {
                event_id: changed.event_id,
                capacity: changed.availability.capacity,
                at: changed.occurred_at,
            }
        }
        ("event", "cancelled") => {
            let cancelled: EventCancelled = json(subject, payload)?;
            Fact::EventCancelled {
                event_id: cancelled.event_id,
                at: cancelled.occurred_at,
            }
        }
        // The subject carries all analytics needs (one entry, its event, what happened); the
        // payload (`WaitlistEvent`) is only checked to be an event. Entries are counted, not
        // weighted by `entry.quantity`.
        ("waitlist", verb) => match WaitlistAction::parse(verb) {
            Some(action) => {
                let _: Occurred = json(subject, payload)?;
                Fact::Waitlist {
                    event_id: subject_event()?,
                    action,
                }
            }
            None => Fact::Ignored,
        },
        ("ticket", "issued") => Fact::TicketsIssued {
            event_id: subject_event()?,
            count: json::<evently_schemas::TicketsIssued>(subject, payload)?
                .tickets
                .len() as i64,
        },
        ("ticket", "checked_in") => Fact::CheckedIn {
            event_id: subject_event()?,
            count: {
                let _: evently_schemas::TicketCheckedIn = json(subject, payload)?;
                1
            },
        },
        _ => Fact::Ignored,
    })
}

/// Every domain event carries `occurred_at`.
#[derive(Deserialize)]
struct Occurred {
    #[allow(dead_code)]
    occurred_at: DateTime<Utc>,
}

fn json<T: serde::de::DeserializeOwned>(subject: &str, payload: &[u8]) -> anyhow::Result<T> {
    serde_json::from_slice(payload).with_context(|| format!("undecodable event on {subject}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_outside_the_roll_ups_are_ignored_and_bad_payloads_refused() {
        let prefix = Prefix::new("evently").expect("prefix");
        let id = Uuid::new_v4();
        assert!(matches!(
            decode(&prefix, "evently.evt.notification.sent.email", b"{}"),
            Ok(Fact::Ignored)
        ));
        assert!(
            decode(
                &prefix,
                &format!("evently.evt.booking.confirmed.{id}"),
                b"{}"
            )
            .is_err()
        );
        let joined = decode(
            &prefix,
            &format!("evently.evt.waitlist.joined.{id}"),
            br#"{"entry":{},"occurred_at":"2026-01-01T00:00:00Z"}"#,
        )
        .expect("decodes");
        assert!(matches!(
            joined,
            Fact::Waitlist { event_id, action: WaitlistAction::Joined } if event_id == id
        ));
    }
}
