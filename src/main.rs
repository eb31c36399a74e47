//! `evently`: one binary for every part of Evently. `evently up` runs everything in one process
//! (starting private PostgreSQL and NATS when no URLs are given); `gateway`, `consume`, `migrate`,
//! `nats apply`, `backup`, `restore` and `admin create` run one part each; `demo` fills an
//! instance with demo data.

mod backup;
mod demo;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use evently_runtime::Settings;
use evently_runtime::settings::Secret;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// mimalloc: under load (tickets' PDFs and QR codes, JSON, push encryption) glibc's allocator took
/// about a quarter of the process's CPU time in a profile of the notification backlog.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "evently",
    version,
    about = "Evently: the event-ticketing backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Everything in one process: private PostgreSQL and NATS when DATABASE_URL / NATS_URL are
    /// unset, migrations, streams, the gateway and every consumer, until Ctrl-C.
    Up {
        /// Fill a fresh instance with demo data (`evently demo`) once it is up.
        #[arg(long)]
        demo: bool,
    },
    /// Fill a running instance with demo venues, events, bookings and accounts (through its HTTP
    /// API; nothing is added when the demo organiser exists), and print the logins.
    Demo {
        /// The running gateway (default: http://EVENTLY_HTTP_ADDR).
        #[arg(long)]
        url: Option<String>,
    },
    /// The HTTP gateway only.
    Gateway,
    /// The named durable consumers (all when none are named).
    Consume { names: Vec<String> },
    /// Apply the database migrations.
    Migrate,
    /// JetStream streams and consumers.
    Nats {
        #[command(subcommand)]
        action: NatsAction,
    },
    /// Dead letters: messages a consumer gave up on.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Organiser and admin analytics.
    Analytics {
        #[command(subcommand)]
        action: AnalyticsAction,
    },
    /// Back up PostgreSQL with the durable consumers' positions into DIR (pg_dump on PATH).
    Backup { dir: std::path::PathBuf },
    /// Restore a backup into DATABASE_URL's empty database and rewind the durable consumers to
    /// its positions (stop every `evently consume` first).
    Restore {
        dir: std::path::PathBuf,
        /// Only rewind the consumers (the database was restored another way).
        #[arg(long)]
        consumers_only: bool,
        /// Go on when the streams no longer hold every message after the backup.
        #[arg(long)]
        accept_gaps: bool,
        /// A consumer left where it stands (repeatable): `--keep notifications` sends nothing
        /// again.
        #[arg(long, value_name = "CONSUMER")]
        keep: Vec<String>,
    },
    /// Administration.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Subcommand)]
enum NatsAction {
    /// Create or update every stream and durable consumer defined in `nats/`.
    Apply,
    /// Streams (messages, bytes, replicas) and durable consumers (pending, unacknowledged,
    /// redelivered, waiting pulls): the same figures as `nats stream ls` / `nats consumer info`.
    Status,
}

#[derive(Subcommand)]
enum DlqAction {
    /// Show dead letters, oldest first: sequence, consumer, subject, deliveries, error.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One dead letter in full: where it came from, why it failed, its headers and payload.
    Show { sequence: u64 },
    /// Publish dead letters back to their subjects (after fixing their cause) and remove them.
    Replay { sequences: Vec<u64> },
    /// Remove dead letters for good: the given sequences, or all of them with `--all`.
    Purge {
        sequences: Vec<u64>,
        #[arg(long, conflicts_with = "sequences")]
        all: bool,
    },
}

#[derive(Subcommand)]
enum AnalyticsAction {
    /// Empty the roll-ups and replay EVENTLY_EVT from the start into them (the live `analytics`
    /// consumer may keep running: the inbox applies every event once).
    Rebuild,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create an admin account (or make an existing account an admin).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, env = "EVENTLY_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    evently_runtime::telemetry::init_logging();
    let cli = Cli::parse();
    let mut settings = Settings::load()?;
    match cli.command {
        Command::Up { demo } => up(settings, demo).await,
        Command::Demo { url } => demo::command(&settings, url).await,
        Command::Gateway => {
            let (pool, nats) = connect(&settings).await?;
            run(Arc::new(settings), pool, nats, true, None, false).await
        }
        Command::Consume { names } => {
            let (pool, nats) = connect(&settings).await?;
            run(Arc::new(settings), pool, nats, false, Some(names), false).await
        }
        Command::Migrate => {
            let pool = evently_runtime::db::connect(settings.require_database_url()?, 2).await?;
            evently_runtime::db::migrate(&pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Nats { action } => {
            let nats = evently_runtime::nats::connect(settings.require_nats_url()?, "evently-nats")
                .await?;
            let js = evently_runtime::nats::jetstream(nats);
            match action {
                NatsAction::Apply => evently_runtime::nats::apply(&js, &settings).await,
                NatsAction::Status => {
                    let streams = evently_consumers::status::read(&js, &settings.prefix()?).await?;
                    print!("{}", evently_consumers::status::render(&streams));
                    Ok(())
                }
            }
        }
        Command::Dlq { action } => {
            let nats =
                evently_runtime::nats::connect(settings.require_nats_url()?, "evently-dlq").await?;
            let js = evently_runtime::nats::jetstream(nats);
            let prefix = settings.prefix()?;
            match action {
                DlqAction::List { limit } => {
                    for l in evently_consumers::dead_letters::list(&js, &prefix, limit).await? {
                        println!(
                            "{}\t{}\t{}\tdeliveries={}\t{}",
                            l.sequence, l.consumer, l.subject, l.deliveries, l.error
                        );
                    }
                }
                DlqAction::Show { sequence } => {
                    let l = evently_consumers::dead_letters::show(&js, &prefix, sequence).await?;
                    println!("sequence:    {}", l.sequence);
                    println!("consumer:    {}", l.consumer);
                    println!("subject:     {}", l.subject);
                    println!("message id:  {}", l.message_id.as_deref().unwrap_or("-"));
                    println!("deliveries:  {}", l.deliveries);
                    println!("error:       {}", l.error);
                    println!("payload:\n{}", String::from_utf8_lossy(&l.payload));
                }
                DlqAction::Purge { sequences, all } => {
                    let removed =
                        evently_consumers::dead_letters::purge(&js, &prefix, &sequences, all)
                            .await?;
                    println!("removed {removed} dead letter(s)");
                }
                DlqAction::Replay { sequences } => {
                    for sequence in sequences {
                        let l =
                            evently_consumers::dead_letters::replay(&js, &prefix, sequence).await?;
                        println!("replayed {} to {}", l.sequence, l.subject);
                    }
                }
            }
            Ok(())
        }
        Command::Analytics {
            action: AnalyticsAction::Rebuild,
        } => {
            let (pool, nats) = connect(&settings).await?;
            let js = evently_runtime::nats::jetstream(nats);
            let rebuilt = evently_consumers::analytics::rebuild::rebuild(
                &js,
                &pool,
                &settings.prefix()?,
                settings.consumer.batch_size,
            )
            .await?;
            println!(
                "analytics rebuilt from {} event(s) up to sequence {} ({} undecodable, skipped)",
                rebuilt.messages, rebuilt.last_sequence, rebuilt.skipped
            );
            Ok(())
        }
        Command::Backup { dir } => backup::backup(&settings, &dir).await,
        Command::Restore {
            dir,
            consumers_only,
            accept_gaps,
            keep,
        } => backup::restore(&settings, &dir, consumers_only, accept_gaps, &keep).await,
        Command::Admin {
            action: AdminAction::Create { email, password },
        } => {
            settings.admin_email = None;
            let pool = evently_runtime::db::connect(settings.require_database_url()?, 2).await?;
            evently_runtime::db::migrate(&pool).await?;
            let id = evently_gateway::ensure_admin(&pool, &email, &password).await?;
            tracing::info!(user_id = %id, email, "admin ready");
            Ok(())
        }
    }
}

/// `evently up`: local services when needed, then everything in one process.
async fn up(mut settings: Settings, demo: bool) -> anyhow::Result<()> {
    let services = evently_runtime::local::start_local_services(
        &settings.data_dir,
        settings.database_url.clone(),
        settings.nats_url.clone(),
        settings.local_postgres_tls,
    )
    .await?;
    settings.database_url = Some(services.database_url.clone());
    settings.nats_url = Some(services.nats_url.clone());
    if settings.jwt_secret.is_none() {
        settings.jwt_secret = Some(local_jwt_secret(&settings.data_dir)?);
    }
    if settings.tickets.signing_key.is_none() {
        settings.tickets.signing_key = Some(evently_runtime::tickets::signing::local_signing_key(
            &settings.data_dir,
        )?);
    }
    if settings.notifications.vapid_private_key.is_none() {
        settings.notifications.vapid_private_key =
            Some(evently_runtime::vapid::local_key(&settings.data_dir)?);
    }
    let result = async {
        let (pool, nats) = connect(&settings).await?;
        evently_runtime::db::migrate(&pool).await?;
        evently_runtime::nats::apply(&evently_runtime::nats::jetstream(nats.clone()), &settings)
            .await?;
        run(Arc::new(settings), pool, nats, true, Some(Vec::new()), demo).await
    }
    .await;
    if let Err(e) = services.stop().await {
        tracing::warn!(error = format!("{e:#}"), "stopping local services");
    }
    result
}

/// The signing secret of a laptop install: generated once and kept in the data folder.
fn local_jwt_secret(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join("jwt_secret");
    if let Ok(text) = std::fs::read_to_string(&path)
        && text.trim().len() >= 32
    {
        return Ok(Secret::new(text.trim()));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    tracing::info!(path = %path.display(), "generated a token signing secret");
    Ok(Secret::new(secret))
}

async fn connect(settings: &Settings) -> anyhow::Result<(sqlx::PgPool, async_nats::Client)> {
    let pool = evently_runtime::db::connect(
        settings.require_database_url()?,
        settings.db_max_connections,
    )
    .await?;
    let nats = evently_runtime::nats::connect(settings.require_nats_url()?, "evently").await?;
    Ok((pool, nats))
}

/// Runs the gateway (when `gateway`) and the named consumers (`Some(empty)`: all of them) until
/// Ctrl-C or SIGTERM; with `demo`, seeds the demo data once the gateway listens.
async fn run(
    settings: Arc<Settings>,
    pool: sqlx::PgPool,
    nats: async_nats::Client,
    gateway: bool,
    consumers: Option<Vec<String>>,
    demo: bool,
) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();
    if let (Some(email), Some(password)) = (&settings.admin_email, &settings.admin_password) {
        evently_gateway::ensure_admin(&pool, email, password.expose()).await?;
        tracing::info!(email, "bootstrap admin ready");
    }
    if gateway {
        let app = evently_gateway::Application::build(evently_gateway::GatewayDeps {
            settings: settings.clone(),
            pool: pool.clone(),
            nats: nats.clone(),
            shutdown: shutdown.clone(),
        })
        .await?;
        if demo {
            let (pool, base) = (pool.clone(), demo::base_url(app.local_addr()));
            // Detached: a demo still seeding never holds up a shutdown.
            tokio::spawn(async move {
                if let Err(e) = demo::run(&pool, &base).await {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "the demo data could not be seeded"
                    );
                }
            });
        }
        tasks.spawn(async move {
            app.run_until_stopped().await;
            Ok(())
        });
    }
    if let (false, Some(addr)) = (gateway, settings.ops_addr) {
        tasks.spawn(evently_gateway::ops::serve(
            addr,
            pool.clone(),
            nats.clone(),
            shutdown.clone(),
        ));
    }
    evently_consumers::spawn_watchers(
        &mut tasks,
        &settings,
        pool.clone(),
        nats.clone(),
        shutdown.clone(),
    )?;
    if let Some(consumers) = consumers {
        evently_consumers::spawn(
            &mut tasks,
            &consumers,
            &settings,
            pool.clone(),
            nats.clone(),
            shutdown.clone(),
        )?;
    }
    tokio::spawn(watch_signals(shutdown.clone()));
    let mut result = Ok(());
    while let Some(done) = tasks.join_next().await {
        let outcome = done.context("a task panicked").and_then(|r| r);
        if let Err(e) = outcome {
            tracing::error!(
                error = format!("{e:#}"),
                "a part stopped with an error; shutting down"
            );
            shutdown.cancel();
            result = Err(e);
        }
    }
    nats.flush().await.ok();
    pool.close().await;
    evently_runtime::telemetry::flush_traces();
    result
}

async fn watch_signals(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "no SIGTERM handler");
            let _ = ctrl_c.await;
            shutdown.cancel();
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down: finishing work in hand");
    shutdown.cancel();
}
