//! Finding the secret a `SecretId` names, for reading or for a change, with the access check
//! every operation on a secret shares.

use super::access::{self, Call};
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::model::arn::{self, SecretKey, SecretRef};
use crate::model::secret::Secret;
use crate::model::validate::{Constraints, Required};
use crate::protocol::Input;
use crate::store::SecretTxn;
use serde::Deserialize;
use std::sync::Arc;

/// Resolves a `SecretId` to the key of the secret it names in the caller's partition, and the
/// exact ARN it must have when the id was a full ARN. An ARN of another region names nothing the
/// caller can reach, nor one of another account unless a configured principal's policies and
/// the secret's resource policy let it through.
pub(crate) fn resolve(caller: &Caller, secret_id: &str) -> ApiResult<(SecretKey, Option<String>)> {
    let (key, arn) = match arn::parse_secret_id(secret_id)? {
        SecretRef::Name(name) => (
            SecretKey {
                account: caller.account.clone(),
                region: caller.region.clone(),
                name,
            },
            None,
        ),
        SecretRef::FullArn { key, arn } => (key, Some(arn)),
        SecretRef::PartialArn { key } => (key, None),
    };
    // Another account's secret is reachable only by its full ARN, only for a configured
    // principal, and only if policies of both accounts allow it (`access::authorize`).
    let cross_account =
        key.account != caller.account && arn.is_some() && caller.principal.is_some();
    if (key.account != caller.account && !cross_account) || key.region != caller.region {
        return Err(ApiError::secret_not_found());
    }
    Ok((key, arn))
}

/// A record counts as existing unless its deletion time has passed (the sweeper removes it soon;
/// until then it must already behave as gone).
pub(crate) fn live(ctx: &Ctx, secret: Option<&Secret>, arn: Option<&str>) -> bool {
    match secret {
        Some(s) => {
            s.deleted_ms.is_none_or(|at| at > ctx.clock.now_millis())
                && arn.is_none_or(|arn| arn == s.arn)
        }
        None => false,
    }
}

/// Reads the secret a `SecretId` names, without locking it.
pub(crate) fn load(ctx: &Ctx, caller: &Call<'_>, secret_id: &str) -> ApiResult<Arc<Secret>> {
    let (key, arn) = resolve(caller, secret_id)?;
    let found = ctx
        .store
        .get(&key)?
        .filter(|secret| live(ctx, Some(secret), arn.as_deref()));
    access::authorize(ctx, caller, found.as_deref(), secret_id)?;
    found.ok_or_else(ApiError::secret_not_found)
}

/// Opens a change to the existing secret a `SecretId` names; the returned copy is the one to
/// modify and commit.
pub(crate) async fn begin_existing<'a>(
    ctx: &'a Ctx,
    caller: &Call<'_>,
    secret_id: &str,
) -> ApiResult<(SecretTxn<'a>, Secret)> {
    let (key, arn) = resolve(caller, secret_id)?;
    let txn = ctx.store.begin(&key).await?;
    let found = txn
        .current()
        .filter(|secret| live(ctx, Some(secret), arn.as_deref()))
        .cloned();
    access::authorize(ctx, caller, found.as_ref(), secret_id)?;
    match found {
        Some(secret) => Ok((txn, secret)),
        None => Err(ApiError::secret_not_found()),
    }
}

/// Like `begin_existing`, for changes that AWS refuses on a secret scheduled for deletion and
/// on a (read-only) replica.
pub(crate) async fn begin_active<'a>(
    ctx: &'a Ctx,
    caller: &Call<'_>,
    secret_id: &str,
) -> ApiResult<(SecretTxn<'a>, Secret)> {
    let (txn, secret) = begin_existing(ctx, caller, secret_id).await?;
    forbid_replica(&secret)?;
    if secret.is_scheduled_for_deletion() {
        return Err(ApiError::marked_for_deletion());
    }
    Ok((txn, secret))
}

/// `SecretId`: required, 1–2048 characters, on every operation that takes one.
pub(crate) fn check_secret_id(c: &mut Constraints, secret_id: Option<String>) -> Required<String> {
    c.required_length("secretId", secret_id, 1, 2048)
}

/// The input of operations whose only member is `SecretId`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretIdInput {
    pub secret_id: Option<String>,
}

pub struct SecretIdRequest {
    pub secret_id: String,
}

impl Input for SecretIdInput {
    type Valid = SecretIdRequest;

    fn validate(self) -> ApiResult<SecretIdRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let ok = c.finish()?;
        Ok(SecretIdRequest {
            secret_id: secret_id.take(ok),
        })
    }
}

/// What every write on a replica gets (moto's wording; AWS's is not captured).
pub fn forbid_replica(secret: &Secret) -> ApiResult<()> {
    if secret.is_replica() {
        return Err(ApiError::invalid_parameter(
            "Operation not permitted on a replica secret. Call must be made in primary secret's region.",
        ));
    }
    Ok(())
}

/// Refuses a client's change to a secret another service owns. AWS documents the cause
/// ("the secret is managed by another service, and you must use that service to update it")
/// but no exact text that we could verify; this message says the same.
pub fn forbid_owned(secret: &Secret) -> ApiResult<()> {
    match &secret.owned_by {
        Some(owner) => Err(ApiError::invalid_request(format!(
            "You can't modify secret {} because it's managed by {}. Use {} to update it.",
            secret.name, owner.service, owner.service
        ))),
        None => Ok(()),
    }
}

/// Like `forbid_owned`, but lets secretsd's own rotator write the rotation's versions and labels.
pub fn forbid_owned_unless_rotating(
    caller: &crate::auth::Caller,
    secret: &Secret,
) -> ApiResult<()> {
    if caller.is_rotation_service() {
        return Ok(());
    }
    forbid_owned(secret)
}

/// RotateSecret on an owned secret: the service rotates it, so no function may be named.
pub fn check_rotation_function(secret: &Secret, lambda_arn: Option<&str>) -> ApiResult<()> {
    match (&secret.owned_by, lambda_arn) {
        (Some(owner), Some(arn)) if !arn.is_empty() => Err(ApiError::invalid_parameter(format!(
            "You can't specify a rotation function for a secret managed by {}: {} rotates it. Omit RotationLambdaARN.",
            owner.service, owner.service
        ))),
        _ => Ok(()),
    }
}
