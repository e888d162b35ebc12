//! Rotation functions as configured: what runs each step of a rotation, and the built-in
//! rotators AWS's template names stand for.

use crate::model::secret::Ownership;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How a rotation function runs. `exec`: `command` gets the Lambda event as JSON on stdin and
/// the Secrets Manager endpoint in its environment; exit status 0 means the step succeeded.
/// `python`: `handler` (`path/to/lambda_function.lambda_handler`) is called as Lambda calls it,
/// with the event and a context, by `python` (default `python3`), so AWS's own rotation functions
/// run unmodified. `builtin`: secretsd's native database rotator for `engine` and `strategy`
/// (AWS's template names select one without any configuration). `webhook`: the event is POSTed
/// to `url`, signed with `hmac_secret`; a 2xx answer means success.
/// `env` is the function's environment; the built-in rotators read the templates' variables
/// from it (`EXCLUDE_CHARACTERS`, `PASSWORD_LENGTH`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    pub kind: FunctionKind,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub handler: Option<String>,
    #[serde(default)]
    pub python: Option<String>,
    #[serde(default)]
    pub engine: Option<DbEngine>,
    #[serde(default)]
    pub strategy: Option<RotationStrategy>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub hmac_secret: Option<String>,
    #[serde(default = "default_step_timeout")]
    pub timeout_s: u64,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionKind {
    Exec,
    Python,
    Builtin,
    Webhook,
}

/// The database family a built-in rotator talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbEngine {
    Postgres,
    Mysql,
    Mariadb,
}

/// AWS's two rotation strategies: change the user's own password, or alternate between the user
/// and a `_clone` of it so one set of credentials always works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RotationStrategy {
    Single,
    Alternating,
}

/// AWS's rotation template names, which select a built-in rotator with no configuration.
pub const TEMPLATE_ROTATORS: [(&str, DbEngine, RotationStrategy); 6] = [
    (
        "SecretsManagerRDSPostgreSQLRotationSingleUser",
        DbEngine::Postgres,
        RotationStrategy::Single,
    ),
    (
        "SecretsManagerRDSPostgreSQLRotationMultiUser",
        DbEngine::Postgres,
        RotationStrategy::Alternating,
    ),
    (
        "SecretsManagerRDSMySQLRotationSingleUser",
        DbEngine::Mysql,
        RotationStrategy::Single,
    ),
    (
        "SecretsManagerRDSMySQLRotationMultiUser",
        DbEngine::Mysql,
        RotationStrategy::Alternating,
    ),
    (
        "SecretsManagerRDSMariaDBRotationSingleUser",
        DbEngine::Mariadb,
        RotationStrategy::Single,
    ),
    (
        "SecretsManagerRDSMariaDBRotationMultiUser",
        DbEngine::Mariadb,
        RotationStrategy::Alternating,
    ),
];

impl FunctionConfig {
    /// A function of `kind` with every setting at its default.
    pub fn new(kind: FunctionKind) -> FunctionConfig {
        FunctionConfig {
            kind,
            command: Vec::new(),
            handler: None,
            python: None,
            engine: None,
            strategy: None,
            url: None,
            hmac_secret: None,
            timeout_s: default_step_timeout(),
            env: BTreeMap::new(),
        }
    }

    /// The built-in rotator an AWS template name stands for, with default settings.
    /// The rotator of a secret another service owns: single user, on its database's engine.
    pub fn for_owned(owner: &Ownership) -> Option<FunctionConfig> {
        let engine = match owner.engine.as_str() {
            "postgres" => DbEngine::Postgres,
            "mysql" => DbEngine::Mysql,
            "mariadb" => DbEngine::Mariadb,
            _ => return None,
        };
        Some(FunctionConfig {
            engine: Some(engine),
            strategy: Some(RotationStrategy::Single),
            ..FunctionConfig::new(FunctionKind::Builtin)
        })
    }

    pub fn template(name: &str) -> Option<FunctionConfig> {
        let (_, engine, strategy) = TEMPLATE_ROTATORS.iter().find(|(n, ..)| *n == name)?;
        Some(FunctionConfig {
            engine: Some(*engine),
            strategy: Some(*strategy),
            ..FunctionConfig::new(FunctionKind::Builtin)
        })
    }
}

/// Lambda's default timeout for rotation functions (docs/aws-behaviour.md §R1.4).
fn default_step_timeout() -> u64 {
    30
}
