//! JSON to `PolicyDocument`, checking the grammar on the way: the first element that breaks it
//! is the error, in document order (keys in the order the JSON map gives them).

use super::document::{
    ActionMatch, Condition, Effect, Kind, Operator, Pattern, PolicyDocument, PrincipalMatch,
    PrincipalType, Principals, ResourceMatch, Statement, Version,
};
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
fn strings(value: &Value, element: &str) -> Result<Vec<String>, SyntaxError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| SyntaxError(format!("{element} must contain only strings.")))
            })
            .collect(),
        _ => err(format!(
            "{element} must be a string or a non-empty list of strings."
        )),
    }
}

fn patterns(value: &Value, element: &str) -> Result<Vec<Pattern>, SyntaxError> {
    Ok(strings(value, element)?
        .into_iter()
        .map(Pattern::new)
        .collect())
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

fn principals(value: &Value, element: &str) -> Result<Principals, SyntaxError> {
    match value {
        Value::String(s) if s == "*" => Ok(Principals::Everyone),
        Value::Object(map) if !map.is_empty() => {
            let mut ids = Vec::new();
            for (kind, names) in map {
                let Some(kind) = PrincipalType::parse(kind) else {
                    return err(format!("{element} has an unknown principal type '{kind}'."));
                };
                ids.push((kind, strings(names, element)?));
            }
            Ok(Principals::Ids(ids))
        }
        _ => err(format!(
            "{element} must be \"*\" or an object of principal types."
        )),
    }
}

/// A condition value as evaluation compares it: strings as they are, numbers and booleans by
/// their JSON text.
fn condition_value(value: &Value) -> Option<Pattern> {
    match value {
        Value::String(s) => Some(Pattern::new(s.as_str())),
        Value::Bool(b) => Some(Pattern::new(b.to_string())),
        Value::Number(n) => Some(Pattern::new(n.to_string())),
        _ => None,
    }
}

fn conditions(value: &Value) -> Result<Vec<Condition>, SyntaxError> {
    let Value::Object(operators) = value else {
        return err("Condition must be an object.");
    };
    let mut out = Vec::new();
    for (name, keys) in operators {
        let Value::Object(keys) = keys else {
            return err(format!(
                "Condition operator {name} must map keys to values."
            ));
        };
        let operator = Operator::parse(name);
        for (key, values) in keys {
            let values = match values {
                Value::Array(items) => items.iter().map(condition_value).collect(),
                one => condition_value(one).map(|v| vec![v]),
            };
            let Some(values) = values else {
                return err(format!(
                    "Condition key {key} has a value of the wrong type."
                ));
            };
            out.push(Condition {
                operator,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// Exactly one of two mutually exclusive elements (`Action`/`NotAction`, …): which one
/// (`true` for the first) and its value.
fn one_of<'a>(
    statement: &'a Map<String, Value>,
    a: &str,
    b: &str,
    required: bool,
) -> Result<Option<(bool, &'a Value)>, SyntaxError> {
    match (statement.get(a), statement.get(b)) {
        (Some(_), Some(_)) => err(format!("A statement can't have both {a} and {b}.")),
        (Some(v), None) => Ok(Some((true, v))),
        (None, Some(v)) => Ok(Some((false, v))),
        (None, None) if required => err(format!("Each statement needs {a} or {b}.")),
        (None, None) => Ok(None),
    }
}

fn statement(value: &Value, kind: Kind) -> Result<Statement, SyntaxError> {
    let Value::Object(statement) = value else {
        return err("Each statement must be an object.");
    };
    for key in statement.keys() {
        if !STATEMENT_KEYS.contains(&key.as_str()) {
            return err(format!("Unknown statement element '{key}'."));
        }
    }
    let effect = match statement.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return err("Effect must be \"Allow\" or \"Deny\"."),
    };
    // A resource policy says whom it is about; an identity policy is about its principal.
    let principal = match one_of(
        statement,
        "Principal",
        "NotPrincipal",
        kind == Kind::Resource,
    )? {
        Some((is_principal, _)) if kind == Kind::Identity => {
            let element = if is_principal {
                "Principal"
            } else {
                "NotPrincipal"
            };
            return err(format!("An identity-based policy can't have {element}."));
        }
        Some((true, value)) => Some(PrincipalMatch::Principal(principals(value, "Principal")?)),
        Some((false, value)) => Some(PrincipalMatch::NotPrincipal(principals(
            value,
            "NotPrincipal",
        )?)),
        None => None,
    };
    let actions = match one_of(statement, "Action", "NotAction", true)? {
        Some((true, value)) => ActionMatch::Action(patterns(value, "Action")?),
        Some((false, value)) => ActionMatch::NotAction(patterns(value, "NotAction")?),
        None => unreachable!("one_of requires Action or NotAction"),
    };
    for action in actions.patterns() {
        check_action(action.as_str())?;
    }
    let resources = match one_of(statement, "Resource", "NotResource", kind == Kind::Identity)? {
        Some((true, value)) => ResourceMatch::Resource(patterns(value, "Resource")?),
        Some((false, value)) => ResourceMatch::NotResource(patterns(value, "NotResource")?),
        None => ResourceMatch::Any,
    };
    let conditions = match statement.get("Condition") {
        Some(condition) => conditions(condition)?,
        None => Vec::new(),
    };
    Ok(Statement {
        sid: statement
            .get("Sid")
            .and_then(Value::as_str)
            .map(str::to_string),
        effect,
        principal,
        actions,
        resources,
        conditions,
    })
}

/// The document a JSON value is, if it keeps to the grammar of `kind`.
pub fn document(value: &Value, kind: Kind) -> Result<PolicyDocument, SyntaxError> {
    let Value::Object(policy) = value else {
        return err("A policy must be a JSON object.");
    };
    for key in policy.keys() {
        if !["Version", "Id", "Statement"].contains(&key.as_str()) {
            return err(format!("Unknown policy element '{key}'."));
        }
    }
    let version = match policy.get("Version") {
        None => None,
        Some(other) => match other.as_str().and_then(Version::parse) {
            Some(version) => Some(version),
            None => return err(format!("Version {other} is not 2012-10-17 or 2008-10-17.")),
        },
    };
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return err("A policy needs a Statement: an object or a non-empty list."),
    };
    let statements = statements
        .into_iter()
        .map(|s| statement(s, kind))
        .collect::<Result<_, _>>()?;
    Ok(PolicyDocument {
        version,
        statements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::policy::document::{Comparison, Test};
    use serde_json::json;

    fn error(value: Value, kind: Kind) -> String {
        document(&value, kind).unwrap_err().0
    }

    #[test]
    fn each_rule_has_its_message() {
        let r = Kind::Resource;
        let i = Kind::Identity;
        let allow = |extra: Value| {
            let mut s = json!({"Effect": "Allow", "Principal": "*", "Action": "*"});
            for (k, v) in extra.as_object().unwrap() {
                s[k] = v.clone();
            }
            json!({"Statement": s})
        };
        for (value, kind, message) in [
            (json!([]), r, "A policy must be a JSON object."),
            (
                json!({"Extra": 1, "Statement": {}}),
                r,
                "Unknown policy element 'Extra'.",
            ),
            (
                json!({"Version": "2019-10-19", "Statement": []}),
                r,
                "Version \"2019-10-19\" is not 2012-10-17 or 2008-10-17.",
            ),
            (
                json!({"Version": 2012, "Statement": []}),
                r,
                "Version 2012 is not 2012-10-17 or 2008-10-17.",
            ),
            (
                json!({"Statement": []}),
                r,
                "A policy needs a Statement: an object or a non-empty list.",
            ),
            (
                json!({"Statement": [1]}),
                r,
                "Each statement must be an object.",
            ),
            (
                allow(json!({"Extra": 1})),
                r,
                "Unknown statement element 'Extra'.",
            ),
            (
                allow(json!({"Effect": "allow"})),
                r,
                "Effect must be \"Allow\" or \"Deny\".",
            ),
            (
                allow(json!({"NotPrincipal": "*"})),
                r,
                "A statement can't have both Principal and NotPrincipal.",
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "*"}}),
                r,
                "Each statement needs Principal or NotPrincipal.",
            ),
            (
                json!({"Statement": {"Effect": "Allow", "NotPrincipal": "*", "Action": "*", "Resource": "*"}}),
                i,
                "An identity-based policy can't have NotPrincipal.",
            ),
            (
                allow(json!({"Principal": "me"})),
                r,
                "Principal must be \"*\" or an object of principal types.",
            ),
            (
                allow(json!({"Principal": {"Robot": "x"}})),
                r,
                "Principal has an unknown principal type 'Robot'.",
            ),
            (
                allow(json!({"Principal": {"AWS": []}})),
                r,
                "Principal must be a string or a non-empty list of strings.",
            ),
            (
                allow(json!({"Principal": {"AWS": ["a", 1]}})),
                r,
                "Principal must contain only strings.",
            ),
            (
                allow(json!({"NotAction": "*"})),
                r,
                "A statement can't have both Action and NotAction.",
            ),
            (
                allow(json!({"Action": "getsecret"})),
                r,
                "Action 'getsecret' is not of the form service:action.",
            ),
            (
                allow(json!({"Action": ["secretsmanager:Get*", "sm:${x}"]})),
                r,
                "Action 'sm:${x}' is not of the form service:action.",
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "*"}}),
                i,
                "Each statement needs Resource or NotResource.",
            ),
            (
                allow(json!({"NotResource": [true]})),
                r,
                "NotResource must contain only strings.",
            ),
            (
                allow(json!({"Condition": "yes"})),
                r,
                "Condition must be an object.",
            ),
            (
                allow(json!({"Condition": {"Bool": true}})),
                r,
                "Condition operator Bool must map keys to values.",
            ),
            (
                allow(json!({"Condition": {"Bool": {"aws:SecureTransport": [{}]}}})),
                r,
                "Condition key aws:SecureTransport has a value of the wrong type.",
            ),
        ] {
            assert_eq!(error(value.clone(), kind), message, "{value}");
        }
    }

    #[test]
    fn the_first_broken_element_is_the_error() {
        // The first statement is read whole before the second.
        let two = json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "bad"},
            {"Effect": "Maybe"},
        ]});
        assert_eq!(
            error(two, Kind::Resource),
            "Action 'bad' is not of the form service:action."
        );
    }

    #[test]
    fn a_statement_reads_into_its_parts() {
        let value = json!({"Version": "2012-10-17", "Statement": {
            "Sid": "read", "Effect": "Deny", "NotPrincipal": {"AWS": ["111111111111", "arn:aws:iam::111111111111:user/*"], "Service": "x"},
            "NotAction": "secretsmanager:Get*",
            "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": ["a", 1, false]}, "Null": {}},
        }});
        let policy = document(&value, Kind::Resource).unwrap();
        assert_eq!(policy.version, Some(Version::V2012_10_17));
        let [s] = policy.statements.as_slice() else {
            panic!("one statement")
        };
        assert_eq!(s.sid.as_deref(), Some("read"));
        assert_eq!(s.effect, Effect::Deny);
        let Some(PrincipalMatch::NotPrincipal(p)) = &s.principal else {
            panic!("NotPrincipal")
        };
        assert_eq!(p.aws().len(), 2);
        assert_eq!(
            s.actions,
            ActionMatch::NotAction(vec![Pattern::new("secretsmanager:Get*")])
        );
        assert_eq!(s.resources, ResourceMatch::Any);
        // An operator with no keys adds no condition.
        assert_eq!(
            s.conditions,
            [Condition {
                operator: Operator::Compare(Comparison {
                    set: None,
                    test: Test::StringEquals,
                    negated: false,
                    if_exists: true
                }),
                key: "aws:ResourceTag/team".into(),
                values: ["a", "1", "false"].map(Pattern::new).to_vec(),
            }]
        );
        // An empty list of condition values is taken: it matches no value.
        let empty = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"k": []}}}});
        let policy = document(&empty, Kind::Identity).unwrap();
        assert!(policy.statements[0].conditions[0].values.is_empty());
        assert_eq!(policy.version, None);
        assert_eq!(policy.statements[0].principal, None);
    }
}
