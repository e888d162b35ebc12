//! TLS for the listener: a certificate and key from PEM files, or a self-signed one that the
//! server makes in its data dir.
//!
//! A self-signed setup is a small local CA (`tls/ca.pem`, the file clients trust) and a server
//! certificate it signs (`tls/cert.pem`) for `localhost`, the loopback addresses, the listen
//! address and the allowed hosts. The CA is made once; the server certificate is made again
//! when those names change or it nears its end, so clients keep trusting the same file.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// How the listener gets its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSetting {
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// Made in `<data-dir>/tls/` on first start.
    SelfSigned,
}

/// A loaded certificate, ready to accept connections.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// The file a client trusts: the CA of a self-signed setup, or the configured certificate.
    pub trust_file: PathBuf,
}

const CA_DAYS: i64 = 20 * 365;
const SERVER_DAYS: i64 = 397;
/// Why the server's TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("--tls self-signed keeps its certificate in the data dir; with --in-memory give --tls-cert and --tls-key")]
    SelfSignedInMemory,
    /// `file` names the file as the message shows it (`the TLS key /path`, or just the path).
    #[error("cannot read {file}: {detail}")]
    Unreadable { file: String, detail: String },
    #[error("no certificate in {}", .0.display())]
    NoCertificate(PathBuf),
    #[error("TLS: {0}")]
    Protocol(rustls::Error),
    #[error("the TLS certificate and key do not fit together: {0}")]
    Mismatch(rustls::Error),
    #[error("cannot create {}: {source}", .path.display())]
    Uncreatable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", .path.display())]
    Unwritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

fn unreadable(file: String) -> impl FnOnce(String) -> TlsError {
    move |detail| TlsError::Unreadable { file, detail }
}

/// A server certificate this close to its end is made again at start.
const RENEW_DAYS: i64 = 30;

impl Tls {
    /// Loads or makes the certificate. `data_dir` is needed for `SelfSigned`; `names` are the
    /// host names and addresses a self-signed certificate must cover.
    pub fn load(
        setting: &TlsSetting,
        data_dir: Option<&Path>,
        names: &[String],
    ) -> Result<Tls, TlsError> {
        let (cert, key, trust_file) = match setting {
            TlsSetting::Files { cert, key } => (cert.clone(), key.clone(), cert.clone()),
            TlsSetting::SelfSigned => {
                let dir = data_dir.ok_or(TlsError::SelfSignedInMemory)?.join("tls");
                self_signed(&dir, names)?;
                (
                    dir.join("cert.pem"),
                    dir.join("key.pem"),
                    dir.join("ca.pem"),
                )
            }
        };
        let chain = CertificateDer::pem_file_iter(&cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| e.to_string())
            .map_err(unreadable(format!(
                "the TLS certificate {}",
                cert.display()
            )))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate(cert));
        }
        let key = PrivateKeyDer::from_pem_file(&key)
            .map_err(|e| e.to_string())
            .map_err(unreadable(format!("the TLS key {}", key.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Protocol)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Mismatch)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            trust_file,
        })
    }
}

/// The names a self-signed certificate covers for a server listening on `listen`.
pub fn certificate_names(
    listen: SocketAddr,
    allowed_hosts: impl Iterator<Item = String>,
) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    for host in allowed_hosts {
        // A certificate names a domain's subdomains with a wildcard.
        let host = match host.strip_prefix('.') {
            Some(domain) => format!("*.{domain}"),
            None => host,
        };
        names.push(host);
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "secretsd local CA");
    dn.push(DnType::OrganizationName, "secretsd");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = time_from_epoch(chrono::Utc::now().timestamp() - 86_400);
    params.not_before = now;
    params.not_after = now + time::Duration::days(days);
}

fn time_from_epoch(seconds: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// What `leaf.info` records of the server certificate: when it ends and the names it covers.
fn leaf_info(expires: i64, names: &[String]) -> String {
    let mut text = format!("expires {expires}\n");
    for name in names {
        text.push_str(name);
        text.push('\n');
    }
    text
}

fn leaf_is_current(dir: &Path, names: &[String]) -> bool {
    let Ok(info) = std::fs::read_to_string(dir.join("leaf.info")) else {
        return false;
    };
    let mut lines = info.lines();
    let expires = lines
        .next()
        .and_then(|l| l.strip_prefix("expires "))
        .and_then(|e| e.parse::<i64>().ok());
    let fresh = expires.is_some_and(|e| e - chrono::Utc::now().timestamp() > RENEW_DAYS * 86_400);
    fresh
        && lines.eq(names.iter().map(String::as_str))
        && dir.join("cert.pem").exists()
        && dir.join("key.pem").exists()
}

/// Writes a file readable by its owner only, whole or not at all.
fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .map_err(|source| TlsError::Unwritable {
            path: tmp.clone(),
            source,
        })?;
    std::fs::rename(&tmp, path).map_err(|source| TlsError::Unwritable {
        path: path.to_path_buf(),
        source,
    })
}

fn self_signed(dir: &Path, names: &[String]) -> Result<(), TlsError> {
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Uncreatable {
        path: dir.to_path_buf(),
        source,
    })?;
    let ca_key_path = dir.join("ca.key");
    let ca_key = match std::fs::read_to_string(&ca_key_path) {
        Ok(pem) if dir.join("ca.pem").exists() => KeyPair::from_pem(&pem)
            .map_err(|e| e.to_string())
            .map_err(unreadable(ca_key_path.display().to_string()))?,
        _ => {
            let key = KeyPair::generate()?;
            let mut params = ca_params();
            validity(&mut params, CA_DAYS);
            let cert = params.self_signed(&key)?;
            write_private(&ca_key_path, &key.serialize_pem())?;
            write_private(&dir.join("ca.pem"), &cert.pem())?;
            // A new CA invalidates any server certificate signed by an old one.
            let _ = std::fs::remove_file(dir.join("leaf.info"));
            key
        }
    };
    if leaf_is_current(dir, names) {
        return Ok(());
    }
    let ca_pem = std::fs::read_to_string(dir.join("ca.pem"))
        .map_err(|e| e.to_string())
        .map_err(unreadable(dir.join("ca.pem").display().to_string()))?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("localhost", String::as_str),
    );
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params, SERVER_DAYS);
    let expires = params.not_after.unix_timestamp();
    let cert = params.signed_by(&key, &issuer)?;
    write_private(&dir.join("key.pem"), &key.serialize_pem())?;
    write_private(&dir.join("cert.pem"), &format!("{}{ca_pem}", cert.pem()))?;
    write_private(&dir.join("leaf.info"), &leaf_info(expires, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_setup_keeps_its_ca_and_renews_the_server_certificate_for_new_names() {
        let dir = tempfile::tempdir().unwrap();
        let names = certificate_names("127.0.0.1:4584".parse().unwrap(), std::iter::empty());
        assert_eq!(names, ["localhost", "127.0.0.1", "::1"]);
        let tls = Tls::load(&TlsSetting::SelfSigned, Some(dir.path()), &names).unwrap();
        assert_eq!(tls.trust_file, dir.path().join("tls/ca.pem"));
        let ca = std::fs::read(dir.path().join("tls/ca.pem")).unwrap();
        let cert = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        for key in ["ca.key", "key.pem"] {
            let mode = std::fs::metadata(dir.path().join("tls").join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
        // Same names: nothing is made again.
        Tls::load(&TlsSetting::SelfSigned, Some(dir.path()), &names).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("tls/cert.pem")).unwrap(),
            cert
        );
        // A new allowed host: a new server certificate under the same CA.
        let more = certificate_names(
            "0.0.0.0:4584".parse().unwrap(),
            ["secretsd".to_string(), ".corp.example".to_string()].into_iter(),
        );
        assert_eq!(
            more,
            [
                "localhost",
                "127.0.0.1",
                "::1",
                "secretsd",
                "*.corp.example"
            ]
        );
        Tls::load(&TlsSetting::SelfSigned, Some(dir.path()), &more).unwrap();
        assert_ne!(
            std::fs::read(dir.path().join("tls/cert.pem")).unwrap(),
            cert
        );
        assert_eq!(std::fs::read(dir.path().join("tls/ca.pem")).unwrap(), ca);
    }

    #[test]
    fn self_signed_needs_a_data_dir_and_files_must_exist() {
        let err = Tls::load(&TlsSetting::SelfSigned, None, &[])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--tls-cert"), "{err}");
        let err = Tls::load(
            &TlsSetting::Files {
                cert: "/nonexistent/cert.pem".into(),
                key: "/nonexistent/key.pem".into(),
            },
            None,
            &[],
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("cannot read the TLS certificate /nonexistent/cert.pem"),
            "{err}"
        );
    }
}
