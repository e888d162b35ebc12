//! What a rotation function may ask of Secrets Manager, and no more: the calls AWS's rotation
//! templates make through boto3. The built-in rotators hold this trait, which the operations
//! implement, so rotation depends on the API's behaviour and not on its code.

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::model::secret::Ownership;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;

/// What DescribeSecret tells a rotator.
#[derive(Debug, Clone, Default)]
pub struct Described {
    pub rotation_enabled: Option<bool>,
    /// Version id → its staging labels.
    pub version_stages: BTreeMap<String, Vec<String>>,
}

/// The Secrets Manager calls a rotator makes, each as `caller` (the rotation service acting in
/// the secret's account and Region).
pub trait SecretsClient: Send + Sync {
    fn describe_secret<'a>(
        &'a self,
        caller: &'a Caller,
        secret_id: &'a str,
    ) -> BoxFuture<'a, ApiResult<Described>>;

    /// `SecretString` of the version `stage` (and `version_id`, when given) labels.
    fn get_secret_string<'a>(
        &'a self,
        caller: &'a Caller,
        secret_id: &'a str,
        version_id: Option<&'a str>,
        stage: &'a str,
    ) -> BoxFuture<'a, ApiResult<String>>;

    /// PutSecretValue of `secret_string` under `token`, labelled `stages`.
    fn put_secret_string<'a>(
        &'a self,
        caller: &'a Caller,
        secret_id: &'a str,
        token: &'a str,
        secret_string: String,
        stages: &'a [&'a str],
    ) -> BoxFuture<'a, ApiResult<()>>;

    /// UpdateSecretVersionStage: `stage` moves to `to`, from `from` when given.
    fn move_stage<'a>(
        &'a self,
        caller: &'a Caller,
        secret_id: &'a str,
        stage: &'a str,
        to: &'a str,
        from: Option<&'a str>,
    ) -> BoxFuture<'a, ApiResult<()>>;

    /// Which service owns the secret and where its database is, as RDS would tell a template
    /// that asks for the instance's endpoint; `None` for a secret nobody owns or none at all.
    fn owner_of<'a>(&'a self, caller: &'a Caller, secret_id: &'a str) -> Option<Ownership>;
}
