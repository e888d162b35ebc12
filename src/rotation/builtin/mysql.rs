//! MySQL and MariaDB for the built-in rotators (mysql_async).
//!
//! `SET PASSWORD`, `CREATE USER` and `ALTER USER … IDENTIFIED BY` take no `?` placeholders on
//! MariaDB (docs/aws-behaviour.md §R6.5), so values are written as SQL string literals, quoted for
//! the server's `sql_mode`. Users live at host `'%'`, as the templates assume.

use super::db_secret::{StepResult, Target, CONNECT_TIMEOUT, LOGIN_FAILED};
use super::tls::{with_mode, RotationTls};
use crate::rotation::error::StepError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};
use tokio::sync::Mutex;

/// Which password syntax the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MariaDb,
    /// MySQL 8 and later: `SET PASSWORD = 'cleartext'`, no `PASSWORD()` function.
    MySql8,
    MySql57,
}

pub struct Session {
    conn: Mutex<Conn>,
    flavor: Flavor,
    /// `sql_mode` has NO_BACKSLASH_ESCAPES: a backslash in a literal is an ordinary character.
    plain_backslashes: bool,
}

fn db_error(what: &str, e: mysql_async::Error) -> StepError {
    match e {
        mysql_async::Error::Server(s) => {
            StepError::Database(format!("{what}: ({}) {}", s.code, s.message))
        }
        other => StepError::Database(format!("{what}: {other}")),
    }
}

pub async fn connect(target: &Target, tls: &RotationTls) -> StepResult<Session> {
    with_mode(target.tls, |use_tls| connect_once(target, tls, use_tls)).await
}

async fn connect_once(target: &Target, tls: &RotationTls, use_tls: bool) -> StepResult<Session> {
    let mut opts = OptsBuilder::default()
        .ip_or_hostname(target.host.clone())
        .tcp_port(target.port)
        .user(Some(target.user.clone()))
        .pass(Some(target.password.clone()))
        .db_name(target.dbname.clone())
        .prefer_socket(false);
    if use_tls {
        // The chain and the host name are verified, against the same roots as PostgreSQL's.
        let roots = tls.roots()?.into_iter().map(|cert| cert.to_vec().into());
        opts = opts.ssl_opts(Some(
            SslOpts::default()
                .with_root_certs(roots.collect())
                .with_disable_built_in_roots(true),
        ));
    }
    let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await {
        Err(_) => {
            return Err(StepError::ConnectTimedOut {
                host: target.host.clone(),
                port: target.port,
            })
        }
        Ok(Err(e)) => return Err(db_error(LOGIN_FAILED, e)),
        Ok(Ok(conn)) => conn,
    };
    let (version, sql_mode): (String, String) = conn
        .query_first("SELECT VERSION(), @@sql_mode")
        .await
        .map_err(|e| db_error("SELECT VERSION()", e))?
        .unwrap_or_default();
    let flavor = if version.contains("MariaDB") {
        Flavor::MariaDb
    } else if version
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 8)
    {
        Flavor::MySql8
    } else {
        Flavor::MySql57
    };
    Ok(Session {
        conn: Mutex::new(conn),
        flavor,
        plain_backslashes: sql_mode.contains("NO_BACKSLASH_ESCAPES"),
    })
}

impl Session {
    async fn run(&self, what: &str, statement: String) -> StepResult<()> {
        self.conn
            .lock()
            .await
            .query_drop(statement)
            .await
            .map_err(|e| db_error(what, e))
    }

    pub async fn check(&self) -> StepResult<()> {
        self.run("SELECT NOW()", "SELECT NOW()".into()).await
    }

    /// The logged-in user changes its own password.
    pub async fn set_own_password(&self, password: &str) -> StepResult<()> {
        let literal = self.literal(password)?;
        let statement = match self.flavor {
            Flavor::MySql8 => format!("SET PASSWORD = {literal}"),
            Flavor::MariaDb | Flavor::MySql57 => format!("SET PASSWORD = PASSWORD({literal})"),
        };
        self.run("SET PASSWORD", statement).await
    }

    /// As the master: create `user`@`%` if it is missing, give it every grant and the TLS
    /// requirement of `model`@`%`, and set its password.
    pub async fn ensure_user_like(
        &self,
        model: &str,
        user: &str,
        password: &str,
    ) -> StepResult<()> {
        let (user_at, model_at) = (self.account(user)?, self.account(model)?);
        let exists: Option<String> = self
            .conn
            .lock()
            .await
            .exec_first(
                "SELECT User FROM mysql.user WHERE User = ? AND Host = '%'",
                (user,),
            )
            .await
            .map_err(|e| db_error("looking up the user", e))?;
        if exists.is_none() {
            self.run(
                "CREATE USER",
                format!(
                    "CREATE USER {user_at} IDENTIFIED BY {}",
                    self.literal(password)?
                ),
            )
            .await?;
        }
        let grants: Vec<String> = self
            .conn
            .lock()
            .await
            .query(format!("SHOW GRANTS FOR {model_at}"))
            .await
            .map_err(|e| db_error("SHOW GRANTS", e))?;
        for grant in grants {
            if let Some(statement) = regrant(&grant, model, user) {
                self.run("copying a grant", statement).await?;
            }
        }
        let require: Option<(String, String, String, String)> = self
            .conn
            .lock()
            .await
            .exec_first(
                "SELECT CAST(ssl_type AS CHAR), CAST(ssl_cipher AS CHAR), CAST(x509_issuer AS CHAR), CAST(x509_subject AS CHAR) FROM mysql.user WHERE User = ? AND Host = '%'",
                (model,),
            )
            .await
            .map_err(|e| db_error("reading the TLS requirement", e))?;
        if let Some((kind, cipher, issuer, subject)) = require {
            let clause = self.require_clause(&kind, &cipher, &issuer, &subject)?;
            self.run(
                "ALTER USER … REQUIRE",
                format!("ALTER USER {user_at} REQUIRE {clause}"),
            )
            .await?;
        }
        self.run(
            "ALTER USER … IDENTIFIED BY",
            format!(
                "ALTER USER {user_at} IDENTIFIED BY {}",
                self.literal(password)?
            ),
        )
        .await
    }

    fn require_clause(
        &self,
        kind: &str,
        cipher: &str,
        issuer: &str,
        subject: &str,
    ) -> StepResult<String> {
        Ok(match kind.to_ascii_uppercase().as_str() {
            "ANY" => "SSL".into(),
            "X509" => "X509".into(),
            "SPECIFIED" => {
                let mut parts = Vec::new();
                for (word, value) in [("CIPHER", cipher), ("ISSUER", issuer), ("SUBJECT", subject)]
                {
                    if !value.is_empty() {
                        parts.push(format!("{word} {}", self.literal(value)?));
                    }
                }
                if parts.is_empty() {
                    "NONE".into()
                } else {
                    parts.join(" AND ")
                }
            }
            _ => "NONE".into(),
        })
    }

    /// `'user'@'%'`.
    fn account(&self, user: &str) -> StepResult<String> {
        Ok(format!("{}@'%'", self.literal(user)?))
    }

    /// A SQL string literal for this server.
    fn literal(&self, value: &str) -> StepResult<String> {
        quote(value, self.plain_backslashes)
    }

    pub async fn close(self) {
        let _ = self.conn.into_inner().disconnect().await;
    }
}

/// Quotes `value` as a string literal: `'` doubled, and `\` doubled unless the server reads
/// backslashes as ordinary characters. NUL has no safe spelling in both modes: refused.
fn quote(value: &str, plain_backslashes: bool) -> StepResult<String> {
    if value.contains('\0') {
        return Err(StepError::Database(
            "a user name or password contains a NUL character".into(),
        ));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if !plain_backslashes => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// A `SHOW GRANTS` row for `model`, rewritten for `user`: the grantee `` `model`@`%` `` replaced
/// and any `IDENTIFIED BY PASSWORD '…'` (the model's own password hash) dropped. Proxy grants
/// need privileges the master may not have and are not copied, as in the templates.
fn regrant(grant: &str, model: &str, user: &str) -> Option<String> {
    if grant.starts_with("GRANT PROXY") {
        return None;
    }
    let grantee = |name: &str| format!(" TO `{}`@`%`", name.replace('`', "``"));
    let from = grantee(model);
    let at = grant.rfind(&from)?;
    let (head, mut tail) = (&grant[..at], &grant[at + from.len()..]);
    if let Some(rest) = tail.strip_prefix(" IDENTIFIED BY PASSWORD '") {
        tail = rest.split_once('\'').map_or("", |(_, after)| after);
    }
    Some(format!("{head}{}{tail}", grantee(user)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_for_the_sql_mode() {
        assert_eq!(quote(r"a'b\c", false).unwrap(), r"'a''b\\c'");
        assert_eq!(quote(r"a'b\c", true).unwrap(), r"'a''b\c'");
        assert!(quote("a\0b", false).is_err());
    }

    #[test]
    fn grants_are_rewritten_for_the_clone() {
        assert_eq!(
            regrant(
                "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*AB12'",
                "app",
                "app_clone"
            )
            .unwrap(),
            "GRANT USAGE ON *.* TO `app_clone`@`%`"
        );
        assert_eq!(
            regrant(
                "GRANT SELECT, INSERT ON `app db`.* TO `app`@`%` WITH GRANT OPTION",
                "app",
                "app_clone"
            )
            .unwrap(),
            "GRANT SELECT, INSERT ON `app db`.* TO `app_clone`@`%` WITH GRANT OPTION"
        );
        assert_eq!(
            regrant("GRANT `reader` TO `app`@`%`", "app", "app_clone").unwrap(),
            "GRANT `reader` TO `app_clone`@`%`"
        );
        assert!(regrant("GRANT PROXY ON ''@'%' TO 'app'@'%'", "app", "x").is_none());
    }
}
