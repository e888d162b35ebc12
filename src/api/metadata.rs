//! What DescribeSecret and ListSecrets show of a secret (docs/aws-behaviour.md §3.1).

use super::replication::{self, ReplicationStatusShape};
use super::rotation::RotationRulesShape;
use super::tags::TagShape;
use crate::model::secret::Secret;
use crate::protocol::shapes::EpochSeconds;
use serde::Serialize;
use std::collections::BTreeMap;

/// What DescribeSecret and ListSecrets both show of a secret: only members that have a value
/// (docs/aws-behaviour.md §3.1). The two differ only in the name of the stages map.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SecretMetadata {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_enabled: Option<bool>,
    #[serde(rename = "RotationLambdaARN", skip_serializing_if = "Option::is_none")]
    pub rotation_lambda_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owning_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_rules: Option<RotationRulesShape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_secret_rotation_metadata: Option<Vec<TagShape>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_secret_rotation_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rotated_date: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_changed_date: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagShape>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<Vec<ReplicationStatusShape>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_account_primary: Option<CrossAccountPrimaryShape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_account_replicas: Option<Vec<CrossAccountReplicaShape>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CrossAccountPrimaryShape {
    #[serde(rename = "PrimarySecretARN")]
    pub primary_secret_arn: String,
    pub replication_status: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CrossAccountReplicaShape {
    #[serde(rename = "ReplicaSecretARN")]
    pub replica_secret_arn: String,
    #[serde(rename = "ReplicationRoleARN", skip_serializing_if = "Option::is_none")]
    pub replication_role_arn: Option<String>,
    pub replication_status: String,
}

pub fn metadata(secret: &Secret) -> SecretMetadata {
    SecretMetadata {
        arn: secret.arn.clone(),
        name: secret.name.clone(),
        secret_type: secret.secret_type.clone(),
        description: secret.description.clone(),
        kms_key_id: secret.kms_key_id.clone(),
        // Rotation members appear once rotation was configured (docs/aws-behaviour.md §R1.10).
        rotation_enabled: secret.rotation.as_ref().map(|r| r.enabled),
        // Managed rotation has no function (docs/aws-behaviour.md §R4.1).
        rotation_lambda_arn: secret
            .rotation
            .as_ref()
            .map(|r| r.lambda_arn.clone())
            .filter(|arn| !arn.is_empty()),
        owning_service: secret.owned_by.as_ref().map(|o| o.service.clone()),
        rotation_rules: secret
            .rotation
            .as_ref()
            .map(|r| RotationRulesShape::from(&r.rules)),
        external_secret_rotation_metadata: (!secret.external_rotation_metadata.is_empty()).then(
            || {
                secret
                    .external_rotation_metadata
                    .iter()
                    .map(TagShape::from)
                    .collect()
            },
        ),
        external_secret_rotation_role_arn: secret.external_rotation_role_arn.clone(),
        last_rotated_date: secret.last_rotated_ms.map(EpochSeconds),
        next_rotation_date: secret
            .next_rotation_ms
            .filter(|_| secret.rotation.as_ref().is_some_and(|r| r.enabled))
            .map(EpochSeconds),
        last_changed_date: Some(EpochSeconds(secret.last_changed_ms)),
        last_accessed_date: secret.last_accessed_ms.map(EpochSeconds),
        deleted_date: secret.deleted_ms.map(EpochSeconds),
        tags: secret
            .tags
            .as_ref()
            .map(|tags| tags.iter().map(TagShape::from).collect()),
        created_date: Some(EpochSeconds(secret.created_ms)),
        primary_region: secret.effective_primary_region().map(str::to_string),
        replication_status: (!secret.replicas.is_empty()).then(|| replication::statuses(secret)),
        cross_account_primary: secret.cross_account_primary.as_ref().map(|p| {
            CrossAccountPrimaryShape {
                primary_secret_arn: p.primary_arn.clone(),
                replication_status: p.status.clone(),
            }
        }),
        cross_account_replicas: (!secret.cross_account_replicas.is_empty()).then(|| {
            secret
                .cross_account_replicas
                .iter()
                .map(|r| CrossAccountReplicaShape {
                    replica_secret_arn: r.replica_arn.clone(),
                    replication_role_arn: r.role_arn.clone(),
                    replication_status: r.status.clone(),
                })
                .collect()
        }),
    }
}

/// Version id → labels, for versions that have labels; `None` when there are none.
pub fn stages_map(secret: &Secret) -> Option<BTreeMap<String, Vec<String>>> {
    let stages: BTreeMap<String, Vec<String>> = secret
        .versions
        .iter()
        .filter(|v| !v.is_deprecated())
        .map(|v| (v.id.clone(), v.stages.clone()))
        .collect();
    (!stages.is_empty()).then_some(stages)
}
