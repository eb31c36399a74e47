//! Layered configuration: compiled-in defaults, an optional TOML file (`EVENTLY_CONFIG`), then
//! `EVENTLY_`-prefixed environment variables (`EVENTLY_HTTP_ADDR`, `EVENTLY_CONSUMER__BATCH_SIZE`)
//! and the conventional `DATABASE_URL` and `NATS_URL`. Validated once at start-up.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use evently_schemas::Prefix;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Where the gateway listens.
    pub http_addr: SocketAddr,
    /// Where a process without the gateway (`evently consume`) serves `/health/*` and
    /// `/metrics`; unset: nowhere.
    pub ops_addr: Option<SocketAddr>,
    /// PostgreSQL; when unset, `evently up` starts a private instance under `data_dir`.
    pub database_url: Option<String>,
    /// NATS; when unset, `evently up` starts a private nats-server under `data_dir`.
    pub nats_url: Option<String>,
    /// Prefix of every subject and stream name.
    pub nats_prefix: String,
    /// Replicas of every stream (3 on a JetStream cluster).
    pub nats_replicas: usize,
    /// Where `evently up` keeps its private PostgreSQL and NATS data.
    pub data_dir: PathBuf,
    /// Whether the private PostgreSQL of `evently up` serves TLS (connections use
    /// `sslmode=require`), as production databases do.
    pub local_postgres_tls: bool,
    pub db_max_connections: u32,
    /// Secret that signs access tokens (HS256). Required outside `evently up`.
    pub jwt_secret: Option<Secret>,
    /// Earlier signing secrets, still accepted for verification while their tokens live: rotate
    /// by moving the current secret here and setting a new one.
    pub jwt_previous_secrets: Vec<Secret>,
    pub access_token_ttl_secs: u64,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    /// How long a booking request waits for the pipeline's decision before answering 202.
    pub decision_wait_ms: u64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub consumer: ConsumerSettings,
    pub security: SecuritySettings,
    pub payments: PaymentSettings,
    pub waitlist: WaitlistSettings,
    /// Ticket signing keys (`EVENTLY_TICKETS__*`).
    #[serde(default)]
    pub tickets: crate::tickets::TicketSettings,
    pub notifications: crate::notify_settings::NotificationSettings,
    /// How long inbox rows, notification history and lapsed holds are kept
    /// (`EVENTLY_RETENTION__*`).
    #[serde(default)]
    pub retention: crate::retention::RetentionSettings,
    /// The built web app the gateway serves at `/` (`EVENTLY_WEB_DIR`; relative to the working
    /// directory).
    pub web_dir: PathBuf,
    /// The address people reach Evently at, e.g. `https://tickets.example.com` (links in event
    /// pages); unset: taken from each request's `Host`.
    pub public_url: Option<String>,
}

/// Holds, payments and webhooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentSettings {
    /// The payment provider: `test` (built in, deterministic).
    pub provider: String,
    /// Secret that signs the provider's webhooks (`Evently-Signature`). Required outside
    /// `evently up` and tests when the provider sends webhooks.
    pub webhook_secret: Secret,
    /// Oldest (or newest) webhook timestamp accepted, in seconds from now.
    pub webhook_tolerance_secs: u64,
    /// How often the sweeper looks for due holds, offers and refunds, in milliseconds.
    pub sweep_interval_ms: u64,
    /// Most due rows one sweep turns into commands, per kind.
    pub sweep_batch: i64,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            provider: "test".into(),
            webhook_secret: Secret::default(),
            webhook_tolerance_secs: 300,
            sweep_interval_ms: 1000,
            sweep_batch: 500,
        }
    }
}

/// Waitlist promotion.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaitlistSettings {
    /// How many times a waiting entry that needs more seats than are free may be passed by later,
    /// smaller entries before it holds the line until it is served.
    pub max_passes: i32,
    /// How long before an offer expires its holder is reminded ("expires soon"), in minutes.
    pub reminder_minutes: i64,
}

impl Default for WaitlistSettings {
    fn default() -> Self {
        Self {
            max_passes: 3,
            reminder_minutes: 5,
        }
    }
}

/// Account and HTTP security: refresh tokens, lockout, rate limits, CORS, headers, timeouts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecuritySettings {
    pub refresh_token_ttl_secs: u64,
    /// Failed logins for one email within `lockout_window_secs` that lock it.
    pub lockout_threshold: u32,
    pub lockout_window_secs: u64,
    /// Requests to `/auth/*` per client address per `auth_rate_window_secs`.
    pub auth_rate_limit: u32,
    pub auth_rate_window_secs: u64,
    /// Booking commands (book, cancel) per user per `booking_rate_window_secs`.
    pub booking_rate_limit: u32,
    pub booking_rate_window_secs: u64,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Origins allowed by CORS; empty: no cross-origin access.
    pub cors_origins: Vec<String>,
    /// Send `Strict-Transport-Security` (when served over TLS, e.g. behind a proxy).
    pub hsts: bool,
    /// Longest a request may take before it is answered 503.
    pub request_timeout_secs: u64,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            refresh_token_ttl_secs: 30 * 24 * 3600,
            lockout_threshold: 5,
            lockout_window_secs: 15 * 60,
            auth_rate_limit: 30,
            auth_rate_window_secs: 60,
            booking_rate_limit: 30,
            booking_rate_window_secs: 60,
            trust_forwarded_for: false,
            cors_origins: Vec::new(),
            hsts: false,
            request_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsumerSettings {
    /// Most messages one batch takes from a consumer.
    pub batch_size: usize,
    /// Overrides the `ack_wait` of the definitions in `nats/` (seconds), e.g. for tests.
    pub ack_wait_secs: Option<u64>,
    /// First delay of a `nak` after a transient failure; doubles each delivery.
    pub retry_base_ms: u64,
    /// How long the lease of a single-instance consumer (`reservations`) outlives a crashed
    /// holder before a standby instance takes over (seconds; renewed every third of it).
    pub lease_ttl_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            ops_addr: None,
            database_url: None,
            nats_url: None,
            nats_prefix: "evently".into(),
            nats_replicas: 1,
            data_dir: PathBuf::from(".evently"),
            local_postgres_tls: true,
            db_max_connections: 32,
            jwt_secret: None,
            jwt_previous_secrets: Vec::new(),
            access_token_ttl_secs: 900,
            admin_email: None,
            admin_password: None,
            decision_wait_ms: 5_000,
            max_body_bytes: 64 * 1024,
            consumer: ConsumerSettings::default(),
            security: SecuritySettings::default(),
            payments: PaymentSettings::default(),
            waitlist: WaitlistSettings::default(),
            tickets: crate::tickets::TicketSettings::default(),
            notifications: Default::default(),
            retention: Default::default(),
            web_dir: PathBuf::from("web/dist"),
            public_url: None,
        }
    }
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            batch_size: 512,
            ack_wait_secs: None,
            retry_base_ms: 500,
            lease_ttl_secs: 10,
        }
    }
}

impl Settings {
    /// Defaults, then `EVENTLY_CONFIG` (a TOML file) if set, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Ok(path) = std::env::var("EVENTLY_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment
            .merge(Env::raw().only(&["DATABASE_URL", "NATS_URL"]))
            .merge(Env::prefixed("EVENTLY_").ignore(&["CONFIG"]).split("__"));
        let settings: Settings = figment
            .extract()
            .context("reading settings (defaults, EVENTLY_CONFIG, EVENTLY_* variables)")?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what can be checked without connecting, naming the setting that is wrong.
    pub fn validate(&self) -> anyhow::Result<()> {
        Prefix::new(&self.nats_prefix).context("EVENTLY_NATS_PREFIX")?;
        if self.consumer.batch_size == 0 || self.consumer.batch_size > 10_000 {
            bail!("EVENTLY_CONSUMER__BATCH_SIZE must be between 1 and 10000");
        }
        if !(3..=600).contains(&self.consumer.lease_ttl_secs) {
            bail!("EVENTLY_CONSUMER__LEASE_TTL_SECS must be between 3 and 600");
        }
        if self.db_max_connections < 2 {
            bail!("EVENTLY_DB_MAX_CONNECTIONS must be at least 2");
        }
        if let Some(secret) = &self.jwt_secret
            && secret.expose().len() < 32
        {
            bail!("EVENTLY_JWT_SECRET must be at least 32 characters");
        }
        if self.admin_email.is_some() != self.admin_password.is_some() {
            bail!("EVENTLY_ADMIN_EMAIL and EVENTLY_ADMIN_PASSWORD must be set together");
        }
        if self
            .jwt_previous_secrets
            .iter()
            .any(|s| s.expose().len() < 32)
        {
            bail!("EVENTLY_JWT_PREVIOUS_SECRETS must each be at least 32 characters");
        }
        let sec = &self.security;
        if sec.lockout_threshold == 0 || sec.lockout_window_secs == 0 {
            bail!("EVENTLY_SECURITY__LOCKOUT_THRESHOLD and __LOCKOUT_WINDOW_SECS must be positive");
        }
        if sec.auth_rate_limit == 0 || sec.auth_rate_window_secs == 0 {
            bail!("EVENTLY_SECURITY__AUTH_RATE_LIMIT and __AUTH_RATE_WINDOW_SECS must be positive");
        }
        if sec.booking_rate_limit == 0 || sec.booking_rate_window_secs == 0 {
            bail!(
                "EVENTLY_SECURITY__BOOKING_RATE_LIMIT and __BOOKING_RATE_WINDOW_SECS must be positive"
            );
        }
        if sec.auth_rate_window_secs > 3600 || sec.booking_rate_window_secs > 3600 {
            bail!("rate-limit windows (EVENTLY_SECURITY__*_RATE_WINDOW_SECS) must be at most 3600");
        }
        if sec.request_timeout_secs * 1000 <= self.decision_wait_ms {
            bail!("EVENTLY_SECURITY__REQUEST_TIMEOUT_SECS must exceed EVENTLY_DECISION_WAIT_MS");
        }
        if self.payments.provider != "test" && self.payments.webhook_secret.expose().len() < 32 {
            bail!("EVENTLY_PAYMENTS__WEBHOOK_SECRET must be at least 32 characters");
        }
        if self.payments.sweep_interval_ms == 0 || self.payments.sweep_batch < 1 {
            bail!("EVENTLY_PAYMENTS__SWEEP_INTERVAL_MS and __SWEEP_BATCH must be positive");
        }
        if self.waitlist.max_passes < 0 {
            bail!("EVENTLY_WAITLIST__MAX_PASSES must not be negative");
        }
        self.notifications.validate()?;
        if !(1..=5).contains(&self.nats_replicas) {
            bail!("EVENTLY_NATS_REPLICAS must be between 1 and 5");
        }
        self.tickets.validate()?;
        self.retention.validate()?;
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("EVENTLY_PUBLIC_URL must start with http:// or https://");
        }
        Ok(())
    }

    pub fn prefix(&self) -> anyhow::Result<Prefix> {
        Prefix::new(&self.nats_prefix).context("EVENTLY_NATS_PREFIX")
    }

    pub fn decision_wait(&self) -> Duration {
        Duration::from_millis(self.decision_wait_ms)
    }

    /// The database URL, or an error naming the setting.
    pub fn require_database_url(&self) -> anyhow::Result<&str> {
        self.database_url
            .as_deref()
            .context("DATABASE_URL (or EVENTLY_DATABASE_URL) is not set")
    }

    pub fn require_nats_url(&self) -> anyhow::Result<&str> {
        self.nats_url
            .as_deref()
            .context("NATS_URL (or EVENTLY_NATS_URL) is not set")
    }

    pub fn require_jwt_secret(&self) -> anyhow::Result<&Secret> {
        self.jwt_secret
            .as_ref()
            .context("EVENTLY_JWT_SECRET is not set (at least 32 characters)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let s = Settings {
            jwt_secret: Some(Secret::new("x".repeat(40))),
            ..Settings::default()
        };
        let printed = format!("{s:?}");
        assert!(!printed.contains("xxxx"), "{printed}");
    }

    #[test]
    fn a_bad_prefix_is_reported_by_its_setting_name() {
        let s = Settings {
            nats_prefix: "a.b".into(),
            ..Settings::default()
        };
        let err = format!("{:#}", s.validate().expect_err("invalid"));
        assert!(err.contains("EVENTLY_NATS_PREFIX"), "{err}");
    }
}
