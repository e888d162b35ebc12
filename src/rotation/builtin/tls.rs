//! TLS for the built-in rotators' database logins, as AWS's templates use it (docs/aws-behaviour.md
//! §R2.3): the secret's `ssl` key says `true` → TLS only, `false` → plain only, absent → TLS
//! first and plain if that fails. TLS always verifies the server: the certificate must chain to
//! a trusted root and name the secret's `host` (the templates' `verify-full`, and PyMySQL's
//! checks with a CA file).
//!
//! Trusted roots: the system's store, plus the CA bundle the templates read
//! (`/etc/pki/tls/cert.pem`) when it exists, plus `rotation_ca_file` from the configuration
//! (for a private CA, such as the one the tests create).

use crate::rotation::error::StepError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The CA bundle path AWS's rotation templates hard-code (Amazon Linux's).
const TEMPLATE_CA_BUNDLE: &str = "/etc/pki/tls/cert.pem";

/// What the secret's `ssl` key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `"ssl": true`.
    Require,
    /// No `ssl` key: TLS, falling back to a plain connection when TLS fails.
    Prefer,
    /// `"ssl": false`.
    Disable,
}

/// The trusted roots and the client configuration built from them, once per server, on the first
/// login that needs them (reading the system store costs milliseconds that start-up should not).
pub struct RotationTls {
    ca_file: Option<PathBuf>,
    loaded: OnceLock<Result<Loaded, StepError>>,
}

struct Loaded {
    roots: Vec<CertificateDer<'static>>,
    config: Arc<rustls::ClientConfig>,
}

impl RotationTls {
    pub fn new(ca_file: Option<PathBuf>) -> Self {
        RotationTls {
            ca_file,
            loaded: OnceLock::new(),
        }
    }

    fn loaded(&self) -> Result<&Loaded, StepError> {
        self.loaded
            .get_or_init(|| load(self.ca_file.as_deref()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A rustls client configuration that verifies against the trusted roots (PostgreSQL).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, StepError> {
        self.loaded().map(|l| l.config.clone())
    }

    /// The trusted roots as DER certificates (MySQL/MariaDB's driver builds its own config).
    pub fn roots(&self) -> Result<Vec<CertificateDer<'static>>, StepError> {
        self.loaded().map(|l| l.roots.clone())
    }
}

fn pem_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, StepError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            StepError::TrustedRoots(format!(
                "cannot read CA certificates from {}: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(StepError::TrustedRoots(format!(
            "{} holds no PEM certificates",
            path.display()
        )));
    }
    Ok(certs)
}

fn load(ca_file: Option<&Path>) -> Result<Loaded, StepError> {
    // The system store may be partly unreadable; what it yields is used.
    let mut roots = rustls_native_certs::load_native_certs().certs;
    let template_bundle = Path::new(TEMPLATE_CA_BUNDLE);
    if template_bundle.exists() {
        roots.extend(pem_file(template_bundle)?);
    }
    if let Some(path) = ca_file {
        roots.extend(pem_file(path)?);
    }
    let mut store = rustls::RootCertStore::empty();
    store.add_parsable_certificates(roots.iter().cloned());
    if store.is_empty() {
        return Err(StepError::TrustedRoots("no trusted CA certificates found (system store empty and no rotation_ca_file configured)".into()));
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Loaded {
        roots,
        config: Arc::new(config),
    })
}

/// Runs `login` with TLS as `mode` asks: for `Prefer`, a failed TLS attempt is followed by a
/// plain one, and if both fail the error says why each did.
pub async fn with_mode<T, F, Fut>(mode: TlsMode, login: F) -> Result<T, StepError>
where
    F: Fn(bool) -> Fut,
    Fut: std::future::Future<Output = Result<T, StepError>>,
{
    match mode {
        TlsMode::Require => login(true).await,
        TlsMode::Disable => login(false).await,
        TlsMode::Prefer => match login(true).await {
            Ok(session) => Ok(session),
            Err(tls_error) => {
                login(false)
                    .await
                    .map_err(|plain_error| StepError::BothLoginsFailed {
                        plain: Box::new(plain_error),
                        tls: Box::new(tls_error),
                    })
            }
        },
    }
}
