//! Identity: roles, argon2id password hashes and signed access tokens (JWT, HS256, with a `kid`
//! so the signing key can rotate).

use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Utc;
use jsonwebtoken::{Algorithm as JwtAlgorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::settings::Secret;

/// What a user may do: attendees book, organizers manage their own venues and events, admins all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Attendee,
    Organizer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attendee => "attendee",
            Self::Organizer => "organizer",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "attendee" => Some(Self::Attendee),
            "organizer" => Some(Self::Organizer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

const ISSUER: &str = "evently";

/// Why a token was refused. Deliberately coarse: the client only learns "401".
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token's key id is unknown")]
    UnknownKey,
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

/// Signs access tokens with the current key and verifies them with the key their `kid` names:
/// the current one or an earlier one still accepted during a rotation.
#[derive(Clone)]
pub struct TokenKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: Vec<(String, DecodingKey)>,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &Secret, ttl: Duration) -> Self {
        Self::with_previous(secret, &[], ttl)
    }

    /// Keys that sign with `secret` and also accept tokens signed with any of `previous`.
    pub fn with_previous(secret: &Secret, previous: &[Secret], ttl: Duration) -> Self {
        let bytes = secret.expose().as_bytes();
        let mut validation = Validation::new(JwtAlgorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        validation.leeway = 5;
        let decoding = std::iter::once(secret)
            .chain(previous)
            .map(|s| {
                (
                    key_id(s.expose().as_bytes()),
                    DecodingKey::from_secret(s.expose().as_bytes()),
                )
            })
            .collect();
        Self {
            kid: key_id(bytes),
            encoding: EncodingKey::from_secret(bytes),
            decoding,
            validation,
            ttl,
        }
    }

    /// An access token for a user, and its lifetime in seconds.
    pub fn issue(&self, user_id: Uuid, role: Role) -> Result<(String, u64), TokenError> {
        let now = Utc::now().timestamp();
        let ttl = self.ttl.as_secs();
        let claims = Claims {
            sub: user_id,
            role,
            iat: now,
            exp: now + ttl as i64,
            iss: ISSUER.into(),
        };
        let mut header = Header::new(JwtAlgorithm::HS256);
        header.kid = Some(self.kid.clone());
        Ok((jsonwebtoken::encode(&header, &claims, &self.encoding)?, ttl))
    }

    /// Verifies signature, algorithm (HS256 only), key id, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.iter().find(|(k, _)| k == kid))
            .map(|(_, key)| key)
            .ok_or(TokenError::UnknownKey)?;
        Ok(jsonwebtoken::decode::<Claims>(token, key, &self.validation)?.claims)
    }
}

/// A short, stable, non-secret id of a key: the first bytes of its SHA-256, hex.
fn key_id(secret: &[u8]) -> String {
    use std::fmt::Write;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(secret);
    digest.iter().take(6).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn argon2() -> Argon2<'static> {
    // OWASP's recommended argon2id parameters: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and a random salt. CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Checks a password against a stored hash. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A valid hash of a random password, to verify against when the email is unknown so that a
/// login for an unknown account costs the same time as one for a known account.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&Uuid::new_v4().to_string()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&Secret::new(secret), Duration::from_secs(60))
    }

    #[test]
    fn a_token_verifies_with_its_own_key_only() {
        let a = keys("a-secret-that-is-long-enough-for-hs256");
        let b = keys("another-secret-that-is-long-enough-too");
        let id = Uuid::new_v4();
        let (token, ttl) = a.issue(id, Role::Organizer).expect("issue");
        assert_eq!(ttl, 60);
        let claims = a.verify(&token).expect("verifies");
        assert_eq!((claims.sub, claims.role), (id, Role::Organizer));
        assert!(b.verify(&token).is_err());
    }

    #[test]
    fn a_token_signed_with_a_previous_key_verifies_during_a_rotation() {
        let old = keys("the-old-secret-that-is-long-enough-ok");
        let (token, _) = old.issue(Uuid::new_v4(), Role::Attendee).expect("issue");
        let rotated = TokenKeys::with_previous(
            &Secret::new("the-new-secret-that-is-long-enough-ok"),
            &[Secret::new("the-old-secret-that-is-long-enough-ok")],
            Duration::from_secs(60),
        );
        assert!(rotated.verify(&token).is_ok());
        let (fresh, _) = rotated
            .issue(Uuid::new_v4(), Role::Attendee)
            .expect("issue");
        assert!(old.verify(&fresh).is_err(), "new tokens carry the new kid");
    }

    #[test]
    fn passwords_verify_only_when_equal() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batter", &hash));
        assert!(!verify_password("x", "not a hash"));
    }
}
