//! The operations. Each is one async function `op(ctx, caller, input) -> Result<output>`; the
//! families live in their own files. Shared lookup and value-writing rules live here, once.

pub mod access;
pub mod list;
pub mod managed;
pub mod policy;
pub mod random;
pub mod replication;
pub mod rotation;
pub mod secrets;
pub mod tags;
pub mod values;

use crate::audit::ResponseIds;
use crate::auth::credentials::Credentials;
use crate::auth::Caller;
use crate::clock::Clock;
use crate::config::FunctionConfig;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::model::arn::{self, SecretKey, SecretRef};
use crate::model::secret::{Secret, SecretValue, Version, AWSCURRENT};
use crate::model::stages;
use crate::model::validate::Constraints;
use crate::protocol::shapes::Blob;
use crate::protocol::{self, Operation};
use crate::rotation::{self as engine, RotationHandle};
use crate::store::{Hint, SecretTxn, Store};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};

/// What every operation can reach: the store, the clock, the credentials, and the rotation
/// machinery (its functions, its worker, and the URL rotation functions call back).
pub struct Ctx {
    pub store: Store,
    pub audit: crate::audit::Audit,
    pub clock: Clock,
    pub credentials: Credentials,
    pub functions: BTreeMap<String, FunctionConfig>,
    pub rotation: RotationHandle,
    /// Parsed resource policies, for strict mode's checks.
    pub resource_policies: access::ResourcePolicies,
    /// Identity policies by action, for strict mode's checks.
    pub identity_policies: access::IdentityPolicies,
    /// Trusted roots for the built-in rotators' TLS logins, loaded on first use.
    pub rotation_tls: crate::rotation::builtin::RotationTls,
    pub endpoint: OnceLock<String>,
    /// The certificate file a client of `endpoint` must trust, when it is HTTPS.
    pub endpoint_ca: OnceLock<std::path::PathBuf>,
}

/// An operation's answer: the response body, and what the audit trail keeps of it.
pub struct Answer {
    pub body: Bytes,
    pub ids: ResponseIds,
}

/// Runs one operation on a raw request body and returns the raw response body.
pub async fn dispatch(ctx: &Ctx, caller: &Caller, op: Operation, body: &[u8]) -> ApiResult<Answer> {
    use Operation::*;
    // A configured principal's call carries its facts for policy evaluation; account-level
    // actions are authorized here, actions on a secret by the shared lookup below.
    let with_facts;
    let caller = match caller.principal {
        Some(_) => {
            with_facts = Caller {
                facts: Some(std::sync::Arc::new(access::RequestFacts::of(op, body))),
                ..caller.clone()
            };
            if matches!(op, ListSecrets | GetRandomPassword | BatchGetSecretValue) {
                access::authorize(ctx, &with_facts, None, "*")?;
            }
            &with_facts
        }
        None => caller,
    };
    match op {
        CreateSecret => call(body, |i| secrets::create_secret(ctx, caller, i)).await,
        DescribeSecret => call(body, |i| secrets::describe_secret(ctx, caller, i)).await,
        UpdateSecret => call(body, |i| secrets::update_secret(ctx, caller, i)).await,
        DeleteSecret => call(body, |i| secrets::delete_secret(ctx, caller, i)).await,
        RestoreSecret => call(body, |i| secrets::restore_secret(ctx, caller, i)).await,
        GetSecretValue => call(body, |i| values::get_secret_value(ctx, caller, i)).await,
        BatchGetSecretValue => call(body, |i| values::batch_get_secret_value(ctx, caller, i)).await,
        PutSecretValue => call(body, |i| values::put_secret_value(ctx, caller, i)).await,
        ListSecretVersionIds => {
            call(body, |i| values::list_secret_version_ids(ctx, caller, i)).await
        }
        UpdateSecretVersionStage => {
            call(body, |i| {
                values::update_secret_version_stage(ctx, caller, i)
            })
            .await
        }
        GetRandomPassword => call(body, |i| async { random::get_random_password(i) }).await,
        ListSecrets => call(body, |i| list::list_secrets(ctx, caller, i)).await,
        RotateSecret => call(body, |i| rotation::rotate_secret(ctx, caller, i)).await,
        ReplicateSecretToRegions => {
            call(body, |i| {
                replication::replicate_secret_to_regions(ctx, caller, i)
            })
            .await
        }
        RemoveRegionsFromReplication => {
            call(body, |i| {
                replication::remove_regions_from_replication(ctx, caller, i)
            })
            .await
        }
        AssociateCrossAccountReplica => {
            call(body, |i| {
                replication::associate_cross_account_replica(ctx, caller, i)
            })
            .await
        }
        DisassociateCrossAccountReplica => {
            call(body, |i| {
                replication::disassociate_cross_account_replica(ctx, caller, i)
            })
            .await
        }
        StopReplicationToReplica => {
            call(body, |i| {
                replication::stop_replication_to_replica(ctx, caller, i)
            })
            .await
        }
        CancelRotateSecret => call(body, |i| rotation::cancel_rotate_secret(ctx, caller, i)).await,
        TagResource => call(body, |i| tags::tag_resource(ctx, caller, i)).await,
        PutResourcePolicy => call(body, |i| policy::put_resource_policy(ctx, caller, i)).await,
        GetResourcePolicy => call(body, |i| policy::get_resource_policy(ctx, caller, i)).await,
        DeleteResourcePolicy => {
            call(body, |i| policy::delete_resource_policy(ctx, caller, i)).await
        }
        ValidateResourcePolicy => {
            call(body, |i| policy::validate_resource_policy(ctx, caller, i)).await
        }
        ListResourcePolicies => {
            call(body, |i| policy::list_resource_policies(ctx, caller, i)).await
        }
        UntagResource => call(body, |i| tags::untag_resource(ctx, caller, i)).await,
    }
}

/// The answer of operations without an output shape (TagResource, UntagResource): AWS sends
/// 200 with an empty body, not `{}` (spec §1.3).
pub struct NoOutput;

/// How an operation's output becomes an answer.
pub trait Output {
    fn into_answer(self) -> ApiResult<Answer>;
}

/// The identifiers of the secret an output names (`ARN`, `Name`, `VersionId`), which the audit
/// trail records; outputs that name none keep the default.
pub trait Identified: Sized {
    fn into_ids(self) -> ResponseIds {
        ResponseIds::default()
    }
}

impl<T: Serialize + Identified> Output for T {
    fn into_answer(self) -> ApiResult<Answer> {
        let body = protocol::encode(&self)?;
        let ids = self.into_ids();
        // What an output declares must be what its body shows: every debug-build test checks.
        debug_assert_eq!(
            ids,
            ResponseIds::read(&body),
            "{}",
            String::from_utf8_lossy(&body)
        );
        Ok(Answer { body, ids })
    }
}

impl Output for NoOutput {
    fn into_answer(self) -> ApiResult<Answer> {
        Ok(Answer {
            body: Bytes::new(),
            ids: ResponseIds::default(),
        })
    }
}

async fn call<I, O, F, Fut>(body: &[u8], op: F) -> ApiResult<Answer>
where
    I: DeserializeOwned,
    O: Output,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = ApiResult<O>>,
{
    let input: I = protocol::decode(body)?;
    op(input).await?.into_answer()
}

/// Resolves a `SecretId` to the key of the secret it names in the caller's partition, and the
/// exact ARN it must have when the id was a full ARN. An ARN of another region names nothing the
/// caller can reach, nor one of another account unless a configured principal's policies and
/// the secret's resource policy let it through (ARCHITECTURE invariant 5).
fn resolve(caller: &Caller, secret_id: &str) -> ApiResult<(SecretKey, Option<String>)> {
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
fn live(ctx: &Ctx, secret: Option<&Secret>, arn: Option<&str>) -> bool {
    match secret {
        Some(s) => {
            s.deleted_ms.is_none_or(|at| at > ctx.clock.now_millis())
                && arn.is_none_or(|arn| arn == s.arn)
        }
        None => false,
    }
}

/// Reads the secret a `SecretId` names, without locking it.
pub(crate) fn load(ctx: &Ctx, caller: &Caller, secret_id: &str) -> ApiResult<Arc<Secret>> {
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
    caller: &Caller,
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
    caller: &Caller,
    secret_id: &str,
) -> ApiResult<(SecretTxn<'a>, Secret)> {
    let (txn, secret) = begin_existing(ctx, caller, secret_id).await?;
    replication::forbid_replica(&secret)?;
    if secret.is_scheduled_for_deletion() {
        return Err(ApiError::marked_for_deletion());
    }
    Ok((txn, secret))
}

/// Commits a change of a secret and brings its replicas up to date.
pub(crate) async fn commit(ctx: &Ctx, txn: SecretTxn<'_>, secret: &Secret) -> ApiResult<()> {
    let before = txn
        .current()
        .and_then(|s| s.rotation_events.last().cloned());
    txn.commit(Some(secret)).await?;
    engine::audit_new_events(ctx, before, secret);
    replication::sync_all(ctx, secret).await
}

/// `SecretId`: required, 1–2048 characters, on every operation that takes one.
pub(crate) fn check_secret_id(c: &mut Constraints, secret_id: Option<&str>) {
    c.required("secretId", secret_id)
        .length("secretId", secret_id, 1, 2048);
}

/// For operations whose only constrained member is `SecretId`.
pub(crate) fn only_secret_id(secret_id: Option<&str>) -> ApiResult<&str> {
    let mut c = Constraints::new();
    check_secret_id(&mut c, secret_id);
    c.finish()?;
    Ok(secret_id.unwrap_or_default())
}

const TOKEN_REQUIRED: &str =
    "You must provide a ClientRequestToken value. We recommend a UUID-type value.";

/// `SecretString` / `SecretBinary` of Create/Put/UpdateSecret: at most one of them.
pub(crate) fn secret_value(
    string: Option<String>,
    binary: Option<Blob>,
) -> ApiResult<Option<SecretValue>> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(ApiError::invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        )),
        (Some(s), None) => Ok(Some(SecretValue::String(s))),
        (None, Some(b)) => Ok(Some(SecretValue::Binary(b.0))),
        (None, None) => Ok(None),
    }
}

/// The version a write produced, and whether it was an idempotent replay.
pub(crate) struct Written {
    pub version_id: String,
    pub stages: Vec<String>,
}

/// Writes a new value under `token` (Create/Put/UpdateSecret share these rules, spec §3.2):
/// - the token names an existing version with the same value → replay, nothing changes;
///   with another value → `ResourceExistsException`;
/// - the token names the value-less `AWSPENDING` placeholder → its value is filled in;
/// - otherwise a new version is created, labelled, and old deprecated versions are pruned.
pub(crate) fn write_value(
    txn: &mut SecretTxn<'_>,
    secret: &mut Secret,
    token: Option<&str>,
    value: &SecretValue,
    requested_stages: Option<&[String]>,
    now_ms: i64,
) -> ApiResult<Written> {
    let token = token.ok_or_else(|| ApiError::invalid_request(TOKEN_REQUIRED))?;
    let existing = txn.version(secret, token)?.cloned();
    match existing {
        Some(version) if version.has_value => {
            if txn.read_value(secret, &version)? == *value {
                return Ok(Written {
                    version_id: version.id,
                    stages: version.stages,
                });
            }
            Err(ApiError::new(
                ErrorCode::ResourceExists,
                format!(
                    "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {}.",
                    secret.arn
                ),
            ))
        }
        Some(_) => {
            // The rotation placeholder: fill it in.
            let kms_key_id = secret.kms_key_id.clone();
            if let Some(v) = secret.version_mut(token) {
                v.has_value = true;
                v.kms_key_id = kms_key_id;
            }
            finish_write(txn, secret, token, value, requested_stages, now_ms)
        }
        None => {
            secret.versions.push(Version {
                id: token.to_string(),
                created_ms: now_ms,
                last_accessed_ms: None,
                stages: Vec::new(),
                kms_key_id: secret.kms_key_id.clone(),
                has_value: true,
            });
            finish_write(txn, secret, token, value, requested_stages, now_ms)
        }
    }
}

fn finish_write(
    txn: &mut SecretTxn<'_>,
    secret: &mut Secret,
    token: &str,
    value: &SecretValue,
    requested_stages: Option<&[String]>,
    now_ms: i64,
) -> ApiResult<Written> {
    stages::label_new_value(&mut secret.versions, token, requested_stages)?;
    if secret
        .version(token)
        .is_some_and(|v| v.has_stage(AWSCURRENT))
    {
        engine::on_new_current(secret, token, now_ms);
    }
    stages::prune(&mut secret.versions, txn, now_ms)?;
    txn.put_value(secret, token, value);
    secret.last_changed_ms = now_ms;
    let stages = secret
        .version(token)
        .map(|v| v.stages.clone())
        .unwrap_or_default();
    Ok(Written {
        version_id: token.to_string(),
        stages,
    })
}

/// Removes secrets whose recovery window has ended. Returns how many were purged.
pub async fn purge_due_deletions(ctx: &Ctx) -> ApiResult<usize> {
    let now = ctx.clock.now_millis();
    let due = ctx.store.due(Hint::Deletion, now, 1000)?;
    let mut purged = 0;
    for (at, key) in due {
        let txn = ctx.store.begin(&key).await?;
        if txn.current().and_then(|s| s.deleted_ms) == Some(at) {
            txn.commit(None).await?;
            tracing::info!(secret = %key.name, account = %key.account, region = %key.region, "purged secret after its recovery window");
            purged += 1;
        } else {
            ctx.store.remove_hint(Hint::Deletion, &key, at).await?;
        }
    }
    Ok(purged)
}
