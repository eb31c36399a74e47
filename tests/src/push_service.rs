//! A local Web Push service for tests and the benchmark (salvo on 127.0.0.1, a free port): it keeps
//! every request it receives (headers and encrypted body) and answers `201 Created`, or the status
//! it is told to (e.g. `410 Gone`). [`PushRequest::verify`] checks the VAPID JWT (ES256 with the
//! server's public key, `aud` the endpoint's origin) and decrypts the aes128gcm payload with the
//! subscription's private key and auth secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use salvo::conn::Acceptor;
use salvo::prelude::*;
use web_push_native::jwt_simple::prelude::{
    ECDSAP256PublicKeyLike, ES256PublicKey, VerificationOptions,
};
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
use web_push_native::{Auth, p256};

/// One request as the push service received it.
#[derive(Debug, Clone)]
pub struct PushRequest {
    /// The path: `/push/<name>`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl PushRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Verifies the VAPID `Authorization` (JWT signed by `public_key`, `aud` = `origin`) and
    /// decrypts the body for the subscription `keys`. Returns the plaintext.
    pub fn verify(
        &self,
        public_key: &str,
        origin: &str,
        keys: &SubscriberKeys,
    ) -> anyhow::Result<Vec<u8>> {
        let auth = self.header("authorization").context("no Authorization")?;
        let rest = auth
            .strip_prefix("vapid ")
            .context("not a vapid Authorization")?;
        let (mut token, mut k) = (None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(t) = part.strip_prefix("t=") {
                token = Some(t);
            } else if let Some(v) = part.strip_prefix("k=") {
                k = Some(v);
            }
        }
        let (token, k) = (token.context("no t=")?, k.context("no k=")?);
        if k != public_key {
            bail!("k= is not the server's public key");
        }
        let key = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(public_key)?)?;
        let options = VerificationOptions {
            allowed_audiences: Some([origin.to_owned()].into_iter().collect()),
            ..Default::default()
        };
        let claims = key.verify_token::<web_push_native::jwt_simple::prelude::NoCustomClaims>(
            token,
            Some(options),
        )?;
        if !claims
            .subject
            .is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https:"))
        {
            bail!("no contact in sub");
        }
        if self.header("content-encoding") != Some("aes128gcm") {
            bail!("not aes128gcm");
        }
        let mut auth = Auth::default();
        auth.copy_from_slice(&keys.auth);
        web_push_native::decrypt(self.body.clone(), &keys.secret, &auth)
            .map_err(|e| anyhow::anyhow!("decrypting: {e}"))
    }
}

/// A browser's side of a subscription: its P-256 key pair and auth secret.
#[derive(Clone)]
pub struct SubscriberKeys {
    pub secret: p256::SecretKey,
    pub auth: [u8; 16],
}

impl SubscriberKeys {
    pub fn generate() -> Self {
        loop {
            let mut bytes = [0u8; 32];
            rand::fill(&mut bytes);
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                let mut auth = [0u8; 16];
                rand::fill(&mut auth);
                return Self { secret, auth };
            }
        }
    }

    /// `keys` as `PushSubscription.toJSON()` gives them.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "p256dh": URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false).as_bytes()),
            "auth": URL_SAFE_NO_PAD.encode(self.auth),
        })
    }
}

#[derive(Default)]
struct Shared {
    status: AtomicU16,
    requests: Mutex<Vec<PushRequest>>,
}

#[derive(Clone)]
pub struct PushService {
    pub origin: String,
    shared: Arc<Shared>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for PushService {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

struct Receive(Arc<Shared>);

#[async_trait]
impl Handler for Receive {
    async fn handle(
        &self,
        req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        let body = req.payload().await.map(|b| b.to_vec()).unwrap_or_default();
        let headers = req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        self.0.requests.lock().push(PushRequest {
            path: req.uri().path().to_owned(),
            headers,
            body,
            at: Instant::now(),
        });
        let status = self.0.status.load(Ordering::SeqCst);
        res.status_code(
            salvo::http::StatusCode::from_u16(status).unwrap_or(salvo::http::StatusCode::CREATED),
        );
    }
}

impl PushService {
    pub async fn start() -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::default());
        shared.status.store(201, Ordering::SeqCst);
        let acceptor = TcpListener::new("127.0.0.1:0").bind().await;
        let addr = acceptor
            .holdings()
            .first()
            .and_then(|h| h.local_addr.clone().into_std())
            .context("push service address")?;
        let router = Router::with_path("push/{name}").post(Receive(shared.clone()));
        let task = tokio::spawn(Server::new(acceptor).serve(router));
        Ok(Self {
            origin: format!("http://{addr}"),
            shared,
            task: Arc::new(task),
        })
    }

    /// A new endpoint on this service.
    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/push/{name}", self.origin)
    }

    /// Answer every request with `status` from now on.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<PushRequest> {
        self.shared.requests.lock().clone()
    }

    pub fn count(&self) -> usize {
        self.shared.requests.lock().len()
    }
}
