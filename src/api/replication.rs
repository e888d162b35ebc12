//! Replication (docs/aws-behaviour.md §3.6): to other Regions of the same account, and to a replica
//! another account created for it (cross-account). A replica is a real secret in
//! its Region, readable there by clients configured for it, read-only, and kept in step with the
//! primary's values, labels and metadata after every change of the primary.

use super::access::Call;
use super::lookup::{begin_existing, check_secret_id, SecretIdRequest};
use super::output::Identified;
use crate::app::replicas::{self, DETACHED, FAILED, IN_SYNC};
use crate::app::{commit, Ctx};
use crate::audit::ResponseIds;
use crate::error::{ApiError, ApiResult};
use crate::model::arn::{self, SecretKey, SecretRef};
use crate::model::secret::{CrossAccountReplica, Replica, Secret};
use crate::model::validate::{Checked, Constraints, Required};
use crate::protocol::shapes::EpochSeconds;
use crate::protocol::Input;
use serde::{Deserialize, Serialize};

fn region_ok(region: &str) -> bool {
    // ^([a-z]+-)+\d+$
    let Some((head, digits)) = region.rsplit_once('-') else {
        return false;
    };
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && head
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
}

/// A Region member: required, 1–128 characters, AWS's pattern.
fn check_region(c: &mut Constraints, path: &str, region: Option<String>) -> Required<String> {
    let region = c.required_length(path, region, 1, 128);
    if let Some(r) = region.given_str().filter(|r| !region_ok(r)) {
        c.pattern(path, r, r"^([a-z]+-)+\d+$");
    }
    region
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaRegionShape {
    pub region: Option<String>,
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationStatusShape {
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<EpochSeconds>,
}

/// `ReplicationStatus` of a primary, as DescribeSecret and the replication calls show it.
pub fn statuses(primary: &Secret) -> Vec<ReplicationStatusShape> {
    primary
        .replicas
        .iter()
        .map(|r| ReplicationStatusShape {
            region: r.region.clone(),
            kms_key_id: r.kms_key_id.clone(),
            status: r.status.clone(),
            status_message: r.status_message.clone(),
            last_accessed_date: None,
        })
        .collect()
}

/// A Region to replicate to, as checked.
#[derive(Debug)]
pub struct ReplicaRegion {
    pub region: String,
    pub kms_key_id: Option<String>,
}

/// `AddReplicaRegions` as checked, before `Constraints::finish` has confirmed their Regions.
pub struct CheckedRegions(Vec<(Required<String>, Option<String>)>);

impl CheckedRegions {
    pub fn take(self, ok: Checked) -> Vec<ReplicaRegion> {
        self.0
            .into_iter()
            .map(|(region, kms_key_id)| ReplicaRegion {
                region: region.take(ok),
                kms_key_id,
            })
            .collect()
    }
}

/// Validates `AddReplicaRegions` (shared with CreateSecret).
pub fn check_add_regions(c: &mut Constraints, regions: &[ReplicaRegionShape]) -> CheckedRegions {
    c.items("addReplicaRegions", Some(regions), 1, usize::MAX);
    let mut checked = Vec::with_capacity(regions.len());
    for (i, r) in regions.iter().enumerate() {
        let path = format!("addReplicaRegions.{}.member", i + 1);
        let region = check_region(c, &format!("{path}.region"), r.region.clone());
        c.length(
            &format!("{path}.kmsKeyId"),
            r.kms_key_id.as_deref(),
            0,
            2048,
        );
        checked.push((region, r.kms_key_id.clone()));
    }
    CheckedRegions(checked)
}

/// Adds replicas to `primary` (not yet committed) and creates them; a Region that already holds
/// another secret of that name gets status `Failed` unless `force` replaces it.
pub async fn add_replicas(
    ctx: &Ctx,
    primary: &mut Secret,
    regions: &[ReplicaRegion],
    force: bool,
) -> ApiResult<()> {
    for r in regions {
        let region = r.region.clone();
        if region == primary.region {
            return Err(ApiError::invalid_parameter("Invalid replica region."));
        }
        if primary.replicas.iter().any(|x| x.region == region) {
            continue;
        }
        let key = SecretKey {
            account: primary.account.clone(),
            region: region.clone(),
            name: primary.name.clone(),
        };
        let occupied = ctx.store.get(&key)?.is_some();
        let (status, status_message) = if occupied && !force {
            (
                FAILED.to_string(),
                Some(
                    "Replication failed: Secret with this name already exists in this region."
                        .to_string(),
                ),
            )
        } else {
            if occupied {
                crate::app::remove(ctx.store.begin(&key).await?).await?;
            }
            (IN_SYNC.to_string(), None)
        };
        primary.replicas.push(Replica {
            region,
            kms_key_id: r.kms_key_id.clone().filter(|k| !k.is_empty()),
            status,
            status_message,
        });
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateSecretToRegionsInput {
    pub secret_id: Option<String>,
    pub add_replica_regions: Option<Vec<ReplicaRegionShape>>,
    pub force_overwrite_replica_secret: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub replication_status: Vec<ReplicationStatusShape>,
}

impl Identified for ReplicationOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: None,
            version_id: None,
        }
    }
}

pub struct ReplicateSecretToRegionsRequest {
    pub secret_id: String,
    pub add_replica_regions: Vec<ReplicaRegion>,
    pub force_overwrite_replica_secret: bool,
}

impl Input for ReplicateSecretToRegionsInput {
    type Valid = ReplicateSecretToRegionsRequest;

    fn validate(self) -> ApiResult<ReplicateSecretToRegionsRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let regions = c.required("addReplicaRegions", self.add_replica_regions);
        // An absent list is also shorter than its minimum: AWS reports both.
        let regions = check_add_regions(&mut c, regions.given().map_or(&[][..], Vec::as_slice));
        let ok = c.finish()?;
        Ok(ReplicateSecretToRegionsRequest {
            secret_id: secret_id.take(ok),
            add_replica_regions: regions.take(ok),
            force_overwrite_replica_secret: self.force_overwrite_replica_secret.unwrap_or(false),
        })
    }
}

pub async fn replicate_secret_to_regions(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: ReplicateSecretToRegionsRequest,
) -> ApiResult<ReplicationOutput> {
    let (txn, mut secret) = super::lookup::begin_active(ctx, caller, &input.secret_id).await?;
    add_replicas(
        ctx,
        &mut secret,
        &input.add_replica_regions,
        input.force_overwrite_replica_secret,
    )
    .await?;
    commit(ctx, txn, &secret).await?;
    Ok(ReplicationOutput {
        replication_status: statuses(&secret),
        arn: secret.arn,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveRegionsFromReplicationInput {
    pub secret_id: Option<String>,
    pub remove_replica_regions: Option<Vec<String>>,
}

pub struct RemoveRegionsFromReplicationRequest {
    pub secret_id: String,
    pub remove_replica_regions: Vec<String>,
}

impl Input for RemoveRegionsFromReplicationInput {
    type Valid = RemoveRegionsFromReplicationRequest;

    fn validate(self) -> ApiResult<RemoveRegionsFromReplicationRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let regions = c.required("removeReplicaRegions", self.remove_replica_regions);
        // An absent list is also shorter than its minimum: AWS reports both.
        let listed = regions.given().map_or(&[][..], Vec::as_slice);
        c.items("removeReplicaRegions", Some(listed), 1, usize::MAX);
        for (i, r) in listed.iter().enumerate() {
            let path = format!("removeReplicaRegions.{}.member", i + 1);
            check_region(&mut c, &path, Some(r.clone()));
        }
        let ok = c.finish()?;
        Ok(RemoveRegionsFromReplicationRequest {
            secret_id: secret_id.take(ok),
            remove_replica_regions: regions.take(ok),
        })
    }
}

/// Deletes the listed replicas at once.
pub async fn remove_regions_from_replication(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: RemoveRegionsFromReplicationRequest,
) -> ApiResult<ReplicationOutput> {
    let regions = input.remove_replica_regions;
    let (txn, mut secret) = super::lookup::begin_active(ctx, caller, &input.secret_id).await?;
    for region in &regions {
        if let Some(i) = secret.replicas.iter().position(|r| &r.region == region) {
            let replica = secret.replicas.remove(i);
            let key = SecretKey {
                account: secret.account.clone(),
                region: replica.region.clone(),
                name: secret.name.clone(),
            };
            let replica_txn = ctx.store.begin(&key).await?;
            if replica_txn.current().is_some_and(|s| s.is_replica()) {
                crate::app::remove(replica_txn).await?;
            }
        }
    }
    commit(ctx, txn, &secret).await?;
    Ok(ReplicationOutput {
        replication_status: statuses(&secret),
        arn: secret.arn,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopReplicationOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
}

impl Identified for StopReplicationOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: None,
            version_id: None,
        }
    }
}

/// Called in the replica's Region: the replica becomes a standalone secret.
pub async fn stop_replication_to_replica(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: SecretIdRequest,
) -> ApiResult<StopReplicationOutput> {
    let (txn, mut secret) = begin_existing(ctx, caller, &input.secret_id).await?;
    let Some(primary_region) = secret.primary_region.take() else {
        return Err(ApiError::invalid_request(
            "StopReplicationToReplica must be called on a replica secret, in the replica's Region.",
        ));
    };
    commit(ctx, txn, &secret).await?;
    let primary_key = SecretKey {
        account: secret.account.clone(),
        region: primary_region,
        name: secret.name.clone(),
    };
    let primary_txn = ctx.store.begin(&primary_key).await?;
    if let Some(mut primary) = primary_txn.current().cloned() {
        primary.replicas.retain(|r| r.region != secret.region);
        commit(ctx, primary_txn, &primary).await?;
    }
    Ok(StopReplicationOutput { arn: secret.arn })
}

#[cfg(test)]
mod tests {
    use super::region_ok;

    #[test]
    fn region_pattern() {
        for ok in ["us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1"] {
            assert!(region_ok(ok), "{ok}");
        }
        for bad in [
            "us-east",
            "US-east-1",
            "useast1",
            "-1",
            "us--1",
            "us-east-1a",
        ] {
            assert!(!region_ok(bad), "{bad}");
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssociateCrossAccountReplicaInput {
    pub secret_id: Option<String>,
    #[serde(rename = "CrossAccountReplicaARN")]
    pub cross_account_replica_arn: Option<String>,
    pub replica_restriction: Option<String>,
    #[serde(rename = "ReplicationRoleARN")]
    pub replication_role_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CrossAccountOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "CrossAccountReplicaARN")]
    pub cross_account_replica_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<String>,
}

impl Identified for CrossAccountOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: None,
            version_id: None,
        }
    }
}

fn check_replica_arn(c: &mut Constraints, arn: Option<String>) -> Required<String> {
    c.required_length("crossAccountReplicaARN", arn, 20, 2048)
}

pub struct AssociateCrossAccountReplicaRequest {
    pub secret_id: String,
    pub cross_account_replica_arn: String,
    pub replication_role_arn: Option<String>,
}

impl Input for AssociateCrossAccountReplicaInput {
    type Valid = AssociateCrossAccountReplicaRequest;

    fn validate(self) -> ApiResult<AssociateCrossAccountReplicaRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let replica_arn = check_replica_arn(&mut c, self.cross_account_replica_arn);
        c.length(
            "replicationRoleARN",
            self.replication_role_arn.as_deref(),
            20,
            2048,
        );
        if let Some(r) = self
            .replica_restriction
            .as_deref()
            .filter(|r| *r != "SameOrg" && *r != "NoRestriction")
        {
            c.enum_value("replicaRestriction", r, "[SameOrg, NoRestriction]");
        }
        let ok = c.finish()?;
        Ok(AssociateCrossAccountReplicaRequest {
            secret_id: secret_id.take(ok),
            cross_account_replica_arn: replica_arn.take(ok),
            replication_role_arn: self.replication_role_arn,
        })
    }
}

/// Links a primary to the replica another account created for it (`CrossAccountPrimaryARN`)
/// and starts feeding it. At most one cross-account replica per primary.
pub async fn associate_cross_account_replica(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: AssociateCrossAccountReplicaRequest,
) -> ApiResult<CrossAccountOutput> {
    let replica_arn = input.cross_account_replica_arn;
    let (txn, mut primary) = super::lookup::begin_active(ctx, caller, &input.secret_id).await?;
    let SecretRef::FullArn { key, arn } = arn::parse_secret_id(&replica_arn)? else {
        return Err(ApiError::invalid_parameter(
            "CrossAccountReplicaARN must be the full ARN of the replica secret.",
        ));
    };
    let replica = ctx
        .store
        .get(&key)?
        .filter(|s| s.arn == arn)
        .ok_or_else(ApiError::secret_not_found)?;
    if replica
        .cross_account_primary
        .as_ref()
        .map(|p| p.primary_arn.as_str())
        != Some(primary.arn.as_str())
    {
        return Err(ApiError::invalid_parameter(
            "The replica secret was not created with CrossAccountPrimaryARN set to this secret.",
        ));
    }
    let already = primary
        .cross_account_replicas
        .iter()
        .any(|r| r.replica_arn == arn && r.status == IN_SYNC);
    if !already {
        if primary
            .cross_account_replicas
            .iter()
            .any(|r| r.status == IN_SYNC)
        {
            return Err(ApiError::new(
                crate::error::ErrorCode::LimitExceeded,
                "A primary secret can have at most one cross-account replica.",
            ));
        }
        primary
            .cross_account_replicas
            .retain(|r| r.replica_arn != arn);
        primary.cross_account_replicas.push(CrossAccountReplica {
            replica_arn: arn.clone(),
            role_arn: input.replication_role_arn.clone(),
            status: IN_SYNC.to_string(),
        });
        commit(ctx, txn, &primary).await?;
        set_primary_status(ctx, &key, &arn, IN_SYNC).await?;
        // Now that the replica knows its primary, it can follow it.
        replicas::sync_cross_account(ctx, &primary).await?;
    }
    Ok(CrossAccountOutput {
        arn: primary.arn,
        cross_account_replica_arn: arn,
        replication_status: Some(IN_SYNC.to_string()),
    })
}

async fn set_primary_status(ctx: &Ctx, key: &SecretKey, arn: &str, status: &str) -> ApiResult<()> {
    let txn = ctx.store.begin(key).await?;
    if let Some(mut replica) = txn.current().cloned().filter(|s| s.arn == arn) {
        if let Some(p) = replica.cross_account_primary.as_mut() {
            p.status = status.to_string();
        }
        commit(ctx, txn, &replica).await?;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisassociateCrossAccountReplicaInput {
    pub secret_id: Option<String>,
    #[serde(rename = "CrossAccountReplicaARN")]
    pub cross_account_replica_arn: Option<String>,
}

pub struct DisassociateCrossAccountReplicaRequest {
    pub secret_id: String,
    pub cross_account_replica_arn: String,
}

impl Input for DisassociateCrossAccountReplicaInput {
    type Valid = DisassociateCrossAccountReplicaRequest;

    fn validate(self) -> ApiResult<DisassociateCrossAccountReplicaRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let replica_arn = check_replica_arn(&mut c, self.cross_account_replica_arn);
        let ok = c.finish()?;
        Ok(DisassociateCrossAccountReplicaRequest {
            secret_id: secret_id.take(ok),
            cross_account_replica_arn: replica_arn.take(ok),
        })
    }
}

/// Stops feeding a cross-account replica: both sides show `Detached`, and the replica becomes a
/// secret of its own.
pub async fn disassociate_cross_account_replica(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: DisassociateCrossAccountReplicaRequest,
) -> ApiResult<CrossAccountOutput> {
    let replica_arn = input.cross_account_replica_arn;
    let (txn, mut primary) = super::lookup::begin_active(ctx, caller, &input.secret_id).await?;
    let link = primary
        .cross_account_replicas
        .iter_mut()
        .find(|r| r.replica_arn == replica_arn)
        .ok_or_else(|| {
            ApiError::invalid_parameter(
                "The replica secret is not a cross-account replica of this secret.",
            )
        })?;
    link.status = DETACHED.to_string();
    commit(ctx, txn, &primary).await?;
    if let Ok(SecretRef::FullArn { key, arn }) = arn::parse_secret_id(&replica_arn) {
        set_primary_status(ctx, &key, &arn, DETACHED).await?;
    }
    Ok(CrossAccountOutput {
        arn: primary.arn,
        cross_account_replica_arn: replica_arn,
        replication_status: None,
    })
}
