//! HTTPS with a self-signed certificate: aws-sdk-rust trusting the server's CA file works, a
//! client that does not trust it is refused, and policies see `aws:SecureTransport` as `true`
//! over TLS only.
//!
//! In-process only: the listener and the policy context are the library's; the binary's
//! `--tls` flags are exercised by the stock clients in compat-tests/test_side_doors.py.

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::Client;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use secretsd::config::Overrides;
use secretsd::server::tls::TlsSetting;
use secretsd::{Config, Location, Server};
use std::path::Path;

/// How a test client connects: plain HTTP, or HTTPS trusting only `Ca`'s file (or nothing).
enum Transport<'a> {
    Plain,
    Https { ca: Option<&'a Path> },
}

fn client(endpoint: &str, transport: Transport, key: &str, secret: &str) -> Client {
    let http = match transport {
        Transport::Plain => aws_smithy_http_client::Builder::new().build_http(),
        Transport::Https { ca } => {
            let mut trust = TrustStore::empty().with_native_roots(false);
            if let Some(ca) = ca {
                trust = trust.with_pem_certificate(std::fs::read(ca).expect("CA file"));
            }
            let context = TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .expect("TLS context");
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::Ring,
                ))
                .tls_context(context)
                .build_https()
        }
    };
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "tls-tests"))
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
                .operation_timeout(std::time::Duration::from_secs(10))
                .build(),
        )
        .http_client(http)
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn a_client_that_trusts_the_self_signed_ca_talks_https() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Config {
        storage: Location::Dir(dir.path().to_path_buf()),
        tls: Some(TlsSetting::SelfSigned),
        store: std::env::var("SECRETSD_STORE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default(),
        ..Config::ephemeral()
    })
    .await
    .expect("server starts");
    let ca = server.trust_file().expect("a trust file").to_path_buf();
    assert_eq!(ca, dir.path().join("tls/ca.pem"));
    let endpoint = server.endpoint_url();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");

    let sm = client(
        &endpoint,
        Transport::Https { ca: Some(&ca) },
        "test",
        "test",
    );
    sm.create_secret()
        .name("over-tls")
        .secret_string("sealed in transit")
        .send()
        .await
        .expect("create over TLS");
    let got = sm
        .get_secret_value()
        .secret_id("over-tls")
        .send()
        .await
        .expect("get over TLS");
    assert_eq!(got.secret_string(), Some("sealed in transit"));

    // `localhost` is in the certificate too.
    let by_name = endpoint.replace("127.0.0.1", "localhost");
    let sm = client(&by_name, Transport::Https { ca: Some(&ca) }, "test", "test");
    assert_eq!(
        sm.get_secret_value()
            .secret_id("over-tls")
            .send()
            .await
            .expect("get by name")
            .secret_string(),
        Some("sealed in transit")
    );

    // Without the CA the handshake fails: no answer, no value.
    let untrusting = client(&endpoint, Transport::Https { ca: None }, "test", "test");
    let err = untrusting
        .get_secret_value()
        .secret_id("over-tls")
        .send()
        .await
        .expect_err("an untrusted certificate is refused");
    assert!(
        matches!(
            err,
            aws_sdk_secretsmanager::error::SdkError::DispatchFailure(_)
        ),
        "{err:?}"
    );

    // A plain-HTTP client gets no Secrets Manager answer from the TLS port.
    let plain = client(
        &endpoint.replace("https://", "http://"),
        Transport::Plain,
        "test",
        "test",
    );
    assert!(plain
        .get_secret_value()
        .secret_id("over-tls")
        .send()
        .await
        .is_err());
    server.shutdown().await;
}

/// A principal allowed to read only over TLS (`aws:SecureTransport`), with the admin principal
/// to set up.
const STRICT: &str = r#"
auth = "strict"
[[principals]]
name = "admin"
access_key_id = "AKIAADMINTLS00000001"
secret_access_key = "admin-secret"
policies = ['{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}']

[[principals]]
name = "tls-only"
access_key_id = "AKIATLSONLY000000001"
secret_access_key = "tls-only-secret"
policies = ['{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}}']
"#;

async fn strict_server(dir: &Path, tls: Option<TlsSetting>) -> Server {
    let path = dir.join("secretsd.toml");
    std::fs::write(&path, STRICT).unwrap();
    let config = Config::resolve(Overrides {
        config_file: Some(path),
        data_dir: Some(dir.join("data")),
        listen: Some("127.0.0.1:0".into()),
        ..Default::default()
    })
    .expect("config resolves");
    Server::start(Config { tls, ..config })
        .await
        .expect("server starts")
}

#[tokio::test]
async fn secure_transport_is_true_over_tls_and_false_over_plain_http() {
    let secure_dir = tempfile::tempdir().unwrap();
    let plain_dir = tempfile::tempdir().unwrap();
    let secure = strict_server(secure_dir.path(), Some(TlsSetting::SelfSigned)).await;
    let plain = strict_server(plain_dir.path(), None).await;
    let ca = secure.trust_file().unwrap().to_path_buf();
    let mut plain_arn = String::new();
    for (server, ca) in [(&secure, Some(ca.as_path())), (&plain, None)] {
        let transport = match ca {
            Some(ca) => Transport::Https { ca: Some(ca) },
            None => Transport::Plain,
        };
        let admin = client(
            &server.endpoint_url(),
            transport,
            "AKIAADMINTLS00000001",
            "admin-secret",
        );
        let created = admin
            .create_secret()
            .name("db")
            .secret_string("pw")
            .send()
            .await
            .expect("admin creates");
        plain_arn = created.arn().unwrap_or_default().to_string();
    }
    let over_tls = client(
        &secure.endpoint_url(),
        Transport::Https { ca: Some(&ca) },
        "AKIATLSONLY000000001",
        "tls-only-secret",
    );
    let got = over_tls
        .get_secret_value()
        .secret_id("db")
        .send()
        .await
        .expect("allowed over TLS");
    assert_eq!(got.secret_string(), Some("pw"));
    let over_http = client(
        &plain.endpoint_url(),
        Transport::Plain,
        "AKIATLSONLY000000001",
        "tls-only-secret",
    );
    let err = over_http
        .get_secret_value()
        .secret_id("db")
        .send()
        .await
        .expect_err("denied over plain HTTP");
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(
        err.message().unwrap_or_default(),
        format!("User: arn:aws:iam::000000000000:user/tls-only is not authorized to perform: secretsmanager:GetSecretValue on resource: {plain_arn} because no identity-based policy allows the secretsmanager:GetSecretValue action")
    );
    secure.shutdown().await;
    plain.shutdown().await;
}
