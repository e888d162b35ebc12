//! PostgreSQL for the built-in rotators (tokio-postgres, SCRAM authentication).
//!
//! Utility statements such as ALTER ROLE take no bind parameters, so the server itself quotes
//! names and values with `format('%I', …)`/`format('%L', …)`. The password is sent as a SCRAM
//! verifier computed here, so the cleartext never reaches the server's statement log.

use super::{StepResult, Target, CONNECT_TIMEOUT};
use tokio_postgres::config::SslMode;
use tokio_postgres::NoTls;

pub struct Session {
    client: tokio_postgres::Client,
}

fn db_error(what: &str, e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{what}: {}", db.message()),
        None => format!("{what}: {e}"),
    }
}

pub async fn connect(target: &Target) -> StepResult<Session> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .user(&target.user)
        .password(&target.password)
        .dbname(target.dbname.as_deref().unwrap_or("postgres"))
        .connect_timeout(CONNECT_TIMEOUT)
        .ssl_mode(SslMode::Disable)
        .application_name("secretsd-rotation");
    let (client, connection) =
        match tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls)).await {
            Err(_) => {
                return Err(format!(
                    "connecting to {}:{} timed out",
                    target.host, target.port
                ))
            }
            Ok(Err(e)) => return Err(db_error("login failed", e)),
            Ok(Ok(pair)) => pair,
        };
    // The connection task ends when the client is dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Session { client })
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
