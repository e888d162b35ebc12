//! Authentication: SigV4 verification and the mapping from an access key to a caller
//! (account, region, principal). Operations receive an already-authenticated `Caller`.

pub mod cache;
pub mod credentials;
pub mod policy;
pub mod sigv4;

use crate::error::ApiResult;
use credentials::{AuthMode, Credentials};
use sigv4::SignedRequest;

/// Who is calling, and which (account, region) partition the call addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    /// From the SigV4 credential scope: every region is its own partition of state.
    pub region: String,
    pub principal_arn: String,
    pub access_key_id: String,
    /// The configured principal, whose policies strict mode evaluates; `None` for the built-in
    /// credential, unknown keys in open mode, and secretsd's own rotators.
    pub principal: Option<std::sync::Arc<credentials::Principal>>,
    /// Where the request came from (`aws:SourceIp`).
    pub source_ip: Option<std::net::IpAddr>,
    /// Whether it came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
}

impl Caller {
    /// secretsd itself, acting in a secret's (account, region) — as the built-in rotators do,
    /// the way a Lambda rotation function acts with its execution role.
    pub fn rotation_service(account: &str, region: &str, function: &str) -> Caller {
        Caller {
            account: account.to_string(),
            region: region.to_string(),
            principal_arn: format!(
                "arn:aws:sts::{account}:assumed-role/secretsd-rotation/{function}"
            ),
            access_key_id: String::new(),
            principal: None,
            source_ip: None,
            secure_transport: false,
        }
    }
}

impl Caller {
    /// Whether this is secretsd's own rotator (`rotation_service`), which alone may write the
    /// value of a secret another service owns. Authenticated callers always have an access key,
    /// and configured principals are IAM users or roles, never this STS role.
    pub fn is_rotation_service(&self) -> bool {
        self.access_key_id.is_empty()
            && self.principal.is_none()
            && self
                .principal_arn
                .contains(":assumed-role/secretsd-rotation/")
    }
}

/// Verifies a request and names its caller (open or strict mode, as README.md describes).
///
/// A malformed or missing `Authorization` header is always rejected. Known credentials are fully
/// verified (signature, clock skew, session token). In open mode an unknown access key is
/// trusted without a signature check, so suites with made-up keys work unchanged; a 12-digit
/// access key id selects that account, which makes cross-account tests one line of setup.
pub fn authenticate<H: sigv4::Header>(
    credentials: &Credentials,
    request: &SignedRequest<H>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Caller> {
    let auth = sigv4::parse(request)?;
    let (account, principal) = match credentials.lookup(auth.access_key_id) {
        Some(known) => {
            sigv4::check_clock_skew(&auth, now)?;
            let key = known.signing_keys.get(&known.secret_access_key, &auth);
            sigv4::verify(request, &auth, &key)?;
            if known.session_token.is_some()
                && known.session_token.as_deref() != auth.security_token
            {
                return Err(crate::error::ApiError::unrecognized_client());
            }
            (known.account.clone(), known.principal.clone())
        }
        None => match credentials.mode() {
            AuthMode::Strict => return Err(crate::error::ApiError::unrecognized_client()),
            AuthMode::Open => (
                credentials.account_for_unknown_key(auth.access_key_id),
                None,
            ),
        },
    };
    Ok(Caller {
        principal_arn: principal
            .as_ref()
            .map_or_else(|| format!("arn:aws:iam::{account}:root"), |p| p.arn.clone()),
        account,
        region: auth.region.to_string(),
        access_key_id: auth.access_key_id.to_string(),
        principal,
        source_ip: None,
        secure_transport: false,
    })
}
