//! Secret ARNs and `SecretId` resolution (docs/aws-behaviour.md §2.1, §2.2).

use super::validate;
use crate::error::{ApiError, ApiResult};
use rand::Rng;

/// Where a secret lives: one (account, region) partition and its name; nothing crosses partitions
/// except what a resource policy or replication allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKey {
    pub account: String,
    pub region: String,
    pub name: String,
}

/// What a `SecretId` names, before it is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// A plain name, in the caller's own partition.
    Name(String),
    /// A full ARN: the stored secret's ARN must match exactly, so an old ARN never reaches a
    /// secret that was re-created under the same name (the suffix differs).
    FullArn { key: SecretKey, arn: String },
    /// An ARN without the `-XXXXXX` suffix: matched by name.
    PartialArn { key: SecretKey },
}

/// `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random alphanumerics>`.
pub fn secret_arn(key: &SecretKey, suffix: &str) -> String {
    format!(
        "arn:aws:secretsmanager:{}:{}:secret:{}-{}",
        key.region, key.account, key.name, suffix
    )
}

/// Six random mixed-case alphanumerics, as AWS appends to every secret ARN.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Parses a `SecretId` (name, full ARN or partial ARN). A name with characters outside AWS's set
/// is a `ValidationException`; an ARN that is not a Secrets Manager secret ARN cannot name any
/// secret, so it is "not found", as on AWS.
pub fn parse_secret_id(id: &str) -> ApiResult<SecretRef> {
    if !id.starts_with("arn:") {
        validate::lookup_name(id)?;
        return Ok(SecretRef::Name(id.to_string()));
    }
    let parts: Vec<&str> = id.splitn(7, ':').collect();
    let [_, _partition, service, region, account, kind, resource] = parts.as_slice() else {
        return Err(ApiError::secret_not_found());
    };
    if *service != "secretsmanager" || *kind != "secret" || resource.is_empty() {
        return Err(ApiError::secret_not_found());
    }
    let key = |name: &str| SecretKey {
        account: account.to_string(),
        region: region.to_string(),
        name: name.to_string(),
    };
    match split_suffix(resource) {
        Some(name) => Ok(SecretRef::FullArn {
            key: key(name),
            arn: id.to_string(),
        }),
        None => Ok(SecretRef::PartialArn { key: key(resource) }),
    }
}

/// `name-XXXXXX` → `Some(name)` when the resource ends in `-` and six alphanumerics. Such an
/// input is always taken as a full ARN, which is why AWS cannot resolve a partial ARN of a
/// name that itself ends like a suffix (docs/aws-behaviour.md §2.2).
fn split_suffix(resource: &str) -> Option<&str> {
    let bytes = resource.as_bytes();
    if bytes.len() < 8 {
        return None;
    }
    let (head, tail) = resource.split_at(resource.len() - 7);
    let tail = tail.as_bytes();
    (tail[0] == b'-' && tail[1..].iter().all(u8::is_ascii_alphanumeric)).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> SecretKey {
        SecretKey {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: name.into(),
        }
    }

    #[test]
    fn arn_has_name_and_six_char_suffix() {
        let suffix = random_suffix();
        assert_eq!(suffix.len(), 6);
        assert!(suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(
            secret_arn(&key("a/b"), "AbC123"),
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:a/b-AbC123"
        );
    }

    #[test]
    fn full_arn_is_recognised_by_its_suffix() {
        let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:my/app-a1B2c3";
        assert_eq!(
            parse_secret_id(arn).unwrap(),
            SecretRef::FullArn {
                key: key("my/app"),
                arn: arn.into()
            }
        );
    }

    #[test]
    fn partial_arn_is_matched_by_name() {
        let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:Valid/_+=.@-Name-a1b2";
        assert_eq!(
            parse_secret_id(arn).unwrap(),
            SecretRef::PartialArn {
                key: key("Valid/_+=.@-Name-a1b2")
            }
        );
    }

    #[test]
    fn foreign_arns_are_not_found() {
        for id in [
            "arn:aws:s3:::bucket",
            "arn:aws:secretsmanager:us-east-1:000000000000:parameter:x",
            "arn:aws:secretsmanager",
        ] {
            assert_eq!(
                parse_secret_id(id).unwrap_err(),
                ApiError::secret_not_found()
            );
        }
    }

    #[test]
    fn names_with_bad_characters_are_rejected() {
        let err = parse_secret_id("Inv Name").unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::Validation);
    }
}
