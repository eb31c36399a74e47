//! One error type for the whole API. Each variant knows its HTTP status and renders as
//! `application/problem+json` (RFC 9457); server-side causes are logged, never shown.

use std::collections::BTreeMap;

use salvo::http::{HeaderValue, StatusCode, header};
use salvo::oapi::{self, Components, EndpointOutRegister, Operation, ToSchema};
use salvo::prelude::*;
use serde::Serialize;

/// Field name -> what is wrong with it.
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest { detail: String },
    #[error("the request is invalid")]
    Validation { errors: FieldErrors },
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    PaymentRequired(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    #[error("the resource changed since it was read: fetch it again (its ETag) and retry")]
    PreconditionFailed,
    #[error("this update needs an If-Match header with the ETag from GET")]
    PreconditionRequired,
    #[error("too many failed logins: this account is locked for {retry_after} s")]
    Locked { retry_after: u64 },
    #[error("too many requests: retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// No built web app in `EVENTLY_WEB_DIR`.
    #[error(
        "the web app is not built (no index.html in {0}): run `bash deploy/web.sh build` \
         (or `npm ci && npm run build` in web/), or point EVENTLY_WEB_DIR at a built app"
    )]
    WebAppNotBuilt(String),
    #[error("{service} is unavailable, retry later")]
    Unavailable { service: &'static str },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// The problem document (RFC 9457) every error answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Per-field messages for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
}

impl ApiError {
    /// A validation error on one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(name.to_owned(), message.into());
        Self::Validation { errors }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            Self::NotFound(_) | Self::WebAppNotBuilt(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::Locked { .. } => StatusCode::LOCKED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad-request",
            Self::Validation { .. } => "validation",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::PaymentRequired(_) => "payment-declined",
            Self::NotFound(_) => "not-found",
            Self::WebAppNotBuilt(_) => "web-app-not-built",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::PreconditionFailed => "precondition-failed",
            Self::PreconditionRequired => "precondition-required",
            Self::Locked { .. } => "locked",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            Self::Validation { errors } => {
                let fields: Vec<_> = errors.keys().map(String::as_str).collect();
                format!("invalid field(s): {}", fields.join(", "))
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("https://evently.dev/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: match self {
                Self::Validation { errors } => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// An internal error; [`ApiError::classified`] makes it a 503 when the database is away.
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("database query"))
    }
}

impl ApiError {
    /// An internal error whose cause is the database being away (however deep in the error's
    /// chain, e.g. a helper that returns `anyhow`) is a 503 with `Retry-After`, never a 500.
    pub fn classified(self) -> Self {
        match self {
            Self::Internal(cause)
                if cause.chain().any(|c| {
                    c.downcast_ref::<sqlx::Error>()
                        .is_some_and(database_unavailable)
                }) =>
            {
                tracing::warn!(error = format!("{cause:#}"), "database unavailable");
                Self::Unavailable {
                    service: "the database",
                }
            }
            other => other,
        }
    }
}

/// Whether the database is away rather than the query wrong: no connection (refused, reset, TLS
/// handshake cut short, the pool's wait over), or the server shutting down or restarting (SQLSTATE
/// 57P01-57P03) or a connection failure (class 08).
fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}

/// Writes a problem document with the right content type and status.
pub fn write_problem(res: &mut Response, problem: &Problem) {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    res.status_code(status);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Err(e) = res.write_body(body) {
        tracing::error!(error = %e, "writing a problem body");
    }
}

#[async_trait]
impl Writer for ApiError {
    async fn write(self, _req: &mut Request, _depot: &mut Depot, res: &mut Response) {
        let this = self.classified();
        match &this {
            Self::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            Self::Unavailable { service } => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                tracing::warn!(service, "answering 503");
            }
            Self::Locked { retry_after } | Self::TooManyRequests { retry_after } => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        write_problem(res, &this.problem());
    }
}

impl EndpointOutRegister for ApiError {
    fn register(components: &mut Components, operation: &mut Operation) {
        let schema = Problem::to_schema(components);
        for (code, what) in [
            ("400", "Malformed request"),
            ("401", "Missing or invalid access token"),
            ("402", "The payment was declined"),
            ("403", "Not allowed for this role"),
            ("404", "Not found"),
            ("409", "Conflicts with the current state"),
            ("412", "Stale `If-Match`: the resource changed"),
            ("413", "Body too large"),
            ("422", "Invalid fields (see `errors`)"),
            (
                "423",
                "Account locked after failed logins; retry after `Retry-After` seconds",
            ),
            ("429", "Rate limited; retry after `Retry-After` seconds"),
            (
                "503",
                "A backing service is unavailable; retry after `Retry-After` seconds",
            ),
        ] {
            operation.responses.insert(
                code,
                oapi::Response::new(what).add_content(
                    "application/problem+json",
                    oapi::Content::new(schema.clone()),
                ),
            );
        }
    }
}

/// Turns every error salvo produces itself (unknown route, wrong method, panics, oversized
/// bodies) into a problem document.
#[handler]
pub async fn catch_all(res: &mut Response, ctrl: &mut FlowCtrl) {
    let status = res.status_code.unwrap_or(StatusCode::NOT_FOUND);
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if status.is_success() || status.is_redirection() || is_problem {
        return;
    }
    let detail = match status {
        StatusCode::NOT_FOUND => "no such resource".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this resource".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_owned(),
        s if s.is_server_error() => "internal error".to_owned(),
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let problem = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors: None,
    };
    res.body(salvo::http::ResBody::None);
    write_problem(res, &problem);
    ctrl.skip_rest();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_outage_deep_in_an_internal_error_is_a_503() {
        let cause = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("loading the rules");
        let answered = ApiError::Internal(cause.context("booking")).classified();
        assert_eq!(answered.status(), StatusCode::SERVICE_UNAVAILABLE);
        let tls = anyhow::Error::new(sqlx::Error::Tls("handshake cut short".into()));
        assert_eq!(
            ApiError::Internal(tls).classified().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn other_internal_errors_stay_500s() {
        let wrong = anyhow::Error::new(sqlx::Error::RowNotFound).context("a query");
        assert_eq!(
            ApiError::Internal(wrong).classified().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            ApiError::Internal(anyhow::anyhow!("a bug"))
                .classified()
                .status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
