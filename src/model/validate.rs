//! Input validation shared by every operation: AWS's name rules and Coral's constraint
//! violations (`1 validation error detected: …`, docs/aws-behaviour.md §1.6). botocore checks only
//! minimums and the other SDKs check nothing, so the server enforces every bound itself.

use crate::error::messages::{self, constraint};
use crate::error::{ApiError, ApiResult};

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

/// A name given to CreateSecret: `A–Z a–z 0–9 / _ + = . @ -`.
pub fn new_name(name: &str) -> ApiResult<()> {
    if name.chars().all(is_name_char) {
        Ok(())
    } else {
        Err(ApiError::validation(messages::INVALID_NAME))
    }
}

/// A name used to look a secret up. `!` is allowed too: AWS-managed secrets are named like
/// `rds!cluster-…`, and AWS's own message lists it.
pub fn lookup_name(name: &str) -> ApiResult<()> {
    if name.chars().all(|c| is_name_char(c) || c == '!') {
        Ok(())
    } else {
        Err(ApiError::validation(messages::INVALID_NAME))
    }
}

/// A required member, held until `Constraints::finish` has confirmed that every violation,
/// its absence included, was reported. Only then can it be taken, as a plain value.
#[derive(Debug)]
pub struct Required<T>(Option<T>);

impl<T> Required<T> {
    /// The value as given, for the checks that follow before `finish`.
    pub fn given(&self) -> Option<&T> {
        self.0.as_ref()
    }

    /// The value. An absent member made `finish` fail, so one that passed it is present.
    pub fn take(self, _: Checked) -> T {
        match self.0 {
            Some(value) => value,
            None => unreachable!("a required member was absent, so `finish` failed"),
        }
    }
}

impl Required<String> {
    pub fn given_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// What a successful `Constraints::finish` hands out: the proof `Required::take` asks for.
#[derive(Debug, Clone, Copy)]
pub struct Checked(());

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
        self.violations
            .push(constraint::violation(path, shown.as_deref(), &rule));
    }

    /// The member must be present.
    pub fn required<T>(&mut self, path: &str, value: Option<T>) -> Required<T> {
        if value.is_none() {
            self.violations.push(constraint::not_null(path));
        }
        Required(value)
    }

    /// A required string member with its length bounds, checked in that order.
    pub fn required_length(
        &mut self,
        path: &str,
        value: Option<String>,
        min: usize,
        max: usize,
    ) -> Required<String> {
        let value = self.required(path, value);
        self.length(path, value.given_str(), min, max);
        value
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
            self.violation(path, shown, constraint::min_length(min));
        } else if len > max {
            self.violation(path, shown, constraint::max_length(max));
        }
    }

    /// A value outside an enumeration, listed as AWS lists it (`[a, b, c]`).
    pub fn enum_value(&mut self, path: &str, value: &str, allowed: &str) -> &mut Self {
        self.violation(
            path,
            Some(value.to_string()),
            constraint::enum_value(allowed),
        );
        self
    }

    /// A value that does not match its member's pattern.
    pub fn pattern(&mut self, path: &str, value: &str, pattern: &str) -> &mut Self {
        self.violation(path, Some(value.to_string()), constraint::pattern(pattern));
        self
    }

    /// A numeric range.
    pub fn range(&mut self, path: &str, value: Option<i64>, min: i64, max: i64) -> &mut Self {
        if let Some(v) = value {
            if v < min {
                self.violation(path, Some(v.to_string()), constraint::min_value(min));
            } else if v > max {
                self.violation(path, Some(v.to_string()), constraint::max_value(max));
            }
        }
        self
    }

    /// `Checked` when nothing was violated, else one `ValidationException` listing every
    /// violation in the order they were found.
    pub fn finish(&mut self) -> ApiResult<Checked> {
        if self.violations.is_empty() {
            Ok(Checked(()))
        } else {
            Err(ApiError::validation(constraint::detected(&self.violations)))
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
            assert_eq!(new_name(bad).unwrap_err().message, messages::INVALID_NAME);
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
        let mut c = Constraints::new();
        let id = c.required::<String>("secretId", None);
        assert!(id.given().is_none());
        let err = c.finish().unwrap_err();
        assert_eq!(err.message, "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null");
    }
}
