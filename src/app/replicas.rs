//! The replication sync engine: after every change of a primary, each in-sync replica — in
//! another Region of the account, or a cross-account replica that follows it — receives the
//! primary's versions, labels and values (docs/aws-behaviour.md §3.6).

use super::ctx::Ctx;
use crate::error::{ApiResult, ErrorCode};
use crate::model::arn::{self, SecretKey, SecretRef};
use crate::model::secret::{Secret, Version};
use crate::model::stages;
use crate::store::SecretTxn;

pub const IN_SYNC: &str = "InSync";
pub const FAILED: &str = "Failed";
pub const DETACHED: &str = "Detached";
pub const PENDING: &str = "Pending";

/// The primary as its replica in `region` shows it: same name and suffix, that Region's ARN,
/// read-only, no replicas, rotation and policy of its own left alone.
fn replica_record(primary: &Secret, region: &str, existing: Option<&Secret>) -> Secret {
    let suffix = &primary.arn[primary.arn.len() - 6..];
    let key = SecretKey {
        account: primary.account.clone(),
        region: region.to_string(),
        name: primary.name.clone(),
    };
    let kms_key_id = primary
        .replicas
        .iter()
        .find(|r| r.region == region)
        .and_then(|r| r.kms_key_id.clone());
    Secret {
        arn: arn::secret_arn(&key, suffix),
        region: region.to_string(),
        kms_key_id,
        replicas: Vec::new(),
        cross_account_replicas: Vec::new(),
        primary_region: Some(primary.region.clone()),
        rotation: None,
        rotation_job: None,
        rotation_due_ms: None,
        rotation_events: Vec::new(),
        last_accessed_ms: existing.and_then(|e| e.last_accessed_ms),
        resource_policy: existing.and_then(|e| e.resource_policy.clone()),
        ..primary.clone()
    }
}

/// Brings every in-sync replica of `primary` up to date; values the replica lacks are re-sealed
/// under the replica's ARN. Called after each committed change of a replicated primary.
pub async fn sync(ctx: &Ctx, primary: &Secret) -> ApiResult<()> {
    for replica in primary.replicas.iter().filter(|r| r.status == IN_SYNC) {
        let key = SecretKey {
            account: primary.account.clone(),
            region: replica.region.clone(),
            name: primary.name.clone(),
        };
        let mut txn = ctx.store.begin(&key).await?;
        let existing = txn.current().cloned();
        if existing.as_ref().is_some_and(|e| !e.is_replica()) {
            continue; // promoted meanwhile: no longer ours to write
        }
        let mut record = replica_record(primary, &replica.region, existing.as_ref());
        follow_versions(ctx, &mut txn, primary, &mut record, existing.as_ref())?;
        write_replica(txn, &record).await?;
    }
    Ok(())
}

/// Every replica of `primary`, in other Regions and other accounts.
pub async fn sync_all(ctx: &Ctx, primary: &Secret) -> ApiResult<()> {
    if !primary.replicas.is_empty() {
        sync(ctx, primary).await?;
    }
    if !primary.cross_account_replicas.is_empty() {
        sync_cross_account(ctx, primary).await?;
    }
    Ok(())
}

/// Gives `record`, a replica's, the versions and labels of `primary`. Values new to the replica
/// are re-sealed under its ARN and key, and versions keep its key id. Versions the replica holds
/// and the primary no longer labels stay on it, deprecated, and are pruned as the primary's
/// are; a new replica also receives the primary's deprecated versions.
fn follow_versions(
    ctx: &Ctx,
    txn: &mut SecretTxn<'_>,
    primary: &Secret,
    record: &mut Secret,
    existing: Option<&Secret>,
) -> ApiResult<()> {
    let mut incoming = primary.versions.clone();
    let mut previous = existing.cloned();
    match previous.as_mut() {
        // A version the primary labels again may be kept apart on the replica: take it back.
        Some(previous) => {
            for version in &incoming {
                txn.version(previous, &version.id)?;
            }
        }
        None => {
            for version in ctx.store.deprecated_versions(primary)? {
                if primary.version(&version.id).is_none() {
                    incoming.push(version);
                }
            }
            incoming.sort_by_key(|v| v.created_ms);
        }
    }
    for version in incoming.iter().filter(|v| v.has_value) {
        let present = previous
            .as_ref()
            .and_then(|p| p.version(&version.id))
            .is_some_and(|v| v.has_value);
        if !present {
            let value = txn.read_value(primary, version)?;
            txn.put_value(record, &version.id, &value);
        }
    }
    let dropped: Vec<Version> = previous
        .iter()
        .flat_map(|p| &p.versions)
        .filter(|v| !incoming.iter().any(|i| i.id == v.id))
        .map(|v| Version {
            stages: Vec::new(),
            ..v.clone()
        })
        .collect();
    record.versions = dropped.into_iter().chain(incoming).collect();
    for v in record.versions.iter_mut() {
        v.kms_key_id = record.kms_key_id.clone();
    }
    // Best effort: a replica never refuses its primary's change over its own quota.
    match stages::prune(&mut record.versions, txn, ctx.clock.now_millis()) {
        Err(e) if e.code != ErrorCode::LimitExceeded => Err(e),
        _ => Ok(()),
    }
}

/// Brings the cross-account replicas that follow `primary` up to date: versions, labels and
/// values; the replica keeps its own name, ARN, key and metadata.
pub async fn sync_cross_account(ctx: &Ctx, primary: &Secret) -> ApiResult<()> {
    for link in primary
        .cross_account_replicas
        .iter()
        .filter(|r| r.status == IN_SYNC)
    {
        let Ok(SecretRef::FullArn { key, arn }) = arn::parse_secret_id(&link.replica_arn) else {
            continue;
        };
        let mut txn = ctx.store.begin(&key).await?;
        let Some(existing) = txn.current().cloned().filter(|s| s.arn == arn) else {
            continue;
        };
        if existing
            .cross_account_primary
            .as_ref()
            .map(|p| p.status.as_str())
            != Some(IN_SYNC)
        {
            continue;
        }
        let mut record = existing.clone();
        record.last_changed_ms = primary.last_changed_ms;
        follow_versions(ctx, &mut txn, primary, &mut record, Some(&existing))?;
        write_replica(txn, &record).await?;
    }
    Ok(())
}

/// Writes a replica's record as the sync engine made it. Nothing is synced on from it:
/// replication goes one hop, from a primary to its replicas.
async fn write_replica(txn: SecretTxn<'_>, record: &Secret) -> ApiResult<()> {
    txn.commit(Some(record)).await
}
