//! The demo's client of the running gateway: calls that must answer what they should, accounts,
//! bookings waited on until the pipeline decides them.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::data::Account;

/// A client of the running gateway.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .timeout(Duration::from_secs(30));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }

    /// A call that must answer `expected` (any of them); its body.
    pub async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
        expected: &[u16],
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.call(method.clone(), path, token, body, key).await?;
        if !expected.contains(&status) {
            bail!("{method} {path} answered {status}: {answer}");
        }
        Ok(answer)
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        self.expect(
            reqwest::Method::POST,
            path,
            token,
            Some(body),
            None,
            &[200, 201],
        )
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        self.expect(reqwest::Method::GET, path, Some(token), None, None, &[200])
            .await
    }

    /// Registers an account; returns its id.
    pub async fn register(&self, (email, password, name): Account) -> anyhow::Result<String> {
        let body = json!({"email": email, "password": password, "name": name});
        let session = self.post("/auth/register", None, &body).await?;
        id_of(&session["user"])
    }

    pub async fn login(&self, (email, password, _): Account) -> anyhow::Result<String> {
        let session = self
            .post(
                "/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await?;
        session["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("a login without an access token")
    }

    /// Books through the pipeline and waits for the decision; returns the booking.
    pub async fn book(
        &self,
        token: &str,
        event: &str,
        quantity: i32,
        key: &str,
    ) -> anyhow::Result<Value> {
        let path = format!("/events/{event}/bookings");
        let body = json!({"quantity": quantity});
        let booking = self
            .expect(
                reqwest::Method::POST,
                &path,
                Some(token),
                Some(&body),
                Some(key),
                &[201, 202],
            )
            .await?;
        let id = id_of(&booking)?;
        let booking = eventually(&format!("booking {id} decided"), || async {
            let booking = self.get(&format!("/bookings/{id}"), token).await?;
            Ok((booking["status"] != "pending").then_some(booking))
        })
        .await?;
        if booking["status"] != "confirmed" {
            bail!("the demo booking {id} was not confirmed: {booking}");
        }
        Ok(booking)
    }
}

pub fn id_of(value: &Value) -> anyhow::Result<String> {
    value["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {value}"))
}

/// Polls `check` until it gives a value, for at most a minute.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
