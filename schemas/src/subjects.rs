//! Subject and stream names. Every name starts with a configurable prefix (default `evently`) so
//! tests, tenants and environments can share one NATS without seeing each other.

use std::fmt;

use uuid::Uuid;

use crate::booking::BookingStatus;
use crate::commands::BookingCommand;

/// A validated subject prefix, e.g. `evently`. Stream names are its upper-case form
/// (`EVENTLY_CMD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixError(pub String);

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid NATS prefix {:?}: use 1-32 ASCII letters, digits, '_' or '-'",
            self.0
        )
    }
}

impl std::error::Error for PrefixError {}

impl Prefix {
    pub fn new(prefix: &str) -> Result<Self, PrefixError> {
        let ok = !prefix.is_empty()
            && prefix.len() <= 32
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(Self(prefix.to_owned()))
        } else {
            Err(PrefixError(prefix.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stream-name form of the prefix: `evently` -> `EVENTLY`.
    pub fn stream_prefix(&self) -> String {
        self.0.to_ascii_uppercase().replace('-', "_")
    }

    pub fn cmd_stream(&self) -> String {
        format!("{}_CMD", self.stream_prefix())
    }

    pub fn evt_stream(&self) -> String {
        format!("{}_EVT", self.stream_prefix())
    }

    /// The stream of `notification.sent` events, kept a short time (not for replay).
    pub fn ntf_stream(&self) -> String {
        format!("{}_NTF", self.stream_prefix())
    }

    pub fn dlq_stream(&self) -> String {
        format!("{}_DLQ", self.stream_prefix())
    }

    /// The subject `command` is published on.
    pub fn command(&self, command: &BookingCommand) -> String {
        match command {
            BookingCommand::Reserve(c) => self.reserve(c.event_id),
            BookingCommand::Cancel(c) => self.cancel(c.event_id),
            BookingCommand::ChangeCapacity(c) => self.change_capacity(c.event_id),
            BookingCommand::CancelEvent(c) => self.cancel_event(c.event_id),
            BookingCommand::ConfirmPayment(c) => self.confirm_payment(c.event_id),
            BookingCommand::ExpireHold(c) => self.expire_hold(c.event_id),
            BookingCommand::JoinWaitlist(c) => self.waitlist_command("join", c.event_id),
            BookingCommand::LeaveWaitlist(c) => self.waitlist_command("leave", c.event_id),
            BookingCommand::ClaimOffer(c) => self.waitlist_command("claim", c.event_id),
            BookingCommand::ExpireOffer(c) => self.waitlist_command("expire", c.event_id),
        }
    }

    pub fn reserve(&self, event_id: Uuid) -> String {
        format!("{}.cmd.booking.reserve.{event_id}", self.0)
    }

    pub fn cancel(&self, event_id: Uuid) -> String {
        format!("{}.cmd.booking.cancel.{event_id}", self.0)
    }

    pub fn cancel_event(&self, event_id: Uuid) -> String {
        format!("{}.cmd.event.cancel.{event_id}", self.0)
    }

    pub fn change_capacity(&self, event_id: Uuid) -> String {
        format!("{}.cmd.event.capacity.{event_id}", self.0)
    }

    /// `<prefix>.evt.event.<what>.<event_id>` (`created`, `updated`, `update_rejected`,
    /// `cancelled`).
    pub fn event_event(&self, what: &str, event_id: Uuid) -> String {
        format!("{}.evt.event.{what}.{event_id}", self.0)
    }

    /// `<prefix>.evt.booking.<status>.<event_id>`
    pub fn booking_event(&self, status: BookingStatus, event_id: Uuid) -> String {
        format!("{}.evt.booking.{}.{event_id}", self.0, status.as_str())
    }

    /// Every booking event of every event: what the gateway listens to for decisions.
    pub fn all_booking_events(&self) -> String {
        format!("{}.evt.booking.>", self.0)
    }

    /// Every event-level event (`created`, `updated`, `cancelled`, ...) of every event.
    pub fn all_event_events(&self) -> String {
        format!("{}.evt.event.>", self.0)
    }

    /// `<prefix>.cmd.payment.confirm.<event_id>`
    pub fn confirm_payment(&self, event_id: Uuid) -> String {
        format!("{}.cmd.payment.confirm.{event_id}", self.0)
    }

    /// `<prefix>.cmd.hold.expire.<event_id>`
    pub fn expire_hold(&self, event_id: Uuid) -> String {
        format!("{}.cmd.hold.expire.{event_id}", self.0)
    }

    /// `<prefix>.cmd.waitlist.<verb>.<event_id>` (`join`, `leave`, `claim`, `expire`).
    pub fn waitlist_command(&self, verb: &str, event_id: Uuid) -> String {
        format!("{}.cmd.waitlist.{verb}.{event_id}", self.0)
    }

    /// `<prefix>.evt.waitlist.<what>.<event_id>` (`joined`, `offered`, `claimed`, `expired`,
    /// `left`).
    pub fn waitlist_event(&self, what: &str, event_id: Uuid) -> String {
        format!("{}.evt.waitlist.{what}.{event_id}", self.0)
    }

    /// `<prefix>.evt.payment.<status>.<event_id>` (`applied`, `refunded`).
    pub fn payment_event(&self, status: &str, event_id: Uuid) -> String {
        format!("{}.evt.payment.{status}.{event_id}", self.0)
    }

    /// Every waitlist event.
    pub fn all_waitlist_events(&self) -> String {
        format!("{}.evt.waitlist.>", self.0)
    }

    /// Every payment event.
    pub fn all_payment_events(&self) -> String {
        format!("{}.evt.payment.>", self.0)
    }

    /// `<prefix>.evt.ticket.issued.<event_id>`
    pub fn ticket_issued(&self, event_id: Uuid) -> String {
        format!("{}.evt.ticket.issued.{event_id}", self.0)
    }

    /// `<prefix>.evt.ticket.checked_in.<event_id>`
    pub fn ticket_checked_in(&self, event_id: Uuid) -> String {
        format!("{}.evt.ticket.checked_in.{event_id}", self.0)
    }

    /// `<prefix>.evt.ticket.voided.<event_id>`
    pub fn ticket_voided(&self, event_id: Uuid) -> String {
        format!("{}.evt.ticket.voided.{event_id}", self.0)
    }

    /// `<prefix>.evt.notification.sent.<channel>`
    pub fn notification_sent(&self, channel: &str) -> String {
        format!("{}.evt.notification.sent.{channel}", self.0)
    }

    pub fn dlq(&self, consumer: &str) -> String {
        format!("{}.dlq.{consumer}", self.0)
    }

    /// Rewrites a definition written for the default prefix (`evently.` subjects, `EVENTLY_`
    /// stream names) for this prefix. The files in `nats/` are written that way so an operator can
    /// feed them to the `nats` CLI unchanged.
    pub fn substitute(&self, text: &str) -> String {
        text.replace("EVENTLY_", &format!("{}_", self.stream_prefix()))
            .replace("\"evently.", &format!("\"{}.", self.0))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_with_a_dot_or_wildcard_is_refused() {
        assert!(Prefix::new("evently").is_ok());
        assert!(Prefix::new("t0a1b2-x_y").is_ok());
        assert!(Prefix::new("a.b").is_err());
        assert!(Prefix::new("a*").is_err());
        assert!(Prefix::new("").is_err());
    }

    #[test]
    fn substitution_rewrites_stream_names_and_subjects() {
        let p = Prefix::new("t1").expect("valid");
        let text = r#"{"name":"EVENTLY_CMD","subjects":["evently.cmd.>"]}"#;
        assert_eq!(
            p.substitute(text),
            r#"{"name":"T1_CMD","subjects":["t1.cmd.>"]}"#
        );
        let id = Uuid::nil();
        assert_eq!(
            p.booking_event(BookingStatus::Confirmed, id),
            format!("t1.evt.booking.confirmed.{id}")
        );
    }
}
