//! A database secret's JSON as AWS's rotation templates read and write it, and the login it
//! describes.

use super::tls::TlsMode;
use crate::rotation::error::StepError;
use crate::rotation::function::DbEngine;
use serde_json::{Map, Value};
use std::time::Duration;

/// How long a login may take, as the templates' `connect_timeout=5`.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a refused login is called in a step's failure, whatever the database.
pub(crate) const LOGIN_FAILED: &str = "login failed";

/// A step's outcome; a failure is worded for the RotationFailed event.
pub(crate) type StepResult<T> = Result<T, StepError>;

/// A database secret's JSON (docs/aws-behaviour.md §R2.3), kept whole so that a rotation changes
/// only `password` (and `username`) and carries every other key over.
#[derive(Clone)]
pub(super) struct DbSecret(pub(super) Map<String, Value>);

/// Where and as whom to log in.
pub(crate) struct Target {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password: String,
    pub(super) dbname: Option<String>,
    pub(super) tls: TlsMode,
}

impl DbSecret {
    #[cfg(test)]
    pub(super) fn parse(text: &str, engine: DbEngine) -> StepResult<DbSecret> {
        DbSecret::parse_with(text, &Map::new(), engine)
    }

    /// Parses with `defaults` for keys the value lacks (an owned secret's database).
    pub(super) fn parse_with(
        text: &str,
        defaults: &Map<String, Value>,
        engine: DbEngine,
    ) -> StepResult<DbSecret> {
        let Ok(Value::Object(mut map)) = serde_json::from_str(text) else {
            return Err(StepError::Template("Invalid secret value json".into()));
        };
        for (key, value) in defaults {
            map.entry(key.clone()).or_insert_with(|| value.clone());
        }
        let secret = DbSecret(map);
        for field in ["host", "username", "password", "engine"] {
            if secret.0.get(field).and_then(Value::as_str).is_none() {
                return Err(StepError::Template(format!(
                    "{field} key is missing from secret JSON"
                )));
            }
        }
        let (supported, name): (&[&str], &str) = match engine {
            DbEngine::Postgres => (&["postgres", "aurora-postgresql"], "postgres"),
            DbEngine::Mysql => (&["mysql", "aurora-mysql"], "mysql"),
            DbEngine::Mariadb => (&["mariadb"], "mariadb"),
        };
        if !supported.contains(&secret.str("engine")) {
            return Err(StepError::Template(format!(
                "Database engine must be set to '{name}' in order to use this rotation lambda"
            )));
        }
        Ok(secret)
    }

    pub(super) fn str(&self, key: &str) -> &str {
        self.0.get(key).and_then(Value::as_str).unwrap_or_default()
    }

    pub(super) fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), Value::String(value));
    }

    pub(super) fn copy_key(&mut self, key: &str, from: &DbSecret) {
        match from.0.get(key) {
            Some(v) => self.0.insert(key.to_string(), v.clone()),
            None => self.0.remove(key),
        };
    }

    /// The JSON to store, without the keys of `database` (an owned secret keeps only its login).
    pub(super) fn to_json_without(&self, database: Option<&Map<String, Value>>) -> String {
        let mut map = self.0.clone();
        for key in database.into_iter().flat_map(Map::keys) {
            map.remove(key);
        }
        Value::Object(map).to_string()
    }

    /// The login this secret describes; `ssl` as the templates read it (`tls` module).
    pub(super) fn target(&self, engine: DbEngine) -> StepResult<Target> {
        let tls = match self.0.get("ssl") {
            None | Some(Value::Null) => TlsMode::Prefer,
            Some(Value::Bool(true)) => TlsMode::Require,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => TlsMode::Require,
            Some(_) => TlsMode::Disable,
        };
        let default_port = match engine {
            DbEngine::Postgres => 5432,
            DbEngine::Mysql | DbEngine::Mariadb => 3306,
        };
        let port = match self.0.get("port") {
            None | Some(Value::Null) => default_port,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| StepError::Template("invalid port".into()))?,
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| StepError::Template(format!("invalid port {s}")))?,
            Some(_) => return Err(StepError::Template("invalid port".into())),
        };
        let dbname = match self.0.get("dbname").and_then(Value::as_str) {
            Some(db) => Some(db.to_string()),
            None if engine == DbEngine::Postgres => Some("postgres".into()),
            None => None,
        };
        Ok(Target {
            host: self.str("host").to_string(),
            port,
            user: self.str("username").to_string(),
            password: self.str("password").to_string(),
            dbname,
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::builtin::tls::TlsMode;

    #[test]
    fn secrets_are_checked_like_the_templates() {
        let ok = r#"{"engine":"postgres","host":"h","username":"u","password":"p","port":"5433","extra":1}"#;
        let s = DbSecret::parse(ok, DbEngine::Postgres).unwrap();
        let t = s.target(DbEngine::Postgres).unwrap();
        assert_eq!((t.port, t.dbname.as_deref()), (5433, Some("postgres")));
        assert!(DbSecret::parse(ok, DbEngine::Mysql)
            .err()
            .unwrap()
            .to_string()
            .contains("'mysql'"));
        let no_host = r#"{"engine":"mariadb","username":"u","password":"p"}"#;
        assert_eq!(
            DbSecret::parse(no_host, DbEngine::Mariadb)
                .err()
                .unwrap()
                .to_string(),
            "host key is missing from secret JSON"
        );
        let ssl = |value: &str| {
            let text = format!(
                r#"{{"engine":"mariadb","host":"h","username":"u","password":"p"{value}}}"#
            );
            let s = DbSecret::parse(&text, DbEngine::Mariadb).unwrap();
            s.target(DbEngine::Mariadb).unwrap().tls
        };
        assert_eq!(ssl(""), TlsMode::Prefer);
        assert_eq!(ssl(r#","ssl":true"#), TlsMode::Require);
        assert_eq!(ssl(r#","ssl":"True""#), TlsMode::Require);
        assert_eq!(ssl(r#","ssl":false"#), TlsMode::Disable);
        assert_eq!(ssl(r#","ssl":"false""#), TlsMode::Disable);
    }
}
