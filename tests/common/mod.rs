//! Shared set-up for the integration tests: an in-process secretsd and an aws-sdk-rust client
//! pointed at it, built without aws-config (spec/crates.md: the slim client builds in ~2 min).

#![allow(dead_code)]

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::Client;
use secretsd::{Config, Location, Server};
use std::path::Path;

/// An in-memory server on a free port.
pub async fn start() -> Server {
    Server::start(Config::ephemeral())
        .await
        .expect("server starts")
}

/// A durable server on `dir`.
pub async fn start_on(dir: &Path) -> Server {
    Server::start(Config {
        storage: Location::Dir(dir.to_path_buf()),
        ..Config::ephemeral()
    })
    .await
    .expect("server starts")
}

/// A client with the built-in `test`/`test` credential in us-east-1.
pub fn client(server: &Server) -> Client {
    client_for(server, "us-east-1", "test", "test")
}

pub fn client_for(server: &Server, region: &str, access_key: &str, secret_key: &str) -> Client {
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
