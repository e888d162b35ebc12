//! What `--store postgres://…` names: the connection settings, the CA file that verifies the
//! server, and secretsd's own settings for the engine.

use super::cache::DEFAULT_WINDOW;
use crate::store::error::{StoreError, StoreResult};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Set on every session: no statement, and no wait for a lock, outlasts the engine's
/// `CALL_TIMEOUT`. Each of the engine's statements is a lookup or a range on a primary key
/// (or an index), so each is planned once per connection, not at every call, and never as a
/// sequential scan: a plan made while a table is still small must stay right as it grows (and
/// without JIT, which would compile every plan whose scans are priced out).
const SESSION_OPTIONS: &str = "-c statement_timeout=10000 -c lock_timeout=10000 \
     -c idle_in_transaction_session_timeout=30000 \
     -c plan_cache_mode=force_generic_plan -c enable_seqscan=off -c jit=off";

/// What `--store postgres://…` names: the connection settings and the CA file that verifies the
/// server (`sslrootcert`, which libpq reads and tokio-postgres does not).
pub struct Target {
    pub config: tokio_postgres::Config,
    root_cert: Option<String>,
    /// `cache_window_ms`: secretsd's own setting, not the database's.
    pub cache_window: Duration,
}

impl Target {
    pub fn parse(url: &str) -> StoreResult<Target> {
        let bad = |why: String| StoreError::Format(format!("bad PostgreSQL URL: {why}"));
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut root_cert = None;
        let mut cache_window = DEFAULT_WINDOW;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslrootcert", path)) => root_cert = Some(path.to_string()),
                Some(("cache_window_ms", ms)) => {
                    let ms: u64 =
                        ms.parse().ok().filter(|ms| *ms <= 10_000).ok_or_else(|| {
                            bad(format!("cache_window_ms={ms}: expected 0 to 10000"))
                        })?;
                    cache_window = Duration::from_millis(ms);
                }
                _ => kept.push(pair),
            }
        }
        let url = match kept.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{}", kept.join("&")),
        };
        // The cause names the option ("invalid value for option `sslmode`").
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| {
            bad(match std::error::Error::source(&e) {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            })
        })?;
        config.options(SESSION_OPTIONS);
        config.application_name("secretsd");
        config.connect_timeout(Duration::from_secs(5));
        Ok(Target {
            config,
            root_cert,
            cache_window,
        })
    }

    /// The TLS client: the system's roots and `sslrootcert`; it verifies the server's name.
    pub fn tls(&self) -> StoreResult<tokio_postgres_rustls::MakeRustlsConnect> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &self.root_cert {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::Format(format!("cannot read sslrootcert {path}: {e}")))?;
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    StoreError::Format(format!("sslrootcert {path} is not usable: {e}"))
                })?;
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(StoreError::engine)?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }
}

/// host:port/dbname, without the credentials.
pub fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or(""))
}
