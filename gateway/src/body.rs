//! Request bodies and checks: JSON parsed with the path of the offending field, and a collector of
//! field errors so one response names everything that is wrong.

use salvo::http::ParseError;
use salvo::http::header;
use salvo::prelude::*;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldErrors};

/// Parses a JSON body of at most `max` bytes. Malformed JSON is a 400; a wrong type, a missing or
/// an unknown field, or text with a control character (`crate::text`) is a 422 naming the field.
pub async fn parse_json<T: DeserializeOwned>(req: &mut Request, max: usize) -> Result<T, ApiError> {
    parse_optional_json(req, max)
        .await?
        .ok_or_else(|| ApiError::BadRequest {
            detail: "a JSON body is required".into(),
        })
}

/// Like [`parse_json`], but an empty body is `None` rather than an error.
pub async fn parse_optional_json<T: DeserializeOwned>(
    req: &mut Request,
    max: usize,
) -> Result<Option<T>, ApiError> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        if !(ct.starts_with("application/json") || ct.contains("+json")) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as application/json",
            ));
        }
    }
    let bytes = req.payload_with_max_size(max).await.map_err(|e| match e {
        ParseError::PayloadTooLarge => ApiError::PayloadTooLarge,
        other => ApiError::BadRequest {
            detail: format!("could not read the body: {other}"),
        },
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut de)
        .map(Some)
        .map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return ApiError::BadRequest {
                    detail: format!("malformed JSON: {inner}"),
                };
            }
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            let field = if path == "." || path.is_empty() {
                field_named_in(&message).unwrap_or_else(|| "body".into())
            } else {
                path
            };
            ApiError::field(&field, message)
        })?;
    crate::text::check_json(bytes)?;
    Ok(parsed)
}

/// serde names a missing or unknown field between backticks: "missing field `quantity`".
fn field_named_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// Collects field errors; `finish` fails with all of them at once.
#[derive(Default)]
pub struct Checks(FieldErrors);

impl Checks {
    pub fn check(&mut self, ok: bool, field: &str, message: &str) -> &mut Self {
        if !ok && !self.0.contains_key(field) {
            self.0.insert(field.to_owned(), message.to_owned());
        }
        self
    }

    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation {
                errors: std::mem::take(&mut self.0),
            })
        }
    }
}

/// A path parameter that must be a UUID; anything else names no resource, so 404.
pub fn path_id(req: &Request, name: &str, what: &'static str) -> Result<uuid::Uuid, ApiError> {
    req.param::<String>(name)
        .and_then(|s| uuid::Uuid::parse_str(&s).ok())
        .ok_or(ApiError::NotFound(what))
}

/// The `Idempotency-Key` header, if any: 1 to 255 visible ASCII characters.
pub fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_field_name_is_found_in_serde_messages() {
        assert_eq!(
            super::field_named_in("missing field `quantity`").as_deref(),
            Some("quantity")
        );
        assert_eq!(super::field_named_in("no field"), None);
    }
}
