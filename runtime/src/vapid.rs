//! VAPID keys (RFC 8292): the application server's P-256 key pair that signs Web Push requests.
//! Stored as the base64url (unpadded) 32-byte private scalar; the public key is served to browsers
//! as the base64url uncompressed point (65 bytes), which `pushManager.subscribe` takes as
//! `applicationServerKey`.

use std::path::Path;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint;

use crate::settings::Secret;

/// The private key as a P-256 secret key.
pub fn secret_key(private: &Secret) -> anyhow::Result<p256::SecretKey> {
    let bytes = URL_SAFE_NO_PAD
        .decode(private.expose().trim())
        .context("not base64url")?;
    p256::SecretKey::from_slice(&bytes).map_err(|_| anyhow::anyhow!("not a P-256 private key"))
}

/// The public key of `private`, base64url of the uncompressed point.
pub fn public_key(private: &Secret) -> anyhow::Result<String> {
    let point = secret_key(private)?.public_key().to_encoded_point(false);
    Ok(URL_SAFE_NO_PAD.encode(point.as_bytes()))
}

/// A new private key.
pub fn generate() -> Secret {
    loop {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        if p256::SecretKey::from_slice(&bytes).is_ok() {
            return Secret::new(URL_SAFE_NO_PAD.encode(bytes));
        }
    }
}

/// The VAPID key of a laptop install: generated once and kept in the data folder.
pub fn local_key(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join("vapid_private_key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = Secret::new(text.trim());
        if secret_key(&key).is_ok() {
            return Ok(key);
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let key = generate();
    std::fs::write(&path, key.expose()).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    tracing::info!(path = %path.display(), "generated a VAPID key for Web Push");
    Ok(key)
}

/// Installs ring as the process's rustls crypto provider (the HTTP client of Web Push uses the
/// process default). Harmless when one is installed already.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_generated_key_has_a_65_byte_public_key() {
        let key = super::generate();
        let public = super::public_key(&key).expect("public key");
        let bytes = base64::Engine::decode(&super::URL_SAFE_NO_PAD, public).expect("base64url");
        assert_eq!(bytes.len(), 65);
        assert_eq!(bytes[0], 4);
        assert!(super::public_key(&crate::settings::Secret::new("nope")).is_err());
    }
}
