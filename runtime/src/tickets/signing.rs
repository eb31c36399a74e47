//! Ed25519-signed QR payloads a door scanner can verify offline with only the public keys.
//!
//! Payload, base64url without padding:
//! `version (1) | key id length (1) | key id (1-16) | ticket id (16) | event id (16) |
//!  seat index (u16 BE) | issued at (u32 BE, Unix seconds) | [seat] | signature (64)`,
//! the signature covering `"evently-ticket\0"` followed by every byte before it.
//! - Version 1 has no `[seat]`: a ticket of an event sold without a seat map. With a two-byte key
//!   id that is 106 bytes, 142 characters: a 49x49 (version 8) QR code at error-correction level M.
//! - Version 2 carries the particular seat, so an offline door shows where the holder sits:
//!   `[seat]` is section, row and number, each as a length byte and up to
//!   [`MAX_SEAT_PART_BYTES`] bytes of UTF-8 (longer labels are cut at a character boundary; the
//!   check-in answer names the whole seat).
//!
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

use super::TicketSeat;
use crate::settings::Secret;

/// The format without a seat.
const VERSION: u8 = 1;
/// The format with a seat.
const VERSION_SEATED: u8 = 2;
const DOMAIN: &[u8] = b"evently-ticket\0";
/// Longest payload text accepted before decoding (a v1 payload is at most 156 characters, a v2
/// one at most 286).
pub const MAX_PAYLOAD_CHARS: usize = 512;
/// The most bytes of each part of a seat (section, row, number) a payload carries.
pub const MAX_SEAT_PART_BYTES: usize = 32;

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
    /// The particular seat (version 2), each part as the payload carries it.
    pub seat: Option<TicketSeat>,
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

    /// Signs a ticket's claims with the current key; returns the base64url payload (version 2
    /// when the ticket has a particular seat, version 1 otherwise).
    pub fn sign(
        &self,
        ticket_id: Uuid,
        event_id: Uuid,
        seat_index: u16,
        seat: Option<&TicketSeat>,
        issued_at: DateTime<Utc>,
    ) -> String {
        let kid = self.key_id.as_bytes();
        let mut bytes = Vec::with_capacity(2 + kid.len() + 38 + 99 + 64);
        bytes.push(if seat.is_some() {
            VERSION_SEATED
        } else {
            VERSION
        });
        bytes.push(u8::try_from(kid.len()).unwrap_or(u8::MAX));
        bytes.extend_from_slice(kid);
        bytes.extend_from_slice(ticket_id.as_bytes());
        bytes.extend_from_slice(event_id.as_bytes());
        bytes.extend_from_slice(&seat_index.to_be_bytes());
        let secs = u32::try_from(issued_at.timestamp().max(0)).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&secs.to_be_bytes());
        if let Some(seat) = seat {
            for part in [&seat.section, &seat.row, &seat.number] {
                let part = cut(part, MAX_SEAT_PART_BYTES).as_bytes();
                bytes.push(u8::try_from(part.len()).unwrap_or(u8::MAX));
                bytes.extend_from_slice(part);
            }
        }
        let signature = self.signing.sign(&signed_message(&bytes));
        bytes.extend_from_slice(&signature.to_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn verify(&self, payload: &str) -> Result<TicketClaims, VerifyError> {
        verify(payload, &self.public)
    }
}

/// `text`'s longest prefix of at most `max` bytes that ends at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let end = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    &text[..end]
}

/// Reads the three length-prefixed parts of a version 2 seat, which must fill `bytes` exactly.
fn read_seat(mut bytes: &[u8]) -> Result<TicketSeat, VerifyError> {
    let mut parts = Vec::with_capacity(3);
    for _ in 0..3 {
        let (&len, rest) = bytes.split_first().ok_or(VerifyError::Malformed)?;
        let len = usize::from(len);
        if len > MAX_SEAT_PART_BYTES || rest.len() < len {
            return Err(VerifyError::Malformed);
        }
        let (part, rest) = rest.split_at(len);
        parts.push(
            std::str::from_utf8(part)
                .map_err(|_| VerifyError::Malformed)?
                .to_owned(),
        );
        bytes = rest;
    }
    if !bytes.is_empty() {
        return Err(VerifyError::Malformed);
    }
    let number = parts.pop().unwrap_or_default();
    let row = parts.pop().unwrap_or_default();
    let section = parts.pop().unwrap_or_default();
    Ok(TicketSeat {
        section,
        row,
        number,
    })
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
    if version != VERSION && version != VERSION_SEATED {
        return Err(VerifyError::Version);
    }
    let (&kid_len, rest) = rest.split_first().ok_or(VerifyError::Malformed)?;
    let kid_len = usize::from(kid_len);
    let fixed = kid_len + 38 + 64;
    let fits = if version == VERSION {
        rest.len() == fixed
    } else {
        rest.len() >= fixed + 3
    };
    if !(1..=16).contains(&kid_len) || !fits {
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
    let fields = &body[2 + kid_len..];
    let uuid_at = |at: usize| {
        <[u8; 16]>::try_from(&fields[at..at + 16])
            .map(Uuid::from_bytes)
            .map_err(|_| VerifyError::Malformed)
    };
    let seat_index = u16::from_be_bytes([fields[32], fields[33]]);
    let secs = u32::from_be_bytes([fields[34], fields[35], fields[36], fields[37]]);
    let seat = if version == VERSION_SEATED {
        Some(read_seat(&fields[38..])?)
    } else {
        None
    };
    Ok(TicketClaims {
        key_id: kid.to_owned(),
        ticket_id: uuid_at(0)?,
        event_id: uuid_at(16)?,
        seat_index,
        issued_at: DateTime::from_timestamp(i64::from(secs), 0).ok_or(VerifyError::Malformed)?,
        seat,
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
        let payload = k.sign(ticket, event, 3, None, at);
        assert!(payload.len() <= 150, "{}", payload.len());
        let claims = k.verify(&payload).expect("verifies");
        assert_eq!(claims.ticket_id, ticket);
        assert_eq!(claims.event_id, event);
        assert_eq!(claims.seat_index, 3);
        assert_eq!(claims.issued_at, at);
        assert_eq!(claims.key_id, "k1");
        assert_eq!(claims.seat, None);
    }

    #[test]
    fn a_seated_payload_carries_its_seat_and_stays_a_small_code() {
        let k = keys("k1");
        let seat = TicketSeat {
            section: "Stalls".into(),
            row: "C".into(),
            number: "12".into(),
        };
        let payload = k.sign(Uuid::new_v4(), Uuid::new_v4(), 0, Some(&seat), Utc::now());
        assert!(payload.len() <= 170, "{}", payload.len());
        assert_eq!(k.verify(&payload).expect("verifies").seat, Some(seat));
        // Long labels are cut at a character boundary, within the part's limit.
        let long = TicketSeat {
            section: "Ü".repeat(40),
            row: "r".repeat(200),
            number: String::new(),
        };
        let payload = k.sign(Uuid::new_v4(), Uuid::new_v4(), 1, Some(&long), Utc::now());
        assert!(payload.len() <= MAX_PAYLOAD_CHARS);
        let carried = k.verify(&payload).expect("verifies").seat.expect("seat");
        assert_eq!(carried.section, "Ü".repeat(16));
        assert_eq!(carried.row, "r".repeat(MAX_SEAT_PART_BYTES));
        assert_eq!(carried.number, "");
    }

    /// A seated payload from a fixed seed: `web/src/features/checkin/verify.test.ts` verifies
    /// this same text, so the door's reader and this signer agree on the bytes.
    const SEATED_FIXTURE: &str = "AgJrMQGV8MIREXqqi7sAAAAAAAEBlfDCIiJ6qou7AAAAAAACAAFo53gADVBhcnRlcnJlIFPDvGQBQwIxMtQ-ESslAoO3iV73liEauj2PbxqJ3GIuHJnDpGmZDb4gT2vER4pVVKPKZ_PWJmjW53VdPGmXDLYs7zh2XWm4mg0";

    #[test]
    fn the_seated_fixture_is_what_this_signer_makes() {
        let k = TicketKeys::from_settings(&TicketSettings {
            signing_key: Some(Secret::new("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=")),
            key_id: "k1".into(),
            previous_keys: Vec::new(),
        })
        .expect("keys");
        let seat = TicketSeat {
            section: "Parterre Süd".into(),
            row: "C".into(),
            number: "12".into(),
        };
        let payload = k.sign(
            Uuid::from_u128(0x0195_f0c2_1111_7aaa_8bbb_0000_0000_0001),
            Uuid::from_u128(0x0195_f0c2_2222_7aaa_8bbb_0000_0000_0002),
            1,
            Some(&seat),
            DateTime::from_timestamp(1_760_000_000, 0).expect("time"),
        );
        assert_eq!(
            payload,
            SEATED_FIXTURE,
            "public key {}",
            k.public_keys()[0].jwk().x
        );
    }

    #[test]
    fn any_changed_byte_fails_verification() {
        let k = keys("k1");
        let seat = TicketSeat {
            section: "A".into(),
            row: "1".into(),
            number: "7".into(),
        };
        for seat in [None, Some(&seat)] {
            let payload = k.sign(Uuid::new_v4(), Uuid::new_v4(), 0, seat, Utc::now());
            let bytes = URL_SAFE_NO_PAD.decode(&payload).expect("b64");
            for i in 0..bytes.len() {
                let mut changed = bytes.clone();
                changed[i] ^= 0x01;
                assert!(
                    k.verify(&URL_SAFE_NO_PAD.encode(&changed)).is_err(),
                    "byte {i}"
                );
            }
            // Cut or lengthened, it does not verify either.
            for len in [bytes.len() - 1, bytes.len() + 1] {
                let mut resized = bytes.clone();
                resized.resize(len, 0);
                assert!(k.verify(&URL_SAFE_NO_PAD.encode(&resized)).is_err());
            }
        }
        assert_eq!(k.verify("not base64!"), Err(VerifyError::Malformed));
        assert_eq!(k.verify(""), Err(VerifyError::Malformed));
    }

    #[test]
    fn a_rotated_key_still_verifies_old_tickets_and_a_foreign_key_does_not() {
        let old = keys("k1");
        let payload = old.sign(Uuid::new_v4(), Uuid::new_v4(), 1, None, Utc::now());
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
