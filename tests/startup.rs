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
