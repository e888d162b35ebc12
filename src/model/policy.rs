//! The grammar of IAM policy documents: resource policies (PutResourcePolicy,
//! ValidateResourcePolicy; docs/aws-behaviour.md §3.5) and the identity policies of configured
//! principals. Evaluation — who may do what, and whether a policy is public — is `auth::policy`'s.

use serde_json::{Map, Value};

/// Why a document is not a valid policy: one line, naming the offending element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn err<T>(message: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError(message.into()))
}

/// A string or a non-empty list of strings (IAM accepts both for most elements).
fn strings<'a>(value: &'a Value, element: &str) -> Result<Vec<&'a str>, SyntaxError> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| SyntaxError(format!("{element} must contain only strings.")))
            })
            .collect(),
        _ => err(format!(
            "{element} must be a string or a non-empty list of strings."
        )),
    }
}

fn check_action(action: &str) -> Result<(), SyntaxError> {
    if action == "*" {
        return Ok(());
    }
    match action.split_once(':') {
        Some((service, name))
            if !service.is_empty()
                && !name.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?') =>
        {
            Ok(())
        }
        _ => err(format!(
            "Action '{action}' is not of the form service:action."
        )),
    }
}

fn check_principal(value: &Value, element: &str) -> Result<(), SyntaxError> {
    match value {
        Value::String(s) if s == "*" => Ok(()),
        Value::Object(map) if !map.is_empty() => {
            for (kind, ids) in map {
                if !["AWS", "Service", "Federated", "CanonicalUser"].contains(&kind.as_str()) {
                    return err(format!("{element} has an unknown principal type '{kind}'."));
                }
                strings(ids, element)?;
            }
            Ok(())
        }
        _ => err(format!(
            "{element} must be \"*\" or an object of principal types."
        )),
    }
}

fn check_condition(value: &Value) -> Result<(), SyntaxError> {
    let Value::Object(operators) = value else {
        return err("Condition must be an object.");
    };
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return err(format!(
                "Condition operator {operator} must map keys to values."
            ));
        };
        for (key, values) in keys {
            let ok = match values {
                Value::String(_) | Value::Bool(_) | Value::Number(_) => true,
                Value::Array(items) => items
                    .iter()
                    .all(|i| matches!(i, Value::String(_) | Value::Bool(_) | Value::Number(_))),
                _ => false,
            };
            if !ok {
                return err(format!(
                    "Condition key {key} has a value of the wrong type."
                ));
            }
        }
    }
    Ok(())
}

/// Exactly one of two mutually exclusive elements (`Action`/`NotAction`, …).
fn one_of<'a>(
    statement: &'a Map<String, Value>,
    a: &str,
    b: &str,
    required: bool,
) -> Result<Option<(&'a str, &'a Value)>, SyntaxError> {
    match (statement.get_key_value(a), statement.get_key_value(b)) {
        (Some(_), Some(_)) => err(format!("A statement can't have both {a} and {b}.")),
        (Some((k, v)), None) | (None, Some((k, v))) => Ok(Some((k.as_str(), v))),
        (None, None) if required => err(format!("Each statement needs {a} or {b}.")),
        (None, None) => Ok(None),
    }
}

/// Which kind of policy a document is: a resource policy names its principals, an identity
/// policy (attached to a principal) must not, and needs a Resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Resource,
    Identity,
}

/// Parses a resource policy. JSON errors and grammar errors are both syntax errors.
pub fn parse(document: &str) -> Result<Value, SyntaxError> {
    parse_as(document, Kind::Resource)
}

/// Parses a policy of either kind.
pub fn parse_as(document: &str, kind: Kind) -> Result<Value, SyntaxError> {
    let value: Value = serde_json::from_str(document)
        .map_err(|e| SyntaxError(format!("The policy is not valid JSON: {e}")))?;
    validate(&value, kind)?;
    Ok(value)
}

fn validate(value: &Value, kind: Kind) -> Result<(), SyntaxError> {
    let Value::Object(policy) = value else {
        return err("A policy must be a JSON object.");
    };
    for key in policy.keys() {
        if !["Version", "Id", "Statement"].contains(&key.as_str()) {
            return err(format!("Unknown policy element '{key}'."));
        }
    }
    match policy.get("Version") {
        None => {}
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
        Some(other) => return err(format!("Version {other} is not 2012-10-17 or 2008-10-17.")),
    }
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return err("A policy needs a Statement: an object or a non-empty list."),
    };
    for statement in statements {
        let Value::Object(statement) = statement else {
            return err("Each statement must be an object.");
        };
        for key in statement.keys() {
            if !STATEMENT_KEYS.contains(&key.as_str()) {
                return err(format!("Unknown statement element '{key}'."));
            }
        }
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => return err("Effect must be \"Allow\" or \"Deny\"."),
        }
        // A resource policy says whom it is about; an identity policy is about its principal.
        let principal = one_of(
            statement,
            "Principal",
            "NotPrincipal",
            kind == Kind::Resource,
        )?;
        match (principal, kind) {
            (Some((element, principal)), Kind::Resource) => check_principal(principal, element)?,
            (Some((element, _)), Kind::Identity) => {
                return err(format!("An identity-based policy can't have {element}."))
            }
            (None, _) => {}
        }
        if let Some((element, actions)) = one_of(statement, "Action", "NotAction", true)? {
            for action in strings(actions, element)? {
                check_action(action)?;
            }
        }
        let resources = one_of(statement, "Resource", "NotResource", kind == Kind::Identity)?;
        if let Some((element, resources)) = resources {
            strings(resources, element)?;
        }
        if let Some(condition) = statement.get("Condition") {
            check_condition(condition)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;

    #[test]
    fn accepts_a_plain_resource_policy() {
        let policy = parse(GOOD).unwrap();
        assert!(policy.get("Statement").is_some());
        let single = r#"{"Statement":{"Effect":"Deny","Principal":"*","NotAction":["secretsmanager:Get*"],"Condition":{"Bool":{"aws:SecureTransport":false}}}}"#;
        assert!(parse(single).is_ok());
    }

    #[test]
    fn rejects_broken_documents() {
        for bad in [
            "not json",
            "[]",
            r#"{"Version":"2019-10-19","Statement":[]}"#,
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","NotAction":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"getsecret"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Condition":"yes"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Extra":1}]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
