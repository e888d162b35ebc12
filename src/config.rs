//! One `Config` from three sources, strongest first: command-line flags and their `SECRETSD_*`
//! environment variables (clap merges those two), the TOML file named by `--config`, defaults.

use crate::auth::credentials::{AuthMode, Principal, PrincipalCredential};
use crate::rotation::function::{FunctionConfig, FunctionKind};
use crate::server::door::BadRule;
use crate::server::door::{AdminToken, AllowedHosts, AllowedOrigins};
use crate::server::tls::TlsSetting;
use crate::store::crypto::{self, MasterKey};
use crate::store::{EngineKind, Location};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4584";
pub const DEFAULT_DATA_DIR: &str = ".secretsd";
pub const DEFAULT_ACCOUNT: &str = "000000000000";

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub storage: Location,
    /// The engine that keeps the store.
    pub store: EngineKind,
    /// The account of the built-in `test` credential and of unknown access keys.
    pub account: String,
    pub auth: AuthMode,
    /// From `SECRETSD_MASTER_KEY`; otherwise `<data-dir>/master.key` is used (or created).
    pub master_key: Option<MasterKey>,
    pub log_level: String,
    /// Which API calls the audit trail records (rotation events are always recorded).
    pub audit: AuditLevel,
    /// How long, and up to what size, the audit files under the data dir are kept.
    pub audit_retention: AuditRetention,
    /// Rotation functions by name (the last part of a `RotationLambdaARN`).
    pub functions: BTreeMap<String, FunctionConfig>,
    /// Principals declared in the config file, with their credentials and policies.
    pub principals: Vec<PrincipalCredential>,
    /// Extra CA certificates (PEM) the built-in rotators trust for TLS database logins.
    pub rotation_ca_file: Option<PathBuf>,
    /// `Host` names answered besides localhost, loopback and the listening address.
    pub allowed_hosts: AllowedHosts,
    /// Web origins whose pages may call the server (CORS).
    pub allowed_origins: AllowedOrigins,
    /// What the admin endpoints take as `Authorization: Bearer …` where they need it.
    pub admin_token: Option<AdminToken>,
    /// HTTPS instead of HTTP on the listener.
    pub tls: Option<TlsSetting>,
}

/// `[[principals]]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalFile {
    name: String,
    #[serde(rename = "type", default)]
    kind: PrincipalKind,
    account: Option<String>,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    #[serde(default)]
    mfa: bool,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    policy_files: Vec<PathBuf>,
    #[serde(default)]
    policies: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PrincipalKind {
    #[default]
    User,
    Role,
}

/// Why a configuration cannot be used; each is one line that names the culprit.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file the configuration names cannot be read.
    #[error("cannot read {what} {}: {source}", .path.display())]
    Unreadable {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The configuration file is not TOML of the expected shape.
    #[error("bad config file {}: {detail}", .path.display())]
    BadFile { path: PathBuf, detail: String },
    /// A declared principal cannot be loaded.
    #[error("principal {name}: {problem}")]
    Principal { name: String, problem: String },
    /// A rule of the server's door (admin token, allowed hosts or origins).
    #[error(transparent)]
    Door(#[from] BadRule),
    /// The master key given cannot be used.
    #[error("{0}")]
    MasterKey(String),
    /// A value that breaks its rule; the text says which and why.
    #[error("{0}")]
    Invalid(String),
}

fn unreadable(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError {
    let path = path.to_path_buf();
    move |source| ConfigError::Unreadable { what, path, source }
}

/// A declared principal with its policies loaded (files relative to the config file) and read
/// into their typed form once, checked against the IAM grammar, so a bad policy stops start-up
/// with its name in the error.
fn load_principal(
    p: PrincipalFile,
    default_account: &str,
    config_dir: &Path,
) -> Result<PrincipalCredential, ConfigError> {
    let name = &p.name;
    let problem = |problem: String| ConfigError::Principal {
        name: name.clone(),
        problem,
    };
    let account = p.account.unwrap_or_else(|| default_account.to_string());
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem(format!("account '{account}' must be 12 digits")));
    }
    if p.access_key_id.is_empty() || p.secret_access_key.is_empty() {
        return Err(problem(
            "access_key_id and secret_access_key must not be empty".into(),
        ));
    }
    let mut documents = Vec::new();
    for file in &p.policy_files {
        let path = config_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| problem(format!("cannot read policy file {}: {e}", path.display())))?;
        documents.push((path.display().to_string(), text));
    }
    for (i, text) in p.policies.into_iter().enumerate() {
        documents.push((format!("policies[{i}]"), text));
    }
    let policies = documents
        .into_iter()
        .map(|(origin, text)| {
            crate::model::policy::parse_as(&text, crate::model::policy::Kind::Identity)
                .map_err(|e| problem(format!("{origin} is not a valid policy: {}", e.0)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let kind = match p.kind {
        PrincipalKind::User => "user",
        PrincipalKind::Role => "role",
    };
    Ok(PrincipalCredential {
        access_key_id: p.access_key_id,
        secret_access_key: p.secret_access_key,
        session_token: p.session_token,
        principal: Principal {
            arn: format!("arn:aws:iam::{account}:{kind}/{name}"),
            account,
            mfa: p.mfa,
            tags: p.tags,
            policies,
        },
    })
}

/// `audit = "all"` (default: every API call, as CloudTrail records Secrets Manager's
/// management events), `"writes"` (calls that change something, and every refused call), or
/// `"off"` (rotation events only) — for load tests where a record per read costs too much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditLevel {
    All,
    Writes,
    Off,
}

/// The audit files' bounds (`audit_max_age_days`, `audit_max_mb`; 0: no bound). The defaults
/// keep a busy CI machine's disk safe: a record is ~1 kB, so 512 MB holds about half a million
/// calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRetention {
    pub max_age_days: u32,
    pub max_bytes: u64,
}

impl Default for AuditRetention {
    fn default() -> Self {
        AuditRetention {
            max_age_days: 30,
            max_bytes: 512 * 1024 * 1024,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            storage: Location::Dir(PathBuf::from(DEFAULT_DATA_DIR)),
            store: EngineKind::default(),
            account: DEFAULT_ACCOUNT.to_string(),
            auth: AuthMode::Open,
            master_key: None,
            log_level: "info".to_string(),
            audit: AuditLevel::All,
            audit_retention: AuditRetention::default(),
            principals: Vec::new(),
            functions: BTreeMap::new(),
            rotation_ca_file: None,
            allowed_hosts: AllowedHosts::default(),
            allowed_origins: AllowedOrigins::default(),
            admin_token: None,
            tls: None,
        }
    }
}

impl Config {
    /// An in-memory server on a free port: what tests start in-process.
    pub fn ephemeral() -> Self {
        Config {
            listen: "127.0.0.1:0".parse().expect("a literal address parses"),
            storage: Location::InMemory,
            ..Config::default()
        }
    }
}

/// The keys the TOML file may hold. Unknown keys are an error, so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    store: Option<String>,
    in_memory: Option<bool>,
    account: Option<String>,
    auth: Option<AuthMode>,
    log_level: Option<String>,
    audit: Option<AuditLevel>,
    audit_max_age_days: Option<u32>,
    audit_max_mb: Option<u64>,
    rotation_ca_file: Option<PathBuf>,
    allowed_hosts: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    admin_token: Option<String>,
    admin_token_file: Option<PathBuf>,
    tls: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    principals: Vec<PrincipalFile>,
    #[serde(default)]
    functions: BTreeMap<String, FunctionConfig>,
}

/// Values given on the command line or in the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    /// `--store`: redb or sled.
    pub store: Option<String>,
    pub in_memory: bool,
    pub config_file: Option<PathBuf>,
    pub account: Option<String>,
    pub log_level: Option<String>,
    pub audit_max_age_days: Option<u32>,
    pub audit_max_mb: Option<u64>,
    pub master_key: Option<String>,
    pub auth: Option<AuthMode>,
    pub rotation_ca_file: Option<PathBuf>,
    /// Replace the file's lists when not empty.
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub admin_token: Option<String>,
    pub admin_token_file: Option<PathBuf>,
    /// `self-signed`.
    pub tls: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Config {
    /// Merges the sources. Every error is one line that names the culprit.
    pub fn resolve(overrides: Overrides) -> Result<Config, ConfigError> {
        let file = match &overrides.config_file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(unreadable("config file", path))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::BadFile {
                    path: path.clone(),
                    detail: e.message().to_string(),
                })?
            }
            None => FileConfig::default(),
        };
        let defaults = Config::default();
        let listen_text = overrides
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "bad listen address '{listen_text}': expected IP:PORT, e.g. 127.0.0.1:4584"
            ))
        })?;
        let storage = if overrides.in_memory || file.in_memory.unwrap_or(false) {
            Location::InMemory
        } else {
            Location::Dir(
                overrides
                    .data_dir
                    .or(file.data_dir)
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            )
        };
        let store = match overrides.store.or(file.store) {
            Some(text) => text.parse().map_err(ConfigError::Invalid)?,
            None => EngineKind::default(),
        };
        let account = overrides
            .account
            .or(file.account)
            .unwrap_or(defaults.account);
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid(format!(
                "bad account id '{account}': it must be 12 digits"
            )));
        }
        let master_key = overrides
            .master_key
            .map(|text| crypto::parse_master_key(&text))
            .transpose()
            .map_err(ConfigError::MasterKey)?;
        let config_dir = overrides
            .config_file
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let principals = file
            .principals
            .into_iter()
            .map(|p| load_principal(p, &account, &config_dir))
            .collect::<Result<Vec<_>, _>>()?;
        let mut keys = std::collections::HashSet::new();
        if let Some(dup) = principals
            .iter()
            .find(|p| !keys.insert(p.access_key_id.clone()))
        {
            return Err(ConfigError::Invalid(format!(
                "access key {} is given to two principals",
                dup.access_key_id
            )));
        }
        // Checked now, so a wrong path is a start-up error rather than a failed rotation later.
        let rotation_ca_file = overrides.rotation_ca_file.or(file.rotation_ca_file);
        if let Some(path) = &rotation_ca_file {
            std::fs::metadata(path).map_err(unreadable("rotation_ca_file", path))?;
        }
        let allowed_hosts =
            AllowedHosts::parse(&non_empty_or(overrides.allowed_hosts, file.allowed_hosts))?;
        let allowed_origins = AllowedOrigins::parse(&non_empty_or(
            overrides.allowed_origins,
            file.allowed_origins,
        ))?;
        let admin_token = admin_token(
            overrides.admin_token.or(file.admin_token),
            overrides.admin_token_file.or(file.admin_token_file),
        )?;
        let tls = tls_setting(
            overrides.tls.or(file.tls),
            overrides.tls_cert.or(file.tls_cert),
            overrides.tls_key.or(file.tls_key),
        )?;
        Ok(Config {
            listen,
            storage,
            store,
            allowed_hosts,
            allowed_origins,
            admin_token,
            tls,
            account,
            auth: overrides.auth.or(file.auth).unwrap_or_default(),
            master_key,
            log_level: overrides
                .log_level
                .or(file.log_level)
                .unwrap_or(defaults.log_level),
            audit: file.audit.unwrap_or(defaults.audit),
            audit_retention: AuditRetention {
                max_age_days: overrides
                    .audit_max_age_days
                    .or(file.audit_max_age_days)
                    .unwrap_or(defaults.audit_retention.max_age_days),
                max_bytes: overrides
                    .audit_max_mb
                    .or(file.audit_max_mb)
                    .map_or(defaults.audit_retention.max_bytes, |mb| {
                        mb.saturating_mul(1024 * 1024)
                    }),
            },
            functions: check_functions(file.functions)?,
            principals,
            rotation_ca_file,
        })
    }
}

fn non_empty_or(flags: Vec<String>, file: Option<Vec<String>>) -> Vec<String> {
    if flags.is_empty() {
        file.unwrap_or_default()
    } else {
        flags
    }
}

/// The admin token, given itself or as a file that holds it (a secret is better kept out of
/// process listings and shell history).
fn admin_token(
    token: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<AdminToken>, ConfigError> {
    let text = match (token, file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid(
                "give the admin token or an admin token file, not both".into(),
            ))
        }
        (Some(token), None) => token,
        (None, Some(path)) => {
            std::fs::read_to_string(&path).map_err(unreadable("the admin token file", &path))?
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(AdminToken::new(&text)?))
}

fn tls_setting(
    mode: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<Option<TlsSetting>, ConfigError> {
    match (mode.as_deref(), cert, key) {
        (None, None, None) => Ok(None),
        (Some("self-signed"), None, None) => Ok(Some(TlsSetting::SelfSigned)),
        (None, Some(cert), Some(key)) => Ok(Some(TlsSetting::Files { cert, key })),
        (Some("self-signed"), ..) => Err(ConfigError::Invalid(
            "give --tls self-signed or --tls-cert with --tls-key, not both".into(),
        )),
        (Some(other), ..) => Err(ConfigError::Invalid(format!(
            "bad tls '{other}': the one mode is self-signed (or give --tls-cert and --tls-key)"
        ))),
        (None, ..) => Err(ConfigError::Invalid(
            "--tls-cert and --tls-key go together".into(),
        )),
    }
}

/// Each function has what its kind needs; a `builtin` named after an AWS template takes that
/// template's engine and strategy unless it names its own.
fn check_functions(
    mut functions: BTreeMap<String, FunctionConfig>,
) -> Result<BTreeMap<String, FunctionConfig>, ConfigError> {
    for (name, f) in functions.iter_mut() {
        if f.kind == FunctionKind::Builtin {
            if let Some(template) = FunctionConfig::template(name) {
                f.engine = f.engine.or(template.engine);
                f.strategy = f.strategy.or(template.strategy);
            }
        }
        match f.kind {
            FunctionKind::Builtin if f.engine.is_none() || f.strategy.is_none() => {
                return Err(ConfigError::Invalid(format!(
                    "function {name}: kind \"builtin\" needs engine = \"postgres\"|\"mysql\"|\"mariadb\" and strategy = \"single\"|\"alternating\""
                )))
            }
            FunctionKind::Webhook
                if f.url.as_deref().is_none_or(|u| !u.starts_with("http://"))
                    || f.hmac_secret.as_deref().is_none_or(str::is_empty) =>
            {
                return Err(ConfigError::Invalid(format!(
                    "function {name}: kind \"webhook\" needs url = \"http://host:port/path\" and hmac_secret = \"…\" (the key of the X-Signature header)"
                )))
            }
            FunctionKind::Exec if f.command.is_empty() => {
                return Err(ConfigError::Invalid(format!("function {name}: kind \"exec\" needs a command")))
            }
            FunctionKind::Python if f.handler.as_deref().is_none_or(|h| !h.contains('.')) => {
                return Err(ConfigError::Invalid(format!(
                    "function {name}: kind \"python\" needs handler = \"path/to/file.function\""
                )))
            }
            _ => {}
        }
    }
    Ok(functions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::function::{DbEngine, RotationStrategy};

    fn with_file(text: &str) -> Result<Config, String> {
        with_file_checked(text).map_err(|e| e.to_string())
    }

    fn with_file_checked(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secretsd.toml");
        std::fs::write(&path, text).unwrap();
        Config::resolve(Overrides {
            config_file: Some(path),
            ..Default::default()
        })
    }

    #[test]
    fn audit_retention_comes_from_the_flags_over_the_file_over_the_defaults() {
        let mb = 1024 * 1024;
        assert_eq!(
            with_file("").unwrap().audit_retention,
            AuditRetention {
                max_age_days: 30,
                max_bytes: 512 * mb
            }
        );
        let file = "audit_max_age_days = 7\naudit_max_mb = 0\n";
        assert_eq!(
            with_file(file).unwrap().audit_retention,
            AuditRetention {
                max_age_days: 7,
                max_bytes: 0
            }
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secretsd.toml");
        std::fs::write(&path, file).unwrap();
        let flagged = Config::resolve(Overrides {
            config_file: Some(path),
            audit_max_mb: Some(100),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            flagged.audit_retention,
            AuditRetention {
                max_age_days: 7,
                max_bytes: 100 * mb
            }
        );
    }

    #[test]
    fn principals_load_their_policies() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("policies")).unwrap();
        std::fs::write(
            dir.path().join("policies/app.json"),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#,
        )
        .unwrap();
        let path = dir.path().join("secretsd.toml");
        let write = |text: &str| std::fs::write(&path, text).unwrap();
        let resolve = || {
            Config::resolve(Overrides {
                config_file: Some(path.clone()),
                ..Default::default()
            })
            .map_err(|e| e.to_string())
        };
        write(
            r#"auth = "strict"
[[principals]]
name = "app"
account = "111111111111"
access_key_id = "AKIAAPP"
secret_access_key = "s1"
mfa = true
tags = { team = "payments" }
policy_files = ["policies/app.json"]

[[principals]]
name = "deployer"
type = "role"
access_key_id = "AKIADEPLOY"
secret_access_key = "s2"
policies = ['{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}']
"#,
        );
        let config = resolve().unwrap();
        assert_eq!(config.auth, AuthMode::Strict);
        let app = &config.principals[0].principal;
        assert_eq!(app.arn, "arn:aws:iam::111111111111:user/app");
        assert!(app.mfa && app.tags["team"] == "payments" && app.policies.len() == 1);
        let deployer = &config.principals[1].principal;
        assert_eq!(deployer.arn, "arn:aws:iam::000000000000:role/deployer");
        write("[[principals]]\nname = \"x\"\naccess_key_id = \"A\"\nsecret_access_key = \"s\"\npolicies = ['{\"Statement\": 3}']\n");
        assert!(resolve()
            .unwrap_err()
            .starts_with("principal x: policies[0] is not a valid policy"));
        write("[[principals]]\nname = \"x\"\naccess_key_id = \"A\"\nsecret_access_key = \"s\"\npolicy_files = [\"missing.json\"]\n");
        assert!(resolve().unwrap_err().contains("cannot read policy file"));
        write("[[principals]]\nname = \"x\"\naccess_key_id = \"A\"\nsecret_access_key = \"s\"\n[[principals]]\nname = \"y\"\naccess_key_id = \"A\"\nsecret_access_key = \"t\"\n");
        assert_eq!(
            resolve().unwrap_err(),
            "access key A is given to two principals"
        );
    }

    #[test]
    fn the_store_comes_from_the_flag_or_the_file_and_a_bad_one_is_refused() {
        use crate::store::EngineKind;
        assert_eq!(with_file("").unwrap().store, EngineKind::Redb);
        assert_eq!(
            with_file("store = \"sled\"\n").unwrap().store,
            EngineKind::Sled
        );
        let err = with_file("store = \"etcd\"\n").unwrap_err();
        assert_eq!(
            err,
            "unknown store 'etcd': expected redb, sled or a postgres:// URL"
        );
    }

    #[test]
    fn empty_config_file_gives_defaults() {
        let config = with_file("").unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.account, DEFAULT_ACCOUNT);
        assert!(
            matches!(config.storage, Location::Dir(ref p) if p == std::path::Path::new(".secretsd"))
        );
    }

    #[test]
    fn flags_beat_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\naccount = \"111111111111\"\n",
        )
        .unwrap();
        let config = Config::resolve(Overrides {
            config_file: Some(path),
            listen: Some("127.0.0.1:9001".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.listen.port(), 9001);
        assert_eq!(config.account, "111111111111");
    }

    #[test]
    fn rotation_functions_are_read_from_the_file() {
        let config = with_file(
            "[functions.my-rotator]\nkind = \"exec\"\ncommand = [\"/bin/rotate\", \"--fast\"]\nenv = { A = \"1\" }\n",
        )
        .unwrap();
        let f = &config.functions["my-rotator"];
        assert_eq!(f.kind, FunctionKind::Exec);
        assert_eq!(f.command, ["/bin/rotate", "--fast"]);
        assert_eq!(f.timeout_s, 30);
        assert_eq!(f.env["A"], "1");
        assert!(with_file("[functions.x]\nkind = \"lambda\"\ncommand = []\n").is_err());
        assert!(with_file("[functions.x]\nkind = \"exec\"\n").is_err());
        assert!(with_file("[functions.x]\nkind = \"python\"\n").is_err());
        let py = with_file(
            "[functions.p]\nkind = \"python\"\nhandler = \"rot/lambda_function.lambda_handler\"\n",
        )
        .unwrap();
        assert_eq!(py.functions["p"].kind, FunctionKind::Python);
        // A template name needs no engine or strategy; any other builtin does.
        let builtin = with_file(
            "[functions.SecretsManagerRDSMariaDBRotationMultiUser]\nkind = \"builtin\"\nenv = { PASSWORD_LENGTH = \"40\" }\n",
        )
        .unwrap();
        let f = &builtin.functions["SecretsManagerRDSMariaDBRotationMultiUser"];
        assert_eq!(f.engine, Some(DbEngine::Mariadb));
        assert_eq!(f.strategy, Some(RotationStrategy::Alternating));
        assert!(with_file("[functions.x]\nkind = \"builtin\"\nengine = \"postgres\"\n").is_err());
        assert!(with_file(
            "[functions.x]\nkind = \"builtin\"\nengine = \"oracle\"\nstrategy = \"single\"\n"
        )
        .is_err());
        assert!(with_file("[functions.x]\nkind = \"webhook\"\nurl = \"http://h/r\"\n").is_err());
        assert!(with_file(
            "[functions.x]\nkind = \"webhook\"\nurl = \"https://h/r\"\nhmac_secret = \"k\"\n"
        )
        .is_err());
        assert!(with_file(
            "[functions.x]\nkind = \"webhook\"\nurl = \"http://h/r\"\nhmac_secret = \"k\"\n"
        )
        .is_ok());
    }

    #[test]
    fn the_door_and_tls_settings_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("admin.token");
        std::fs::write(&token_file, "a-token-from-a-file-0001\n").unwrap();
        let config = with_file(&format!(
            "allowed_hosts = [\"secretsd.internal\"]\nallowed_origins = [\"http://localhost:3000\"]\nadmin_token_file = {:?}\ntls = \"self-signed\"\n",
            token_file
        ))
        .unwrap();
        assert_eq!(
            config.allowed_hosts.names().collect::<Vec<_>>(),
            ["secretsd.internal"]
        );
        assert!(!config.allowed_origins.is_empty());
        assert_eq!(
            config.admin_token,
            Some(AdminToken::new("a-token-from-a-file-0001").unwrap())
        );
        assert_eq!(config.tls, Some(TlsSetting::SelfSigned));
        // Flags replace the file's lists.
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "allowed_hosts = [\"from-file\"]\n").unwrap();
        let config = Config::resolve(Overrides {
            config_file: Some(path),
            allowed_hosts: vec!["from-flag".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            config.allowed_hosts.names().collect::<Vec<_>>(),
            ["from-flag"]
        );
        let err = |overrides: Overrides| Config::resolve(overrides).unwrap_err().to_string();
        assert_eq!(
            err(Overrides {
                admin_token: Some("a-long-enough-token-1".into()),
                admin_token_file: Some(token_file.clone()),
                ..Default::default()
            }),
            "give the admin token or an admin token file, not both"
        );
        assert_eq!(
            err(Overrides {
                tls_cert: Some("c.pem".into()),
                ..Default::default()
            }),
            "--tls-cert and --tls-key go together"
        );
        assert!(err(Overrides {
            tls: Some("acme".into()),
            ..Default::default()
        })
        .starts_with("bad tls 'acme'"));
        assert!(err(Overrides {
            allowed_origins: vec!["localhost:3000".into()],
            ..Default::default()
        })
        .starts_with("bad allowed origin 'localhost:3000'"));
    }

    #[test]
    fn bad_inputs_are_one_line_errors() {
        assert!(with_file("lisen = 1")
            .unwrap_err()
            .starts_with("bad config file"));
        assert!(with_file("listen = ")
            .unwrap_err()
            .starts_with("bad config file"));
        assert!(with_file("account = \"12\"")
            .unwrap_err()
            .contains("12 digits"));
        let err = Config::resolve(Overrides {
            listen: Some("nope".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("bad listen address 'nope'"));
        let err = Config::resolve(Overrides {
            config_file: Some("/nonexistent/x.toml".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("cannot read config file"));
    }
}
