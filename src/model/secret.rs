//! The secret as secretsd keeps it: metadata, tags and the list of versions with their staging
//! labels. Values are not here: they live encrypted in the store, keyed by version.

use super::arn::SecretKey;
use serde::{Deserialize, Serialize};

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
pub const AWSPENDING: &str = "AWSPENDING";

/// The key AWS uses when no `KmsKeyId` is given.
pub const DEFAULT_KMS_KEY: &str = "aws/secretsmanager";

/// A secret value: exactly one of `SecretString` / `SecretBinary`.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretValue {
    String(String),
    Binary(Vec<u8>),
}

impl std::fmt::Debug for SecretValue {
    /// Never prints the value: secrets must not reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretValue::String(_) => f.write_str("SecretValue::String(<redacted>)"),
            SecretValue::Binary(_) => f.write_str("SecretValue::Binary(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One version of a secret. `has_value` is false only for the value-less `AWSPENDING`
/// placeholder that RotateSecret creates.
///
/// Stored with one-letter field names and without defaults: a record carries its versions and
/// every put rewrites it, so each version should cost few bytes. Records written before read
/// through the aliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub id: String,
    #[serde(rename = "c", alias = "created_ms")]
    pub created_ms: i64,
    #[serde(
        rename = "a",
        alias = "last_accessed_ms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_accessed_ms: Option<i64>,
    /// Sorted, so responses are deterministic (AWS promises no order; docs/aws-behaviour.md §2.4).
    #[serde(
        rename = "s",
        alias = "stages",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub stages: Vec<String>,
    /// The KMS key the value was encrypted under; `None` is the default key.
    #[serde(
        rename = "k",
        alias = "kms_key_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kms_key_id: Option<String>,
    #[serde(
        rename = "v",
        alias = "has_value",
        default = "with_value",
        skip_serializing_if = "is_true"
    )]
    pub has_value: bool,
}

fn with_value() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Version {
    pub fn has_stage(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }

    /// Unlabelled versions are "deprecated": kept, hidden, pruned past the quota.
    pub fn is_deprecated(&self) -> bool {
        self.stages.is_empty()
    }
}

/// `RotationRules` as the client set them (echoed as given).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RotationRules {
    pub automatically_after_days: Option<i64>,
    pub schedule_expression: Option<String>,
    pub duration: Option<String>,
}

/// Rotation as configured by RotateSecret; `enabled` turns false on CancelRotateSecret, while
/// the function and rules stay visible (docs/aws-behaviour.md §R1.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationConfig {
    pub lambda_arn: String,
    pub rules: RotationRules,
    pub enabled: bool,
}

/// A rotation in progress: its token (the AWSPENDING version) never changes between attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationJob {
    pub token: String,
    /// `RotateImmediately=false`: only testSecret runs, against a copy of the current value.
    pub test: bool,
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    pub started_ms: i64,
    /// On a store several nodes share: the node running the job, and until when. Another node
    /// takes the job over once the lease has lapsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
}

/// A node's claim on a rotation job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The node's id, new at each start of a process.
    pub node: String,
    /// Wall-clock time (not the test clock): a lease is about the node being alive.
    pub until_ms: i64,
}

/// What happened to a rotation, named as CloudTrail names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationEvent {
    pub time_ms: i64,
    pub name: String,
    pub token: String,
    #[serde(default)]
    pub detail: Option<String>,
}

/// A replica of this secret in another Region of the same account (docs/aws-behaviour.md §3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub region: String,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// `InSync` or `Failed` (a secret of that name already lived there).
    pub status: String,
    #[serde(default)]
    pub status_message: Option<String>,
}

/// On a cross-account replica: the primary it follows (created with `CrossAccountPrimaryARN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossAccountPrimary {
    pub primary_arn: String,
    /// `Pending` until the primary associates it, then `InSync`, or `Detached`.
    pub status: String,
}

/// On a primary: a replica in another account that it feeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossAccountReplica {
    pub replica_arn: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    pub status: String,
}

/// A secret another service owns (`OwningService`, docs/aws-behaviour.md §R4.1), e.g. an RDS master
/// password: clients cannot change its value, labels or existence; the service rotates it
/// (RotateSecret without a Lambda). For RDS, the database it is the master login of, which the
/// secret's value (`username`, `password` only) does not say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// `rds`.
    pub service: String,
    /// `postgres`, `mysql` or `mariadb`.
    pub engine: String,
    pub host: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbname: Option<String>,
    /// As a database secret's `ssl` key: `None` tries TLS, then plain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<bool>,
}

/// Rotation events kept per secret.
pub const MAX_ROTATION_EVENTS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Secret {
    pub arn: String,
    pub name: String,
    pub account: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `None` means the default `aws/secretsmanager` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    /// `None` until the secret is first tagged: DescribeSecret then omits `Tags`, while a secret
    /// whose tags were all removed shows `"Tags": []` (docs/aws-behaviour.md §3.1 DescribeSecret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    pub created_ms: i64,
    pub last_changed_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_ms: Option<i64>,
    /// When set, the secret is scheduled for deletion at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_ms: Option<i64>,
    /// The resource policy (policy name `default`), as the client sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_ms: Option<i64>,
    /// `NextRotationDate`: the end of the next rotation window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_ms: Option<i64>,
    /// When the scheduler should next act on this secret (start a rotation, or retry one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_due_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_job: Option<RotationJob>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rotation_events: Vec<RotationEvent>,
    /// On a primary: its replicas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<Replica>,
    /// On a replica: the Region of its primary. Replicas are read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    /// `ExternalSecretRotationMetadata` / `…RoleArn` of managed external secrets: stored and
    /// echoed; secretsd does not drive such rotations itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_rotation_metadata: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_rotation_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_account_primary: Option<CrossAccountPrimary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cross_account_replicas: Vec<CrossAccountReplica>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<Ownership>,
    /// The versions the record holds, oldest first: every labelled version, and deprecated
    /// ones until the store sets them apart on commit (see `store`).
    pub versions: Vec<Version>,
    /// The deprecated versions the store keeps apart from this record: (creation time, 16-bit
    /// hash of the id) for each, which is where to find it and a quick "no" to a lookup by any
    /// other id (every put looks up its token). Only the store sets it.
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub deprecated: Vec<(i64, u16)>,
}

impl Secret {
    pub fn key(&self) -> SecretKey {
        SecretKey {
            account: self.account.clone(),
            region: self.region.clone(),
            name: self.name.clone(),
        }
    }

    /// A replica (of another Region, or of another account until detached) is written only by
    /// its primary.
    pub fn is_replica(&self) -> bool {
        self.primary_region.is_some()
            || self
                .cross_account_primary
                .as_ref()
                .is_some_and(|p| p.status != "Detached")
    }

    /// `PrimaryRegion` as AWS shows it: set on replicated primaries and on replicas.
    pub fn effective_primary_region(&self) -> Option<&str> {
        match &self.primary_region {
            Some(region) => Some(region),
            None if !self.replicas.is_empty() => Some(&self.region),
            None => None,
        }
    }

    pub fn is_scheduled_for_deletion(&self) -> bool {
        self.deleted_ms.is_some()
    }

    pub fn version(&self, id: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub fn version_mut(&mut self, id: &str) -> Option<&mut Version> {
        self.versions.iter_mut().find(|v| v.id == id)
    }

    pub fn version_with_stage(&self, stage: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.has_stage(stage))
    }

    /// Records a rotation event, keeping the newest `MAX_ROTATION_EVENTS`.
    pub fn record_rotation_event(
        &mut self,
        time_ms: i64,
        name: &str,
        token: &str,
        detail: Option<String>,
    ) {
        tracing::info!(secret = %self.arn, event = name, token, detail = detail.as_deref().unwrap_or(""), "rotation");
        self.rotation_events.push(RotationEvent {
            time_ms,
            name: name.to_string(),
            token: token.to_string(),
            detail,
        });
        let excess = self
            .rotation_events
            .len()
            .saturating_sub(MAX_ROTATION_EVENTS);
        self.rotation_events.drain(..excess);
    }

    /// Time of the last read, truncated to the day by the caller.
    pub fn touch(&mut self, version_id: &str, day_ms: i64) -> bool {
        let mut changed = self.last_accessed_ms != Some(day_ms);
        self.last_accessed_ms = Some(day_ms);
        if let Some(v) = self.version_mut(version_id) {
            changed |= v.last_accessed_ms != Some(day_ms);
            v.last_accessed_ms = Some(day_ms);
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    #[test]
    fn versions_are_stored_short_and_read_in_both_forms() {
        let deprecated = Version {
            id: "8a1f7c2e-3b4d-4e5f-9a0b-1c2d3e4f5a6b".into(),
            created_ms: 1_764_528_000_000,
            last_accessed_ms: None,
            stages: Vec::new(),
            kms_key_id: None,
            has_value: true,
        };
        let json = serde_json::to_string(&deprecated).unwrap();
        assert_eq!(
            json,
            r#"{"id":"8a1f7c2e-3b4d-4e5f-9a0b-1c2d3e4f5a6b","c":1764528000000}"#
        );
        assert_eq!(serde_json::from_str::<Version>(&json).unwrap(), deprecated);

        let pending = Version {
            stages: vec!["AWSPENDING".into()],
            last_accessed_ms: Some(1_764_460_800_000),
            kms_key_id: Some("alias/app".into()),
            has_value: false,
            ..deprecated.clone()
        };
        let json = serde_json::to_string(&pending).unwrap();
        assert_eq!(serde_json::from_str::<Version>(&json).unwrap(), pending);

        // As records were written before the short names.
        let old = r#"{"id":"8a1f7c2e-3b4d-4e5f-9a0b-1c2d3e4f5a6b","created_ms":1764528000000,"last_accessed_ms":1764460800000,"stages":["AWSPENDING"],"kms_key_id":"alias/app","has_value":false}"#;
        assert_eq!(serde_json::from_str::<Version>(old).unwrap(), pending);
        let old = r#"{"id":"8a1f7c2e-3b4d-4e5f-9a0b-1c2d3e4f5a6b","created_ms":1764528000000,"stages":[],"has_value":true}"#;
        assert_eq!(serde_json::from_str::<Version>(old).unwrap(), deprecated);
    }
}
