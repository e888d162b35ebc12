//! The secret lifecycle: CreateSecret, DescribeSecret, UpdateSecret, DeleteSecret,
//! RestoreSecret (docs/aws-behaviour.md §3.1).

use super::access::Call;
use super::lookup;
use super::lookup::resolve;
use super::lookup::{begin_active, begin_existing, check_secret_id, load, SecretIdRequest};
use super::metadata::{metadata, stages_map, SecretMetadata};
use super::output::Identified;
use super::replication::{self, ReplicaRegion, ReplicaRegionShape, ReplicationStatusShape};
use super::tags::{self, TagShape};
use super::write::{secret_value, write_value};
use crate::app::replicas;
use crate::app::{commit, Ctx};
use crate::audit::ResponseIds;
use crate::error::{messages, ApiError, ApiResult, ErrorCode};
use crate::model::arn::{self, SecretKey};
use crate::model::secret::{CrossAccountPrimary, Secret, SecretValue, Tag, DEFAULT_KMS_KEY};
use crate::model::validate::{self, Constraints};
use crate::protocol::shapes::{Blob, EpochSeconds};
use crate::protocol::Input;
use crate::store::SecretTxn;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecretInput {
    pub name: Option<String>,
    pub client_request_token: Option<String>,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub secret_binary: Option<Blob>,
    pub secret_string: Option<String>,
    pub tags: Option<Vec<TagShape>>,
    pub add_replica_regions: Option<Vec<ReplicaRegionShape>>,
    pub force_overwrite_replica_secret: Option<bool>,
    #[serde(rename = "Type")]
    pub secret_type: Option<String>,
    #[serde(rename = "CrossAccountPrimaryARN")]
    pub cross_account_primary_arn: Option<String>,
}

/// ARN + Name (+ VersionId): the answer of Create/Update/Delete/Restore.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SecretRefOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<Vec<ReplicationStatusShape>>,
}

impl Identified for SecretRefOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: Some(self.name),
            version_id: self.version_id,
        }
    }
}

fn refers_to(secret: &Secret) -> SecretRefOutput {
    SecretRefOutput {
        arn: secret.arn.clone(),
        name: secret.name.clone(),
        ..Default::default()
    }
}

/// Checks shared by the members that Create/UpdateSecret have in common.
fn check_common(
    c: &mut Constraints,
    token: Option<&str>,
    description: Option<&str>,
    kms_key_id: Option<&str>,
    string: Option<&str>,
    binary: Option<&Blob>,
    secret_type: Option<&str>,
) {
    c.length("clientRequestToken", token, 32, 64)
        .length("description", description, 0, 2048)
        .length("kmsKeyId", kms_key_id, 0, 2048)
        .sensitive_length("secretString", string, 1, 65536)
        .blob_length("secretBinary", binary.map(|b| b.0.as_slice()), 1, 65536)
        .length("type", secret_type, 0, 256);
}

/// `""` and the AWS-managed key both mean "the default key", which AWS does not echo.
fn kms_key(input: Option<String>) -> Option<String> {
    input.filter(|k| !k.is_empty() && k != DEFAULT_KMS_KEY && k != "alias/aws/secretsmanager")
}

/// A cross-account replica's primary as the request names it: a full ARN, of another account
/// than the caller's (checked once the caller is known).
pub struct PrimaryArn {
    account: String,
    arn: String,
}

/// A cross-account replica (`CrossAccountPrimaryARN`) is fed by its primary only: it needs its
/// own customer-managed key and may carry no value, description, replicas or type
/// (docs/aws-behaviour.md §3.1).
fn check_cross_account_replica(
    input: &CreateSecretInput,
    primary_arn: &str,
) -> ApiResult<PrimaryArn> {
    let given = |o: bool, what: &str| {
        if o {
            Err(ApiError::invalid_parameter(format!(
                "You can't specify {what} when you create a cross-account replica."
            )))
        } else {
            Ok(())
        }
    };
    given(
        input.secret_string.is_some() || input.secret_binary.is_some(),
        "a secret value",
    )?;
    given(
        input.description.as_deref().is_some_and(|d| !d.is_empty()),
        "a description",
    )?;
    given(input.add_replica_regions.is_some(), "replica Regions")?;
    given(input.secret_type.is_some(), "a type")?;
    if kms_key(input.kms_key_id.clone()).is_none() {
        return Err(ApiError::invalid_parameter(
            "A cross-account replica must be encrypted with a customer managed KMS key: set KmsKeyId.",
        ));
    }
    match arn::parse_secret_id(primary_arn) {
        Ok(arn::SecretRef::FullArn { key, arn }) => Ok(PrimaryArn {
            account: key.account,
            arn,
        }),
        _ => Err(ApiError::invalid_parameter(
            messages::CROSS_ACCOUNT_PRIMARY_ARN,
        )),
    }
}

pub struct CreateSecretRequest {
    pub name: String,
    pub client_request_token: Option<String>,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub value: Option<SecretValue>,
    pub tags: Vec<Tag>,
    pub add_replica_regions: Option<Vec<ReplicaRegion>>,
    pub force_overwrite_replica_secret: bool,
    pub secret_type: Option<String>,
    pub cross_account_primary: Option<PrimaryArn>,
}

impl Input for CreateSecretInput {
    type Valid = CreateSecretRequest;

    fn validate(self) -> ApiResult<CreateSecretRequest> {
        let mut c = Constraints::new();
        let name = c.required_length("name", self.name.clone(), 1, 512);
        check_common(
            &mut c,
            self.client_request_token.as_deref(),
            self.description.as_deref(),
            self.kms_key_id.as_deref(),
            self.secret_string.as_deref(),
            self.secret_binary.as_ref(),
            self.secret_type.as_deref(),
        );
        let tags = tags::check_tags(&mut c, self.tags.as_deref())?;
        let regions = self
            .add_replica_regions
            .as_deref()
            .map(|regions| replication::check_add_regions(&mut c, regions));
        let ok = c.finish()?;
        let name = name.take(ok);
        validate::new_name(&name)?;
        let cross_account_primary = match self.cross_account_primary_arn.as_deref() {
            Some(primary_arn) => Some(check_cross_account_replica(&self, primary_arn)?),
            None => None,
        };
        Ok(CreateSecretRequest {
            name,
            value: secret_value(self.secret_string, self.secret_binary)?,
            client_request_token: self.client_request_token,
            description: self.description,
            kms_key_id: self.kms_key_id,
            tags: tags.take(ok),
            add_replica_regions: regions.map(|r| r.take(ok)),
            force_overwrite_replica_secret: self.force_overwrite_replica_secret.unwrap_or(false),
            secret_type: self.secret_type,
            cross_account_primary,
        })
    }
}

pub async fn create_secret(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: CreateSecretRequest,
) -> ApiResult<SecretRefOutput> {
    let cross_account_primary = match input.cross_account_primary {
        // A request that names a primary carries no value, so no later check of the request
        // could have answered first.
        Some(primary) if primary.account == caller.account => {
            return Err(ApiError::invalid_parameter(
                messages::CROSS_ACCOUNT_PRIMARY_ARN,
            ))
        }
        Some(primary) => Some(CrossAccountPrimary {
            primary_arn: primary.arn,
            status: replicas::PENDING.to_string(),
        }),
        None => None,
    };
    let name = input.name;
    let value = input.value;

    let key = SecretKey {
        account: caller.account.clone(),
        region: caller.region.clone(),
        name: name.clone(),
    };
    // Authorized against the ARN the secret will have, as AWS does.
    let new_arn = arn::secret_arn(&key, &arn::random_suffix());
    super::access::authorize(ctx, caller, None, &new_arn)?;
    let txn = ctx.store.begin(&key).await?;
    let now = ctx.clock.now_millis();
    if let Some(existing) = txn.current().filter(|s| lookup::live(ctx, Some(s), None)) {
        if existing.is_scheduled_for_deletion() {
            return Err(ApiError::invalid_request(
                "You can't create this secret because a secret with this name is already scheduled for deletion.",
            ));
        }
        // Same token and same value is a retry of this very call: answer it again.
        if let (Some(token), Some(value)) = (input.client_request_token.as_deref(), &value) {
            let found = ctx.store.find_version(existing, token)?;
            if let Some(version) = found.filter(|v| v.has_value) {
                if txn.read_value(existing, &version)? == *value {
                    return Ok(SecretRefOutput {
                        version_id: Some(version.id.clone()),
                        ..refers_to(existing)
                    });
                }
                return Err(ApiError::new(
                    ErrorCode::ResourceExists,
                    messages::token_in_use(token, &existing.arn),
                ));
            }
        }
        return Err(ApiError::new(
            ErrorCode::ResourceExists,
            format!("The operation failed because the secret {name} already exists."),
        ));
    }

    let tags = input.tags;
    let mut secret = Secret {
        arn: new_arn,
        name,
        account: key.account.clone(),
        region: key.region.clone(),
        description: input.description.filter(|d| !d.is_empty()),
        kms_key_id: kms_key(input.kms_key_id),
        secret_type: input.secret_type.filter(|t| !t.is_empty()),
        tags: (!tags.is_empty()).then_some(tags),
        created_ms: now,
        last_changed_ms: now,
        last_accessed_ms: None,
        deleted_ms: None,
        versions: Vec::new(),
        cross_account_primary,
        ..Secret::default()
    };
    if let Some(regions) = &input.add_replica_regions {
        replication::add_replicas(
            ctx,
            &mut secret,
            regions,
            input.force_overwrite_replica_secret,
        )
        .await?;
    }
    let replication_status = (!secret.replicas.is_empty()).then(|| replication::statuses(&secret));
    let output = commit_with_value(
        ctx,
        txn,
        secret,
        input.client_request_token.as_deref(),
        value.as_ref(),
        now,
    )
    .await?;
    Ok(SecretRefOutput {
        replication_status,
        ..output
    })
}

/// The end of Create/UpdateSecret: writes the new value when there is one, commits, and
/// answers `ARN`, `Name` and, when a value was written, its `VersionId`.
pub(crate) async fn commit_with_value(
    ctx: &Ctx,
    mut txn: SecretTxn<'_>,
    mut secret: Secret,
    token: Option<&str>,
    value: Option<&SecretValue>,
    now: i64,
) -> ApiResult<SecretRefOutput> {
    let version_id = match value {
        Some(value) => {
            Some(write_value(&mut txn, &mut secret, token, value, None, now)?.version_id)
        }
        None => None,
    };
    commit(ctx, txn, &secret).await?;
    Ok(SecretRefOutput {
        version_id,
        ..refers_to(&secret)
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSecretOutput {
    #[serde(flatten)]
    pub metadata: SecretMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_ids_to_stages: Option<BTreeMap<String, Vec<String>>>,
}

impl Identified for DescribeSecretOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.metadata.arn),
            name: Some(self.metadata.name),
            version_id: None,
        }
    }
}

pub async fn describe_secret(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: SecretIdRequest,
) -> ApiResult<DescribeSecretOutput> {
    let secret = load(ctx, caller, &input.secret_id)?;
    Ok(DescribeSecretOutput {
        metadata: metadata(&secret),
        version_ids_to_stages: stages_map(&secret),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretInput {
    pub secret_id: Option<String>,
    pub client_request_token: Option<String>,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub secret_binary: Option<Blob>,
    pub secret_string: Option<String>,
    #[serde(rename = "Type")]
    pub secret_type: Option<String>,
}

pub struct UpdateSecretRequest {
    pub secret_id: String,
    pub client_request_token: Option<String>,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub value: Option<SecretValue>,
    pub secret_type: Option<String>,
}

impl Input for UpdateSecretInput {
    type Valid = UpdateSecretRequest;

    fn validate(self) -> ApiResult<UpdateSecretRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        check_common(
            &mut c,
            self.client_request_token.as_deref(),
            self.description.as_deref(),
            self.kms_key_id.as_deref(),
            self.secret_string.as_deref(),
            self.secret_binary.as_ref(),
            self.secret_type.as_deref(),
        );
        let ok = c.finish()?;
        Ok(UpdateSecretRequest {
            secret_id: secret_id.take(ok),
            value: secret_value(self.secret_string, self.secret_binary)?,
            client_request_token: self.client_request_token,
            description: self.description,
            kms_key_id: self.kms_key_id,
            secret_type: self.secret_type,
        })
    }
}

pub async fn update_secret(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: UpdateSecretRequest,
) -> ApiResult<SecretRefOutput> {
    let (txn, mut secret) = begin_active(ctx, caller, &input.secret_id).await?;
    super::lookup::forbid_owned(&secret)?;
    let now = ctx.clock.now_millis();
    if let Some(description) = input.description {
        secret.description = Some(description).filter(|d| !d.is_empty());
    }
    if input.kms_key_id.is_some() {
        secret.kms_key_id = kms_key(input.kms_key_id);
    }
    if let Some(secret_type) = input.secret_type {
        secret.secret_type = Some(secret_type).filter(|t| !t.is_empty());
    }
    secret.last_changed_ms = now;
    commit_with_value(
        ctx,
        txn,
        secret,
        input.client_request_token.as_deref(),
        input.value.as_ref(),
        now,
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretInput {
    pub secret_id: Option<String>,
    pub recovery_window_in_days: Option<i64>,
    pub force_delete_without_recovery: Option<bool>,
}

/// Replicas go through their primary; a primary goes only once its replicas are removed.
fn check_deletable(secret: &Secret) -> ApiResult<()> {
    lookup::forbid_replica(secret)?;
    super::lookup::forbid_owned(secret)?;
    if secret
        .cross_account_replicas
        .iter()
        .any(|r| r.status != replicas::DETACHED)
    {
        return Err(ApiError::invalid_request(format!(
            "You can't delete secret {} while it has a cross-account replica: disassociate it first.",
            secret.name
        )));
    }
    if !secret.replicas.is_empty() {
        let regions: Vec<&str> = secret.replicas.iter().map(|r| r.region.as_str()).collect();
        return Err(ApiError::invalid_request(format!(
            "You can't delete secret {} that still has replica regions [{}]",
            secret.name,
            regions.join(", ")
        )));
    }
    Ok(())
}

pub struct DeleteSecretRequest {
    pub secret_id: String,
    pub recovery_window_in_days: Option<i64>,
    pub force_delete_without_recovery: bool,
}

impl Input for DeleteSecretInput {
    type Valid = DeleteSecretRequest;

    fn validate(self) -> ApiResult<DeleteSecretRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let ok = c.finish()?;
        // The range is checked before the combination (real AWS text for window 0 + force).
        if let Some(days) = self.recovery_window_in_days {
            if !(7..=30).contains(&days) {
                return Err(ApiError::invalid_parameter(
                    "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
                ));
            }
        }
        let force = self.force_delete_without_recovery.unwrap_or(false);
        if force && self.recovery_window_in_days.is_some() {
            return Err(ApiError::invalid_parameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
            ));
        }
        Ok(DeleteSecretRequest {
            secret_id: secret_id.take(ok),
            recovery_window_in_days: self.recovery_window_in_days,
            force_delete_without_recovery: force,
        })
    }
}

pub async fn delete_secret(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: DeleteSecretRequest,
) -> ApiResult<SecretRefOutput> {
    let secret_id = input.secret_id.as_str();
    let force = input.force_delete_without_recovery;
    let now = ctx.clock.now_millis();

    if force {
        let (key, _) = resolve(caller, secret_id)?;
        return match begin_existing(ctx, caller, secret_id).await {
            Ok((txn, secret)) => {
                check_deletable(&secret)?;
                crate::app::remove(txn).await?;
                Ok(SecretRefOutput {
                    deletion_date: Some(EpochSeconds(now)),
                    ..refers_to(&secret)
                })
            }
            // AWS answers a forced delete of a missing secret as if it had existed.
            Err(e) if e.code == ErrorCode::ResourceNotFound => Ok(SecretRefOutput {
                arn: arn::secret_arn(&key, &arn::random_suffix()),
                name: secret_id.to_string(),
                deletion_date: Some(EpochSeconds(now)),
                version_id: None,
                replication_status: None,
            }),
            Err(e) => Err(e),
        };
    }

    let (txn, mut secret) = begin_existing(ctx, caller, secret_id).await?;
    check_deletable(&secret)?;
    if secret.is_scheduled_for_deletion() {
        return Err(ApiError::invalid_request(
            "You tried to perform the operation on a secret that's currently marked deleted.",
        ));
    }
    let at = now + input.recovery_window_in_days.unwrap_or(30) * DAY_MS;
    secret.deleted_ms = Some(at);
    commit(ctx, txn, &secret).await?;
    Ok(SecretRefOutput {
        deletion_date: Some(EpochSeconds(at)),
        ..refers_to(&secret)
    })
}

pub async fn restore_secret(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: SecretIdRequest,
) -> ApiResult<SecretRefOutput> {
    let (txn, mut secret) = begin_existing(ctx, caller, &input.secret_id).await?;
    lookup::forbid_replica(&secret)?;
    if secret.deleted_ms.take().is_some() {
        commit(ctx, txn, &secret).await?;
    }
    Ok(refers_to(&secret))
}
