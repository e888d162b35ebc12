//! The signing key: derived from the secret key and the credential scope, and kept per scope.

use super::authorization::Authorization;
use super::request::TERMINATOR;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A derived signing key, kept keyed: HMAC hashes its inner and outer key pads once per key
/// instead of once per request.
#[derive(Clone)]
pub struct SigningKey(Hmac<Sha256>);

impl SigningKey {
    fn new(key: &[u8; 32]) -> Self {
        SigningKey(<Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length"))
    }

    /// HMAC-SHA256 of `data` under this key.
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)") // key material stays out of logs
    }
}

/// One credential's signing keys by scope (date, region, service), as SDKs keep them: the key
/// changes once a day, and deriving it costs four HMACs, which no request should repeat.
#[derive(Debug, Default)]
pub struct SigningKeyCache(std::sync::Mutex<Vec<ScopedKey>>);

#[derive(Debug)]
struct ScopedKey {
    date: String,
    region: String,
    service: String,
    key: SigningKey,
}

/// Scopes kept per credential: a few regions over a date change.
const CACHED_SCOPES: usize = 8;

impl SigningKeyCache {
    /// The signing key for `auth`'s scope, derived from `secret_access_key` on first use.
    pub fn get(&self, secret_access_key: &str, auth: &Authorization) -> SigningKey {
        let mut cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let hit = cached.iter().find(|c| {
            c.date == auth.scope_date && c.region == auth.region && c.service == auth.service
        });
        if let Some(hit) = hit {
            return hit.key.clone();
        }
        let key = signing_key(
            secret_access_key,
            auth.scope_date,
            auth.region,
            auth.service,
        );
        if cached.len() == CACHED_SCOPES {
            cached.remove(0);
        }
        cached.push(ScopedKey {
            date: auth.scope_date.to_string(),
            region: auth.region.to_string(),
            service: auth.service.to_string(),
            key: key.clone(),
        });
        key
    }
}

/// `kSigning` = HMAC chain of "AWS4"+secret over date, region, service and `aws4_request`.
pub fn signing_key(
    secret_access_key: &str,
    scope_date: &str,
    region: &str,
    service: &str,
) -> SigningKey {
    let k_date = hmac_sha256(
        format!("AWS4{secret_access_key}").as_bytes(),
        scope_date.as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    SigningKey::new(&hmac_sha256(&k_service, TERMINATOR.as_bytes()))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (long ones are hashed), so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}
