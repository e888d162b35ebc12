//! Access keys secretsd knows, and how unknown ones are treated.

use std::collections::HashMap;

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
    /// The built-in `test`/`test` credential in `default_account`.
    pub fn new(mode: AuthMode, default_account: &str) -> Self {
        let mut known = HashMap::new();
        known.insert(
            BUILTIN_ACCESS_KEY.to_string(),
            Credential {
                secret_access_key: BUILTIN_SECRET_KEY.to_string(),
                account: default_account.to_string(),
                session_token: None,
            },
        );
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
        let creds = Credentials::new(AuthMode::Open, "000000000000");
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
}
