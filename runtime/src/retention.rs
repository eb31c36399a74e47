//! How long Evently keeps what it no longer needs (`EVENTLY_RETENTION__*`): the consumers' inbox
//! rows, people's in-app notification history, the bookings of holds that lapsed unpaid, and
//! rejected bookings. The
//! sweeper deletes what is older (`consumers/src/retention.rs`); the README's Security section
//! says why each figure is what it is.

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// The dead-letter stream's `max_age` in days (`nats/streams/EVENTLY_DLQ.json`): a letter can be
/// replayed that long after it was written, so an inbox row must outlive it.
pub const DEAD_LETTER_DAYS: u32 = 30;

/// Retention of what grows with use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionSettings {
    /// Days an inbox row (`processed_messages`) is kept after its message was applied. At least
    /// the dead-letter stream's 30 days plus one: after that no copy of the message can come
    /// back except as a republished copy, which each consumer's domain keys meet.
    pub inbox_days: u32,
    /// Days a person's in-app notifications are kept (`notifications`); 0 keeps them.
    pub notification_days: u32,
    /// Days after its event ended that a booking whose hold lapsed unpaid (`expired`, no payment)
    /// is deleted; 0 keeps them. More than the dead-letter stream's 30 days, so that no replayed
    /// letter can name a deleted booking.
    pub expired_hold_days: u32,
    /// Days a rejected booking (it holds nothing: no seat, no payment) is kept after it was
    /// decided; 0 keeps them. More than the dead-letter stream's 30 days, so that its command can
    /// no longer come back to be decided again except as a client's retry of its old key, which
    /// is then decided afresh (the first attempt got nothing, so nothing is doubled).
    pub rejected_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            inbox_days: 35,
            notification_days: 180,
            expired_hold_days: 60,
            rejected_days: 35,
        }
    }
}

impl RetentionSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.inbox_days <= DEAD_LETTER_DAYS {
            bail!(
                "EVENTLY_RETENTION__INBOX_DAYS must be more than {DEAD_LETTER_DAYS} (the dead-letter stream's retention)"
            );
        }
        if self.expired_hold_days != 0 && self.expired_hold_days <= DEAD_LETTER_DAYS {
            bail!(
                "EVENTLY_RETENTION__EXPIRED_HOLD_DAYS must be 0 (keep) or more than {DEAD_LETTER_DAYS}"
            );
        }
        if self.rejected_days != 0 && self.rejected_days <= DEAD_LETTER_DAYS {
            bail!(
                "EVENTLY_RETENTION__REJECTED_DAYS must be 0 (keep) or more than {DEAD_LETTER_DAYS}"
            );
        }
        if self.inbox_days > 3650
            || self.notification_days > 3650
            || self.expired_hold_days > 3650
            || self.rejected_days > 3650
        {
            bail!("EVENTLY_RETENTION__* days must be at most 3650");
        }
        Ok(())
    }

    /// How long an inbox row is kept.
    pub fn inbox(&self) -> Duration {
        days(self.inbox_days)
    }
}

fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_kept_no_longer_than_the_dead_letters_is_refused_by_its_setting_name() {
        let short = RetentionSettings {
            inbox_days: 30,
            ..RetentionSettings::default()
        };
        let err = format!("{:#}", short.validate().expect_err("too short"));
        assert!(err.contains("EVENTLY_RETENTION__INBOX_DAYS"), "{err}");
        assert!(RetentionSettings::default().validate().is_ok());
    }

    #[test]
    fn the_dead_letter_retention_matches_the_stream_definition() {
        let text = include_str!("../../nats/streams/EVENTLY_DLQ.json");
        let config: serde_json::Value = serde_json::from_str(text).expect("json");
        let max_age_ns = config["max_age"].as_u64().expect("max_age");
        assert_eq!(
            max_age_ns,
            u64::from(DEAD_LETTER_DAYS) * 86_400 * 1_000_000_000
        );
    }
}
