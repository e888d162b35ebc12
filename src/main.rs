//! The `secretsd` command.

use clap::{Args, Parser, Subcommand};
use secretsd::config::{Config, Overrides};
use secretsd::server::{describe_location, Server};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "secretsd",
    version,
    about = "A local, durable, wire-compatible AWS Secrets Manager"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Secrets Manager API (the default).
    Serve(ServeArgs),
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:4584]
    #[arg(long, env = "SECRETSD_LISTEN")]
    listen: Option<String>,
    /// Directory for the store and master key [default: ./.secretsd]
    #[arg(long, env = "SECRETSD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Storage engine: redb (default) or sled, both in the data dir, or a postgres:// URL
    #[arg(long, env = "SECRETSD_STORE")]
    store: Option<String>,
    /// Keep everything in memory; nothing survives a restart
    #[arg(long, env = "SECRETSD_IN_MEMORY")]
    in_memory: bool,
    /// TOML configuration file
    #[arg(long, env = "SECRETSD_CONFIG")]
    config: Option<PathBuf>,
    /// Default account id (12 digits) [default: 000000000000]
    #[arg(long, env = "SECRETSD_ACCOUNT")]
    account: Option<String>,
    /// Log filter: error, warn, info, debug, trace [default: info]
    #[arg(long, env = "SECRETSD_LOG_LEVEL")]
    log_level: Option<String>,
    /// open: any well-formed request (test/test verified); strict: only configured principals
    #[arg(long, env = "SECRETSD_AUTH", value_parser = ["open", "strict"])]
    auth: Option<String>,
    /// CA certificates (PEM) the built-in rotators trust for TLS database logins, besides the
    /// system's
    #[arg(long, env = "SECRETSD_ROTATION_CA_FILE")]
    rotation_ca_file: Option<PathBuf>,
    /// A Host name to answer besides localhost, loopback and the listening address (repeat it;
    /// .example.com for a domain and its subdomains; * for any)
    #[arg(
        long = "allowed-host",
        env = "SECRETSD_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// A web origin whose pages may call the API, e.g. http://localhost:3000 (repeat it)
    #[arg(
        long = "allowed-origin",
        env = "SECRETSD_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allowed_origins: Vec<String>,
    /// The admin endpoints' token (Authorization: Bearer …), at least 16 characters
    #[arg(long, env = "SECRETSD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// A file that holds the admin token
    #[arg(long, env = "SECRETSD_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// Serve HTTPS with a certificate made in the data dir (tls/ca.pem is what clients trust)
    #[arg(long, env = "SECRETSD_TLS", value_parser = ["self-signed"])]
    tls: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM)
    #[arg(long, env = "SECRETSD_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert
    #[arg(long, env = "SECRETSD_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Audit files older than this many days are removed (0: kept however old).
    #[arg(long, env = "SECRETSD_AUDIT_MAX_AGE_DAYS")]
    audit_max_age_days: Option<u32>,
    /// The oldest audit files are removed while all of them take more than this (0: no bound).
    #[arg(long, env = "SECRETSD_AUDIT_MAX_MB")]
    audit_max_mb: Option<u64>,
}

/// mimalloc rather than glibc's malloc: a request allocates and frees many small buffers across
/// worker threads, which mimalloc serves more cheaply.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
        store: args.store,
        in_memory: args.in_memory,
        config_file: args.config,
        account: args.account,
        log_level: args.log_level,
        audit_max_age_days: args.audit_max_age_days,
        audit_max_mb: args.audit_max_mb,
        master_key: std::env::var("SECRETSD_MASTER_KEY").ok(),
        auth: args.auth.map(|mode| {
            if mode == "strict" {
                secretsd::auth::credentials::AuthMode::Strict
            } else {
                secretsd::auth::credentials::AuthMode::Open
            }
        }),
        rotation_ca_file: args.rotation_ca_file,
        allowed_hosts: args.allowed_hosts,
        allowed_origins: args.allowed_origins,
        admin_token: args.admin_token,
        admin_token_file: args.admin_token_file,
        tls: args.tls,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
    };
    let config = match Config::resolve(overrides) {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    if let Err(e) = init_logging(&config.log_level) {
        return fail(&e);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> ExitCode {
    let location = describe_location(&config.storage);
    let store = config.store.name();
    let exposure = secretsd::server::exposure_warnings(&config);
    let server = match Server::start(config).await {
        Ok(server) => server,
        Err(e) => return fail(&e),
    };
    for warning in exposure {
        eprintln!("secretsd: warning: {warning}");
    }
    let tls = match server.trust_file() {
        Some(file) => format!("; clients trust {}", file.display()),
        None => String::new(),
    };
    println!(
        "secretsd listening on {} (data: {location}; store: {store}{tls})",
        server.endpoint_url()
    );
    server.serving();
    wait_for_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[derive(Debug, thiserror::Error)]
#[error("bad log level '{level}': {source}")]
struct BadLogLevel {
    level: String,
    source: tracing_subscriber::filter::ParseError,
}

fn init_logging(level: &str) -> Result<(), BadLogLevel> {
    let filter = tracing_subscriber::EnvFilter::try_new(level).map_err(|source| BadLogLevel {
        level: level.to_string(),
        source,
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log that cannot be written (stderr on a full disk) must not fail the request
        // that logged: the subscriber's own report of it would panic writing to stderr.
        .log_internal_errors(false)
        .init();
    Ok(())
}

fn fail(message: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("secretsd: {message}");
    ExitCode::FAILURE
}
