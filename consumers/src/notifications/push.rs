//! Web Push (RFC 8030) with `web-push-native`: the payload encrypted per RFC 8291 (aes128gcm) with
//! the subscription's keys, signed with VAPID (RFC 8292), sent with reqwest over rustls. `TTL`,
//! `Urgency` and `Topic` are set per notice; the topic is derived from the delivery key, so a
//! re-sent message replaces the first one at the push service instead of adding a second.
//!
//! The VAPID JWT is signed here rather than with `web-push-native`'s `with_vapid`, whose `aud`
//! drops the endpoint's port (the origin `http://127.0.0.1:8443` would become `http://127.0.0.1`).
//!
//! Every endpoint is checked against the push policy before its request is made (a subscription
//! stored before the allowlist changed, or written by anything but the gateway, gets no request),
//! and the request goes out through [`super::push_http`], which checks the addresses it connects
//! to. A refusal is a permanent failure of that delivery, never retried.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use evently_runtime::notify_settings::NotificationSettings;
use evently_runtime::push_policy::PushPolicy;
use parking_lot::Mutex;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use uuid::Uuid;
use web_push_native::jwt_simple::prelude::{Claims, ECDSAP256KeyPairLike, ES256KeyPair};
use web_push_native::{Auth, WebPushBuilder, p256};

/// A browser's push subscription.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Subscription {
    pub id: Uuid,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// What the push service said.
#[derive(Debug)]
pub enum PushOutcome {
    Sent,
    /// 404 or 410: the subscription is gone; delete it.
    Gone(u16),
    /// Worth retrying: network error, 429, 5xx.
    Transient(String),
    /// Will never work: another 4xx, keys that do not parse.
    Permanent(String),
}

/// `Urgency` (RFC 8030 §5.3) and the `TTL` that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Act now (a waitlist offer, a hold to pay): delivered at once, kept 15 minutes.
    High,
    /// Good to know: kept a day.
    Normal,
}

impl Urgency {
    pub fn header(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Normal => "normal",
        }
    }

    pub fn ttl(self) -> Duration {
        match self {
            Self::High => Duration::from_secs(15 * 60),
            Self::Normal => Duration::from_secs(24 * 3600),
        }
    }
}

/// How long one signed VAPID JWT is reused for an origin (it is valid for 12 hours).
const JWT_REUSE: Duration = Duration::from_secs(3600);

pub struct Pusher {
    client: reqwest::Client,
    /// Where pushes may go.
    policy: Arc<PushPolicy>,
    key: ES256KeyPair,
    /// Signed JWTs by push service origin: one ECDSA signature per origin and hour, not per push.
    jwts: Mutex<HashMap<String, (Instant, String)>>,
    /// base64url of the uncompressed public key (the `k=` of the VAPID header).
    public_key: String,
    subject: String,
}

impl Pusher {
    /// The pusher of these settings, `None` when no VAPID key is configured.
    pub fn from_settings(s: &NotificationSettings) -> anyhow::Result<Option<Self>> {
        let Some(private) = &s.vapid_private_key else {
            return Ok(None);
        };
        let secret = evently_runtime::vapid::secret_key(private)
            .context("EVENTLY_NOTIFICATIONS__VAPID_PRIVATE_KEY")?;
        let key = ES256KeyPair::from_bytes(&secret.to_bytes())
            .map_err(|e| anyhow::anyhow!("EVENTLY_NOTIFICATIONS__VAPID_PRIVATE_KEY: {e}"))?;
        let public_key = evently_runtime::vapid::public_key(private)?;
        let policy = Arc::new(s.push_policy()?);
        let client =
            super::push_http::client(policy.clone(), Duration::from_secs(s.push_timeout_secs))?;
        Ok(Some(Self {
            client,
            policy,
            key,
            jwts: Mutex::default(),
            public_key,
            subject: s.vapid_subject.clone(),
        }))
    }

    /// Encrypts `payload` for `sub` and posts it to its push service.
    pub async fn send(
        &self,
        sub: &Subscription,
        payload: &[u8],
        urgency: Urgency,
        topic: &str,
    ) -> PushOutcome {
        match self.request(sub, payload, urgency, topic) {
            Ok(request) => self.execute(request).await,
            Err(e) => PushOutcome::Permanent(format!("{e:#}")),
        }
    }

    /// Posts a request made by [`Pusher::request`].
    pub async fn execute(&self, request: reqwest::Request) -> PushOutcome {
        super::push_http::post(&self.client, request).await
    }

    /// The encrypted, VAPID-signed request of `payload` for `sub` (CPU work: an ephemeral P-256
    /// key and an ECDH per message), to the endpoint as the policy parsed it. `Err` when the
    /// endpoint is refused or the keys do not parse: permanent either way.
    pub fn request(
        &self,
        sub: &Subscription,
        payload: &[u8],
        urgency: Urgency,
        topic: &str,
    ) -> anyhow::Result<reqwest::Request> {
        let url = self
            .policy
            .check_endpoint(&sub.endpoint)
            .map_err(|refused| anyhow::anyhow!("endpoint refused: {refused}"))?;
        let ua_public = URL_SAFE_NO_PAD
            .decode(&sub.p256dh)
            .ok()
            .and_then(|b| p256::PublicKey::from_sec1_bytes(&b).ok())
            .context("the subscription's p256dh key")?;
        let auth = URL_SAFE_NO_PAD
            .decode(&sub.auth)
            .ok()
            .filter(|b| b.len() == 16)
            .context("the subscription's auth secret")?;
        let endpoint = url
            .as_str()
            .parse()
            .map_err(|e| anyhow::anyhow!("the subscription's endpoint: {e}"))?;
        let mut ua_auth = Auth::default();
        ua_auth.copy_from_slice(&auth);
        let built = WebPushBuilder::new(endpoint, ua_public, ua_auth)
            .with_valid_duration(urgency.ttl())
            .build(payload.to_vec())
            .map_err(|e| anyhow::anyhow!("encrypting the payload: {e}"))?;
        let mut request = reqwest::Request::try_from(built).context("the push request")?;
        let jwt = self.vapid_jwt(&url)?;
        let headers = request.headers_mut();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("vapid t={jwt}, k={}", self.public_key))?,
        );
        headers.insert("urgency", HeaderValue::from_static(urgency.header()));
        headers.insert("topic", HeaderValue::from_str(topic)?);
        Ok(request)
    }

    /// The VAPID JWT: `aud` the endpoint's origin, `sub` the contact, valid 12 hours.
    fn vapid_jwt(&self, url: &reqwest::Url) -> anyhow::Result<String> {
        let origin = url.origin().ascii_serialization();
        if let Some((at, jwt)) = self.jwts.lock().get(&origin)
            && at.elapsed() < JWT_REUSE
        {
            return Ok(jwt.clone());
        }
        let jwt = self.sign(&origin)?;
        let mut jwts = self.jwts.lock();
        if jwts.len() > 1000 {
            jwts.clear();
        }
        jwts.insert(origin, (Instant::now(), jwt.clone()));
        Ok(jwt)
    }

    fn sign(&self, origin: &str) -> anyhow::Result<String> {
        let claims = Claims::create(web_push_native::jwt_simple::prelude::Duration::from_hours(
            12,
        ))
        .with_audience(origin)
        .with_subject(&self.subject);
        self.key
            .sign(claims)
            .map_err(|e| anyhow::anyhow!("signing the VAPID JWT: {e}"))
    }
}
