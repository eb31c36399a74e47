//! A three-node JetStream cluster (three nats-server processes on loopback, streams at three
//! replicas) loses one node during a sale, and gets it back.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use evently_runtime::local::free_port;
use evently_tests::app::{TestApp, TestOptions};
use parking_lot::RwLock;
use tokio::process::{Child, Command};

use crate::load::{book_all, check_books};

/// One node: its client port and process.
struct Node {
    port: u16,
    cluster_port: u16,
    http_port: u16,
    child: Option<Child>,
}

struct Cluster {
    nodes: Vec<Node>,
    store: tempfile::TempDir,
}

impl Cluster {
    /// Three nodes on free ports. A port picked free can be taken by a parallel test before the
    /// node binds it: then the node exits, and the cluster is started again on other ports.
    async fn start() -> Self {
        evently_runtime::telemetry::init_logging();
        for _attempt in 0..3 {
            let store = tempfile::tempdir().expect("tempdir");
            let mut nodes: Vec<Node> = (0..3)
                .map(|_| Node {
                    port: free_port().expect("port"),
                    cluster_port: free_port().expect("port"),
                    http_port: free_port().expect("port"),
                    child: None,
                })
                .collect();
            let routes = routes(&nodes);
            for (i, node) in nodes.iter_mut().enumerate() {
                node.child = Some(spawn(store.path(), i, node, &routes));
            }
            let mut cluster = Self { nodes, store };
            if cluster.ready_within(Duration::from_secs(45)).await {
                return cluster;
            }
            for i in 0..3 {
                cluster.kill(i).await;
            }
        }
        panic!("the cluster did not form");
    }

    fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether every node answers its health check with JetStream ready (a meta leader elected)
    /// within `wait`; false at once when a node exited.
    async fn ready_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let http = reqwest::Client::new();
        for node in &mut self.nodes {
            let url = format!(
                "http://127.0.0.1:{}/healthz?js-enabled-only=true",
                node.http_port
            );
            loop {
                if let Some(child) = node.child.as_mut()
                    && child.try_wait().is_ok_and(|exited| exited.is_some())
                {
                    return false;
                }
                let ok = http.get(&url).send().await.is_ok_and(|r| r.status() == 200);
                if ok {
                    break;
                }
                if Instant::now() > deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        true
    }

    async fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            child.start_kill().expect("SIGKILL");
            child.wait().await.expect("reaped");
        }
    }

    async fn restart(&mut self, i: usize) {
        let routes = routes(&self.nodes);
        let child = spawn(self.store.path(), i, &self.nodes[i], &routes);
        self.nodes[i].child = Some(child);
        assert!(
            self.ready_within(Duration::from_secs(120)).await,
            "the restarted node did not rejoin"
        );
    }
}

fn routes(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| format!("nats-route://127.0.0.1:{}", n.cluster_port))
        .collect::<Vec<_>>()
        .join(",")
}

fn spawn(store: &Path, i: usize, node: &Node, routes: &str) -> Child {
    let binary = evently_runtime::local::nats_server_binary(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(".evently"),
    )
    .expect("nats-server >= 2.10");
    Command::new(binary)
        .args(["--jetstream", "--addr", "127.0.0.1", "--server_name"])
        .arg(format!("n{i}"))
        .arg("--port")
        .arg(node.port.to_string())
        .arg("--http_port")
        .arg(node.http_port.to_string())
        .arg("--store_dir")
        .arg(store.join(format!("n{i}")))
        .args(["--cluster_name", "evently-test", "--cluster"])
        .arg(format!("nats://127.0.0.1:{}", node.cluster_port))
        .arg("--routes")
        .arg(routes)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("nats-server")
}

#[tokio::test]
async fn a_cluster_node_killed_and_restarted_during_a_sale_loses_and_doubles_nothing() {
    let mut cluster = Cluster::start().await;
    let app = TestApp::spawn_with(TestOptions {
        nats_url: Some(cluster.url()),
        decision_wait_ms: 2000,
        configure: |s| s.nats_replicas = 3,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let capacity = 150;
    let event = app.create_event(&organizer, capacity, 0).await;
    let users = app.bulk_users(400).await;

    let answered = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(RwLock::new(app.base.clone()));
    let load = book_all(&app.http, target, users, event, 40, answered.clone());
    let chaos = async {
        app.eventually("some requests are answered", || async {
            answered.load(Ordering::Relaxed) >= 80
        })
        .await;
        // The node this test's clients were most likely given first.
        cluster.kill(0).await;
        let at_kill = answered.load(Ordering::Relaxed);
        app.eventually("the sale goes on with two nodes", || async {
            answered.load(Ordering::Relaxed) >= at_kill + 40
        })
        .await;
        cluster.restart(0).await;
        at_kill
    };
    let (outcome, at_kill) = tokio::join!(load, chaos);
    assert!(at_kill < 400);
    assert_eq!(outcome.answered.len(), 400);
    check_books(&app, event, &outcome, i64::from(capacity)).await;
    app.shutdown().await;
}
