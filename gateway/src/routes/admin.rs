//! Admin: change a user's role.

use evently_runtime::identity::Role;
use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Deserialize;

use super::accounts::UserOut;
use super::reply;
use crate::auth::current_user;
use crate::body::{parse_json, path_id};
use crate::error::ApiError;
use crate::state::state;

pub fn router() -> Router {
    Router::with_path("admin/users/{id}/role").put(set_role)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// `attendee`, `organizer` or `admin`.
    #[salvo(schema(pattern = "^(attendee|organizer|admin)$"))]
    pub role: String,
}

/// Set a user's role (admin only). Takes effect at the user's next login.
#[endpoint(security(("bearer" = [])), tags("admin"), parameters(("id" = uuid::Uuid, Path)), request_body = RoleRequest, responses((status_code = 200, body = UserOut)))]
pub async fn set_role(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    caller.require_admin()?;
    let state = state(depot)?;
    let id = path_id(req, "id", "user")?;
    let body: RoleRequest = parse_json(req, state.settings.max_body_bytes).await?;
    let role = Role::parse(&body.role)
        .ok_or_else(|| ApiError::field("role", "must be attendee, organizer or admin"))?;
    let user = sqlx::query_as::<_, UserOut>(
        "UPDATE users SET role = $2 WHERE id = $1 RETURNING id, email, name, role, created_at",
    )
    .bind(id)
    .bind(role.as_str())
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound("user"))?;
    reply(res, StatusCode::OK, &user);
    Ok(())
}
