//! Sealing: every record, kept-apart version and value is AES-256-GCM sealed and bound to where
//! it lives (its key, or its secret's ARN and version id), so bytes damaged on disk or moved to
//! another key are refused rather than served.

use super::crypto::{Crypto, MasterKey};
use super::error::{StoreError, StoreResult};
use super::keys::KEY_CHECK;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::model::arn::SecretKey;
use crate::model::secret::{Secret, SecretValue, Version, DEFAULT_KMS_KEY};

const KEY_CHECK_PLAINTEXT: &[u8] = b"secretsd master key check";

pub struct Sealer(Crypto);

impl Sealer {
    pub fn new(master: MasterKey) -> Sealer {
        Sealer(Crypto::new(master))
    }

    /// The marker that proves the master key fits (`keys::KEY_CHECK`).
    pub fn key_check(&self) -> Vec<u8> {
        self.0.seal(DEFAULT_KMS_KEY, KEY_CHECK, KEY_CHECK_PLAINTEXT)
    }

    pub fn check_key(&self, sealed: &[u8]) -> StoreResult<()> {
        match self.0.open(DEFAULT_KMS_KEY, KEY_CHECK, sealed) {
            Ok(plain) if plain == KEY_CHECK_PLAINTEXT => Ok(()),
            _ => Err(StoreError::WrongMasterKey),
        }
    }

    pub fn seal_record(&self, key: &[u8], secret: &Secret) -> StoreResult<Vec<u8>> {
        let json = serde_json::to_vec(secret).map_err(StoreError::engine)?;
        Ok(self.0.seal(DEFAULT_KMS_KEY, key, &json))
    }

    pub fn open_record(&self, key: &[u8], sealed: &[u8]) -> StoreResult<Secret> {
        let damaged = |why: &dyn std::fmt::Display| {
            StoreError::Damaged(format!(
                "the record under {} cannot be read ({why})",
                String::from_utf8_lossy(&key[1..]).replace('\0', "/")
            ))
        };
        let json = self
            .0
            .open(DEFAULT_KMS_KEY, key, sealed)
            .map_err(|_| damaged(&"it does not decrypt"))?;
        serde_json::from_slice(&json).map_err(|e| damaged(&e))
    }

    pub fn seal_version(&self, key: &[u8], version: &Version) -> StoreResult<Vec<u8>> {
        let json = serde_json::to_vec(version).map_err(StoreError::engine)?;
        Ok(self.0.seal(DEFAULT_KMS_KEY, key, &json))
    }

    /// A deprecated version's metadata kept apart under `k`.
    pub fn open_version(&self, k: &[u8], sealed: &[u8], owner: &SecretKey) -> StoreResult<Version> {
        self.0
            .open(DEFAULT_KMS_KEY, k, sealed)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| {
                StoreError::Damaged(format!(
                    "a deprecated version of {} cannot be read",
                    owner.name
                ))
            })
    }

    /// `value` sealed as version `version_id` of `secret`, under the secret's KMS key.
    pub fn seal_value(&self, secret: &Secret, version_id: &str, value: &SecretValue) -> Vec<u8> {
        let kms = secret.kms_key_id.as_deref().unwrap_or(DEFAULT_KMS_KEY);
        self.0
            .seal(kms, &binding(secret, version_id), &encode_value(value))
    }

    /// A value that does not open is AWS's `DecryptionFailure`, not damage: that is what a
    /// client sees when a secret's KMS key cannot decrypt it.
    pub fn open_value(
        &self,
        secret: &Secret,
        version: &Version,
        sealed: &[u8],
    ) -> ApiResult<SecretValue> {
        let kms = version.kms_key_id.as_deref().unwrap_or(DEFAULT_KMS_KEY);
        self.0
            .open(kms, &binding(secret, &version.id), sealed)
            .ok()
            .and_then(decode_value)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::DecryptionFailure,
                    "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
                )
            })
    }
}

/// Associated data of a sealed value: its secret's ARN and its version id.
fn binding(secret: &Secret, version_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(secret.arn.len() + version_id.len() + 1);
    aad.extend_from_slice(secret.arn.as_bytes());
    aad.push(0);
    aad.extend_from_slice(version_id.as_bytes());
    aad
}

fn encode_value(value: &SecretValue) -> Vec<u8> {
    match value {
        SecretValue::String(s) => [b"s".as_slice(), s.as_bytes()].concat(),
        SecretValue::Binary(b) => [b"b".as_slice(), b.as_slice()].concat(),
    }
}

fn decode_value(mut bytes: Vec<u8>) -> Option<SecretValue> {
    if bytes.is_empty() {
        return None;
    }
    let kind = bytes.remove(0);
    match kind {
        b's' => String::from_utf8(bytes).ok().map(SecretValue::String),
        b'b' => Some(SecretValue::Binary(bytes)),
        _ => None,
    }
}
