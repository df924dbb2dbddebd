//! The `carta` binary: serve the API and manage its database.

use std::path::PathBuf;
use std::time::Duration;

use actix_web::HttpServer;
use anyhow::Context;
use carta_api::auth::keys::{generate_key, load_trusted_issuers};
use carta_api::auth::{clients, AuthSettings};
use carta_api::client_address::TrustedProxies;
use carta_api::import::govbr_feed::FeedImport;
use carta_api::opinion::OpinionSettings;
use carta_api::search::SearchSettings;
use carta_api::webhooks::{Deliverer, WebhookSettings};
use carta_api::{build_app, import, AppState};
use clap::{Parser, Subcommand, ValueEnum};
use domain::access::Role;
use domain::organization::Sphere;
use persistence::{admin, pool, seed, PoolSettings};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/carta";

#[derive(Parser)]
#[command(
    name = "carta",
    version,
    about = "Carta: the service-catalogue API (Carta de Serviços ao Usuário)"
)]
struct Cli {
    /// PostgreSQL URL of the catalogue database.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,
    /// Log format: `text` for people, `json` for collectors.
    #[arg(long, env = "CARTA_LOG_FORMAT", default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API; creates and migrates the database first.
    Serve(Box<ServeArgs>),
    /// Create the database if missing and apply pending migrations.
    Migrate,
    /// Load the sample Mato Grosso catalogue (idempotent).
    Seed,
    /// Import a partner catalogue.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Measure search quality: recall@5 and MRR over a relevance set, on the catalogue in the
    /// database (import the federal corpus first for `api/eval/relevance-govbr.json`).
    SearchEval {
        /// The relevance set (JSON).
        file: PathBuf,
        /// Print every query, not only the imperfect ones.
        #[arg(long)]
        verbose: bool,
        /// Answer each query this many times; the best time is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Manage partners' machine clients (OAuth 2.0 client credentials).
    Clients {
        #[command(subcommand)]
        action: ClientsCommand,
    },
    /// Manage Carta's token-signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Print the OpenAPI document.
    Openapi {
        #[arg(long, default_value = "yaml")]
        format: DocumentFormat,
    },
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client; prints its id and secret (the secret is shown only this once).
    Create {
        /// Who the client is, e.g. "Sistema de protocolo da SEFAZ".
        #[arg(long)]
        name: String,
        /// Organization slug or id it acts for (required except for admins).
        #[arg(long)]
        org: Option<String>,
        /// reader, editor, publisher or admin.
        #[arg(long)]
        role: String,
    },
    /// Revoke a client: its secret stops working at once.
    Revoke { client_id: String },
    /// List the clients (never their secrets).
    List,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Start signing with a new key. The old one keeps verifying until its tokens expire.
    Rotate,
}

#[derive(Subcommand)]
enum ImportSource {
    /// Federal gov.br "cartas de serviço" schema-v3 XML: the corpus root or a folder of files.
    GovbrXml { dir: PathBuf },
    /// Another portal's federation feed (the shape gov.br pulls from state and municipal
    /// portals), from a URL or a file. Re-importing updates in place; services the feed no
    /// longer lists are archived.
    GovbrFeed {
        /// Short name of the portal, e.g. `cuiaba`: records are matched by it and their id.
        #[arg(long)]
        source: String,
        /// Sphere of the organizations created for the feed's providers: federal, state,
        /// municipal or private.
        #[arg(long, default_value = "municipal")]
        sphere: String,
        /// Slug of the organization credited with records that name none (else they are skipped).
        #[arg(long)]
        organization: Option<String>,
        /// `https://...` or a file path.
        location: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DocumentFormat {
    Yaml,
    Json,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CARTA_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "CARTA_WORKERS")]
    workers: Option<usize>,
    /// Load the sample catalogue when the database holds nothing yet.
    #[arg(long, env = "CARTA_SEED_IF_EMPTY")]
    seed_if_empty: bool,
    /// Maximum database connections.
    #[arg(long, env = "CARTA_DB_POOL_SIZE", default_value_t = 16)]
    pool_size: usize,
    /// How long a request waits for a database connection, in milliseconds.
    #[arg(long, env = "CARTA_DB_POOL_TIMEOUT_MS", default_value_t = 5000)]
    pool_timeout_ms: u64,
    /// Server-side limit on one SQL statement, in milliseconds.
    #[arg(long, env = "CARTA_DB_STATEMENT_TIMEOUT_MS", default_value_t = 10000)]
    statement_timeout_ms: u64,
    /// How often the search index polls the catalogue's change log, in milliseconds: the delay
    /// before a change made by another instance is searchable here.
    #[arg(long, env = "CARTA_SEARCH_FOLLOW_MS", default_value_t = 500)]
    search_follow_ms: u64,
    /// Memory for rendered answers to repeated searches, in MiB; 0 disables the cache.
    #[arg(long, env = "CARTA_SEARCH_CACHE_MB", default_value_t = 64)]
    search_cache_mb: u64,
    /// `iss` of the tokens this server issues (use the public base URL in production).
    #[arg(long, env = "CARTA_JWT_ISSUER", default_value = "carta")]
    jwt_issuer: String,
    /// `aud` every accepted token must carry.
    #[arg(long, env = "CARTA_JWT_AUDIENCE", default_value = "carta")]
    jwt_audience: String,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, env = "CARTA_TOKEN_TTL_S", default_value_t = 900)]
    token_ttl_s: u64,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[arg(long, env = "CARTA_JWT_LEEWAY_S", default_value_t = 30)]
    jwt_leeway_s: u64,
    /// JSON file naming the identity providers whose tokens are accepted, with their keys (a JWKS
    /// file or PEM files); see the README.
    #[arg(long, env = "CARTA_TRUSTED_ISSUERS_FILE")]
    trusted_issuers_file: Option<PathBuf>,
    /// Browser origins (e.g. `https://editor.mt.gov.br`), comma-separated, allowed to call the
    /// write endpoints from a web page. Public reads allow any origin.
    #[arg(long, env = "CARTA_CORS_WRITE_ORIGINS", value_delimiter = ',')]
    cors_write_origins: Vec<String>,
    /// Where the state portal shows a service: its slug is appended (feeds and exports link there).
    #[arg(long, env = "CARTA_PORTAL_URL", default_value = carta_api::routes::exports::DEFAULT_PORTAL_URL)]
    portal_url: String,
    /// Seconds given to in-flight requests on SIGTERM/SIGINT.
    #[arg(long, env = "CARTA_SHUTDOWN_TIMEOUT_S", default_value_t = 30)]
    shutdown_timeout_s: u64,
    /// How often the webhook worker looks for deliveries due, in milliseconds.
    #[arg(long, env = "CARTA_WEBHOOK_POLL_MS", default_value_t = 2000)]
    webhook_poll_ms: u64,
    /// Wait before the first retry of a failed delivery, in seconds; doubles with each failure.
    #[arg(long, env = "CARTA_WEBHOOK_RETRY_BASE_S", default_value_t = 10)]
    webhook_retry_base_s: u64,
    /// Longest wait between retries, in seconds.
    #[arg(long, env = "CARTA_WEBHOOK_RETRY_CAP_S", default_value_t = 600)]
    webhook_retry_cap_s: u64,
    /// Accept plain `http://localhost` webhook URLs (development only).
    #[arg(long, env = "CARTA_WEBHOOK_ALLOW_HTTP_LOCALHOST")]
    webhook_allow_http_localhost: bool,
    /// How often the vote totals shown in pages and lists are reread, in milliseconds.
    #[arg(long, env = "CARTA_OPINION_REFRESH_MS", default_value_t = 30000)]
    opinion_refresh_ms: u64,
    /// A second vote from the same sender (or protocol) on a service within this many seconds
    /// replaces the first; at most a day (86400).
    #[arg(
        long,
        env = "CARTA_OPINION_DUPLICATE_WINDOW_S",
        default_value_t = 86400
    )]
    opinion_duplicate_window_s: u64,
    /// Votes accepted per client address per minute.
    #[arg(
        long,
        env = "CARTA_OPINION_PER_ADDRESS_PER_MINUTE",
        default_value_t = 20
    )]
    opinion_per_address_per_minute: u32,
    /// Votes accepted per service per minute, from all addresses.
    #[arg(
        long,
        env = "CARTA_OPINION_PER_SERVICE_PER_MINUTE",
        default_value_t = 120
    )]
    opinion_per_service_per_minute: u32,
    /// Secret (at least 32 characters) from which the daily keys that hash voters are derived;
    /// share it between instances. Unset: a random one per instance.
    #[arg(long, env = "CARTA_OPINION_SECRET", hide_env_values = true, value_parser = long_secret)]
    opinion_secret: Option<String>,
    /// Reverse proxies (addresses or networks, comma-separated) whose `X-Forwarded-For` header
    /// names the client; from any other peer the header is ignored.
    #[arg(long, env = "CARTA_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<String>,
    /// How often the service page views counted in memory are written to the database, in
    /// milliseconds (one statement per flush, never one per view); at least 1000.
    #[arg(long, env = "CARTA_VIEWS_FLUSH_MS", default_value_t = 10000, value_parser = carta_api::popularity::parse_flush_every_ms)]
    views_flush_ms: u64,
}

fn long_secret(value: &str) -> Result<String, String> {
    if value.chars().count() >= 32 {
        Ok(value.to_owned())
    } else {
        Err("use at least 32 characters".into())
    }
}

/// Logs go to stderr through a background thread: every request logs a line, and writing it on
/// the worker that serves the request halved the server's throughput. The guard flushes what is
/// still queued when `main` returns; lines are never dropped (the queue blocks when full).
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Text => builder.compact().init(),
    }
    guard
}

async fn prepare_database(database_url: &str) -> anyhow::Result<()> {
    if admin::create_database_if_missing(database_url).await? {
        tracing::info!("created the database");
    }
    let applied = admin::migrate(database_url).await?;
    tracing::info!(applied, "database migrated");
    Ok(())
}

async fn run_seed(database_url: &str) -> anyhow::Result<()> {
    let mut conn = admin::connect(database_url).await?;
    let report = seed::run(&mut conn).await?;
    tracing::info!(?report, "sample catalogue loaded");
    Ok(())
}

async fn serve(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    prepare_database(database_url).await?;
    if args.seed_if_empty {
        let mut conn = admin::connect(database_url).await?;
        if admin::is_empty(&mut conn).await? {
            run_seed(database_url).await?;
        }
    }
    let settings = PoolSettings {
        max_size: args.pool_size,
        wait_timeout: Duration::from_millis(args.pool_timeout_ms),
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_millis(args.statement_timeout_ms),
    };
    let started = std::time::Instant::now();
    let mut state = AppState::start(
        pool::build_pool(database_url, &settings)?,
        &SearchSettings {
            follow_every: Duration::from_millis(args.search_follow_ms),
            cache_bytes: args.search_cache_mb * 1024 * 1024,
        },
        AuthSettings {
            issuer: args.jwt_issuer.clone(),
            audience: args.jwt_audience.clone(),
            token_ttl: Duration::from_secs(args.token_ttl_s),
            leeway: Duration::from_secs(args.jwt_leeway_s),
            trusted_issuers: match &args.trusted_issuers_file {
                Some(path) => load_trusted_issuers(path)?,
                None => Vec::new(),
            },
            ..AuthSettings::default()
        },
    )
    .await?
    .with_webhooks(WebhookSettings {
        poll_every: Duration::from_millis(args.webhook_poll_ms),
        retry_base: Duration::from_secs(args.webhook_retry_base_s),
        retry_cap: Duration::from_secs(args.webhook_retry_cap_s),
        allow_http_localhost: args.webhook_allow_http_localhost,
        ..WebhookSettings::default()
    })
    .with_opinions(OpinionSettings {
        refresh_every: Duration::from_millis(args.opinion_refresh_ms),
        duplicate_window: Duration::from_secs(args.opinion_duplicate_window_s),
        per_address_per_minute: args.opinion_per_address_per_minute,
        per_service_per_minute: args.opinion_per_service_per_minute,
        secret: match &args.opinion_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => {
                tracing::warn!(
                    "CARTA_OPINION_SECRET is not set: this instance hashes voters with a secret of its own, so duplicate votes are only recognised per instance"
                );
                carta_api::opinion::random_secret()
            }
        },
    })
    .with_trusted_proxies(
        TrustedProxies::parse(&args.trusted_proxies).map_err(|e| anyhow::anyhow!(e))?,
    );
    state.cors_write_origins = args
        .cors_write_origins
        .iter()
        .map(|o| o.trim().to_owned())
        .collect();
    state.portal_url = carta_api::routes::exports::portal_base(&args.portal_url);
    Deliverer::new(state.pool.clone(), (*state.webhooks).clone())?.spawn();
    state.spawn_view_flusher(Duration::from_millis(args.views_flush_ms));
    tracing::info!(
        services = state.search.len(),
        segments = state.search.segments(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "search index built"
    );
    // Fail at start, not on the first request, when the document cannot be built.
    build_app(state.clone())?;
    let flush_at_exit = state.clone();
    let mut server = HttpServer::new(move || {
        build_app(state.clone()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot build the app");
            std::process::exit(1)
        })
    })
    .shutdown_timeout(args.shutdown_timeout_s)
    .bind(&args.bind)
    .with_context(|| format!("cannot listen on {}", args.bind))?;
    if let Some(workers) = args.workers {
        server = server.workers(workers);
    }
    tracing::info!(bind = %args.bind, "serving; docs at /docs");
    // actix-web stops gracefully on SIGTERM and SIGINT: it stops accepting, then waits for
    // in-flight requests up to the shutdown timeout.
    let served = server.run().await;
    // The views counted since the last flush, however the server stopped.
    if let Err(error) = flush_at_exit.flush_views().await {
        tracing::warn!(%error, "could not write the last view counts");
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _log_guard = init_logging(cli.log_format);
    match cli.command {
        Command::Serve(args) => serve(&cli.database_url, *args).await,
        Command::Migrate => prepare_database(&cli.database_url).await,
        Command::Seed => {
            prepare_database(&cli.database_url).await?;
            run_seed(&cli.database_url).await
        }
        Command::Import {
            source: ImportSource::GovbrXml { dir },
        } => {
            prepare_database(&cli.database_url).await?;
            let mut conn = admin::connect(&cli.database_url).await?;
            let report = import::import_govbr_xml(&mut conn, &dir).await?;
            print!("{}", report.render());
            Ok(())
        }
        Command::Import {
            source:
                ImportSource::GovbrFeed {
                    source,
                    sphere,
                    organization,
                    location,
                },
        } => {
            let sphere = Sphere::from_code(&sphere).with_context(|| {
                format!("unknown sphere `{sphere}`: use federal, state, municipal or private")
            })?;
            prepare_database(&cli.database_url).await?;
            let mut conn = admin::connect(&cli.database_url).await?;
            let options = FeedImport {
                source: &source,
                sphere,
                default_organization: organization.as_deref(),
            };
            let report =
                import::govbr_feed::import_govbr_feed(&mut conn, &options, &location).await?;
            print!("{}", report.render());
            Ok(())
        }
        Command::Clients { action } => {
            prepare_database(&cli.database_url).await?;
            let mut conn = admin::connect(&cli.database_url).await?;
            match action {
                ClientsCommand::Create { name, org, role } => {
                    let role = Role::parse(&role).with_context(|| {
                        format!("unknown role `{role}`: use reader, editor, publisher or admin")
                    })?;
                    let client = clients::create(&mut conn, &name, org.as_deref(), role).await?;
                    println!("client_id:     {}", client.client_id);
                    println!("client_secret: {}", client.secret);
                    println!("(the secret is shown only now; store it safely)");
                }
                ClientsCommand::Revoke { client_id } => {
                    if !clients::revoke(&mut conn, &client_id).await? {
                        anyhow::bail!("no active client `{client_id}`");
                    }
                    println!("revoked {client_id}");
                }
                ClientsCommand::List => {
                    for client in persistence::credentials::list_clients(&mut conn).await? {
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            client.client_id,
                            client.role.as_str(),
                            client
                                .organization_id
                                .map(|id| id.to_string())
                                .unwrap_or_else(|| "-".into()),
                            if client.revoked_at.is_some() {
                                "revoked"
                            } else {
                                "active"
                            },
                            client.name,
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Keys {
            action: KeysCommand::Rotate,
        } => {
            prepare_database(&cli.database_url).await?;
            let mut conn = admin::connect(&cli.database_url).await?;
            let key = generate_key()?;
            persistence::credentials::add_signing_key(&mut conn, &key, false).await?;
            println!(
                "signing with key {}; the previous key verifies until its tokens expire",
                key.kid
            );
            Ok(())
        }
        Command::SearchEval {
            file,
            verbose,
            runs,
        } => {
            let set: carta_api::search::evaluation::RelevanceSet = serde_json::from_slice(
                &std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?,
            )?;
            let pool = pool::build_pool(&cli.database_url, &PoolSettings::default())?;
            let index = carta_api::search::build(&pool, &SearchSettings::default()).await?;
            let evaluation = carta_api::search::evaluation::evaluate(&index, &set, runs)?;
            print!("{}", evaluation.render(verbose));
            Ok(())
        }
        Command::Openapi { format } => {
            let document = carta_api::openapi();
            let text = match format {
                DocumentFormat::Yaml => document.to_yaml()?,
                DocumentFormat::Json => document.to_pretty_json()?,
            };
            print!("{text}");
            Ok(())
        }
    }
}
