//! Settings of the notifications consumer (`EVENTLY_NOTIFICATIONS__*`): SMTP for email, VAPID for
//! Web Push, and how much work it does at once. Email is skipped (and recorded as skipped) when no
//! SMTP host is set; push when no VAPID key is set, so `evently up` works without either.

use anyhow::bail;
use serde::{Deserialize, Serialize};

use crate::settings::Secret;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a local relay or test receiver only).
    None,
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationSettings {
    /// SMTP server; email is skipped when unset.
    pub smtp_host: Option<String>,
    /// Default: 25 without TLS, 587 with STARTTLS, 465 with TLS.
    pub smtp_port: Option<u16>,
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret>,
    /// Pooled SMTP connections.
    pub smtp_pool_size: u32,
    pub smtp_timeout_secs: u64,
    /// The `From` of every email.
    pub from: String,
    /// VAPID private key (base64url of the 32-byte P-256 scalar); push is skipped when unset.
    /// `evently up` generates one into the data folder.
    pub vapid_private_key: Option<Secret>,
    /// The VAPID `sub` claim: a `mailto:` or `https:` contact for push services.
    pub vapid_subject: String,
    pub push_timeout_secs: u64,
    /// Accept `http://127.0.0.1` / `http://localhost` push endpoints (local testing only: in
    /// production they would let a user make the server post to its own local services).
    pub push_allow_local_http: bool,
    /// Where links in messages point (the web app).
    pub public_url: String,
    /// Domain events handled at once within a batch (at most half of `db_max_connections`).
    pub concurrency: usize,
    /// Most domain events one batch takes.
    pub batch_size: usize,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            smtp_host: None,
            smtp_port: None,
            smtp_tls: SmtpTls::default(),
            smtp_username: None,
            smtp_password: None,
            smtp_pool_size: 16,
            smtp_timeout_secs: 10,
            from: "Evently <no-reply@evently.local>".into(),
            vapid_private_key: None,
            vapid_subject: "mailto:ops@evently.local".into(),
            push_timeout_secs: 10,
            push_allow_local_http: false,
            public_url: "http://127.0.0.1:8080".into(),
            concurrency: 32,
            batch_size: 64,
        }
    }
}

impl NotificationSettings {
    /// The SMTP port, defaulted from the TLS mode.
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self
            .smtp_host
            .as_deref()
            .is_some_and(|h| h.trim().is_empty())
        {
            bail!("EVENTLY_NOTIFICATIONS__SMTP_HOST must not be empty when set");
        }
        if self.smtp_username.is_some() != self.smtp_password.is_some() {
            bail!("EVENTLY_NOTIFICATIONS__SMTP_USERNAME and __SMTP_PASSWORD must be set together");
        }
        if self.from.parse::<Mailbox>().is_err() {
            bail!(
                "EVENTLY_NOTIFICATIONS__FROM must be an address like `Evently <no-reply@example.com>`"
            );
        }
        if let Some(key) = &self.vapid_private_key {
            crate::vapid::public_key(key)
                .map_err(|e| anyhow::anyhow!("EVENTLY_NOTIFICATIONS__VAPID_PRIVATE_KEY: {e}"))?;
        }
        if !(self.vapid_subject.starts_with("mailto:")
            || self.vapid_subject.starts_with("https://"))
        {
            bail!("EVENTLY_NOTIFICATIONS__VAPID_SUBJECT must start with mailto: or https://");
        }
        if !(1..=256).contains(&self.concurrency) || !(1..=1000).contains(&self.batch_size) {
            bail!(
                "EVENTLY_NOTIFICATIONS__CONCURRENCY (1-256) or __BATCH_SIZE (1-1000) is out of range"
            );
        }
        if self.smtp_pool_size == 0 || self.smtp_timeout_secs == 0 || self.push_timeout_secs == 0 {
            bail!("EVENTLY_NOTIFICATIONS__SMTP_POOL_SIZE and the timeouts must be positive");
        }
        Ok(())
    }
}

/// Just enough of an address check for start-up (`Name <a@b>` or `a@b`); lettre parses it fully.
struct Mailbox;

impl std::str::FromStr for Mailbox {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let address = match (s.find('<'), s.rfind('>')) {
            (Some(a), Some(b)) if a < b => &s[a + 1..b],
            (None, None) => s.trim(),
            _ => return Err(()),
        };
        match address.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(Mailbox),
            _ => Err(()),
        }
    }
}
