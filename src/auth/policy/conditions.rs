//! Condition operators: one request key against a condition's values.
//!
//! Multiple policy values OR together. For single-valued use, a request key with several
//! values matches if any does (a negated operator: if it holds for every value). Missing keys:
//! a positive operator is false, a negated one true (AWS: the key "does not match", so the
//! negation holds); `…IfExists` makes a missing key true; `Null` tests presence;
//! `ForAllValues` holds for a missing key, `ForAnyValue` does not.

use super::context::ConditionKeys;
use super::matching::{expand_pattern, glob};
use crate::model::policy::{Comparison, Condition, Operator, SetQualifier, Test};
use std::net::IpAddr;

/// Every condition of a statement holds.
pub fn all_hold(conditions: &[Condition], context: &dyn ConditionKeys) -> bool {
    conditions.iter().all(|c| holds(c, context))
}

/// One condition: its operator over its key, against its values with their variables replaced
/// (a value whose variable has no value is left out).
pub fn holds(condition: &Condition, context: &dyn ConditionKeys) -> bool {
    let comparison = match condition.operator {
        Operator::Unsupported => return false,
        Operator::Null => None,
        Operator::Compare(c) => Some(c),
    };
    let expected: Vec<_> = condition
        .values
        .iter()
        .filter_map(|v| expand_pattern(v, context))
        .collect();
    let actual = context.get(&condition.key).filter(|v| !v.is_empty());
    let Some(comparison) = comparison else {
        let absent = if actual.is_none() { "true" } else { "false" };
        return expected.iter().any(|e| e.eq_ignore_ascii_case(absent));
    };
    let Comparison {
        set,
        test,
        negated,
        if_exists,
    } = comparison;
    let Some(actual) = actual else {
        return match set {
            Some(SetQualifier::ForAllValues) => true,
            Some(SetQualifier::ForAnyValue) => false,
            None => if_exists || negated,
        };
    };
    // One request value against the policy values (OR), negation applied per value.
    let one = |value: &String| expected.iter().any(|e| compare(test, value, e)) != negated;
    match set {
        Some(SetQualifier::ForAllValues) => actual.iter().all(one),
        Some(SetQualifier::ForAnyValue) => actual.iter().any(one),
        // A negated operator must hold for every value of the key; a positive one for any.
        None if negated => actual.iter().all(one),
        None => actual.iter().any(one),
    }
}

/// A number as IAM reads one.
fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// A date as milliseconds: RFC 3339, epoch seconds, or a plain `YYYY-MM-DD`.
fn date(s: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .ok()
        .or_else(|| number(s).map(|secs| (secs * 1000.0) as i64))
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp_millis())
        })
        .map(|ms| ms as f64)
}

/// Both sides read as `read`, then ordered by `f`; false if either does not read.
fn ordered(
    read: fn(&str) -> Option<f64>,
    actual: &str,
    expected: &str,
    f: fn(f64, f64) -> bool,
) -> bool {
    match (read(actual), read(expected)) {
        (Some(a), Some(b)) => f(a, b),
        _ => false,
    }
}

/// One comparison of a request value with a policy value (variables already replaced; an
/// escaped `${*}`/`${?}` is a NUL-marked literal, which only the glob tests read as such).
fn compare(test: Test, actual: &str, expected: &str) -> bool {
    match test {
        Test::StringEquals | Test::ArnEquals => actual == expected.replace('\u{0}', ""),
        Test::StringEqualsIgnoreCase => actual.eq_ignore_ascii_case(expected),
        Test::StringLike | Test::ArnLike => glob(expected, actual, false),
        Test::NumericEquals => ordered(number, actual, expected, |a, b| a == b),
        Test::NumericLessThan => ordered(number, actual, expected, |a, b| a < b),
        Test::NumericLessThanEquals => ordered(number, actual, expected, |a, b| a <= b),
        Test::NumericGreaterThan => ordered(number, actual, expected, |a, b| a > b),
        Test::NumericGreaterThanEquals => ordered(number, actual, expected, |a, b| a >= b),
        Test::DateEquals => ordered(date, actual, expected, |a, b| a == b),
        Test::DateLessThan => ordered(date, actual, expected, |a, b| a < b),
        Test::DateLessThanEquals => ordered(date, actual, expected, |a, b| a <= b),
        Test::DateGreaterThan => ordered(date, actual, expected, |a, b| a > b),
        Test::DateGreaterThanEquals => ordered(date, actual, expected, |a, b| a >= b),
        Test::Bool => actual.eq_ignore_ascii_case(expected),
        Test::IpAddress => in_cidr(actual, expected),
        Test::Unknown => false,
    }
}

/// `ip` inside `cidr` (`10.0.0.0/8`, `2001:db8::/32`, or a bare address).
fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((net, bits)) => (net, bits.parse::<u32>().ok()),
        None => (cidr, None),
    };
    match (ip.parse::<IpAddr>(), net.parse::<IpAddr>()) {
        (Ok(IpAddr::V4(a)), Ok(IpAddr::V4(n))) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (Ok(IpAddr::V6(a)), Ok(IpAddr::V6(n))) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::policy::context::Context;
    use crate::model::policy::Pattern;

    fn condition(operator: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: Operator::parse(operator),
            key: key.into(),
            values: values.iter().map(|v| Pattern::new(*v)).collect(),
        }
    }

    fn ctx(pairs: &[(&str, &[&str])]) -> Context {
        let mut c = Context::default();
        for (k, v) in pairs {
            c.set(k, v.iter().map(|s| s.to_string()).collect());
        }
        c
    }

    #[test]
    fn missing_keys_by_operator() {
        let none = Context::default();
        for (operator, expected) in [
            ("StringEquals", false),
            ("StringNotEquals", true),
            ("StringEqualsIfExists", true),
            ("ForAllValues:StringEquals", true),
            ("ForAnyValue:StringEquals", false),
            // An unknown operator decides a missing key as a known positive one does.
            ("NoSuchOperator", false),
            ("NoSuchOperatorIfExists", true),
            ("ForAllValues:NoSuchOperator", true),
            ("Other:StringEquals", false),
            ("Other:StringEqualsIfExists", false),
        ] {
            let c = condition(operator, "k", &["v"]);
            assert_eq!(holds(&c, &none), expected, "{operator}");
        }
        // A key with no values is a missing key.
        let empty = ctx(&[("k", &[])]);
        assert!(holds(&condition("Null", "k", &["true"]), &empty));
    }

    #[test]
    fn unknown_operators_fail_closed_on_a_present_key() {
        let c = ctx(&[("k", &["v"])]);
        for operator in [
            "NoSuchOperator",
            "NoSuchOperatorIfExists",
            "ForAllValues:NoSuchOperator",
            "ForAnyValue:NoSuchOperator",
            "Other:StringEquals",
        ] {
            assert!(!holds(&condition(operator, "k", &["v"]), &c), "{operator}");
            assert!(!holds(&condition(operator, "k", &[]), &c), "{operator}");
        }
    }

    #[test]
    fn values_or_and_negations_hold_for_every_request_value() {
        let c = ctx(&[("stage", &["AWSCURRENT", "AWSPREVIOUS"])]);
        assert!(holds(
            &condition("StringEquals", "stage", &["AWSPREVIOUS"]),
            &c
        ));
        assert!(!holds(
            &condition("StringNotEquals", "stage", &["AWSPREVIOUS"]),
            &c
        ));
        assert!(holds(
            &condition("StringNotEquals", "stage", &["AWSPENDING"]),
            &c
        ));
        // No policy values: nothing equals, so only the negation holds.
        assert!(!holds(&condition("StringEquals", "stage", &[]), &c));
        assert!(holds(&condition("StringNotEquals", "stage", &[]), &c));
        // Null ignores qualifiers and reads its value without case.
        assert!(holds(
            &condition("ForAnyValue:NullIfExists", "stage", &["FALSE"]),
            &c
        ));
        assert!(!holds(&condition("Null", "stage", &["yes"]), &c));
    }

    #[test]
    fn comparisons() {
        assert!(compare(Test::StringEquals, "a*", "a\u{0}*"));
        assert!(
            !compare(Test::StringLike, "ab", "a\u{0}*") && compare(Test::StringLike, "ab", "a*")
        );
        assert!(
            compare(Test::NumericEquals, "1", "1.0") && !compare(Test::NumericEquals, "x", "x")
        );
        assert!(compare(Test::DateEquals, "1970-01-02", "86400"));
        assert!(compare(
            Test::DateLessThan,
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:01+00:00"
        ));
        assert!(!compare(Test::DateGreaterThan, "soon", "2026-01-01"));
        assert!(compare(Test::Bool, "TRUE", "true") && !compare(Test::Unknown, "a", "a"));
        assert!(in_cidr("10.1.2.3", "10.0.0.0/8") && !in_cidr("11.1.2.3", "10.0.0.0/8"));
        assert!(in_cidr("10.1.2.3", "10.1.2.3") && in_cidr("8.8.8.8", "0.0.0.0/0"));
        assert!(in_cidr("2001:db8::7", "2001:db8::/32") && !in_cidr("10.1.2.3", "2001:db8::/32"));
        assert!(!in_cidr("not-an-ip", "10.0.0.0/8") && !in_cidr("10.1.2.3", "10.0.0.0/x"));
        // Unreadable bits: the whole address must match.
        assert!(in_cidr("10.0.0.0", "10.0.0.0/x"));
    }
}
