//! The JetStream store archived with `deploy/jetstream-store.sh` while its server is stopped, and
//! restored into an empty store after more was sold: the server comes back with the streams of
//! the backup instant (every command acknowledged before it, and its duplicate window), and the
//! durable consumers with it.

use std::path::Path;

use evently_tests::app::{TestApp, TestUser};
use serde_json::Value;
use uuid::Uuid;

/// `deploy/jetstream-store.sh <args>`; whether it succeeded.
async fn store_script(args: &[&str]) -> bool {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/jetstream-store.sh");
    let out = tokio::process::Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .await
        .expect("run deploy/jetstream-store.sh");
    eprintln!(
        "jetstream-store.sh {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.success()
}

/// Books a seat for `user` with the key `store-<user>`, retrying while NATS is not reconnected.
async fn book_one(app: &TestApp, user: &TestUser, event: Uuid) -> reqwest::Response {
    let key = format!("store-{}", user.id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let res = app.book(user, event, 1, Some(&key)).await;
        if res.status() != 503 {
            return res;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "NATS did not come back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Books one seat for each of `users` with the key `store-<user>` and waits for the decisions.
async fn book(app: &TestApp, users: &[TestUser], event: Uuid) {
    for user in users {
        let res = book_one(app, user, event).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        let id = body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("id");
        app.wait_decided(user, id).await;
    }
}

/// `(messages, last sequence)` of each of the command and event streams.
async fn streams(app: &TestApp) -> Vec<(u64, u64)> {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let mut seen = Vec::new();
    for name in [app.prefix.cmd_stream(), app.prefix.evt_stream()] {
        let mut stream = js.get_stream(&name).await.expect("stream");
        let state = stream.info().await.expect("info").state.clone();
        seen.push((state.messages, state.last_sequence));
    }
    seen
}

/// Waits until the pipeline is still: `tickets` tickets issued and every durable consumer with
/// nothing pending or in hand (so that nothing more is published).
async fn settled(app: &TestApp, tickets: i64) {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    app.eventually("the pipeline is still", || async {
        let issued: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
            .fetch_one(&app.pool)
            .await
            .unwrap_or(-1);
        if issued != tickets {
            return false;
        }
        for durable in evently_runtime::nats::consumer_names() {
            let (stream, _) = evently_runtime::nats::consumer_config(&app.prefix, durable, None)
                .expect("definition");
            let Ok(stream) = js.get_stream(&stream).await else {
                return false;
            };
            match stream.consumer_info(durable).await {
                Ok(i) if i.num_pending == 0 && i.num_ack_pending == 0 => {}
                _ => return false,
            }
        }
        true
    })
    .await;
}

#[tokio::test]
async fn a_jetstream_store_archived_while_its_server_is_stopped_comes_back_with_its_streams() {
    let mut app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 20, 0).await;
    let users = app.bulk_users(10).await;
    book(&app, &users[..5], event).await;
    settled(&app, 5).await;
    let at_backup = streams(&app).await;
    let store = app.nats.store_dir().to_owned();
    let port = app.nats.port().to_string();
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("jetstream.tar.gz");
    let archive = archive.to_str().expect("utf-8");
    let store_arg = store.to_str().expect("utf-8");

    assert!(
        !store_script(&["backup", store_arg, archive, "--port", &port]).await,
        "refused while the server runs"
    );
    app.nats.stop().await.expect("stop NATS");
    assert!(store_script(&["backup", store_arg, archive, "--port", &port]).await);
    app.nats.restart().await.expect("restart NATS");
    book(&app, &users[5..], event).await;
    settled(&app, 10).await;
    assert_ne!(
        streams(&app).await,
        at_backup,
        "more was sold after the backup"
    );

    // The store lost: moved aside, the archive restored into the empty store.
    app.nats.stop().await.expect("stop NATS");
    std::fs::rename(store.join("jetstream"), work.path().join("lost")).expect("move aside");
    assert!(store_script(&["restore", archive, store_arg, "--port", &port]).await);
    assert!(
        !store_script(&["restore", archive, store_arg, "--port", &port]).await,
        "refused over a store that holds one"
    );
    app.nats.restart().await.expect("restart NATS");
    assert_eq!(
        streams(&app).await,
        at_backup,
        "the streams of the backup instant"
    );
    // Its duplicate window came back with it: a retry of a booking accepted before the backup
    // is dropped by the stream (nothing stored) and answered as the booking it was.
    let res = book_one(&app, &users[0], event).await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let mine: i64 =
        sqlx::query_scalar("SELECT count(*) FROM bookings WHERE event_id = $1 AND user_id = $2")
            .bind(event)
            .bind(users[0].id)
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(mine, 1);
    assert_eq!(streams(&app).await, at_backup, "the retry was not stored");
    assert!(
        evently_runtime::nats::jetstream(app.nats_client())
            .get_stream(app.prefix.cmd_stream())
            .await
            .expect("stream")
            .consumer_info("reservations")
            .await
            .is_ok(),
        "the durable consumers come back with their streams"
    );
    app.shutdown().await;
}
