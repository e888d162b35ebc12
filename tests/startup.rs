//! Start-up failures are one readable line, never a panic.

mod common;

use secretsd::{Config, Location, Server};

#[tokio::test]
async fn port_in_use_is_a_clear_error() {
    let first = common::start().await;
    let err = Server::start(Config {
        listen: first.local_addr(),
        ..common::config()
    })
    .await
    .err()
    .expect("second bind must fail")
    .to_string();
    assert!(
        err.starts_with(&format!("cannot listen on {}:", first.local_addr())),
        "{err}"
    );
    assert!(!err.contains('\n'));
}

#[tokio::test]
async fn unusable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = Server::start(Config {
        storage: Location::Dir(file.join("data")),
        ..common::config()
    })
    .await
    .err()
    .expect("start must fail")
    .to_string();
    assert!(err.starts_with("cannot create data dir"), "{err}");
}

#[tokio::test]
async fn in_process_server_reports_its_address() {
    let server = common::start().await;
    assert_ne!(server.local_addr().port(), 0);
    assert_eq!(
        server.endpoint_url(),
        format!("http://127.0.0.1:{}", server.local_addr().port())
    );
    server.shutdown().await;
}

/// The binary's answer to `serve` with `args` and `env`: its exit status and what it printed to
/// stderr (the release binary when `SECRETSD_BIN` is set, else this build's).
fn refused_start(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let bin = std::env::var("SECRETSD_BIN")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_secretsd").to_string());
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args)
        .env_remove("SECRETSD_STORE")
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Arguments, environment, and the one line the binary must print.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn a_bad_store_is_refused_in_one_line_before_serving() {
    let cases: [Case; 5] = [
        (
            &["--store", "etcd"],
            &[],
            "secretsd: unknown store 'etcd': expected redb, sled or a postgres:// URL\n",
        ),
        (
            &[],
            &[("SECRETSD_STORE", "mysql://db")],
            "secretsd: unknown store 'mysql://db': expected redb, sled or a postgres:// URL\n",
        ),
        (
            &["--store", "postgres://u:p@127.0.0.1:1/db?sslmode=bogus"],
            &[],
            "secretsd: bad PostgreSQL URL: invalid connection string: invalid value for option `sslmode`\n",
        ),
        (
            &["--store", "postgres://u:p@127.0.0.1:1/db?cache_window_ms=99999"],
            &[],
            "secretsd: bad PostgreSQL URL: cache_window_ms=99999: expected 0 to 10000\n",
        ),
        (
            // Nothing listens on port 1: refused at once, not after a timeout.
            &["--store", "postgres://u:p@127.0.0.1:1/db"],
            &[],
            "secretsd: the database is unavailable: cannot reach the database at 127.0.0.1:1/db: \
             error connecting to server: Connection refused (os error 111)\n",
        ),
    ];
    for (args, env, expected) in cases {
        let (status, stderr) = refused_start(args, env);
        assert_eq!(status, Some(1), "{args:?} {env:?}: {stderr}");
        assert_eq!(stderr, expected, "{args:?} {env:?}");
    }
}
