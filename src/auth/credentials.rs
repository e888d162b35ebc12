//! Access keys secretsd knows, and how unknown ones are treated.

use super::sigv4::SigningKeyCache;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// `open` (default): unknown keys are trusted; `strict`: only known keys, all verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    Open,
    Strict,
}

/// One verifiable credential.
#[derive(Debug, Clone)]
pub struct Credential {
    pub secret_access_key: String,
    pub account: String,
    pub session_token: Option<String>,
    /// The configured principal it belongs to; `None` for the built-in `test` credential.
    pub principal: Option<Arc<Principal>>,
    pub signing_keys: Arc<SigningKeyCache>,
}

/// A principal declared in the config file (`[[principals]]`): who it is, and what its identity
/// policies and attributes say for policy evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `arn:aws:iam::<account>:user/<name>` or `…:role/<name>`.
    pub arn: String,
    pub account: String,
    /// `aws:MultiFactorAuthPresent` for requests signed with this credential.
    pub mfa: bool,
    /// `aws:PrincipalTag/<key>`.
    pub tags: BTreeMap<String, String>,
    /// Identity-based policies, read and checked against the policy grammar when the config
    /// was loaded.
    pub policies: Vec<crate::model::policy::PolicyDocument>,
}

/// A configured principal with its credential.
#[derive(Debug, Clone)]
pub struct PrincipalCredential {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub principal: Principal,
}

#[derive(Debug, Clone)]
pub struct Credentials {
    mode: AuthMode,
    default_account: String,
    known: HashMap<String, Credential>,
}

/// The built-in credential every local AWS tool defaults to: `test` / `test`.
pub const BUILTIN_ACCESS_KEY: &str = "test";
pub const BUILTIN_SECRET_KEY: &str = "test";

impl Credentials {
    /// The configured principals' credentials and, in open mode, the built-in `test`/`test`
    /// credential in `default_account` (strict mode knows only the configured principals).
    pub fn new(mode: AuthMode, default_account: &str, principals: &[PrincipalCredential]) -> Self {
        let mut known = HashMap::new();
        if mode == AuthMode::Open {
            known.insert(
                BUILTIN_ACCESS_KEY.to_string(),
                Credential {
                    secret_access_key: BUILTIN_SECRET_KEY.to_string(),
                    account: default_account.to_string(),
                    session_token: None,
                    principal: None,
                    signing_keys: Arc::default(),
                },
            );
        }
        for p in principals {
            known.insert(
                p.access_key_id.clone(),
                Credential {
                    secret_access_key: p.secret_access_key.clone(),
                    account: p.principal.account.clone(),
                    session_token: p.session_token.clone(),
                    principal: Some(Arc::new(p.principal.clone())),
                    signing_keys: Arc::default(),
                },
            );
        }
        Credentials {
            mode,
            default_account: default_account.to_string(),
            known,
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    pub fn lookup(&self, access_key_id: &str) -> Option<&Credential> {
        self.known.get(access_key_id)
    }

    /// Open mode: a 12-digit access key id is taken as an account id, anything else is the
    /// default account.
    /// The account of the built-in credential and of unknown keys (`--account`).
    pub fn default_account(&self) -> &str {
        &self.default_account
    }

    pub fn account_for_unknown_key(&self, access_key_id: &str) -> String {
        if access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()) {
            access_key_id.to_string()
        } else {
            self.default_account.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digit_keys_select_their_account() {
        let creds = Credentials::new(AuthMode::Open, "000000000000", &[]);
        assert_eq!(
            creds.account_for_unknown_key("111111111111"),
            "111111111111"
        );
        assert_eq!(creds.account_for_unknown_key("AKIAEXAMPLE"), "000000000000");
        assert_eq!(
            creds.account_for_unknown_key("11111111111a"),
            "000000000000"
        );
        assert!(creds.lookup("test").is_some());
    }

    #[test]
    fn strict_mode_knows_only_configured_principals() {
        let app = PrincipalCredential {
            access_key_id: "AKIAAPP".into(),
            secret_access_key: "s".into(),
            session_token: None,
            principal: Principal {
                arn: "arn:aws:iam::111111111111:user/app".into(),
                account: "111111111111".into(),
                mfa: false,
                tags: BTreeMap::new(),
                policies: Vec::new(),
            },
        };
        let strict = Credentials::new(AuthMode::Strict, "000000000000", std::slice::from_ref(&app));
        assert!(strict.lookup("test").is_none());
        let found = strict.lookup("AKIAAPP").unwrap();
        assert_eq!(found.account, "111111111111");
        assert_eq!(
            found.principal.as_ref().unwrap().arn,
            "arn:aws:iam::111111111111:user/app"
        );
        let open = Credentials::new(AuthMode::Open, "000000000000", &[app]);
        assert!(open.lookup("test").is_some() && open.lookup("AKIAAPP").is_some());
    }
}
