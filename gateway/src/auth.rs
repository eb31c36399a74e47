//! Who is calling and what they may do. A hoop verifies the bearer token on every request; the
//! `CurrentUser` methods are the one place that decides who may do what.

use evently_runtime::identity::Role;
use salvo::http::header;
use salvo::prelude::*;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::state;

/// The authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct CurrentUser {
    pub id: Uuid,
    pub role: Role,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Organizers and admins manage venues and events.
    pub fn require_organizer(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Organizer | Role::Admin => Ok(()),
            Role::Attendee => Err(ApiError::Forbidden(
                "only organizers and admins may do this",
            )),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("only admins may do this"))
        }
    }

    /// Whether the caller may act on something owned by `owner`: its owner, or an admin.
    pub fn owns_or_admin(&self, owner: Uuid) -> bool {
        self.is_admin() || self.id == owner
    }

    /// Whether the caller may see a booking: its holder, the event's organizer, or an admin.
    pub fn may_see_booking(&self, holder: Uuid, organizer: Uuid) -> bool {
        self.owns_or_admin(holder) || self.id == organizer
    }
}

/// Verifies `Authorization: Bearer` when present. A present but invalid token is refused with 401
/// even on public routes, so a client learns at once that its token is bad.
#[handler]
pub async fn authenticate(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return;
    };
    let verified = (|| {
        let text = value.to_str().ok()?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))?;
        let keys = &state(depot).ok()?.keys;
        keys.verify(token.trim()).ok()
    })();
    match verified {
        Some(claims) => {
            depot.insert_typed(CurrentUser {
                id: claims.sub,
                role: claims.role,
            });
        }
        None => {
            ApiError::Unauthorized.write(req, depot, res).await;
            ctrl.skip_rest();
        }
    };
}

/// The client's address: the first `X-Forwarded-For` entry when the gateway is configured to trust
/// its proxy, else the peer address.
pub fn client_ip(req: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .and_then(|v| v.parse::<std::net::IpAddr>().ok())
    {
        return ip.to_string();
    }
    req.remote_addr()
        .clone()
        .into_std()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The caller, or 401.
pub fn current_user(depot: &Depot) -> Result<CurrentUser, ApiError> {
    depot
        .get_typed::<CurrentUser>()
        .copied()
        .map_err(|_| ApiError::Unauthorized)
}
