//! What the gateway and the consumers share: settings, telemetry, the PostgreSQL pool, the NATS
//! connection with the stream and consumer definitions, and identity (passwords and tokens).

pub mod background;
pub mod backup;
pub mod db;
pub mod identity;
pub mod local;
pub mod nats;
pub mod notify_settings;
pub mod outbox;
pub mod payments;
pub mod push_policy;
pub mod retention;
pub mod settings;
pub mod telemetry;
pub mod tickets;
pub mod trace_context;
pub mod vapid;

pub use settings::Settings;
