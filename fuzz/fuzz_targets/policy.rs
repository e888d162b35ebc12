//! The policy parser (`model::policy::parse`/`parse_as`, PutResourcePolicy and
//! ValidateResourcePolicy, and configured principals' identity policies) and the evaluator a
//! parsed policy goes to (`auth::policy::evaluate`, `grants_public_access`).
//!
//! Input: a policy document, e.g.
//! `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`.
//!
//! Properties: no panic; an accepted document, re-encoded, reads again into the same typed
//! document (floats aside); evaluation of every accepted document, as a resource policy and as an
//! identity policy, over requests with condition keys, does not panic; adding a statement that
//! denies everything to an accepted document keeps it valid, turns every decision into an
//! explicit deny, and never widens what `grants_public_access` reports; an identity policy cut
//! down to the statements an action can use (`statements_for_action`) decides as the whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secretsd::auth::policy::{
    evaluate, grants_public_access, statements_for_action, Context, Decision, Request, Source,
};
use secretsd::model::policy::{self, Kind, PolicyDocument, Statement};
use serde_json::{json, Value};

const SECRET: &str =
    "arn:aws:secretsmanager:us-east-1:111111111111:secret:Applications/MyApp/MySQL-a1b2c3";
const ACTIONS: &[&str] = &[
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:DeleteSecret",
    "secretsmanager:ListSecrets",
];

fn context() -> Context {
    let mut c = Context::default();
    for (key, values) in [
        ("aws:SourceIp", vec!["192.0.2.10"]),
        ("aws:SecureTransport", vec!["true"]),
        ("aws:CurrentTime", vec!["2026-05-01T12:00:00Z"]),
        ("aws:EpochTime", vec!["1777636800"]),
        ("aws:PrincipalTag/team", vec!["db"]),
        ("aws:PrincipalAccount", vec!["111111111111"]),
        ("aws:TagKeys", vec!["team", "env"]),
        ("aws:RequestTag/env", vec!["prod"]),
        ("aws:ResourceTag/env", vec!["prod"]),
        ("secretsmanager:Name", vec!["Applications/MyApp/MySQL"]),
        ("secretsmanager:VersionStage", vec!["AWSCURRENT", "AWSPREVIOUS"]),
        ("secretsmanager:BlockPublicPolicy", vec!["true"]),
    ] {
        c.set(key, values.into_iter().map(str::to_string).collect());
    }
    c
}

fn requests<'a>(context: &'a Context) -> Vec<Request<'a>> {
    let mut out = Vec::new();
    for action in ACTIONS {
        for (principal_arn, principal_account) in [
            ("arn:aws:iam::111111111111:user/app", "111111111111"),
            ("arn:aws:iam::222222222222:role/other", "222222222222"),
        ] {
            for resource in [SECRET, "*"] {
                out.push(Request {
                    action,
                    resource,
                    principal_arn,
                    principal_account,
                    resource_account: "111111111111",
                    context,
                });
            }
        }
    }
    out
}

/// The value with non-integer numbers blanked: serde_json (without its `float_roundtrip`
/// feature) may read a float back one ULP off, which is not the parser's concern.
fn without_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => Value::Null,
        Value::Array(items) => Value::Array(items.iter().map(without_floats).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), without_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The document with one more statement: deny everything to everyone.
fn with_deny_all(policy: &Value, kind: Kind) -> Value {
    let mut deny = json!({"Effect": "Deny", "Action": "*", "Resource": "*"});
    if kind == Kind::Resource {
        deny["Principal"] = json!("*");
    }
    let mut policy = policy.clone();
    let statements = match policy["Statement"].take() {
        Value::Array(items) => items,
        single => vec![single],
    };
    policy["Statement"] = Value::Array(statements.into_iter().chain([deny]).collect());
    policy
}

fuzz_target!(|data: &[u8]| {
    let Ok(document) = std::str::from_utf8(data) else {
        return; // PutResourcePolicy's member is a JSON string: always UTF-8
    };
    let context = context();
    let requests = requests(&context);
    for kind in [Kind::Resource, Kind::Identity] {
        let Ok(parsed) = policy::parse_as(document, kind) else {
            continue;
        };
        assert!(!parsed.statements.is_empty());
        let value: Value = serde_json::from_str(document).expect("an accepted policy is JSON");
        let text = serde_json::to_string(&value).expect("a JSON value encodes");
        let again: Value = serde_json::from_str(&text).expect("re-encoded JSON parses");
        assert!(
            policy::parse_as(&text, kind).is_ok(),
            "the re-encoded policy does not parse"
        );
        assert_eq!(
            policy::parse_value(&without_floats(&again), kind),
            policy::parse_value(&without_floats(&value), kind),
            "the re-encoded policy does not read to the same document"
        );
        if kind == Kind::Resource {
            assert_eq!(policy::parse(document).as_ref(), Ok(&parsed));
        }

        let denied = with_deny_all(&value, kind);
        let denied = policy::parse_as(&denied.to_string(), kind).unwrap_or_else(|e| {
            panic!("adding a deny-all statement made the policy invalid: {denied}: {e:?}")
        });
        let identities = |p: &PolicyDocument| -> Vec<Statement> {
            match kind {
                Kind::Identity => p.statements.clone(),
                Kind::Resource => Vec::new(),
            }
        };
        let resource = |p: &PolicyDocument| match kind {
            Kind::Resource => Some(p.clone()),
            Kind::Identity => None,
        };
        for request in &requests {
            let decision = evaluate(&identities(&parsed), resource(&parsed).as_ref(), request);
            if kind == Kind::Identity {
                // Strict mode evaluates the statements that can apply to the action alone.
                let cut = statements_for_action(std::slice::from_ref(&parsed), request.action);
                assert_eq!(
                    evaluate(&cut, None, request),
                    decision,
                    "cutting the policy down to {} changed the decision",
                    request.action
                );
            }
            let decision = evaluate(&identities(&denied), resource(&denied).as_ref(), request);
            let source = match kind {
                Kind::Identity => Source::Identity,
                Kind::Resource => Source::Resource,
            };
            assert_eq!(decision, Decision::ExplicitDeny(source), "{denied:?}");
        }
        if kind == Kind::Resource {
            // A Deny never widens access. (grants_public_access looks at Allow statements
            // alone, so a deny-all does not make an open policy closed: not asserted here.)
            let public = grants_public_access(&parsed, SECRET, ACTIONS);
            assert!(public || !grants_public_access(&denied, SECRET, ACTIONS));
        }
    }
});
