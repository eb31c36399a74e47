//! `evently backup DIR` and `evently restore DIR`: PostgreSQL dumped with the positions of the
//! durable consumers, and restored with those consumers rewound so that they re-apply what came
//! after the backup (`evently_runtime::backup`; README: Operating it, Backups and restore).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use evently_runtime::Settings;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Records the positions, then dumps the database; prints what it wrote.
pub async fn backup(settings: &Settings, dir: &Path) -> anyhow::Result<()> {
    let nats =
        evently_runtime::nats::connect(settings.require_nats_url()?, "evently-backup").await?;
    let js = evently_runtime::nats::jetstream(nats);
    let positions = evently_runtime::backup::backup(dir, &js, settings).await?;
    for p in &positions.consumers {
        println!(
            "{}\t{}\tapplied through {} (stream at {})",
            p.stream, p.durable, p.acked_through, p.stream_last_sequence
        );
    }
    println!("backup written to {}", dir.display());
    Ok(())
}

/// Loads the dump into DATABASE_URL's (empty) database unless `consumers_only`, applies newer
/// migrations, rewinds the durables to the backup's positions (those named in `keep` stay where
/// they are: `notifications`, so that nothing is sent twice), then runs `reservations` until it
/// has re-applied the commands, so that the other consumers do not run ahead of it.
pub async fn restore(
    settings: &Settings,
    dir: &Path,
    consumers_only: bool,
    accept_gaps: bool,
    keep: &[String],
) -> anyhow::Result<()> {
    let mut positions = evently_runtime::backup::read_positions(dir)?;
    let names = evently_runtime::nats::consumer_names();
    if let Some(unknown) = keep.iter().find(|k| !names.contains(&k.as_str())) {
        anyhow::bail!(
            "--keep {unknown}: no such consumer (one of {})",
            names.join(", ")
        );
    }
    positions.consumers.retain(|p| !keep.contains(&p.durable));
    let url = settings.require_database_url()?;
    if !consumers_only {
        evently_runtime::backup::restore_database(dir, url).await?;
        let pool = evently_runtime::db::connect(url, 2).await?;
        evently_runtime::db::migrate(&pool).await?;
        pool.close().await;
        println!("database restored from {}", dir.display());
    }
    let nats_client =
        evently_runtime::nats::connect(settings.require_nats_url()?, "evently-restore").await?;
    let js = evently_runtime::nats::jetstream(nats_client.clone());
    for r in evently_runtime::backup::rewind(&js, settings, &positions, accept_gaps).await? {
        println!(
            "{}\t{}\tdelivers again from {}{}",
            r.stream,
            r.durable,
            r.from,
            if r.expired > 0 {
                format!(" ({} message(s) expired: lost)", r.expired)
            } else {
                String::new()
            }
        );
    }
    if !keep.iter().any(|k| k == "reservations") {
        catch_up_reservations(settings, &js, nats_client).await?;
    }
    println!("start the consumers (evently consume): they re-apply everything after the backup");
    Ok(())
}

/// Runs `reservations` until it has applied every command the stream held when the restore
/// began: the events of the other consumers' streams name bookings that only it writes, so they
/// must not run ahead of it (a ticket for a booking not restored yet would be dead-lettered).
async fn catch_up_reservations(
    settings: &Settings,
    js: &async_nats::jetstream::Context,
    nats: async_nats::Client,
) -> anyhow::Result<()> {
    let prefix = settings.prefix()?;
    let (stream_name, _) = evently_runtime::nats::consumer_config(&prefix, "reservations", None)?;
    let mut stream = js.get_stream(&stream_name).await?;
    let until = stream.info().await?.state.last_sequence;
    let pool = evently_runtime::db::connect(
        settings.require_database_url()?,
        settings.db_max_connections,
    )
    .await?;
    let shutdown = CancellationToken::new();
    let mut set = JoinSet::new();
    evently_consumers::spawn(
        &mut set,
        &["reservations".to_owned()],
        settings,
        pool,
        nats,
        shutdown.clone(),
    )?;
    println!("reservations: re-applying the commands up to {stream_name} {until}");
    loop {
        let info = stream
            .consumer_info("reservations")
            .await
            .context("reading the reservations consumer")?;
        let idle = info.num_pending == 0 && info.num_ack_pending == 0;
        if info.ack_floor.stream_sequence >= until || idle {
            break;
        }
        if let Some(ended) = set.try_join_next() {
            ended??;
            anyhow::bail!("the reservations consumer stopped before it caught up");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    while let Some(ended) = set.join_next().await {
        ended??;
    }
    println!("reservations: caught up");
    Ok(())
}
