//! The NATS connection and the JetStream definitions in `nats/`, applied (create or update) at
//! start-up and by `evently nats apply`. The JSON files are in the `nats` CLI's format and written
//! for the default prefix; [`Prefix::substitute`] rewrites them for the configured one.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, consumer, stream};
use evently_schemas::Prefix;

use crate::Settings;

/// A stream definition: the file it came from and its text.
struct Definition {
    file: &'static str,
    text: &'static str,
}

const STREAMS: &[Definition] = &[
    Definition {
        file: "nats/streams/EVENTLY_CMD.json",
        text: include_str!("../../nats/streams/EVENTLY_CMD.json"),
    },
    Definition {
        file: "nats/streams/EVENTLY_EVT.json",
        text: include_str!("../../nats/streams/EVENTLY_EVT.json"),
    },
    Definition {
        file: "nats/streams/EVENTLY_NTF.json",
        text: include_str!("../../nats/streams/EVENTLY_NTF.json"),
    },
    Definition {
        file: "nats/streams/EVENTLY_DLQ.json",
        text: include_str!("../../nats/streams/EVENTLY_DLQ.json"),
    },
];

/// `(stream, definition)` of every durable consumer.
const CONSUMERS: &[(&str, Definition)] = &[
    (
        "EVENTLY_CMD",
        Definition {
            file: "nats/consumers/EVENTLY_CMD/reservations.json",
            text: include_str!("../../nats/consumers/EVENTLY_CMD/reservations.json"),
        },
    ),
    (
        "EVENTLY_EVT",
        Definition {
            file: "nats/consumers/EVENTLY_EVT/analytics.json",
            text: include_str!("../../nats/consumers/EVENTLY_EVT/analytics.json"),
        },
    ),
    (
        "EVENTLY_EVT",
        Definition {
            file: "nats/consumers/EVENTLY_EVT/waitlist.json",
            text: include_str!("../../nats/consumers/EVENTLY_EVT/waitlist.json"),
        },
    ),
    (
        "EVENTLY_EVT",
        Definition {
            file: "nats/consumers/EVENTLY_EVT/tickets.json",
            text: include_str!("../../nats/consumers/EVENTLY_EVT/tickets.json"),
        },
    ),
    (
        "EVENTLY_EVT",
        Definition {
            file: "nats/consumers/EVENTLY_EVT/notifications.json",
            text: include_str!("../../nats/consumers/EVENTLY_EVT/notifications.json"),
        },
    ),
];

/// Connects to NATS with a name that shows in the server's monitoring. `url` may list several
/// servers of a cluster, separated by commas (`nats://n1:4222,nats://n2:4222`): the client
/// connects to one and fails over to the others.
pub async fn connect(url: &str, name: &str) -> anyhow::Result<async_nats::Client> {
    let servers = url
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<async_nats::ServerAddr>()
                .with_context(|| format!("NATS_URL: {s:?} is not a NATS server address"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None)
        .connect(servers)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))
}

/// A JetStream context whose PubAcks time out quickly, so a caller learns that NATS is away in
/// seconds rather than half a minute.
pub fn jetstream(client: async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .max_ack_inflight(20_000)
        .build(client)
}

/// The stream configurations for a prefix and replica count.
pub fn stream_configs(prefix: &Prefix, replicas: usize) -> anyhow::Result<Vec<stream::Config>> {
    STREAMS
        .iter()
        .map(|d| {
            let mut config: stream::Config = serde_json::from_str(&prefix.substitute(d.text))
                .with_context(|| format!("parsing {}", d.file))?;
            config.num_replicas = replicas;
            Ok(config)
        })
        .collect()
}

/// The durable consumer configuration of `name`, with `ack_wait` overridden when asked.
pub fn consumer_config(
    prefix: &Prefix,
    name: &str,
    ack_wait: Option<Duration>,
) -> anyhow::Result<(String, consumer::pull::Config)> {
    let (stream, def) = CONSUMERS
        .iter()
        .find(|(_, d)| d.file.ends_with(&format!("/{name}.json")))
        .with_context(|| format!("no consumer definition named {name:?} in nats/consumers"))?;
    let mut config: consumer::pull::Config = serde_json::from_str(&prefix.substitute(def.text))
        .with_context(|| format!("parsing {}", def.file))?;
    if let Some(wait) = ack_wait {
        config.ack_wait = wait;
    }
    Ok((prefix.substitute(stream), config))
}

/// Names of every durable consumer defined in `nats/consumers`.
pub fn consumer_names() -> Vec<&'static str> {
    CONSUMERS
        .iter()
        .filter_map(|(_, d)| d.file.rsplit('/').next())
        .filter_map(|f| f.strip_suffix(".json"))
        .collect()
}

/// Before `EVENTLY_EVT` is narrowed to its own subjects: an event stream declared before
/// `EVENTLY_NTF` existed (`<prefix>.evt.>`) holds `notification.sent` messages forever; they are
/// purged from it, so the narrowed stream keeps only domain events. Nothing to do on a new
/// deployment or once done.
async fn move_notifications_out(js: &jetstream::Context, prefix: &Prefix) -> anyhow::Result<()> {
    let Ok(mut stream) = js.get_stream(prefix.evt_stream()).await else {
        return Ok(());
    };
    let everything = format!("{prefix}.evt.>");
    let info = stream.info().await.context("reading the event stream")?;
    if !info.config.subjects.contains(&everything) {
        return Ok(());
    }
    let purged = stream
        .purge()
        .filter(format!("{prefix}.evt.notification.>"))
        .await
        .context("purging notification.sent from the event stream")?;
    tracing::info!(
        purged = purged.purged,
        "notification.sent moved out of the event stream"
    );
    Ok(())
}

/// Creates or updates every stream and durable consumer.
pub async fn apply(js: &jetstream::Context, settings: &Settings) -> anyhow::Result<()> {
    let prefix = settings.prefix()?;
    for config in stream_configs(&prefix, settings.nats_replicas)? {
        let name = config.name.clone();
        if name == prefix.evt_stream() {
            move_notifications_out(js, &prefix).await?;
        }
        // A cluster that has just started (electing its meta leader, placing the replicas) can
        // leave the request unanswered for a while: asked again, for at most a minute (creating
        // or updating a stream to the same definition is idempotent).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            match js.create_or_update_stream(config.clone()).await {
                Ok(_) => break,
                Err(e)
                    if e.kind() == jetstream::context::CreateStreamErrorKind::TimedOut
                        && tokio::time::Instant::now() < deadline =>
                {
                    tracing::warn!(stream = %name, "JetStream did not answer; asking again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("creating or updating stream {name}"));
                }
            }
        }
        tracing::info!(stream = %name, "stream applied");
    }
    let ack_wait = settings.consumer.ack_wait_secs.map(Duration::from_secs);
    for name in consumer_names() {
        let (stream_name, mut config) = consumer_config(&prefix, name, ack_wait)?;
        let stream = js
            .get_stream(&stream_name)
            .await
            .with_context(|| format!("looking up stream {stream_name}"))?;
        if let Ok(existing) = stream.consumer_info(name).await {
            // Where a durable starts is fixed when it is created (JetStream refuses to change
            // it): a durable rewound after a restore (`evently restore`) keeps its start.
            config.deliver_policy = existing.config.deliver_policy;
        }
        if let Err(create_err) = stream.create_consumer(config.clone()).await {
            stream.update_consumer(config).await.with_context(|| {
                format!("creating ({create_err}) or updating consumer {name} on {stream_name}")
            })?;
        }
        tracing::info!(stream = %stream_name, consumer = name, "consumer applied");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_parses_and_takes_the_prefix() {
        let prefix = Prefix::new("t1").expect("valid");
        let streams = stream_configs(&prefix, 3).expect("streams parse");
        let names: Vec<_> = streams.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["T1_CMD", "T1_EVT", "T1_NTF", "T1_DLQ"]);
        assert!(streams.iter().all(|s| s.num_replicas == 3));
        assert_eq!(streams[0].subjects, ["t1.cmd.>"]);
        assert!(streams[0].duplicate_window >= Duration::from_secs(600));
        // The event stream and the notification stream do not overlap (JetStream refuses that),
        // and the domain events are kept for a bounded time.
        assert!(
            streams[1]
                .subjects
                .iter()
                .all(|s| !s.contains("notification"))
        );
        assert_eq!(streams[2].subjects, ["t1.evt.notification.>"]);
        assert!(streams[1].max_age >= Duration::from_secs(365 * 86_400));
        assert!(streams[2].max_age <= Duration::from_secs(7 * 86_400));
        for name in consumer_names() {
            let (stream, config) = consumer_config(&prefix, name, None).expect("consumer parses");
            assert!(stream.starts_with("T1_"));
            assert!(!config.filter_subjects.is_empty() || !config.filter_subject.is_empty());
            assert!(
                config
                    .filter_subjects
                    .iter()
                    .chain([&config.filter_subject])
                    .filter(|s| !s.is_empty())
                    .all(|s| s.starts_with("t1."))
            );
            assert_eq!(config.durable_name.as_deref(), Some(name));
        }
    }
}
