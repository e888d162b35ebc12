//! IAM policy evaluation (pure): AWS's documented logic for one account and across accounts.
//!
//! - An explicit `Deny` in any applicable statement wins.
//! - Same account: an `Allow` in an identity policy *or* in the resource policy suffices.
//! - Cross-account: both are needed — the caller's identity policy and the resource policy.
//!
//! A statement applies when its `Action`/`NotAction`, `Resource`/`NotResource`, (resource
//! policies) `Principal`/`NotPrincipal` and every `Condition` match. Actions compare without
//! case, resources with case; both take `*` and `?` wildcards. Condition keys compare without
//! case, values as their operator says. Policy variables (`${aws:PrincipalTag/team}`, and the
//! escapes `${*}`, `${?}`, `${$}`) are replaced in resources and condition values by the
//! request's value; a variable without a value makes that pattern match nothing.
//! An operator this module does not know never matches, so an unknown condition fails closed.

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Condition keys and their values for one request (keys without case; multi-valued keys such
/// as `aws:TagKeys` have several values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    keys: BTreeMap<String, Vec<String>>,
}

impl Context {
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        self.keys.insert(key.to_ascii_lowercase(), values);
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }
}

/// Where evaluation reads condition keys from: a `Context`, or a `LazyContext` that builds one
/// only when a statement that applies asks for a key.
pub trait ConditionKeys {
    fn get(&self, key: &str) -> Option<&[String]>;
}

impl ConditionKeys for Context {
    fn get(&self, key: &str) -> Option<&[String]> {
        Context::get(self, key)
    }
}

/// A context built on first use: most checks decide on Action and Resource alone, so the
/// condition keys are gathered only for a statement that needs them.
pub struct LazyContext<F> {
    built: std::cell::OnceCell<Context>,
    build: F,
}

impl<F: Fn() -> Context> LazyContext<F> {
    pub fn new(build: F) -> Self {
        LazyContext {
            built: std::cell::OnceCell::new(),
            build,
        }
    }
}

impl<F: Fn() -> Context> ConditionKeys for LazyContext<F> {
    fn get(&self, key: &str) -> Option<&[String]> {
        self.built.get_or_init(&self.build).get(key)
    }
}

/// What is being asked.
pub struct Request<'a> {
    /// `secretsmanager:GetSecretValue`.
    pub action: &'a str,
    /// The secret's ARN, or `*` for account-level actions.
    pub resource: &'a str,
    pub principal_arn: &'a str,
    pub principal_account: &'a str,
    pub resource_account: &'a str,
    pub context: &'a dyn ConditionKeys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Identity,
    Resource,
}

/// Which allow is missing from an implicit denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    IdentityAllow,
    ResourceAllow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny(Source),
    ImplicitDeny(Missing),
}

/// `*` and `?` glob match; `fold` compares without case. ASCII (the usual case: actions, ARNs)
/// is matched in place; anything else through the general version.
fn glob(pattern: &str, text: &str, fold: bool) -> bool {
    if !pattern.is_ascii() || !text.is_ascii() {
        return glob_chars(pattern, text, fold);
    }
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let same = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Most patterns of a policy fail on their literal head (`secretsmanager:Describe*` against
    // `secretsmanager:GetSecretValue`), and they differ near its end, after the shared service
    // or ARN prefix: test that end first, then the rest of the head.
    let head = p
        .iter()
        .position(|&c| c == b'*' || c == b'?')
        .unwrap_or(p.len());
    let head_differs = t.len() < head
        || (head == p.len() && t.len() != head)
        || (head > 0 && !same(p[head - 1], t[head - 1]));
    if head_differs {
        return false;
    }
    // The head compared as one slice, not character by character in the loop below.
    let head_equal = if fold {
        p[..head].eq_ignore_ascii_case(&t[..head])
    } else {
        p[..head] == t[..head]
    };
    if !head_equal {
        return false;
    }
    // `literal*`, the usual shape of a pattern with a wildcard, matches once its head does.
    if head == p.len() || (head == p.len() - 1 && p[head] == b'*') {
        return true;
    }
    let (mut pi, mut ti, mut star, mut mark) = (head, head, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || same(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// The general glob, over characters; a NUL marks the next pattern character as literal.
fn glob_chars(pattern: &str, text: &str, fold: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if fold {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    // A pattern character after NUL is literal (escaped `*` and `?` of policy variables).
    let mut p: Vec<(char, bool)> = Vec::new();
    let mut literal = false;
    for c in norm(pattern) {
        if c == '\u{0}' {
            literal = true;
            continue;
        }
        p.push((c, literal));
        literal = false;
    }
    let t = norm(text);
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && ((p[pi] == ('?', false)) || p[pi].0 == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == ('*', false) {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == ('*', false))
}

/// `text` with its policy variables replaced from `context`; `None` if one has no value.
/// The escapes stay literal characters (`${*}` is a `*` that matches only itself), which the
/// glob sees as `\u{0}`-marked literals.
fn expand<'t>(text: &'t str, context: &dyn ConditionKeys) -> Option<std::borrow::Cow<'t, str>> {
    // A byte search (memchr) first: a policy's patterns seldom hold a variable.
    if !text.as_bytes().contains(&b'$') || !text.contains("${") {
        return Some(std::borrow::Cow::Borrowed(text));
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        match name {
            "*" => out.push_str("\u{0}*"),
            "?" => out.push_str("\u{0}?"),
            "$" => out.push('$'),
            key => out.push_str(context.get(key)?.first()?),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(std::borrow::Cow::Owned(out))
}

/// The strings of a string-or-list element, borrowed (Action, Resource and Principal hold only
/// strings; the grammar check saw to that).
fn texts(value: &Value) -> impl Iterator<Item = &str> {
    let (one, many) = match value {
        Value::Array(items) => (None, items.as_slice()),
        other => (Some(other), &[][..]),
    };
    one.into_iter().chain(many).filter_map(Value::as_str)
}

/// A string or a list of strings (numbers and booleans by their text).
fn strings(value: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

fn statements(policy: &Value) -> Vec<&serde_json::Map<String, Value>> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(one)) => vec![one],
        _ => Vec::new(),
    }
}

/// `Action`/`NotAction`, `Resource`/`NotResource`: the element matches if any pattern does;
/// the `Not` form matches when none does. A missing pair matches (Resource in resource policies).
fn element_matches(
    statement: &serde_json::Map<String, Value>,
    name: &str,
    value: &str,
    fold: bool,
    context: &dyn ConditionKeys,
) -> bool {
    let any = |v: &Value| {
        texts(v)
            .filter_map(|p| expand(p, context))
            .any(|p| glob(&p, value, fold))
    };
    // `NotAction`, `NotResource`: the element's negation.
    let negated = match name {
        "Action" => "NotAction",
        "Resource" => "NotResource",
        _ => return statement.get(name).is_none_or(any),
    };
    match statement.get(name) {
        Some(v) => any(v),
        None => statement.get(negated).is_none_or(|v| !any(v)),
    }
}

/// How a `Principal` names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Named {
    No,
    /// Through its account (`"111111111111"`, `…:root`): AWS reads this as delegation to the
    /// account, so within the account the caller's identity policy must still allow.
    ByAccount,
    /// The caller itself, or everyone (`"*"`).
    Directly,
}

fn names_principal(value: &Value, request: &Request<'_>) -> Named {
    let is_root = |id: &str| {
        id.strip_prefix("arn:aws:iam::")
            .and_then(|rest| rest.strip_suffix(":root"))
            == Some(request.principal_account)
    };
    let named = |id: &str| {
        if id == "*"
            || id == request.principal_arn
            || (id.contains('*') && glob(id, request.principal_arn, false))
        {
            Named::Directly
        } else if id == request.principal_account || is_root(id) {
            Named::ByAccount
        } else {
            Named::No
        }
    };
    match value {
        Value::String(s) if s == "*" => Named::Directly,
        Value::Object(map) => map.get("AWS").map_or(Named::No, |ids| {
            texts(ids).map(named).max().unwrap_or(Named::No)
        }),
        _ => Named::No,
    }
}

/// Whether a resource-policy statement is about the caller, and how.
fn principal_matches(statement: &serde_json::Map<String, Value>, request: &Request<'_>) -> Named {
    match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(p), _) => names_principal(p, request),
        (None, Some(p)) if names_principal(p, request) == Named::No => Named::Directly,
        _ => Named::No,
    }
}

/// One comparison of a request value with a policy value under a base operator; `None` for an
/// operator this module does not know.
fn compare(base: &str, actual: &str, expected: &str) -> Option<bool> {
    let number = |s: &str| s.parse::<f64>().ok();
    let date = |s: &str| {
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
    };
    let ordered = |a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> bool| match (a, b) {
        (Some(a), Some(b)) => f(a, b),
        _ => false,
    };
    let as_f64 = |ms: Option<i64>| ms.map(|v| v as f64);
    Some(match base {
        "StringEquals" | "ArnEquals" => actual == expected.replace('\u{0}', ""),
        "StringEqualsIgnoreCase" => actual.eq_ignore_ascii_case(expected),
        "StringLike" | "ArnLike" => glob(expected, actual, false),
        "NumericEquals" => ordered(number(actual), number(expected), |a, b| a == b),
        "NumericLessThan" => ordered(number(actual), number(expected), |a, b| a < b),
        "NumericLessThanEquals" => ordered(number(actual), number(expected), |a, b| a <= b),
        "NumericGreaterThan" => ordered(number(actual), number(expected), |a, b| a > b),
        "NumericGreaterThanEquals" => ordered(number(actual), number(expected), |a, b| a >= b),
        "DateEquals" => ordered(as_f64(date(actual)), as_f64(date(expected)), |a, b| a == b),
        "DateLessThan" => ordered(as_f64(date(actual)), as_f64(date(expected)), |a, b| a < b),
        "DateLessThanEquals" => {
            ordered(as_f64(date(actual)), as_f64(date(expected)), |a, b| a <= b)
        }
        "DateGreaterThan" => ordered(as_f64(date(actual)), as_f64(date(expected)), |a, b| a > b),
        "DateGreaterThanEquals" => {
            ordered(as_f64(date(actual)), as_f64(date(expected)), |a, b| a >= b)
        }
        "Bool" => actual.eq_ignore_ascii_case(expected),
        "IpAddress" => in_cidr(actual, expected),
        _ => return None,
    })
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

/// The negated operators and the base they negate.
fn negation(base: &str) -> Option<&'static str> {
    Some(match base {
        "StringNotEquals" => "StringEquals",
        "StringNotEqualsIgnoreCase" => "StringEqualsIgnoreCase",
        "StringNotLike" => "StringLike",
        "ArnNotEquals" => "ArnEquals",
        "ArnNotLike" => "ArnLike",
        "NumericNotEquals" => "NumericEquals",
        "DateNotEquals" => "DateEquals",
        "NotIpAddress" => "IpAddress",
        _ => return None,
    })
}

/// One operator over one key. Multiple policy values OR together. For single-valued use, a
/// request key with several values matches if any does. Missing keys: a positive operator is
/// false, a negated one true (AWS: the key "does not match", so the negation holds); `…IfExists`
/// makes a missing key true; `Null` tests presence.
fn condition_holds(
    operator: &str,
    key: &str,
    expected: &Value,
    context: &dyn ConditionKeys,
) -> bool {
    let expected: Vec<String> = strings(expected)
        .iter()
        .filter_map(|e| expand(e, context).map(|e| e.into_owned()))
        .collect();
    let actual = context.get(key).filter(|v| !v.is_empty());
    let (set, operator) = match operator.split_once(':') {
        Some((set @ ("ForAnyValue" | "ForAllValues"), op)) => (Some(set), op),
        Some(_) => return false,
        None => (None, operator),
    };
    let (operator, if_exists) = match operator.strip_suffix("IfExists") {
        Some(op) => (op, true),
        None => (operator, false),
    };
    if operator == "Null" {
        let absent = actual.is_none();
        return expected
            .iter()
            .any(|e| e.eq_ignore_ascii_case(&absent.to_string()));
    }
    let (base, negated) = match negation(operator) {
        Some(base) => (base, true),
        None => (operator, false),
    };
    // One request value against the policy values (OR), negation applied per value.
    let one = |value: &str| -> Option<bool> {
        let mut any = false;
        for e in &expected {
            any |= compare(base, value, e)?;
        }
        Some(any != negated)
    };
    let Some(actual) = actual else {
        return match set {
            Some("ForAllValues") => true,
            Some(_) => false,
            None => if_exists || negated,
        };
    };
    let results: Option<Vec<bool>> = actual.iter().map(|v| one(v)).collect();
    let Some(results) = results else {
        return false; // unknown operator: fail closed
    };
    match set {
        Some("ForAllValues") => results.iter().all(|r| *r),
        Some(_) => results.iter().any(|r| *r),
        // A negated operator must hold for every value of the key; a positive one for any.
        None if negated => results.iter().all(|r| *r),
        None => results.iter().any(|r| *r),
    }
}

fn conditions_hold(
    statement: &serde_json::Map<String, Value>,
    context: &dyn ConditionKeys,
) -> bool {
    let Some(Value::Object(block)) = statement.get("Condition") else {
        return true;
    };
    block.iter().all(|(operator, keys)| match keys {
        Value::Object(keys) => keys
            .iter()
            .all(|(key, expected)| condition_holds(operator, key, expected, context)),
        _ => false,
    })
}

/// The effects of the statements of `policies` that apply to the request.
/// The effects of the statements of `policies` that apply to the request: whether one allows
/// (and whether only through account delegation) and whether one denies. A Deny that names the
/// caller's account covers all of the account's principals.
fn effects<'v>(
    policies: impl IntoIterator<Item = &'v Value>,
    request: &Request<'_>,
    resource_policy: bool,
) -> Effects {
    let mut effects = Effects::default();
    for policy in policies {
        for statement in statements(policy) {
            // The action first: it rules out most statements, and costs least to check.
            if !element_matches(statement, "Action", request.action, true, request.context) {
                continue;
            }
            let named = if resource_policy {
                principal_matches(statement, request)
            } else {
                Named::Directly
            };
            let applies = named != Named::No
                && element_matches(
                    statement,
                    "Resource",
                    request.resource,
                    false,
                    request.context,
                )
                && conditions_hold(statement, request.context);
            if applies {
                match statement.get("Effect").and_then(Value::as_str) {
                    Some("Deny") => effects.deny = true,
                    Some("Allow") if named == Named::Directly => effects.allow = true,
                    Some("Allow") => effects.allow_by_account = true,
                    _ => {}
                }
            }
        }
    }
    effects
}

#[derive(Default)]
struct Effects {
    allow: bool,
    allow_by_account: bool,
    deny: bool,
}

/// The statements of `policies` that can apply to a request for `action`, as one policy.
/// Evaluating such a request against it decides exactly as against `policies`, since a statement
/// whose `Action`/`NotAction` does not match never applies; a statement whose action patterns
/// hold policy variables is kept, as its match depends on the request.
pub fn statements_for_action(policies: &[Value], action: &str) -> Value {
    struct NoKeys;
    impl ConditionKeys for NoKeys {
        fn get(&self, _: &str) -> Option<&[String]> {
            None
        }
    }
    let kept: Vec<Value> = policies
        .iter()
        .flat_map(statements)
        .filter(|statement| {
            let patterns = statement
                .get("Action")
                .or_else(|| statement.get("NotAction"));
            patterns.is_some_and(|v| texts(v).any(|p| p.contains("${")))
                || element_matches(statement, "Action", action, true, &NoKeys)
        })
        .map(|statement| Value::Object(statement.clone()))
        .collect();
    serde_json::json!({ "Statement": kept })
}

/// AWS's decision for the request.
pub fn evaluate(
    identity_policies: &[Value],
    resource_policy: Option<&Value>,
    request: &Request<'_>,
) -> Decision {
    let identity = effects(identity_policies, request, false);
    let resource = effects(resource_policy, request, true);
    if identity.deny {
        return Decision::ExplicitDeny(Source::Identity);
    }
    if resource.deny {
        return Decision::ExplicitDeny(Source::Resource);
    }
    if request.principal_account == request.resource_account {
        // Within an account either side may allow; naming the account only delegates.
        if identity.allow || resource.allow {
            Decision::Allow
        } else {
            Decision::ImplicitDeny(Missing::IdentityAllow)
        }
    } else {
        // Across accounts the secret's account must allow the caller (naming its account
        // counts), and the caller's own account must allow it too.
        match (identity.allow, resource.allow || resource.allow_by_account) {
            (true, true) => Decision::Allow,
            (true, false) => Decision::ImplicitDeny(Missing::ResourceAllow),
            _ => Decision::ImplicitDeny(Missing::IdentityAllow),
        }
    }
}

/// Whether a resource policy grants broad access (BlockPublicPolicy, ValidateResourcePolicy):
/// asked through the same evaluation, does it let a stranger — a principal of an unrelated
/// account, with no attributes — perform any of `actions` on `resource`? A condition on a key
/// the stranger lacks narrows it; a negated one (`StringNotEquals`) does not.
pub fn grants_public_access(resource_policy: &Value, resource: &str, actions: &[&str]) -> bool {
    let context = Context::default();
    actions.iter().any(|action| {
        let stranger = Request {
            action,
            resource,
            principal_arn: "arn:aws:iam::999999999999:user/anyone",
            principal_account: "999999999999",
            resource_account: "",
            context: &context,
        };
        effects([resource_policy], &stranger, true).allow
    })
}

/// AWS's AccessDeniedException text for a denial.
pub fn denial_message(request: &Request<'_>, decision: &Decision) -> String {
    let head = format!(
        "User: {} is not authorized to perform: {} on resource: {}",
        request.principal_arn, request.action, request.resource
    );
    match decision {
        Decision::Allow => head,
        Decision::ExplicitDeny(Source::Identity) => {
            format!("{head} with an explicit deny in an identity-based policy")
        }
        Decision::ExplicitDeny(Source::Resource) => {
            format!("{head} with an explicit deny in a resource-based policy")
        }
        Decision::ImplicitDeny(Missing::IdentityAllow) => format!(
            "{head} because no identity-based policy allows the {} action",
            request.action
        ),
        Decision::ImplicitDeny(Missing::ResourceAllow) => format!(
            "{head} because no resource-based policy allows the {} action",
            request.action
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ME: &str = "arn:aws:iam::111111111111:user/app";
    const SECRET: &str =
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:Applications/MyApp/MySQL-RDS-Database-a1b2c3";

    fn request<'a>(action: &'a str, resource: &'a str, context: &'a Context) -> Request<'a> {
        Request {
            action,
            resource,
            principal_arn: ME,
            principal_account: "111111111111",
            resource_account: "111111111111",
            context,
        }
    }

    #[test]
    fn a_policy_cut_down_to_an_action_decides_as_the_whole() {
        let policies = [
            json!({"Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:Get*", "Resource": SECRET},
                {"Effect": "Allow", "Action": ["secretsmanager:Describe*", "secretsmanager:List*"], "Resource": "*"},
                {"Effect": "Deny", "NotAction": "secretsmanager:GetSecretValue", "Resource": "*",
                 "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
                {"Effect": "Allow", "Action": "secretsmanager:${aws:PrincipalTag/verb}*", "Resource": "*"},
            ]}),
            allow("SECRETSMANAGER:putsecretvalue", "*"),
        ];
        let mut context = Context::default();
        context.set("aws:MultiFactorAuthPresent", vec!["false".into()]);
        context.set("aws:PrincipalTag/verb", vec!["Delete".into()]);
        for action in [
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:DeleteSecret",
            "secretsmanager:TagResource",
        ] {
            let cut = statements_for_action(&policies, action);
            let kept = statements(&cut).len();
            let whole = request(action, SECRET, &context);
            assert_eq!(
                evaluate(&[cut], None, &whole),
                evaluate(&policies, None, &whole),
                "{action}"
            );
            // The statement with a variable is always kept; the others only if their actions match.
            assert!((1..=4).contains(&kept), "{action}: {kept}");
        }
        let cut = statements_for_action(&policies, "secretsmanager:GetSecretValue");
        assert_eq!(statements(&cut).len(), 2, "Get* and the variable: {cut}");
    }

    fn allow(action: &str, resource: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    fn with_condition(effect: &str, condition: Value) -> Value {
        json!({"Statement": {"Effect": effect, "Action": "secretsmanager:*", "Resource": "*", "Condition": condition}})
    }

    fn decide(
        policies: &[Value],
        resource: Option<&Value>,
        action: &str,
        context: &Context,
    ) -> Decision {
        evaluate(policies, resource, &request(action, SECRET, context))
    }

    fn ctx(pairs: &[(&str, &[&str])]) -> Context {
        let mut c = Context::default();
        for (k, v) in pairs {
            c.set(k, v.iter().map(|s| s.to_string()).collect());
        }
        c
    }

    #[test]
    fn the_seed_article_application_can_read_its_secret_and_nothing_else() {
        let policy = allow(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:111111111111:secret:Applications/MyApp/MySQL-RDS-Database-??????",
        );
        let c = Context::default();
        assert_eq!(
            decide(
                std::slice::from_ref(&policy),
                None,
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::Allow
        );
        let denied = decide(
            std::slice::from_ref(&policy),
            None,
            "secretsmanager:DescribeSecret",
            &c,
        );
        assert_eq!(denied, Decision::ImplicitDeny(Missing::IdentityAllow));
        let other =
            "arn:aws:secretsmanager:us-east-1:111111111111:secret:Applications/Other-a1b2c3";
        let r = request("secretsmanager:GetSecretValue", other, &c);
        assert_eq!(
            evaluate(std::slice::from_ref(&policy), None, &r),
            Decision::ImplicitDeny(Missing::IdentityAllow)
        );
        // Six characters exactly: a longer suffix is another secret.
        let longer = format!("{SECRET}x");
        let r = request("secretsmanager:GetSecretValue", &longer, &c);
        assert_ne!(evaluate(&[policy], None, &r), Decision::Allow);
    }

    #[test]
    fn explicit_deny_wins_over_any_allow() {
        let c = Context::default();
        let deny = json!({"Statement": {"Effect": "Deny", "Action": "secretsmanager:Get*", "Resource": "*"}});
        let both = [allow("secretsmanager:*", "*"), deny.clone()];
        assert_eq!(
            decide(&both, None, "secretsmanager:GetSecretValue", &c),
            Decision::ExplicitDeny(Source::Identity)
        );
        assert_eq!(
            decide(&both, None, "secretsmanager:DescribeSecret", &c),
            Decision::Allow
        );
        let resource_deny = json!({"Statement": {"Effect": "Deny", "Principal": {"AWS": "111111111111"}, "Action": "*", "Resource": "*"}});
        assert_eq!(
            decide(
                &[allow("*", "*")],
                Some(&resource_deny),
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::ExplicitDeny(Source::Resource)
        );
    }

    #[test]
    fn same_account_needs_one_allow_cross_account_needs_both() {
        let c = Context::default();
        let grant = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/app"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}});
        // Same account: the resource policy alone is enough.
        assert_eq!(
            decide(&[], Some(&grant), "secretsmanager:GetSecretValue", &c),
            Decision::Allow
        );
        assert_eq!(
            decide(&[], None, "secretsmanager:GetSecretValue", &c),
            Decision::ImplicitDeny(Missing::IdentityAllow)
        );
        // Cross-account: identity policy and resource policy.
        let foreign = "arn:aws:secretsmanager:us-east-1:222222222222:secret:shared-a1b2c3";
        let r = Request {
            resource_account: "222222222222",
            ..request("secretsmanager:GetSecretValue", foreign, &c)
        };
        let identity = [allow("secretsmanager:GetSecretValue", "*")];
        assert_eq!(
            evaluate(&identity, None, &r),
            Decision::ImplicitDeny(Missing::ResourceAllow)
        );
        assert_eq!(
            evaluate(&[], Some(&grant), &r),
            Decision::ImplicitDeny(Missing::IdentityAllow)
        );
        assert_eq!(evaluate(&identity, Some(&grant), &r), Decision::Allow);
        // An account id or its root names every principal of that account.
        for who in [
            json!("111111111111"),
            json!("arn:aws:iam::111111111111:root"),
            json!("*"),
        ] {
            let p = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": who}, "Action": "*", "Resource": "*"}});
            assert_eq!(evaluate(&identity, Some(&p), &r), Decision::Allow, "{p}");
        }
        // Within the account, naming the account only delegates: the identity policy decides.
        let account_only = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "*", "Resource": "*"}});
        assert_eq!(
            decide(
                &[],
                Some(&account_only),
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::ImplicitDeny(Missing::IdentityAllow)
        );
        let service = json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*", "Resource": "*"}});
        assert_eq!(
            evaluate(&identity, Some(&service), &r),
            Decision::ImplicitDeny(Missing::ResourceAllow)
        );
    }

    #[test]
    fn not_elements_invert_the_match() {
        let c = Context::default();
        let not_action = json!({"Statement": {"Effect": "Allow", "NotAction": "secretsmanager:Delete*", "Resource": "*"}});
        assert_eq!(
            decide(
                std::slice::from_ref(&not_action),
                None,
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::Allow
        );
        assert_ne!(
            decide(&[not_action], None, "secretsmanager:DeleteSecret", &c),
            Decision::Allow
        );
        let not_resource = json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:secretsmanager:*:*:secret:Applications/*"}});
        assert_ne!(
            decide(&[not_resource], None, "secretsmanager:GetSecretValue", &c),
            Decision::Allow
        );
        let not_principal = json!({"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:user/admin"}, "Action": "*", "Resource": "*"}});
        assert_eq!(
            decide(
                &[allow("*", "*")],
                Some(&not_principal),
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::ExplicitDeny(Source::Resource)
        );
    }

    #[test]
    fn actions_ignore_case_resources_do_not() {
        let c = Context::default();
        assert_eq!(
            decide(
                &[allow("SecretsManager:getsecretvalue", "*")],
                None,
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::Allow
        );
        let upper = SECRET.replace("Applications", "APPLICATIONS");
        assert_ne!(
            decide(
                &[allow("*", &upper)],
                None,
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::Allow
        );
    }

    #[test]
    fn string_and_arn_operators() {
        let tagged = ctx(&[
            ("aws:ResourceTag/team", &["payments"]),
            ("aws:PrincipalArn", &[ME]),
        ]);
        let cases = [
            (
                json!({"StringEquals": {"aws:ResourceTag/team": "payments"}}),
                true,
            ),
            (
                json!({"StringEquals": {"AWS:RESOURCETAG/TEAM": "payments"}}),
                true,
            ),
            (
                json!({"StringEquals": {"aws:ResourceTag/team": ["hr", "payments"]}}),
                true,
            ),
            (
                json!({"StringEquals": {"aws:ResourceTag/team": "Payments"}}),
                false,
            ),
            (
                json!({"StringEqualsIgnoreCase": {"aws:ResourceTag/team": "PAYMENTS"}}),
                true,
            ),
            (
                json!({"StringNotEquals": {"aws:ResourceTag/team": "hr"}}),
                true,
            ),
            (
                json!({"StringLike": {"aws:ResourceTag/team": "pay*"}}),
                true,
            ),
            (
                json!({"StringNotLike": {"aws:ResourceTag/team": "pay*"}}),
                false,
            ),
            (
                json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}),
                true,
            ),
            (json!({"ArnNotEquals": {"aws:PrincipalArn": ME}}), false),
            // Missing keys: positive operators fail, negated ones hold, IfExists holds.
            (
                json!({"StringEquals": {"aws:ResourceTag/owner": "x"}}),
                false,
            ),
            (
                json!({"StringNotEquals": {"aws:ResourceTag/owner": "x"}}),
                true,
            ),
            (
                json!({"StringEqualsIfExists": {"aws:ResourceTag/owner": "x"}}),
                true,
            ),
            (json!({"Null": {"aws:ResourceTag/owner": "true"}}), true),
            (json!({"Null": {"aws:ResourceTag/team": "true"}}), false),
            (
                json!({"StringEquals": {"aws:ResourceTag/team": "payments"}, "Null": {"aws:ResourceTag/owner": "false"}}),
                false,
            ),
            (
                json!({"NoSuchOperator": {"aws:ResourceTag/team": "payments"}}),
                false,
            ),
        ];
        for (condition, expected) in cases {
            let d = decide(
                &[with_condition("Allow", condition.clone())],
                None,
                "secretsmanager:GetSecretValue",
                &tagged,
            );
            assert_eq!(d == Decision::Allow, expected, "{condition}");
        }
    }

    #[test]
    fn bool_numeric_date_and_ip_operators() {
        let c = ctx(&[
            ("aws:MultiFactorAuthPresent", &["false"]),
            ("aws:CurrentTime", &["2026-11-28T12:00:00Z"]),
            ("aws:EpochTime", &["1795900000"]),
            ("aws:SourceIp", &["10.1.2.3"]),
        ]);
        let v6 = ctx(&[("aws:SourceIp", &["2001:db8::7"])]);
        let cases = [
            (
                json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
                &c,
                false,
            ),
            (
                json!({"Bool": {"aws:MultiFactorAuthPresent": false}}),
                &c,
                true,
            ),
            (
                json!({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}),
                &c,
                true,
            ),
            (
                json!({"DateGreaterThan": {"aws:CurrentTime": "2027-01-01"}}),
                &c,
                false,
            ),
            (
                json!({"NumericLessThan": {"aws:EpochTime": 1800000000}}),
                &c,
                true,
            ),
            (
                json!({"NumericGreaterThanEquals": {"aws:EpochTime": "1795900001"}}),
                &c,
                false,
            ),
            (
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                &c,
                true,
            ),
            (
                json!({"IpAddress": {"aws:SourceIp": ["192.168.0.0/16", "10.1.2.3"]}}),
                &c,
                true,
            ),
            (
                json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                &c,
                false,
            ),
            (
                json!({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}),
                &v6,
                true,
            ),
            (
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                &v6,
                false,
            ),
        ];
        for (condition, context, expected) in cases {
            let d = decide(
                &[with_condition("Allow", condition.clone())],
                None,
                "secretsmanager:GetSecretValue",
                context,
            );
            assert_eq!(d == Decision::Allow, expected, "{condition}");
        }
        // The classic: deny everything without MFA.
        let deny = with_condition(
            "Deny",
            json!({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        );
        assert_eq!(
            decide(
                &[allow("*", "*"), deny],
                None,
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::ExplicitDeny(Source::Identity)
        );
    }

    #[test]
    fn set_operators_for_multi_valued_keys() {
        let c = ctx(&[("aws:TagKeys", &["team", "env"])]);
        let none = Context::default();
        let cases = [
            (
                json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env", "owner"]}}),
                &c,
                true,
            ),
            (
                json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}),
                &c,
                false,
            ),
            (
                json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}),
                &c,
                true,
            ),
            (
                json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}}),
                &c,
                false,
            ),
            // An absent key: ForAllValues holds (vacuously), ForAnyValue does not.
            (
                json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}),
                &none,
                true,
            ),
            (
                json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}),
                &none,
                false,
            ),
        ];
        for (condition, context, expected) in cases {
            let d = decide(
                &[with_condition("Allow", condition.clone())],
                None,
                "secretsmanager:TagResource",
                context,
            );
            assert_eq!(d == Decision::Allow, expected, "{condition}");
        }
    }

    #[test]
    fn denial_messages_are_awss() {
        let c = Context::default();
        let r = request("secretsmanager:GetSecretValue", SECRET, &c);
        let head = format!("User: {ME} is not authorized to perform: secretsmanager:GetSecretValue on resource: {SECRET}");
        assert_eq!(
            denial_message(&r, &Decision::ImplicitDeny(Missing::IdentityAllow)),
            format!("{head} because no identity-based policy allows the secretsmanager:GetSecretValue action")
        );
        assert_eq!(
            denial_message(&r, &Decision::ImplicitDeny(Missing::ResourceAllow)),
            format!("{head} because no resource-based policy allows the secretsmanager:GetSecretValue action")
        );
        assert_eq!(
            denial_message(&r, &Decision::ExplicitDeny(Source::Identity)),
            format!("{head} with an explicit deny in an identity-based policy")
        );
        assert_eq!(
            denial_message(&r, &Decision::ExplicitDeny(Source::Resource)),
            format!("{head} with an explicit deny in a resource-based policy")
        );
    }

    #[test]
    fn policy_variables_take_the_request_values() {
        let c = ctx(&[
            ("aws:PrincipalTag/team", &["payments"]),
            ("aws:ResourceTag/team", &["payments"]),
        ]);
        let same_team = with_condition(
            "Allow",
            json!({"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}),
        );
        assert_eq!(
            decide(
                std::slice::from_ref(&same_team),
                None,
                "secretsmanager:GetSecretValue",
                &c
            ),
            Decision::Allow
        );
        let other = ctx(&[
            ("aws:PrincipalTag/team", &["hr"]),
            ("aws:ResourceTag/team", &["payments"]),
        ]);
        assert_ne!(
            decide(
                std::slice::from_ref(&same_team),
                None,
                "secretsmanager:GetSecretValue",
                &other
            ),
            Decision::Allow
        );
        let untagged = ctx(&[("aws:ResourceTag/team", &["payments"])]);
        assert_ne!(
            decide(
                &[same_team],
                None,
                "secretsmanager:GetSecretValue",
                &untagged
            ),
            Decision::Allow
        );
        // In resources, and the escapes: ${*} is a literal star.
        let c = ctx(&[("aws:PrincipalTag/team", &["Applications"])]);
        let own = allow(
            "*",
            "arn:aws:secretsmanager:*:*:secret:${aws:PrincipalTag/team}/*",
        );
        assert_eq!(
            decide(&[own], None, "secretsmanager:GetSecretValue", &c),
            Decision::Allow
        );
        let literal = allow("*", "arn:aws:secretsmanager:*:*:secret:${*}");
        assert_ne!(
            decide(&[literal], None, "secretsmanager:GetSecretValue", &c),
            Decision::Allow
        );
        assert_eq!(expand("a${$}b", &c).unwrap(), "a$b");
    }

    #[test]
    fn public_access_is_an_allow_for_a_stranger() {
        let actions = [
            "secretsmanager:GetSecretValue",
            "secretsmanager:DeleteSecret",
        ];
        let check = |policy: Value| grants_public_access(&policy, SECRET, &actions);
        let statement = |s: Value| json!({"Version": "2012-10-17", "Statement": [s]});
        assert!(check(statement(
            json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
        )));
        assert!(check(statement(
            json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "secretsmanager:*", "Resource": "*"})
        )));
        assert!(check(statement(
            json!({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "*", "Resource": "*"})
        )));
        assert!(check(statement(
            json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "111111111111"}}})
        )));
        assert!(!check(statement(
            json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "*", "Resource": "*"})
        )));
        assert!(!check(statement(
            json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}})
        )));
        assert!(!check(statement(
            json!({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"})
        )));
        assert!(!check(statement(
            json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:ListSecrets", "Resource": "*"})
        )));
    }

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbbc", false) && glob("a?c", "abc", false) && glob("*", "", false));
        assert!(
            !glob("a?c", "abbc", false) && !glob("abc", "ABC", false) && glob("abc", "ABC", true)
        );
        assert!(glob(
            "*secret:Name-??????",
            "arn:x:secret:Name-AbC123",
            false
        ));
        // A literal head with one trailing `*`, decided by the head alone.
        assert!(glob("abc*", "abcdef", false) && glob("abc*", "abc", false));
        assert!(!glob("abc*", "ab", false) && !glob("abc*", "abdef", false));
        assert!(glob("ABC*", "abcd", true) && !glob("ABC*", "abcd", false));
        assert!(!glob("xbc*", "abcd", false) && glob("", "", false) && !glob("", "a", false));
    }
}
