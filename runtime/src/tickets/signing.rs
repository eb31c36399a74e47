//! Ed25519-signed QR payloads a door scanner can verify offline with only the public keys.
//!
//! Payload (version 1), base64url without padding:
//! `version (1) | key id length (1) | key id (1-16) | ticket id (16) | event id (16) |
//!  seat index (u16 BE) | issued at (u32 BE, Unix seconds) | signature (64)`,
//! the signature covering `"evently-ticket\0"` followed by every byte before it. With a two-byte
//! key id that is 106 bytes, 142 characters: a 49x49 (version 8) QR code at error-correction
//! level M.
//! Rotation: sign with a new key id, keep the old public key in `previous_keys` while its tickets
//! are still in use.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::settings::Secret;

const VERSION: u8 = 1;
const DOMAIN: &[u8] = b"evently-ticket\0";
/// Longest payload text accepted before decoding (a v1 payload is at most 156 characters).
pub const MAX_PAYLOAD_CHARS: usize = 512;

/// `[tickets]` settings: the current signing key and the public keys of earlier ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketSettings {
    /// Base64 of the 32-byte Ed25519 seed (`EVENTLY_TICKETS__SIGNING_KEY`). `evently up` generates
    /// one into the data folder when unset; elsewhere it is required.
    pub signing_key: Option<Secret>,
    /// The id the current key signs with, 1-16 visible ASCII characters.
    pub key_id: String,
    /// Earlier keys whose tickets must still verify.
    pub previous_keys: Vec<PreviousKey>,
}

/// A retired signing key: verification only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreviousKey {
    pub key_id: String,
    /// Base64url (or standard base64) of the 32-byte public key, as `x` in the public-keys route.
    pub public_key: String,
}

impl Default for TicketSettings {
    fn default() -> Self {
        Self {
            signing_key: None,
            key_id: "k1".into(),
            previous_keys: Vec::new(),
        }
    }
}

impl TicketSettings {
    /// Checks the keys without needing them to be set.
    pub fn validate(&self) -> anyhow::Result<()> {
        check_key_id(&self.key_id).context("EVENTLY_TICKETS__KEY_ID")?;
        if let Some(seed) = &self.signing_key {
            decode_32(seed.expose()).context("EVENTLY_TICKETS__SIGNING_KEY")?;
        }
        for key in &self.previous_keys {
            check_key_id(&key.key_id).context("EVENTLY_TICKETS__PREVIOUS_KEYS key_id")?;
            if key.key_id == self.key_id {
                bail!(
                    "EVENTLY_TICKETS__PREVIOUS_KEYS reuses the current key id {:?}",
                    key.key_id
                );
            }
            public_key(&key.public_key).context("EVENTLY_TICKETS__PREVIOUS_KEYS public_key")?;
        }
        Ok(())
    }
}

fn check_key_id(id: &str) -> anyhow::Result<()> {
    if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("a key id is 1 to 16 visible ASCII characters, not {id:?}");
    }
    Ok(())
}

fn decode_32(text: &str) -> anyhow::Result<[u8; 32]> {
    let text = text.trim();
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(text))
        .context("not base64")?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| anyhow::anyhow!("must decode to 32 bytes, not {}", bytes.len()))
}

fn public_key(text: &str) -> anyhow::Result<VerifyingKey> {
    VerifyingKey::from_bytes(&decode_32(text)?).context("not an Ed25519 public key")
}

/// A new random seed, base64: a value for `EVENTLY_TICKETS__SIGNING_KEY`.
pub fn generate_seed() -> Secret {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    Secret::new(STANDARD.encode(seed))
}

/// The signing key of a laptop install: generated once and kept in the data folder.
pub fn local_signing_key(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join("ticket_signing_key");
    if let Ok(text) = std::fs::read_to_string(&path)
        && decode_32(&text).is_ok()
    {
        return Ok(Secret::new(text.trim()));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let seed = generate_seed();
    std::fs::write(&path, seed.expose()).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    tracing::info!(path = %path.display(), "generated a ticket signing key");
    Ok(seed)
}

/// A verification key and its id.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub key_id: String,
    pub key: VerifyingKey,
}

/// A public key as JSON (a JWK, RFC 8037).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub kid: String,
    /// Base64url of the 32-byte public key.
    pub x: String,
    #[serde(rename = "use")]
    pub usage: String,
    pub alg: String,
}

impl PublicKey {
    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            kid: self.key_id.clone(),
            x: URL_SAFE_NO_PAD.encode(self.key.as_bytes()),
            usage: "sig".into(),
            alg: "EdDSA".into(),
        }
    }

    /// The key of a JWK as published by the public-keys route.
    pub fn from_jwk(jwk: &Jwk) -> anyhow::Result<Self> {
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            bail!("not an Ed25519 key");
        }
        Ok(Self {
            key_id: jwk.kid.clone(),
            key: public_key(&jwk.x)?,
        })
    }
}

/// What a verified payload says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketClaims {
    pub key_id: String,
    pub ticket_id: Uuid,
    pub event_id: Uuid,
    pub seat_index: u16,
    pub issued_at: DateTime<Utc>,
}

/// Why a payload does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the payload is not a ticket code (bad length or encoding)")]
    Malformed,
    #[error("the payload's format version is not supported")]
    Version,
    #[error("the payload was signed with an unknown key")]
    UnknownKey,
    #[error("the payload's signature does not verify")]
    Signature,
}

/// The signing key and every verification key.
#[derive(Debug, Clone)]
pub struct TicketKeys {
    key_id: String,
    signing: SigningKey,
    public: Vec<PublicKey>,
}

impl TicketKeys {
    /// From settings; the signing key is required here.
    pub fn from_settings(settings: &TicketSettings) -> anyhow::Result<Self> {
        settings.validate()?;
        let seed = settings.signing_key.as_ref().context(
            "EVENTLY_TICKETS__SIGNING_KEY is not set (base64 of a 32-byte Ed25519 seed)",
        )?;
        let signing = SigningKey::from_bytes(&decode_32(seed.expose())?);
        let mut public = vec![PublicKey {
            key_id: settings.key_id.clone(),
            key: signing.verifying_key(),
        }];
        for key in &settings.previous_keys {
            public.push(PublicKey {
                key_id: key.key_id.clone(),
                key: public_key(&key.public_key)?,
            });
        }
        Ok(Self {
            key_id: settings.key_id.clone(),
            signing,
            public,
        })
    }

    /// Every key a payload may be signed with, current first.
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.public
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs a ticket's claims with the current key; returns the base64url payload.
    pub fn sign(
        &self,
        ticket_id: Uuid,
        event_id: Uuid,
        seat_index: u16,
        issued_at: DateTime<Utc>,
    ) -> String {
        let kid = self.key_id.as_bytes();
        let mut bytes = Vec::with_capacity(2 + kid.len() + 38 + 64);
        bytes.push(VERSION);
        bytes.push(u8::try_from(kid.len()).unwrap_or(u8::MAX));
        bytes.extend_from_slice(kid);
        bytes.extend_from_slice(ticket_id.as_bytes());
        bytes.extend_from_slice(event_id.as_bytes());
        bytes.extend_from_slice(&seat_index.to_be_bytes());
        let secs = u32::try_from(issued_at.timestamp().max(0)).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&secs.to_be_bytes());
        let signature = self.signing.sign(&signed_message(&bytes));
        bytes.extend_from_slice(&signature.to_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn verify(&self, payload: &str) -> Result<TicketClaims, VerifyError> {
        verify(payload, &self.public)
    }
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    [DOMAIN, body].concat()
}

/// Verifies a payload against `keys` (by its key id) and returns its claims.
pub fn verify(payload: &str, keys: &[PublicKey]) -> Result<TicketClaims, VerifyError> {
    let payload = payload.trim();
    if payload.is_empty() || payload.len() > MAX_PAYLOAD_CHARS {
        return Err(VerifyError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| VerifyError::Malformed)?;
    let (&version, rest) = bytes.split_first().ok_or(VerifyError::Malformed)?;
    if version != VERSION {
        return Err(VerifyError::Version);
    }
    let (&kid_len, rest) = rest.split_first().ok_or(VerifyError::Malformed)?;
    let kid_len = usize::from(kid_len);
    if !(1..=16).contains(&kid_len) || rest.len() != kid_len + 38 + 64 {
        return Err(VerifyError::Malformed);
    }
    let body_len = bytes.len() - 64;
    let (body, signature) = bytes.split_at(body_len);
    let kid = std::str::from_utf8(&rest[..kid_len]).map_err(|_| VerifyError::Malformed)?;
    let key = keys
        .iter()
        .find(|k| k.key_id == kid)
        .ok_or(VerifyError::UnknownKey)?;
    let signature = Signature::from_slice(signature).map_err(|_| VerifyError::Malformed)?;
    key.key
        .verify_strict(&signed_message(body), &signature)
        .map_err(|_| VerifyError::Signature)?;
    let fields = &rest[kid_len..];
    let uuid_at = |at: usize| {
        <[u8; 16]>::try_from(&fields[at..at + 16])
            .map(Uuid::from_bytes)
            .map_err(|_| VerifyError::Malformed)
    };
    let seat = u16::from_be_bytes([fields[32], fields[33]]);
    let secs = u32::from_be_bytes([fields[34], fields[35], fields[36], fields[37]]);
    Ok(TicketClaims {
        key_id: kid.to_owned(),
        ticket_id: uuid_at(0)?,
        event_id: uuid_at(16)?,
        seat_index: seat,
        issued_at: DateTime::from_timestamp(i64::from(secs), 0).ok_or(VerifyError::Malformed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kid: &str) -> TicketKeys {
        TicketKeys::from_settings(&TicketSettings {
            signing_key: Some(generate_seed()),
            key_id: kid.into(),
            previous_keys: Vec::new(),
        })
        .expect("keys")
    }

    #[test]
    fn a_signed_payload_verifies_and_carries_its_claims() {
        let k = keys("k1");
        let (ticket, event) = (Uuid::new_v4(), Uuid::new_v4());
        let at = DateTime::from_timestamp(1_790_000_000, 0).expect("time");
        let payload = k.sign(ticket, event, 3, at);
        assert!(payload.len() <= 150, "{}", payload.len());
        let claims = k.verify(&payload).expect("verifies");
        assert_eq!(claims.ticket_id, ticket);
        assert_eq!(claims.event_id, event);
        assert_eq!(claims.seat_index, 3);
        assert_eq!(claims.issued_at, at);
        assert_eq!(claims.key_id, "k1");
    }

    #[test]
    fn any_changed_byte_fails_verification() {
        let k = keys("k1");
        let payload = k.sign(Uuid::new_v4(), Uuid::new_v4(), 0, Utc::now());
        let bytes = URL_SAFE_NO_PAD.decode(&payload).expect("b64");
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            assert!(
                k.verify(&URL_SAFE_NO_PAD.encode(&changed)).is_err(),
                "byte {i}"
            );
        }
        assert_eq!(k.verify("not base64!"), Err(VerifyError::Malformed));
        assert_eq!(k.verify(""), Err(VerifyError::Malformed));
    }

    #[test]
    fn a_rotated_key_still_verifies_old_tickets_and_a_foreign_key_does_not() {
        let old = keys("k1");
        let payload = old.sign(Uuid::new_v4(), Uuid::new_v4(), 1, Utc::now());
        let jwk = old.public_keys()[0].jwk();
        let new = TicketKeys::from_settings(&TicketSettings {
            signing_key: Some(generate_seed()),
            key_id: "k2".into(),
            previous_keys: vec![PreviousKey {
                key_id: jwk.kid.clone(),
                public_key: jwk.x.clone(),
            }],
        })
        .expect("keys");
        assert!(new.verify(&payload).is_ok());
        assert_eq!(keys("k1").verify(&payload), Err(VerifyError::Signature));
        assert_eq!(keys("k9").verify(&payload), Err(VerifyError::UnknownKey));
        let published = PublicKey::from_jwk(&jwk).expect("jwk");
        assert!(verify(&payload, &[published]).is_ok());
    }
}
