//! Writing a secret's value: the rules CreateSecret, PutSecretValue and UpdateSecret share.

use crate::error::{messages, ApiError, ApiResult, ErrorCode};
use crate::model::secret::{Secret, SecretValue, Version, AWSCURRENT};
use crate::model::stages;
use crate::protocol::shapes::Blob;
use crate::rotation;
use crate::store::SecretTxn;

/// `SecretString` / `SecretBinary` of Create/Put/UpdateSecret: at most one of them.
pub(crate) fn secret_value(
    string: Option<String>,
    binary: Option<Blob>,
) -> ApiResult<Option<SecretValue>> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(ApiError::invalid_parameter(messages::BOTH_VALUES)),
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

/// Writes a new value under `token` (Create/Put/UpdateSecret share these rules,
/// docs/aws-behaviour.md §3.2):
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
    let token = token.ok_or_else(|| ApiError::invalid_request(messages::TOKEN_REQUIRED))?;
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
                messages::token_in_use(token, &secret.arn),
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
        rotation::on_new_current(secret, token, now_ms);
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
