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
    /// Longest one push may take, connecting and reading the answer included.
    pub push_timeout_secs: u64,
    /// The push services' hosts that subscriptions may name (`crate::push_policy`): `host` or
    /// `*.domain` (any name below it), each on port 443 unless it says `:port`. Default: the
    /// major browsers' services.
    pub push_hosts: Vec<String>,
    /// Also accept endpoints on this machine (`http://127.0.0.1:<port>`, `localhost`, `[::1]`)
    /// and connect to loopback addresses: for tests and local benchmarks only, since in
    /// production it lets a user make the server post to its own local services.
    pub push_allow_loopback: bool,
    /// The earlier name of `push_allow_loopback`, still read.
    #[serde(skip_serializing)]
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
            push_hosts: crate::push_policy::DEFAULT_PUSH_HOSTS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            push_allow_loopback: false,
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

    /// Where pushes may go (the allowlist and the loopback allowance).
    pub fn push_policy(&self) -> anyhow::Result<crate::push_policy::PushPolicy> {
        crate::push_policy::PushPolicy::new(
            &self.push_hosts,
            self.push_allow_loopback || self.push_allow_local_http,
        )
        .map_err(|e| anyhow::anyhow!("EVENTLY_NOTIFICATIONS__PUSH_HOSTS: {e:#}"))
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
        self.push_policy()?;
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

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Serialized, Toml};

    use crate::Settings;

    fn loaded(toml: &str) -> Settings {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(toml))
            .extract()
            .expect("settings")
    }

    #[test]
    fn pushes_go_to_the_browsers_services_only_and_loopback_is_off_by_default() {
        let s = Settings::default().notifications;
        assert!(!s.push_allow_loopback && !s.push_allow_local_http);
        let policy = s.push_policy().expect("policy");
        assert!(!policy.allows_loopback());
        assert!(
            policy
                .check_endpoint("https://fcm.googleapis.com/fcm/send/x")
                .is_ok()
        );
        assert!(policy.check_endpoint("http://127.0.0.1:4321/push").is_err());
    }

    #[test]
    fn the_loopback_allowance_is_read_under_its_new_and_its_earlier_name() {
        for toml in [
            "[notifications]\npush_allow_loopback = true",
            "[notifications]\npush_allow_local_http = true",
        ] {
            let policy = loaded(toml).notifications.push_policy().expect("policy");
            assert!(policy.allows_loopback(), "{toml}");
        }
    }

    #[test]
    fn a_bad_push_host_stops_the_start_up_naming_the_setting() {
        let s = loaded("[notifications]\npush_hosts = [\"fcm.googleapis.com\", \"10.0.0.1\"]");
        let err = format!("{:#}", s.validate().expect_err("invalid"));
        assert!(err.contains("EVENTLY_NOTIFICATIONS__PUSH_HOSTS"), "{err}");
    }
}
