//! TLS for the private PostgreSQL: a self-signed certificate made once per cluster, so that
//! `evently up` and the tests reach their database over TLS (`sslmode=require`), as production
//! deployments and managed databases do.

use std::path::Path;

use anyhow::Context;
use tokio::process::Command;

use super::run;

/// The certificate and key, in the cluster's data folder (PostgreSQL reads relative paths from
/// there); `deploy/ensure-services.sh` makes the same files when it initialises the cluster.
pub const CERT_FILE: &str = "server.crt";
pub const KEY_FILE: &str = "server.key";

/// The server options that turn TLS on with those files.
pub fn server_options() -> String {
    format!("-c ssl=on -c ssl_cert_file={CERT_FILE} -c ssl_key_file={KEY_FILE}")
}

/// Makes the cluster's certificate and key when they are missing: ECDSA P-256, self-signed for
/// `localhost` and `127.0.0.1`, the key readable by its owner only (PostgreSQL refuses it
/// otherwise), both owned by `user` when given (we are root and the cluster runs as `user`).
pub async fn ensure_certificate(data: &Path, user: Option<&str>) -> anyhow::Result<()> {
    let cert_path = data.join(CERT_FILE);
    let key_path = data.join(KEY_FILE);
    if cert_path.is_file() && key_path.is_file() {
        return Ok(());
    }
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .context("certificate parameters")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Evently private PostgreSQL");
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
    let key = rcgen::KeyPair::generate().context("generating a TLS key")?;
    let cert = params
        .self_signed(&key)
        .context("self-signing the certificate")?;
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.pem())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    if let Some(user) = user {
        let mut chown = Command::new("chown");
        chown.arg(format!("{user}:")).arg(&cert_path).arg(&key_path);
        run(chown, "chown of the TLS files").await?;
    }
    tracing::info!(dir = %data.display(), "made a self-signed TLS certificate for PostgreSQL");
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Whether the postmaster of `data` was started with TLS on (its `postmaster.opts` holds the
/// command line it was started with).
pub fn running_with_tls(data: &Path) -> bool {
    std::fs::read_to_string(data.join("postmaster.opts")).is_ok_and(|opts| opts.contains("ssl=on"))
}

/// `url` with `sslmode` set: `require` with TLS, `disable` without.
pub fn with_sslmode(url: &str, tls: bool) -> String {
    let mode = if tls { "require" } else { "disable" };
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode={mode}")
}
