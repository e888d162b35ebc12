//! PostgreSQL for the built-in rotators (tokio-postgres, SCRAM authentication).
//!
//! Utility statements such as ALTER ROLE take no bind parameters, so the server itself quotes
//! names and values with `format('%I', …)`/`format('%L', …)`. The password is sent as a SCRAM
//! verifier computed here, so the cleartext never reaches the server's statement log.

use super::db_secret::{StepResult, Target, CONNECT_TIMEOUT, LOGIN_FAILED};
use super::tls::{with_mode, RotationTls};
use crate::rotation::error::StepError;
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

pub struct Session {
    client: tokio_postgres::Client,
}

fn db_error(what: &str, e: tokio_postgres::Error) -> StepError {
    if let Some(db) = e.as_db_error() {
        return StepError::Database(format!("{what}: {}", db.message()));
    }
    // tokio-postgres leaves the cause (a TLS verification failure, say) to `source()`.
    let mut text = format!("{what}: {e}");
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    StepError::Database(text)
}

pub async fn connect(target: &Target, tls: &RotationTls) -> StepResult<Session> {
    with_mode(target.tls, |use_tls| connect_once(target, tls, use_tls)).await
}

async fn connect_once(target: &Target, tls: &RotationTls, use_tls: bool) -> StepResult<Session> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .user(&target.user)
        .password(&target.password)
        .dbname(target.dbname.as_deref().unwrap_or("postgres"))
        .connect_timeout(CONNECT_TIMEOUT)
        .ssl_mode(if use_tls {
            SslMode::Require
        } else {
            SslMode::Disable
        })
        .application_name("secretsd-rotation");
    let client = if use_tls {
        // Verifies the chain and that the certificate names `host` (libpq's verify-full).
        let connector = MakeRustlsConnect::new((*tls.client_config()?).clone());
        establish(&config, target, connector).await?
    } else {
        establish(&config, target, NoTls).await?
    };
    Ok(Session { client })
}

async fn establish<T>(
    config: &tokio_postgres::Config,
    target: &Target,
    tls: T,
) -> StepResult<tokio_postgres::Client>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) =
        match tokio::time::timeout(CONNECT_TIMEOUT, config.connect(tls)).await {
            Err(_) => {
                return Err(StepError::ConnectTimedOut {
                    host: target.host.clone(),
                    port: target.port,
                })
            }
            Ok(Err(e)) => return Err(db_error(LOGIN_FAILED, e)),
            Ok(Ok(pair)) => pair,
        };
    // The connection task ends when the client is dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

impl Session {
    pub async fn check(&self) -> StepResult<()> {
        self.client
            .simple_query("SELECT now()")
            .await
            .map(drop)
            .map_err(|e| db_error("SELECT now()", e))
    }

    /// `ALTER ROLE user WITH PASSWORD …`: a user may change its own password.
    pub async fn set_password(&self, user: &str, password: &str) -> StepResult<()> {
        self.run_formatted(
            "SELECT format('ALTER ROLE %I WITH PASSWORD %L', $1::text, $2::text)",
            user,
            &verifier(password),
        )
        .await
    }

    /// As the master: create `user` as a login role that is a member of `model` (so it has
    /// `model`'s privileges), or just set its password when it exists.
    pub async fn ensure_member_of(
        &self,
        model: &str,
        user: &str,
        password: &str,
    ) -> StepResult<()> {
        let exists = self
            .client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&user])
            .await
            .map_err(|e| db_error("looking up the role", e))?
            .is_some();
        if exists {
            return self.set_password(user, password).await;
        }
        self.run_formatted(
            "SELECT format('CREATE ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)",
            user,
            &verifier(password),
        )
        .await?;
        self.run_formatted(
            "SELECT format('GRANT %I TO %I', $1::text, $2::text)",
            model,
            user,
        )
        .await
    }

    /// Has the server build a statement from two quoted arguments, then runs it.
    async fn run_formatted(&self, format_query: &str, a: &str, b: &str) -> StepResult<()> {
        let row = self
            .client
            .query_one(format_query, &[&a, &b])
            .await
            .map_err(|e| db_error("quoting the statement", e))?;
        let statement: String = row.get(0);
        let verb = statement
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        self.client
            .batch_execute(&statement)
            .await
            .map_err(|e| db_error(&verb, e))
    }

    pub fn close(self) {
        drop(self.client);
    }
}

/// The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (it accepts a verifier in place
/// of the cleartext).
fn verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}
