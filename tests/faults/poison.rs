//! Poison messages among good ones during a sale: each goes to the dead-letter stream with its
//! error, and the bookings around it flow.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_nats::jetstream::message::PublishMessage;
use evently_tests::app::TestApp;
use parking_lot::RwLock;

use crate::load::{book_all, check_books};

#[tokio::test]
async fn poison_messages_in_a_sale_are_dead_lettered_and_the_rest_flows() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let capacity = 100;
    let event = app.create_event(&organizer, capacity, 0).await;
    let users = app.bulk_users(300).await;
    let js = evently_runtime::nats::jetstream(app.nats_client());

    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let load = book_all(&app.http, target, users, event, 40, answered.clone());
    let poison = async {
        for i in 0..5usize {
            app.eventually("the sale moves on", || async {
                answered.load(Ordering::Relaxed) >= 40 * (i + 1)
            })
            .await;
            js.send_publish(
                app.prefix.reserve(event),
                PublishMessage::build()
                    .payload(
                        format!("{{\"type\":\"reserve\",\"poison\":{i}")
                            .into_bytes()
                            .into(),
                    )
                    .message_id(format!("poison-{i}")),
            )
            .await
            .expect("publish")
            .await
            .expect("PubAck");
        }
    };
    let (outcome, ()) = tokio::join!(load, poison);
    check_books(&app, event, &outcome, i64::from(capacity)).await;
    app.eventually("the five poison messages are dead-lettered", || async {
        evently_consumers::dead_letters::list(&js, &app.prefix, 10)
            .await
            .is_ok_and(|l| l.len() == 5)
    })
    .await;
    let letters = evently_consumers::dead_letters::list(&js, &app.prefix, 10)
        .await
        .expect("list");
    assert_eq!(letters.len(), 5);
    assert!(letters.iter().all(|l| l.error.contains("undecodable")));
    app.shutdown().await;
}
