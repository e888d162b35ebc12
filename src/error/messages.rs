//! AWS's message texts, once. Every text a client or a rotation event can see more than once,
//! and the standard ones of the service and of Coral, is named here; the call sites choose the
//! code (`ApiError::…`) and the moment. Texts follow docs/aws-behaviour.md §4 and §6.4; tests
//! compare them byte for byte.

/// `ResourceNotFoundException` for a `SecretId` that names nothing the caller can reach.
pub const SECRET_NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";

/// `InvalidRequestException` for a change to a secret scheduled for deletion.
pub const MARKED_FOR_DELETION: &str =
    "You can't perform this operation on the secret because it was marked for deletion.";

/// What a client sees of a fault on our side; the details go to the log only.
pub const INTERNAL: &str = "An error occurred on the server side.";
/// secretsd's own: a change refused because the disk that holds the store is full (reads are
/// still answered).
pub const NO_SPACE: &str =
    "The change was not stored: no space is left on the disk that holds secretsd's data. \
     Reads are still answered; free some space and try again.";

/// Coral's authentication errors (docs/aws-behaviour.md §6.4).
pub const MISSING_AUTHENTICATION_TOKEN: &str = "Missing Authentication Token";
pub const UNRECOGNIZED_CLIENT: &str = "The security token included in the request is invalid.";

/// `InvalidNextTokenException`, for any token secretsd did not hand out for this listing.
pub const INVALID_NEXT_TOKEN: &str = "The NextToken value is invalid.";

/// A write without `ClientRequestToken` (an `InvalidRequestException` from the writes, an
/// `InvalidParameterException` from RotateSecret, docs/aws-behaviour.md §3.3).
pub const TOKEN_REQUIRED: &str =
    "You must provide a ClientRequestToken value. We recommend a UUID-type value.";

/// A `ClientRequestToken` already naming a version of another value.
pub fn token_in_use(token: &str, secret_arn: &str) -> String {
    format!("You can't use ClientRequestToken {token} because that value is already in use for a version of secret {secret_arn}.")
}

/// A `VersionId` that names no version with a value.
pub fn version_id_not_found(version_id: &str) -> String {
    format!("Secrets Manager can't find the specified secret value for VersionId: {version_id}")
}

/// A staging label that names no version with a value.
pub fn staging_label_not_found(stage: &str) -> String {
    format!("Secrets Manager can't find the specified secret value for staging label: {stage}")
}

/// A tag key in the `aws:` namespace, which belongs to AWS services (docs/aws-behaviour.md §3.4).
pub fn system_tag(key: &str) -> String {
    format!("You can't modify system tags. Tag key: '{key}'.")
}

/// The name rule of CreateSecret and of lookups by name.
pub const INVALID_NAME: &str = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!";

/// Both `SecretString` and `SecretBinary` in one write.
pub const BOTH_VALUES: &str =
    "You can't specify both a binary secret value and a string secret value in the same secret.";

/// A `CrossAccountPrimaryARN` that is not the full ARN of another account's secret.
pub const CROSS_ACCOUNT_PRIMARY_ARN: &str =
    "CrossAccountPrimaryARN must be the full ARN of a secret in another account.";

/// Coral's `SerializationException` for a body that is JSON but not an object.
pub const NOT_A_STRUCTURE: &str = "Start of structure or map found where not expected.";

/// Coral's constraint violations (docs/aws-behaviour.md §1.6): one per member, joined into one
/// `ValidationException`.
pub mod constraint {
    /// The sentence that carries the violations, `1 validation error detected: …` or
    /// `N validation errors detected: …; …`.
    pub fn detected(violations: &[String]) -> String {
        match violations {
            [one] => format!("1 validation error detected: {one}"),
            many => format!(
                "{} validation errors detected: {}",
                many.len(),
                many.join("; ")
            ),
        }
    }

    /// One violation; `shown` is the value as echoed, `None` for members never echoed.
    pub fn violation(path: &str, shown: Option<&str>, rule: &str) -> String {
        match shown {
            Some(v) => format!("Value '{v}' at '{path}' failed to satisfy constraint: {rule}"),
            None => format!("Value at '{path}' failed to satisfy constraint: {rule}"),
        }
    }

    pub fn not_null(path: &str) -> String {
        format!("Value null at '{path}' failed to satisfy constraint: Member must not be null")
    }

    pub fn min_length(min: usize) -> String {
        format!("Member must have length greater than or equal to {min}")
    }

    pub fn max_length(max: usize) -> String {
        format!("Member must have length less than or equal to {max}")
    }

    pub fn min_value(min: i64) -> String {
        format!("Member must have value greater than or equal to {min}")
    }

    pub fn max_value(max: i64) -> String {
        format!("Member must have value less than or equal to {max}")
    }

    pub fn enum_value(allowed: &str) -> String {
        format!("Member must satisfy enum value set: {allowed}")
    }

    pub fn pattern(pattern: &str) -> String {
        format!("Member must satisfy regular expression pattern: {pattern}")
    }
}
