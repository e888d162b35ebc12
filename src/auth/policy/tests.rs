//! Decisions of whole policies, through `evaluate` as strict mode asks for them.

use super::denial::denial_message;
use super::matching::expand;
use super::*;
use crate::model::policy::{self, ActionMatch, Kind, Pattern, PolicyDocument, Statement};
use serde_json::{json, Value};

const ME: &str = "arn:aws:iam::111111111111:user/app";
const SECRET: &str =
    "arn:aws:secretsmanager:us-east-1:111111111111:secret:Applications/MyApp/MySQL-RDS-Database-a1b2c3";

/// A request by `ME` in its own account.
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
    let mut first = identity(json!({"Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:Get*", "Resource": SECRET},
        {"Effect": "Allow", "Action": ["secretsmanager:Describe*", "secretsmanager:List*"], "Resource": "*"},
        {"Effect": "Deny", "NotAction": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
        {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
    ]}));
    // The grammar takes no variable in an action, but evaluation does: built by hand.
    first.statements[3].actions = ActionMatch::Action(vec![Pattern::new(
        "secretsmanager:${aws:PrincipalTag/verb}*",
    )]);
    let policies = [first, allow("SECRETSMANAGER:putsecretvalue", "*")];
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
        let kept = cut.len();
        let whole = request(action, SECRET, &context);
        assert_eq!(
            evaluate(&cut, None, &whole),
            evaluate(&statements(&policies), None, &whole),
            "{action}"
        );
        // The statement with a variable is always kept; the others only if their actions match.
        assert!((1..=4).contains(&kept), "{action}: {kept}");
    }
    let cut = statements_for_action(&policies, "secretsmanager:GetSecretValue");
    assert_eq!(cut.len(), 2, "Get* and the variable: {cut:?}");
}

/// An identity policy, read as config loading reads one.
fn identity(document: Value) -> PolicyDocument {
    policy::parse_value(&document, Kind::Identity).expect("a valid identity policy")
}

/// A resource policy, read as PutResourcePolicy reads one.
fn resource(document: Value) -> PolicyDocument {
    policy::parse_value(&document, Kind::Resource).expect("a valid resource policy")
}

/// The statements of several identity policies, as one list.
fn statements(policies: &[PolicyDocument]) -> Vec<Statement> {
    policies
        .iter()
        .flat_map(|p| p.statements.iter().cloned())
        .collect()
}

fn allow(action: &str, resource: &str) -> PolicyDocument {
    identity(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}),
    )
}

fn with_condition(effect: &str, condition: Value) -> PolicyDocument {
    identity(
        json!({"Statement": {"Effect": effect, "Action": "secretsmanager:*", "Resource": "*", "Condition": condition}}),
    )
}

fn decide(
    policies: &[PolicyDocument],
    resource: Option<&PolicyDocument>,
    action: &str,
    context: &Context,
) -> Decision {
    evaluate(
        &statements(policies),
        resource,
        &request(action, SECRET, context),
    )
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
    let other = "arn:aws:secretsmanager:us-east-1:111111111111:secret:Applications/Other-a1b2c3";
    let r = request("secretsmanager:GetSecretValue", other, &c);
    assert_eq!(
        evaluate(&policy.statements, None, &r),
        Decision::ImplicitDeny(Missing::IdentityAllow)
    );
    // Six characters exactly: a longer suffix is another secret.
    let longer = format!("{SECRET}x");
    let r = request("secretsmanager:GetSecretValue", &longer, &c);
    assert_ne!(evaluate(&policy.statements, None, &r), Decision::Allow);
}

#[test]
fn explicit_deny_wins_over_any_allow() {
    let c = Context::default();
    let deny = identity(
        json!({"Statement": {"Effect": "Deny", "Action": "secretsmanager:Get*", "Resource": "*"}}),
    );
    let both = [allow("secretsmanager:*", "*"), deny.clone()];
    assert_eq!(
        decide(&both, None, "secretsmanager:GetSecretValue", &c),
        Decision::ExplicitDeny(Source::Identity)
    );
    assert_eq!(
        decide(&both, None, "secretsmanager:DescribeSecret", &c),
        Decision::Allow
    );
    let resource_deny = resource(
        json!({"Statement": {"Effect": "Deny", "Principal": {"AWS": "111111111111"}, "Action": "*", "Resource": "*"}}),
    );
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
    let grant = resource(
        json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/app"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}}),
    );
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
    let identity = allow("secretsmanager:GetSecretValue", "*").statements;
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
        assert_eq!(
            evaluate(&identity, Some(&resource(p.clone())), &r),
            Decision::Allow,
            "{p}"
        );
    }
    // Within the account, naming the account only delegates: the identity policy decides.
    let account_only = resource(
        json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "*", "Resource": "*"}}),
    );
    assert_eq!(
        decide(
            &[],
            Some(&account_only),
            "secretsmanager:GetSecretValue",
            &c
        ),
        Decision::ImplicitDeny(Missing::IdentityAllow)
    );
    let service = resource(
        json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*", "Resource": "*"}}),
    );
    assert_eq!(
        evaluate(&identity, Some(&service), &r),
        Decision::ImplicitDeny(Missing::ResourceAllow)
    );
}

#[test]
fn not_elements_invert_the_match() {
    let c = Context::default();
    let not_action = identity(
        json!({"Statement": {"Effect": "Allow", "NotAction": "secretsmanager:Delete*", "Resource": "*"}}),
    );
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
    let not_resource = identity(
        json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:secretsmanager:*:*:secret:Applications/*"}}),
    );
    assert_ne!(
        decide(&[not_resource], None, "secretsmanager:GetSecretValue", &c),
        Decision::Allow
    );
    let not_principal = resource(
        json!({"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:user/admin"}, "Action": "*", "Resource": "*"}}),
    );
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
    let check = |policy: Value| grants_public_access(&resource(policy), SECRET, &actions);
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

/// The denial texts (`denial.rs`), AWS's word for word.
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
