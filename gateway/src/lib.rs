//! The Evently HTTP gateway: authenticates and validates requests, publishes booking commands to
//! JetStream and answers from their decisions, and serves the read side from PostgreSQL.

mod auth;
mod body;
mod decisions;
mod error;
mod events_cache;
mod hygiene;
mod live;
mod live_user;
mod lockout;
pub mod ops;
mod outbox;
mod pagination;
mod publish;
mod rate_limit;
mod routes;
mod sessions;
pub mod startup;
mod state;
mod text;
mod web;

pub use routes::accounts::ensure_admin;
pub use startup::{Application, GatewayDeps, router};
