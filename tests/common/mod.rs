//! Shared set-up for the integration tests: a secretsd and an aws-sdk-rust client pointed at
//! it, built without aws-config (the slim client builds in ~2 min).
//!
//! `start()` runs the server in-process, or — when `SECRETSD_BIN` names a binary, as
//! scripts/test does on its second pass — the release binary itself, so the same matrix proves
//! both the library and the shipped program.

#![allow(dead_code)]

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::Client;
use secretsd::store::EngineKind;
use secretsd::{Config, Location, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A server under test: in-process, or the release binary as a child process.
pub enum TestServer {
    InProcess(Server),
    Binary { child: ChildGuard, addr: SocketAddr },
}

/// Kills the binary when the test ends, however it ends.
pub struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl From<Server> for TestServer {
    fn from(server: Server) -> Self {
        TestServer::InProcess(server)
    }
}

impl TestServer {
    pub fn local_addr(&self) -> SocketAddr {
        match self {
            TestServer::InProcess(s) => s.local_addr(),
            TestServer::Binary { addr, .. } => *addr,
        }
    }

    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.local_addr())
    }

    /// The server's clock, moved in-process or through `POST /_secretsd/clock`.
    pub fn clock(&self) -> TestClock<'_> {
        TestClock(self)
    }

    pub async fn shutdown(self) {
        match self {
            TestServer::InProcess(s) => s.shutdown().await,
            TestServer::Binary { child, .. } => drop(child),
        }
    }
}

pub struct TestClock<'a>(&'a TestServer);

impl TestClock<'_> {
    pub fn advance_millis(&self, ms: i64) {
        match self.0 {
            TestServer::InProcess(s) => s.clock().advance_millis(ms).expect("the clock moves"),
            TestServer::Binary { addr, .. } => {
                let body = format!("{{\"advance_seconds\": {}}}", ms as f64 / 1000.0);
                let mut stream = std::net::TcpStream::connect(addr).expect("admin connection");
                write!(
                    stream,
                    "POST /_secretsd/clock HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .expect("admin request");
                let mut answer = String::new();
                stream.read_to_string(&mut answer).expect("admin answer");
                assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            }
        }
    }
}

/// The engine the tests run on: `SECRETSD_STORE` (redb or sled), as the binary reads it.
pub fn store() -> Option<String> {
    std::env::var("SECRETSD_STORE")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The engine of a test's server. `SECRETSD_TEST_STORE=postgres` gives each one a database of
/// its own on scripts/testdb's PostgreSQL (the same one for the same data dir, so restarts find
/// their secrets); otherwise `store()` names it.
pub fn engine_for(dir: Option<&Path>) -> EngineKind {
    if std::env::var("SECRETSD_TEST_STORE").as_deref() == Ok("postgres") {
        return EngineKind::Postgres(postgres_database(dir));
    }
    store().map_or_else(Default::default, |name| {
        name.parse().expect("SECRETSD_STORE names an engine")
    })
}

/// Runs `sql` as the superuser of scripts/testdb's PostgreSQL, on a thread of its own (the
/// caller is a runtime's task).
pub fn admin_sql(sql: String) -> Result<(), tokio_postgres::Error> {
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} (scripts/testdb)"));
    let url = format!(
        "postgres://master:{}@127.0.0.1:{}/postgres?sslmode=disable",
        var("SECRETSD_TEST_PG_PASSWORD"),
        var("SECRETSD_TEST_PG_PORT")
    );
    sql_on(url, sql)
}

/// Runs `sql` on the database at `url`, on a thread of its own.
pub fn sql_on(url: String, sql: String) -> Result<(), tokio_postgres::Error> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("scripts/testdb's PostgreSQL");
            tokio::spawn(connection);
            client.batch_execute(&sql).await
        })
    })
    .join()
    .unwrap()
}

/// A database on scripts/testdb's PostgreSQL: new, or the one of `dir`.
pub fn postgres_database(dir: Option<&Path>) -> String {
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} (scripts/testdb)"));
    let (port, password) = (
        var("SECRETSD_TEST_PG_PORT"),
        var("SECRETSD_TEST_PG_PASSWORD"),
    );
    let name = match dir {
        Some(dir) => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
            format!("secretsd_dir_{}", &hex::encode(digest)[..24])
        }
        None => format!("secretsd_{}", uuid::Uuid::new_v4().simple()),
    };
    let server = format!("postgres://master:{password}@127.0.0.1:{port}");
    if let Err(e) = admin_sql(format!("CREATE DATABASE {name}")) {
        let exists = e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE);
        assert!(exists, "{e}");
    }
    format!("{server}/{name}?sslmode=disable")
}

/// An in-memory server's config on a free port, on the engine `engine_for` names.
pub fn config() -> Config {
    Config {
        store: engine_for(None),
        ..Config::ephemeral()
    }
}

/// A durable server's config on `dir`.
pub fn config_on(dir: &Path) -> Config {
    Config {
        storage: Location::Dir(dir.to_path_buf()),
        store: engine_for(Some(dir)),
        ..Config::ephemeral()
    }
}

/// An in-memory server on a free port (the release binary when `SECRETSD_BIN` is set).
pub async fn start() -> TestServer {
    match std::env::var("SECRETSD_BIN") {
        Ok(bin) if !bin.is_empty() => start_binary(&bin),
        _ => Server::start(config()).await.expect("server starts").into(),
    }
}

fn start_binary(bin: &str) -> TestServer {
    start_binary_with(bin, &[])
}

fn start_binary_with(bin: &str, extra: &[&str]) -> TestServer {
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--log-level",
            "warn",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("secretsd binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    // secretsd listening on http://127.0.0.1:PORT (data: in-memory)
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
    TestServer::Binary {
        child: ChildGuard(child),
        addr,
    }
}

/// A durable server on `dir` (always in-process: these tests are about the library's store).
pub async fn start_on(dir: &Path) -> TestServer {
    Server::start(config_on(dir))
        .await
        .expect("server starts")
        .into()
}

/// A client with the built-in `test`/`test` credential in us-east-1.
pub fn client(server: &TestServer) -> Client {
    client_for(server, "us-east-1", "test", "test")
}

pub fn client_for(server: &TestServer, region: &str, access_key: &str, secret_key: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(server.endpoint_url())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            access_key,
            secret_key,
            None,
            None,
            "secretsd-tests",
        ))
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// The AWS error code and message of a failed call (panics if it succeeded).
pub fn error_of<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, E>,
) -> (String, String) {
    let err = result.expect_err("the call should fail");
    (
        err.code().unwrap_or_default().to_string(),
        err.message().unwrap_or_default().to_string(),
    )
}

pub const NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";
pub const MARKED_FOR_DELETION: &str =
    "You can't perform this operation on the secret because it was marked for deletion.";

/// A server started with a TOML config file (`--config`), in-process or as the binary.
pub async fn start_with_config(toml: &str) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("secretsd.toml");
    std::fs::write(&path, toml).expect("config written");
    let server = match std::env::var("SECRETSD_BIN") {
        Ok(bin) if !bin.is_empty() => {
            start_binary_with(&bin, &["--config", path.to_str().unwrap()])
        }
        _ => {
            let config = Config::resolve(secretsd::config::Overrides {
                config_file: Some(path),
                in_memory: true,
                store: store(),
                listen: Some("127.0.0.1:0".into()),
                ..Default::default()
            })
            .expect("config resolves");
            Server::start(config).await.expect("server starts").into()
        }
    };
    drop(dir); // read at start-up
    server
}

/// One admin call (`/_secretsd/…`) over plain HTTP; the answer's JSON.
pub async fn admin(server: &TestServer, method: &str, path: &str, body: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.local_addr();
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("admin connection");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("admin request");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("admin answer");
    let answer = String::from_utf8_lossy(&answer);
    let (head, json) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{answer}");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("admin answer {json:?}: {e}"))
}
