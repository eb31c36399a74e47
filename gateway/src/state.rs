//! What every handler can reach: the pools, the JetStream context, the token keys and the decision
//! hub. Injected into the `Depot` once per request by `affix_state`.

use std::sync::Arc;

use evently_runtime::Settings;
use evently_runtime::identity::TokenKeys;
use evently_schemas::Prefix;
use salvo::Depot;
use sqlx::PgPool;

use crate::decisions::DecisionHub;
use crate::error::ApiError;
use crate::events_cache::EventsCache;
use crate::rate_limit::RateLimiter;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    pub nats: async_nats::Client,
    pub js: async_nats::jetstream::Context,
    pub prefix: Prefix,
    pub keys: TokenKeys,
    pub decisions: Arc<DecisionHub>,
    pub events: EventsCache,
    pub limiter: RateLimiter,
    /// Per-user live updates (`/me/live`, and outcomes of waitlist and payment requests).
    pub users: Arc<crate::live_user::UserHub>,
    /// The payment provider (`EVENTLY_PAYMENTS__PROVIDER`).
    pub payments: Arc<dyn evently_runtime::payments::PaymentProvider>,
    /// Ticket signing and verification keys.
    pub tickets: evently_runtime::tickets::TicketKeys,
    /// Fires when the gateway stops: long-lived responses (live streams) end.
    pub shutdown: tokio_util::sync::CancellationToken,
}

pub type SharedState = Arc<AppState>;

/// The state, from a handler's depot.
pub fn state(depot: &Depot) -> Result<SharedState, ApiError> {
    depot
        .get_typed::<SharedState>()
        .cloned()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("application state missing from depot")))
}
