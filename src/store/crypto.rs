//! The AES-256-GCM envelope, the only form in which values are stored. Each `KmsKeyId` gets its own
//! key derived from the master key; each write a random nonce; the associated data binds a
//! ciphertext to its secret ARN and version id, so a value copied to another secret or version
//! fails to decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// The first byte of every sealed value: the envelope format, so it can evolve.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

pub type MasterKey = [u8; 32];

/// Decryption failed: wrong key, wrong binding or damaged bytes.
#[derive(Debug)]
pub struct OpenError;

/// Ciphers of KMS key ids other than the default kept ready; past this many the cache starts
/// over (deriving one again costs an HMAC and an AES key schedule).
const CACHED_CIPHERS: usize = 64;

pub struct Crypto {
    master: MasterKey,
    /// Every value is sealed or opened with one of these, so that no request derives the key
    /// and its AES schedule again.
    ciphers: std::sync::Mutex<HashMap<String, Arc<Aes256Gcm>>>,
}

impl Crypto {
    pub fn new(master: MasterKey) -> Self {
        Crypto {
            master,
            ciphers: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// HMAC-SHA256(master, "secretsd/kms/<key id>"): one data key per KMS key id, so changing
    /// a secret's `KmsKeyId` really changes the key its new versions are sealed with.
    fn derive(&self, kms_key_id: &str) -> Aes256Gcm {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.master)
            .expect("HMAC accepts keys of any length");
        mac.update(b"secretsd/kms/");
        mac.update(kms_key_id.as_bytes());
        let key = mac.finalize().into_bytes();
        Aes256Gcm::new(&key)
    }

    /// Shared, so that no value copies the expanded AES key schedule.
    fn cipher(&self, kms_key_id: &str) -> Arc<Aes256Gcm> {
        let mut ciphers = self.ciphers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cipher) = ciphers.get(kms_key_id) {
            return Arc::clone(cipher);
        }
        if ciphers.len() == CACHED_CIPHERS {
            ciphers.clear();
        }
        let cipher = Arc::new(self.derive(kms_key_id));
        ciphers.insert(kms_key_id.to_string(), Arc::clone(&cipher));
        cipher
    }

    pub fn seal(&self, kms_key_id: &str, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher(kms_key_id)
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of a bounded buffer cannot fail");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, kms_key_id: &str, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT_V1 {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        self.cipher(kms_key_id)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| OpenError)
    }
}

/// A fresh random master key (used for `--in-memory`, and on first start).
pub fn random_master_key() -> MasterKey {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

/// `SECRETSD_MASTER_KEY`: standard base64 of exactly 32 bytes.
pub fn parse_master_key(text: &str) -> Result<MasterKey, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| "SECRETSD_MASTER_KEY is not valid base64".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "SECRETSD_MASTER_KEY must decode to exactly 32 bytes".to_string())
}

/// Reads `<dir>/master.key`, or creates it (mode 0600, written and synced before use) on the
/// first start. The key file is the only thing that can decrypt the store: back it up with it.
pub fn load_or_create_master_key(dir: &Path) -> Result<MasterKey, String> {
    let path = dir.join("master.key");
    match std::fs::read(&path) {
        Ok(bytes) => {
            return bytes.try_into().map_err(|_| {
                format!(
                    "{} is damaged: it must hold exactly 32 bytes",
                    path.display()
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let key = random_master_key();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(&key)
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_with_its_binding() {
        let crypto = Crypto::new([7; 32]);
        let sealed = crypto.seal("aws/secretsmanager", b"arn-a\0v1", b"hunter2");
        assert_eq!(
            crypto
                .open("aws/secretsmanager", b"arn-a\0v1", &sealed)
                .unwrap(),
            b"hunter2"
        );
        assert!(crypto
            .open("aws/secretsmanager", b"arn-a\0v2", &sealed)
            .is_err());
        assert!(crypto
            .open("aws/secretsmanager", b"arn-b\0v1", &sealed)
            .is_err());
        assert!(crypto.open("alias/other", b"arn-a\0v1", &sealed).is_err());
        assert!(Crypto::new([8; 32])
            .open("aws/secretsmanager", b"arn-a\0v1", &sealed)
            .is_err());
    }

    #[test]
    fn nonces_are_fresh_and_plaintext_is_absent() {
        let crypto = Crypto::new([7; 32]);
        let a = crypto.seal("k", b"x", b"plaintext-marker");
        let b = crypto.seal("k", b"x", b"plaintext-marker");
        assert_ne!(a, b);
        assert!(!a.windows(16).any(|w| w == b"plaintext-marker"));
    }

    #[test]
    fn damaged_ciphertext_is_rejected() {
        let crypto = Crypto::new([7; 32]);
        let mut sealed = crypto.seal("k", b"x", b"v");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(crypto.open("k", b"x", &sealed).is_err());
        assert!(crypto.open("k", b"x", &[]).is_err());
    }

    #[test]
    fn master_key_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_master_key(dir.path()).unwrap();
        let second = load_or_create_master_key(dir.path()).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn env_master_key_must_be_32_bytes() {
        assert!(parse_master_key("AAAA").is_err());
        let ok = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        assert_eq!(parse_master_key(&ok).unwrap(), [1u8; 32]);
    }
}
