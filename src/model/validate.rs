//! Input validation shared by every operation: AWS's name rules and Coral's constraint
//! violations (`1 validation error detected: …`, docs/aws-behaviour.md §1.6). botocore checks only
//! minimums and the other SDKs check nothing, so the server enforces every bound itself.

use crate::error::{ApiError, ApiResult};

const INVALID_NAME: &str = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!";

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

/// A name given to CreateSecret: `A–Z a–z 0–9 / _ + = . @ -`.
pub fn new_name(name: &str) -> ApiResult<()> {
    if name.chars().all(is_name_char) {
        Ok(())
    } else {
        Err(ApiError::validation(INVALID_NAME))
    }
}

/// A name used to look a secret up. `!` is allowed too: AWS-managed secrets are named like
/// `rds!cluster-…`, and AWS's own message lists it.
pub fn lookup_name(name: &str) -> ApiResult<()> {
    if name.chars().all(|c| is_name_char(c) || c == '!') {
        Ok(())
    } else {
        Err(ApiError::validation(INVALID_NAME))
    }
}

/// Collects Coral-style constraint violations for one request and reports them together.
/// Member paths are lowerCamelCase as AWS prints them; sensitive members never echo their value.
#[derive(Default)]
pub struct Constraints {
    violations: Vec<String>,
}

impl Constraints {
    pub fn new() -> Self {
        Self::default()
    }

    fn violation(&mut self, path: &str, shown: Option<String>, rule: String) {
        let value = match shown {
            Some(v) => format!("Value '{v}' at '{path}'"),
            None => format!("Value at '{path}'"),
        };
        self.violations
            .push(format!("{value} failed to satisfy constraint: {rule}"));
    }

    /// The member must be present.
    pub fn required<T: ?Sized>(&mut self, path: &str, value: Option<&T>) -> &mut Self {
        if value.is_none() {
            self.violations.push(format!(
                "Value null at '{path}' failed to satisfy constraint: Member must not be null"
            ));
        }
        self
    }

    /// Length in characters, as Smithy counts strings.
    pub fn length(&mut self, path: &str, value: Option<&str>, min: usize, max: usize) -> &mut Self {
        if let Some(v) = value {
            self.check_len(path, Some(v.to_string()), v.chars().count(), min, max);
        }
        self
    }

    /// Like `length`, without echoing the value (sensitive members such as `secretString`).
    pub fn sensitive_length(
        &mut self,
        path: &str,
        value: Option<&str>,
        min: usize,
        max: usize,
    ) -> &mut Self {
        if let Some(v) = value {
            self.check_len(path, None, v.chars().count(), min, max);
        }
        self
    }

    /// Length in bytes (blobs); never echoed.
    pub fn blob_length(
        &mut self,
        path: &str,
        value: Option<&[u8]>,
        min: usize,
        max: usize,
    ) -> &mut Self {
        if let Some(v) = value {
            self.check_len(path, None, v.len(), min, max);
        }
        self
    }

    /// Number of items in a list.
    pub fn items<T>(
        &mut self,
        path: &str,
        value: Option<&[T]>,
        min: usize,
        max: usize,
    ) -> &mut Self {
        if let Some(v) = value {
            self.check_len(path, None, v.len(), min, max);
        }
        self
    }

    fn check_len(&mut self, path: &str, shown: Option<String>, len: usize, min: usize, max: usize) {
        if len < min {
            self.violation(
                path,
                shown,
                format!("Member must have length greater than or equal to {min}"),
            );
        } else if len > max {
            self.violation(
                path,
                shown,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A value outside an enumeration, listed as AWS lists it (`[a, b, c]`).
    pub fn enum_value(&mut self, path: &str, value: &str, allowed: &str) -> &mut Self {
        self.violation(
            path,
            Some(value.to_string()),
            format!("Member must satisfy enum value set: {allowed}"),
        );
        self
    }

    /// A value that does not match its member's pattern.
    pub fn pattern(&mut self, path: &str, value: &str, pattern: &str) -> &mut Self {
        self.violation(
            path,
            Some(value.to_string()),
            format!("Member must satisfy regular expression pattern: {pattern}"),
        );
        self
    }

    /// A numeric range.
    pub fn range(&mut self, path: &str, value: Option<i64>, min: i64, max: i64) -> &mut Self {
        if let Some(v) = value {
            if v < min {
                self.violation(
                    path,
                    Some(v.to_string()),
                    format!("Member must have value greater than or equal to {min}"),
                );
            } else if v > max {
                self.violation(
                    path,
                    Some(v.to_string()),
                    format!("Member must have value less than or equal to {max}"),
                );
            }
        }
        self
    }

    /// `Ok` when nothing was violated, else one `ValidationException` listing every violation.
    pub fn finish(&mut self) -> ApiResult<()> {
        match self.violations.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.violations[0]
            ))),
            n => Err(ApiError::validation(format!(
                "{n} validation errors detected: {}",
                self.violations.join("; ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn names_accept_aws_charset() {
        assert!(new_name("/prod/db_user+x=y.z@corp-1").is_ok());
        for bad in ["Inv Name", " Inv*Name? ", "a:b", "ü"] {
            assert_eq!(new_name(bad).unwrap_err().message, INVALID_NAME);
        }
        assert!(new_name("rds!cluster").is_err());
        assert!(lookup_name("rds!cluster").is_ok());
    }

    #[test]
    fn one_violation_uses_corals_format() {
        let long = "x".repeat(2049);
        let err = Constraints::new()
            .length("secretId", Some(&long), 1, 2048)
            .finish()
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);
        assert_eq!(
            err.message,
            format!("1 validation error detected: Value '{long}' at 'secretId' failed to satisfy constraint: Member must have length less than or equal to 2048")
        );
    }

    #[test]
    fn sensitive_values_are_not_echoed_and_violations_are_joined() {
        let err = Constraints::new()
            .sensitive_length("secretString", Some(""), 1, 65536)
            .range("passwordLength", Some(0), 1, 4096)
            .finish()
            .unwrap_err();
        assert_eq!(
            err.message,
            "2 validation errors detected: Value at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '0' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn missing_required_member() {
        let err = Constraints::new()
            .required::<String>("secretId", None)
            .finish()
            .unwrap_err();
        assert_eq!(err.message, "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null");
    }
}
