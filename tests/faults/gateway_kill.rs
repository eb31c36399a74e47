//! A gateway process killed with SIGKILL while requests are in flight; clients retry with the
//! same `Idempotency-Key` against the restarted gateway.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evently_tests::app::TestApp;
use parking_lot::RwLock;

use crate::load::{book_all, check_books};
use crate::process::Evently;

#[tokio::test]
async fn a_gateway_killed_with_requests_in_flight_loses_and_doubles_nothing_on_retry() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let capacity = 150;
    let event = app.create_event(&organizer, capacity, 0).await;
    let users = app.bulk_users(400).await;
    let port = evently_runtime::local::free_port().expect("port");
    let gateway = Evently::gateway(&app, port).await;
    let target = Arc::new(RwLock::new(gateway.base.clone().expect("base")));

    let answered = Arc::new(AtomicUsize::new(0));
    let load = book_all(
        &app.http,
        target.clone(),
        users,
        event,
        60,
        answered.clone(),
    );
    let chaos = async {
        app.eventually("some requests are answered", || async {
            answered.load(Ordering::Relaxed) >= 80
        })
        .await;
        gateway.kill().await;
        let at_kill = answered.load(Ordering::Relaxed);
        // A new gateway process takes over the same address.
        let restarted = Evently::gateway(&app, port).await;
        (restarted, at_kill)
    };
    let (outcome, (restarted, at_kill)) = tokio::join!(load, chaos);
    assert!(
        at_kill < 400,
        "the kill happened with requests still to come"
    );
    assert!(
        outcome.retries > 0,
        "some requests were cut off and retried"
    );
    assert_eq!(outcome.answered.len(), 400);
    check_books(&app, event, &outcome, i64::from(capacity)).await;
    restarted.kill().await;
    app.shutdown().await;
}
