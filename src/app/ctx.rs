//! `Ctx`: what every operation, the rotation engine and the admin endpoints can reach.

use crate::audit::Audit;
use crate::auth::cache::{IdentityPolicies, ResourcePolicies};
use crate::auth::credentials::Credentials;
use crate::clock::Clock;
use crate::rotation::builtin::RotationTls;
use crate::rotation::function::FunctionConfig;
use crate::rotation::handle::RotationHandle;
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// What every operation can reach: the store, the clock, the credentials, and the rotation
/// machinery (its functions, its worker, and the URL rotation functions call back).
pub struct Ctx {
    pub store: Store,
    pub audit: Audit,
    pub clock: Clock,
    pub credentials: Credentials,
    pub functions: BTreeMap<String, FunctionConfig>,
    pub rotation: RotationHandle,
    /// Parsed resource policies, for strict mode's checks.
    pub resource_policies: ResourcePolicies,
    /// Identity policies by action, for strict mode's checks.
    pub identity_policies: IdentityPolicies,
    /// Trusted roots for the built-in rotators' TLS logins, loaded on first use.
    pub rotation_tls: RotationTls,
    pub endpoint: OnceLock<String>,
    /// The certificate file a client of `endpoint` must trust, when it is HTTPS.
    pub endpoint_ca: OnceLock<std::path::PathBuf>,
}
