//! The client's refusals, redirects and caps against servers on loopback (no other traffic).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use evently_runtime::push_policy::{PushPolicy, Refusal};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{checked, client, post};
use crate::notifications::push::PushOutcome;

/// What a test server does with each connection after reading the request's head.
#[derive(Clone, Copy)]
enum Answer {
    /// Writes these bytes and closes.
    Bytes(&'static str),
    /// A 200 whose body never ends.
    Endless,
    /// Nothing, ever.
    Silence,
}

/// A server on 127.0.0.1 that counts the connections it accepts.
async fn server(answer: Answer) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                match answer {
                    Answer::Bytes(bytes) => {
                        let _ = socket.write_all(bytes.as_bytes()).await;
                    }
                    Answer::Endless => {
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n")
                            .await;
                        let chunk = vec![b'x'; 16 * 1024];
                        while socket.write_all(&chunk).await.is_ok() {}
                    }
                    Answer::Silence => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            });
        }
    });
    (addr, accepted)
}

fn policy(hosts: &[String], allow_loopback: bool) -> Arc<PushPolicy> {
    Arc::new(PushPolicy::new(hosts, allow_loopback).expect("policy"))
}

fn request(url: &str) -> reqwest::Request {
    reqwest::Request::new(reqwest::Method::POST, url.parse().expect("url"))
}

#[test]
fn one_bad_address_among_the_resolved_ones_refuses_them_all() {
    let strict = PushPolicy::new(&["push.example.com".to_owned()], false).expect("policy");
    let addr = |s: &str| s.parse::<SocketAddr>().expect("addr");
    assert!(checked(&strict, "push.example.com", vec![addr("8.8.8.8:0")]).is_ok());
    let refused = checked(
        &strict,
        "push.example.com",
        vec![addr("8.8.8.8:0"), addr("[fd00:ec2::254]:0")],
    );
    assert!(
        matches!(
            refused,
            Err(Refusal::Address {
                kind: "cloud metadata",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        checked(&strict, "push.example.com", Vec::new()),
        Err(Refusal::NoAddress("push.example.com".into()))
    );
}

#[tokio::test]
async fn an_allowed_host_that_resolves_to_loopback_is_refused_before_any_connection() {
    let (addr, accepted) = server(Answer::Bytes("HTTP/1.1 201 Created\r\n\r\n")).await;
    let port = addr.port();
    // `localhost` is on the allowlist here, so only the address check stands in the way.
    let strict = policy(&[format!("localhost:{port}")], false);
    let client = client(strict, Duration::from_secs(10)).expect("client");
    let outcome = post(
        &client,
        request(&format!("https://localhost:{port}/push/x")),
    )
    .await;
    match outcome {
        PushOutcome::Permanent(e) => assert!(e.contains("loopback"), "{e}"),
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "no connection was made");
}

#[tokio::test]
async fn with_the_loopback_allowance_the_same_host_is_reached() {
    let (addr, accepted) = server(Answer::Bytes(
        "HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n",
    ))
    .await;
    let client = client(policy(&[], true), Duration::from_secs(10)).expect("client");
    let url = format!("http://localhost:{}/push/x", addr.port());
    assert!(matches!(
        post(&client, request(&url)).await,
        PushOutcome::Sent
    ));
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_fails_for_good() {
    let (target, reached) = server(Answer::Bytes("HTTP/1.1 201 Created\r\n\r\n")).await;
    let location: &'static str = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{}/push/y\r\n\
             content-length: 0\r\n\r\n",
            target.port()
        )
        .into_boxed_str(),
    );
    let (addr, _) = server(Answer::Bytes(location)).await;
    let client = client(policy(&[], true), Duration::from_secs(10)).expect("client");
    let outcome = post(&client, request(&format!("http://{addr}/push/x"))).await;
    assert!(
        matches!(&outcome, PushOutcome::Permanent(e) if e.contains("307")),
        "{outcome:?}"
    );
    assert_eq!(reached.load(Ordering::SeqCst), 0, "the redirect's target");
}

#[tokio::test]
async fn an_endless_answer_is_cut_off_after_the_size_cap() {
    let (addr, _) = server(Answer::Endless).await;
    let client = client(policy(&[], true), Duration::from_secs(60)).expect("client");
    let started = Instant::now();
    let outcome = post(&client, request(&format!("http://{addr}/push/x"))).await;
    assert!(matches!(outcome, PushOutcome::Sent), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "read to the cap, not to the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_push_service_that_never_answers_is_given_up_after_the_timeout() {
    let (addr, accepted) = server(Answer::Silence).await;
    let client = client(policy(&[], true), Duration::from_secs(1)).expect("client");
    let started = Instant::now();
    let outcome = post(&client, request(&format!("http://{addr}/push/x"))).await;
    assert!(matches!(outcome, PushOutcome::Transient(_)), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
