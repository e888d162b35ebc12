//! The four steps of AWS's RDS rotation templates, run natively: the same checks, the same
//! label writes and the same failure texts, through the Secrets Manager calls a template makes.

use super::db_secret::{DbSecret, StepResult};
use super::session::{self, Session};
use super::tls::RotationTls;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::model::password::PasswordRules;
use crate::model::secret::{Ownership, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::rotation::client::SecretsClient;
use crate::rotation::error::StepError;
use crate::rotation::function::{DbEngine, FunctionConfig, RotationStrategy};
use serde_json::{Map, Value};

fn api_error(call: &'static str, error: ApiError) -> StepError {
    StepError::Api { call, error }
}

/// One rotation step run natively, acting in the secret's account and region.
pub async fn invoke(
    api: &dyn SecretsClient,
    tls: &RotationTls,
    (account, region): (&str, &str),
    function_name: &str,
    function: &FunctionConfig,
    owned_by: Option<&Ownership>,
    event: &serde_json::Value,
) -> StepResult<()> {
    let (Some(engine), Some(strategy)) = (function.engine, function.strategy) else {
        return Err(StepError::Template(format!(
            "function {function_name} has no built-in engine and strategy"
        )));
    };
    let field = |name: &str| event[name].as_str().unwrap_or_default().to_string();
    let (arn, token, step) = (
        field("SecretId"),
        field("ClientRequestToken"),
        field("Step"),
    );
    let rotator = Rotator {
        api,
        tls,
        caller: Caller::rotation_service(account, region, function_name),
        engine,
        strategy,
        function,
        arn,
        token,
        database: owned_by.map(database_of),
    };
    rotator.run(&step).await
}

struct Rotator<'a> {
    api: &'a dyn SecretsClient,
    tls: &'a RotationTls,
    caller: Caller,
    engine: DbEngine,
    strategy: RotationStrategy,
    function: &'a FunctionConfig,
    arn: String,
    token: String,
    /// For a secret another service owns: where its database is, which its value (`username`
    /// and `password` only) does not say. Merged into what is read, left out of what is written.
    database: Option<Map<String, Value>>,
}

/// The connection keys of an owned secret's database, as a database secret would hold them.
fn database_of(owner: &Ownership) -> Map<String, Value> {
    let mut keys = Map::new();
    keys.insert("engine".into(), owner.engine.clone().into());
    keys.insert("host".into(), owner.host.clone().into());
    keys.insert("port".into(), owner.port.into());
    if let Some(dbname) = &owner.dbname {
        keys.insert("dbname".into(), dbname.clone().into());
    }
    if let Some(ssl) = owner.ssl {
        keys.insert("ssl".into(), ssl.into());
    }
    keys
}

impl Rotator<'_> {
    /// The templates' handler: check the version is the pending one, then run the step.
    async fn run(&self, step: &str) -> StepResult<()> {
        let described = self
            .api
            .describe_secret(&self.caller, &self.arn)
            .await
            .map_err(|e| api_error("DescribeSecret", e))?;
        let (arn, token) = (&self.arn, &self.token);
        if described.rotation_enabled == Some(false) {
            return Err(StepError::Template(format!(
                "Secret {arn} is not enabled for rotation"
            )));
        }
        let stages = described.version_stages.get(token).ok_or_else(|| {
            StepError::Template(format!(
                "Secret version {token} has no stage for rotation of secret {arn}."
            ))
        })?;
        if stages.iter().any(|s| s == AWSCURRENT) {
            tracing::info!(secret = %arn, %token, "version already marked as AWSCURRENT");
            return Ok(());
        }
        if !stages.iter().any(|s| s == AWSPENDING) {
            return Err(StepError::Template(format!(
                "Secret version {token} not set as AWSPENDING for rotation of secret {arn}."
            )));
        }
        match step {
            "createSecret" => self.create().await,
            "setSecret" => match self.strategy {
                RotationStrategy::Single => self.set_single().await,
                RotationStrategy::Alternating => self.set_alternating().await,
            },
            "testSecret" => self.test().await,
            "finishSecret" => self.finish(&described.version_stages).await,
            other => Err(StepError::Template(format!(
                "Invalid step parameter {other} for secret {arn}"
            ))),
        }
    }

    /// A stage of this secret (or another, for the master secret); `None` if it has no value.
    async fn read(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> StepResult<Option<DbSecret>> {
        let read = self
            .api
            .get_secret_string(&self.caller, secret_id, version_id, stage)
            .await;
        match read {
            Ok(text) => {
                let database = if secret_id == self.arn {
                    self.database.clone()
                } else {
                    // A master secret that RDS owns holds only the login, as in AWS, where
                    // the templates then ask RDS for the instance's endpoint.
                    self.api
                        .owner_of(&self.caller, secret_id)
                        .as_ref()
                        .map(database_of)
                };
                DbSecret::parse_with(&text, &database.unwrap_or_default(), self.engine).map(Some)
            }
            Err(e) if e.code == ErrorCode::ResourceNotFound => Ok(None),
            Err(e) => Err(api_error("GetSecretValue", e)),
        }
    }

    async fn current(&self) -> StepResult<DbSecret> {
        self.read(&self.arn, AWSCURRENT, None)
            .await?
            .ok_or_else(|| {
                StepError::Template(format!("Secret {} has no AWSCURRENT value", self.arn))
            })
    }

    async fn pending(&self) -> StepResult<Option<DbSecret>> {
        self.read(&self.arn, AWSPENDING, Some(&self.token)).await
    }

    /// createSecret: a copy of the current value with a new password (and, alternating, the
    /// other user name), stored as the pending version — unless it already has a value.
    async fn create(&self) -> StepResult<()> {
        let current = self.current().await?;
        if self.pending().await?.is_some() {
            tracing::info!(secret = %self.arn, "createSecret: pending value already exists");
            return Ok(());
        }
        let mut new = current.clone();
        if self.strategy == RotationStrategy::Alternating {
            let other = alternate_user(current.str("username"));
            let limit = self.username_limit();
            if other.chars().count() > limit {
                return Err(StepError::Template(format!(
                    "Unable to clone user, username length with _clone appended would exceed {limit} characters"
                )));
            }
            new.set("username", other);
        }
        new.set("password", self.new_password()?);
        self.api
            .put_secret_string(
                &self.caller,
                &self.arn,
                &self.token,
                new.to_json_without(self.database.as_ref()),
                &[AWSPENDING],
            )
            .await
            .map_err(|e| api_error("PutSecretValue", e))?;
        Ok(())
    }

    /// setSecret, single user: the user changes its own password, logged in with the current
    /// (or else the previous) credentials.
    async fn set_single(&self) -> StepResult<()> {
        let pending = self.require_pending().await?;
        if self.can_login(&pending).await {
            tracing::info!(secret = %self.arn, "setSecret: pending credentials already work");
            return Ok(());
        }
        let current = self.current().await?;
        same_user_and_host(&pending, &current)?;
        let current_login = self.login(&current).await;
        let why = current_login
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut session = current_login.ok();
        if session.is_none() {
            if let Some(mut previous) = self.read(&self.arn, AWSPREVIOUS, None).await? {
                same_user_and_host(&pending, &previous)?;
                // The previous value inherits the current one's TLS choice, as in the templates.
                previous.copy_key("ssl", &current);
                session = self.login(&previous).await.ok();
            }
        }
        // The template's words, then why the current credentials were refused.
        let session = session.ok_or_else(|| {
            StepError::Template(format!(
                "setSecret: Unable to log into database with previous, current, or pending secret of secret arn {} ({why})",
                self.arn
            ))
        })?;
        session
            .set_own_password(pending.str("username"), pending.str("password"))
            .await?;
        session.close().await;
        tracing::info!(secret = %self.arn, user = pending.str("username"), "setSecret: password changed");
        Ok(())
    }

    /// setSecret, alternating users: the master creates the other user if needed (with the
    /// current user's grants) and sets its password.
    async fn set_alternating(&self) -> StepResult<()> {
        let pending = self.require_pending().await?;
        if self.can_login(&pending).await {
            tracing::info!(secret = %self.arn, "setSecret: pending credentials already work");
            return Ok(());
        }
        let current = self.current().await?;
        let (user, other) = (current.str("username"), pending.str("username"));
        if alternate_user(user) != other {
            return Err(StepError::Template(format!(
                "Attempting to modify user {other} other than current user or clone {user}"
            )));
        }
        if pending.str("host") != current.str("host") {
            return Err(StepError::OtherHost {
                pending: pending.str("host").to_string(),
                current: current.str("host").to_string(),
            });
        }
        // The current credentials must work: a confused deputy guard, as in the templates.
        self.login(&current).await.map_err(|e| {
            StepError::Template(format!(
                "setSecret: Unable to log into database using current credentials for secret {}: {e}",
                self.arn
            ))
        })?.close().await;
        let master_arn = current.str("masterarn");
        if master_arn.is_empty() {
            return Err(StepError::Template(format!(
                "Secret {} has no masterarn: alternating-users rotation needs the master secret",
                self.arn
            )));
        }
        let mut master = self
            .read(master_arn, AWSCURRENT, None)
            .await?
            .ok_or_else(|| {
                StepError::Template(format!(
                    "Master secret {master_arn} has no AWSCURRENT value"
                ))
            })?;
        if master.str("host") != current.str("host") {
            return Err(StepError::Template(format!(
                "Current database host {} is not the same host as master {}",
                current.str("host"),
                master.str("host")
            )));
        }
        master.copy_key("dbname", &current);
        let session = self.login(&master).await.map_err(|e| {
            StepError::Template(format!(
                "setSecret: Unable to log into database using credentials in master secret {master_arn}: {e}"
            ))
        })?;
        session
            .set_user_password_like(user, other, pending.str("password"))
            .await?;
        session.close().await;
        tracing::info!(secret = %self.arn, user = other, "setSecret: alternate user ready");
        Ok(())
    }

    /// testSecret: the pending credentials log in and run a query.
    async fn test(&self) -> StepResult<()> {
        let pending = self.require_pending().await?;
        let session = self.login(&pending).await.map_err(|e| {
            StepError::Template(format!(
                "testSecret: Unable to log into database with pending secret of secret ARN {}: {e}",
                self.arn
            ))
        })?;
        let checked = session.check().await;
        session.close().await;
        checked
    }

    /// finishSecret: AWSCURRENT moves to the new version (AWSPREVIOUS follows by itself).
    async fn finish(
        &self,
        stages: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> StepResult<()> {
        let current = stages
            .iter()
            .find(|(_, s)| s.iter().any(|l| l == AWSCURRENT))
            .map(|(id, _)| id.as_str());
        if current == Some(self.token.as_str()) {
            return Ok(());
        }
        self.api
            .move_stage(&self.caller, &self.arn, AWSCURRENT, &self.token, current)
            .await
            .map_err(|e| api_error("UpdateSecretVersionStage", e))?;
        Ok(())
    }

    async fn require_pending(&self) -> StepResult<DbSecret> {
        self.pending()
            .await?
            .ok_or_else(|| StepError::NoPendingValue(self.token.clone()))
    }

    async fn login(&self, secret: &DbSecret) -> StepResult<Session> {
        let target = secret.target(self.engine)?;
        session::login(&target, self.engine, self.tls).await
    }

    async fn can_login(&self, secret: &DbSecret) -> bool {
        match self.login(secret).await {
            Ok(session) => {
                session.close().await;
                true
            }
            Err(_) => false,
        }
    }

    /// The templates' environment variables, from the function's `env`.
    fn setting(&self, name: &str) -> Option<&str> {
        self.function.env.get(name).map(String::as_str)
    }

    fn flag(&self, name: &str, default: bool) -> bool {
        self.setting(name)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }

    fn username_limit(&self) -> usize {
        match self.engine {
            DbEngine::Postgres => 63,
            DbEngine::Mariadb => 80,
            DbEngine::Mysql => self
                .setting("USERNAME_CHARACTER_LIMIT")
                .and_then(|v| v.parse().ok())
                .unwrap_or(16),
        }
    }

    /// A password from GetRandomPassword's generator with the templates' defaults: 32
    /// characters, each class, none of the characters that break connection strings.
    fn new_password(&self) -> StepResult<String> {
        let default_excluded = match self.engine {
            DbEngine::Postgres => ":/@\"'\\",
            DbEngine::Mysql | DbEngine::Mariadb => "/@\"'\\",
        };
        let rules = PasswordRules {
            length: self
                .setting("PASSWORD_LENGTH")
                .and_then(|v| v.parse().ok())
                .unwrap_or(32),
            exclude_characters: self
                .setting("EXCLUDE_CHARACTERS")
                .unwrap_or(default_excluded)
                .to_string(),
            exclude_numbers: self.flag("EXCLUDE_NUMBERS", false),
            exclude_punctuation: self.flag("EXCLUDE_PUNCTUATION", false),
            exclude_uppercase: self.flag("EXCLUDE_UPPERCASE", false),
            exclude_lowercase: self.flag("EXCLUDE_LOWERCASE", false),
            include_space: false,
            require_each_included_type: self.flag("REQUIRE_EACH_INCLUDED_TYPE", true),
        };
        rules
            .generate()
            .map_err(|e| api_error("GetRandomPassword", e))
    }
}

/// `user` ↔ `user_clone`.
fn alternate_user(user: &str) -> String {
    match user.strip_suffix("_clone") {
        Some(original) => original.to_string(),
        None => format!("{user}_clone"),
    }
}

fn same_user_and_host(pending: &DbSecret, other: &DbSecret) -> StepResult<()> {
    if pending.str("username") != other.str("username") {
        return Err(StepError::Template(format!(
            "Attempting to modify user {} other than current user {}",
            pending.str("username"),
            other.str("username")
        )));
    }
    if pending.str("host") != other.str("host") {
        return Err(StepError::OtherHost {
            pending: pending.str("host").to_string(),
            current: other.str("host").to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_alternate() {
        assert_eq!(alternate_user("app"), "app_clone");
        assert_eq!(alternate_user("app_clone"), "app");
        assert_eq!(alternate_user("_clone"), "");
    }
}
