//! Matching a request against a statement's patterns: actions and resources (`*` and `?`
//! wildcards; actions without case, resources with), policy variables, principals.

use super::context::ConditionKeys;
use crate::model::policy::{ActionMatch, Pattern, PrincipalMatch, Principals, ResourceMatch};
use std::borrow::Cow;

/// `*` and `?` glob match; `fold` compares without case. ASCII (the usual case: actions, ARNs)
/// is matched in place; anything else through the general version.
pub fn glob(pattern: &str, text: &str, fold: bool) -> bool {
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
    wildcards(
        p,
        t,
        head,
        |c| *c == b'*',
        |c| *c == b'?',
        |c, t| same(*c, *t),
    )
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
    wildcards(
        &p,
        &t,
        0,
        |c| *c == ('*', false),
        |c| *c == ('?', false),
        |c, t| c.0 == *t,
    )
}

/// The backtracking match of pattern `p` against `t` from position `from` in both: `star`
/// matches any run, `one` any one element, and an element `same` as the text's matches it.
fn wildcards<P, T>(
    p: &[P],
    t: &[T],
    from: usize,
    star: impl Fn(&P) -> bool,
    one: impl Fn(&P) -> bool,
    same: impl Fn(&P, &T) -> bool,
) -> bool {
    let (mut pi, mut ti, mut last_star, mut mark) = (from, from, None, 0);
    while ti < t.len() {
        if pi < p.len() && (one(&p[pi]) || same(&p[pi], &t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && star(&p[pi]) {
            last_star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = last_star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(star)
}

/// `text` with its policy variables replaced from `context`; `None` if one has no value.
/// The escapes stay literal characters (`${*}` is a `*` that matches only itself), which the
/// glob sees as `\u{0}`-marked literals.
pub fn expand<'t>(text: &'t str, context: &dyn ConditionKeys) -> Option<Cow<'t, str>> {
    // A byte search (memchr) first: a policy's patterns seldom hold a variable.
    if !text.as_bytes().contains(&b'$') || !text.contains("${") {
        return Some(Cow::Borrowed(text));
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
    Some(Cow::Owned(out))
}

/// A pattern with its policy variables replaced; `None` if one has no value.
pub fn expand_pattern<'p>(
    pattern: &'p Pattern,
    context: &dyn ConditionKeys,
) -> Option<Cow<'p, str>> {
    if !pattern.has_variables() {
        return Some(Cow::Borrowed(pattern.as_str()));
    }
    expand(pattern.as_str(), context)
}

/// Whether any of `patterns` matches `value`; a pattern whose variables have no value matches
/// nothing.
fn any_matches(patterns: &[Pattern], value: &str, fold: bool, context: &dyn ConditionKeys) -> bool {
    patterns
        .iter()
        .filter_map(|p| expand_pattern(p, context))
        .any(|p| glob(&p, value, fold))
}

/// `Action` matches if any pattern does, `NotAction` if none does; without case.
pub fn action_matches(actions: &ActionMatch, action: &str, context: &dyn ConditionKeys) -> bool {
    match actions {
        ActionMatch::Action(p) => any_matches(p, action, true, context),
        ActionMatch::NotAction(p) => !any_matches(p, action, true, context),
    }
}

/// `Resource` matches if any pattern does, `NotResource` if none does, neither always; with
/// case.
pub fn resource_matches(
    resources: &ResourceMatch,
    resource: &str,
    context: &dyn ConditionKeys,
) -> bool {
    match resources {
        ResourceMatch::Any => true,
        ResourceMatch::Resource(p) => any_matches(p, resource, false, context),
        ResourceMatch::NotResource(p) => !any_matches(p, resource, false, context),
    }
}

/// How a `Principal` names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Named {
    No,
    /// Through its account (`"111111111111"`, `…:root`): AWS reads this as delegation to the
    /// account, so within the account the caller's identity policy must still allow.
    ByAccount,
    /// The caller itself, or everyone (`"*"`).
    Directly,
}

/// The caller, by its ARN and account.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub arn: &'a str,
    pub account: &'a str,
}

/// How `principals` name the caller: only `AWS` ids can (a service or federated principal is
/// never a configured one).
fn names(principals: &Principals, caller: Caller<'_>) -> Named {
    let is_root = |id: &str| {
        id.strip_prefix("arn:aws:iam::")
            .and_then(|rest| rest.strip_suffix(":root"))
            == Some(caller.account)
    };
    let named = |id: &String| {
        if id == "*" || id == caller.arn || (id.contains('*') && glob(id, caller.arn, false)) {
            Named::Directly
        } else if id == caller.account || is_root(id) {
            Named::ByAccount
        } else {
            Named::No
        }
    };
    match principals {
        Principals::Everyone => Named::Directly,
        Principals::Ids(_) => principals
            .aws()
            .iter()
            .map(named)
            .max()
            .unwrap_or(Named::No),
    }
}

/// Whether a resource-policy statement is about the caller, and how; a statement without
/// `Principal`/`NotPrincipal` is about no one.
pub fn principal_matches(principal: Option<&PrincipalMatch>, caller: Caller<'_>) -> Named {
    match principal {
        Some(PrincipalMatch::Principal(p)) => names(p, caller),
        Some(PrincipalMatch::NotPrincipal(p)) if names(p, caller) == Named::No => Named::Directly,
        _ => Named::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::policy::context::{Context, NoKeys};
    use crate::model::policy::PrincipalType;

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

    #[test]
    fn variables_take_the_request_values_or_match_nothing() {
        let mut c = Context::default();
        c.set("aws:PrincipalTag/team", vec!["payments".into()]);
        assert_eq!(expand("a${$}b", &c).unwrap(), "a$b");
        assert_eq!(
            expand("s:${aws:principaltag/TEAM}/*", &c).unwrap(),
            "s:payments/*"
        );
        assert_eq!(expand("${*}${?}", &NoKeys).unwrap(), "\u{0}*\u{0}?");
        assert!(expand("${aws:username}", &c).is_none());
        assert!(expand("${unclosed", &c).is_none());
        // A variable whose key has no values has no value.
        c.set("empty", Vec::new());
        assert!(expand("${empty}", &c).is_none());
        let p = Pattern::new("no-variables");
        assert!(matches!(
            expand_pattern(&p, &c),
            Some(Cow::Borrowed("no-variables"))
        ));
    }

    #[test]
    fn not_forms_invert_and_a_missing_resource_matches() {
        let c = NoKeys;
        let get = ActionMatch::Action(vec![Pattern::new("secretsmanager:Get*")]);
        let not_get = ActionMatch::NotAction(vec![Pattern::new("secretsmanager:Get*")]);
        assert!(action_matches(&get, "SecretsManager:GetSecretValue", &c));
        assert!(!action_matches(
            &not_get,
            "secretsmanager:GetSecretValue",
            &c
        ));
        assert!(action_matches(
            &not_get,
            "secretsmanager:PutSecretValue",
            &c
        ));
        let unset = ActionMatch::Action(vec![Pattern::new("secretsmanager:${verb}")]);
        assert!(!action_matches(&unset, "secretsmanager:GetSecretValue", &c));
        assert!(resource_matches(&ResourceMatch::Any, "arn:x", &c));
        let upper = ResourceMatch::Resource(vec![Pattern::new("ARN:*")]);
        assert!(!resource_matches(&upper, "arn:x", &c));
        let not = ResourceMatch::NotResource(vec![Pattern::new("arn:y*")]);
        assert!(resource_matches(&not, "arn:x", &c));
    }

    #[test]
    fn principals_name_the_caller_directly_or_by_account() {
        let me = Caller {
            arn: "arn:aws:iam::111111111111:user/app",
            account: "111111111111",
        };
        let aws = |ids: &[&str]| {
            Principals::Ids(vec![(
                PrincipalType::Aws,
                ids.iter().map(|s| s.to_string()).collect(),
            )])
        };
        let principal = |p| Some(PrincipalMatch::Principal(p));
        let not = |p| Some(PrincipalMatch::NotPrincipal(p));
        for (who, named) in [
            (principal(Principals::Everyone), Named::Directly),
            (principal(aws(&["*"])), Named::Directly),
            (
                principal(aws(&["arn:aws:iam::111111111111:user/app"])),
                Named::Directly,
            ),
            (
                principal(aws(&["arn:aws:iam::111111111111:user/*"])),
                Named::Directly,
            ),
            // `?` alone is no wildcard for a principal.
            (
                principal(aws(&["arn:aws:iam::111111111111:user/ap?"])),
                Named::No,
            ),
            (principal(aws(&["111111111111"])), Named::ByAccount),
            (
                principal(aws(&["arn:aws:iam::111111111111:root"])),
                Named::ByAccount,
            ),
            (
                principal(aws(&["222222222222", "arn:aws:iam::111111111111:root"])),
                Named::ByAccount,
            ),
            (principal(aws(&["222222222222"])), Named::No),
            (
                principal(Principals::Ids(vec![(
                    PrincipalType::Service,
                    vec!["*".into()],
                )])),
                Named::No,
            ),
            (not(aws(&["222222222222"])), Named::Directly),
            (not(aws(&["111111111111"])), Named::No),
            (not(Principals::Everyone), Named::No),
            (None, Named::No),
        ] {
            assert_eq!(principal_matches(who.as_ref(), me), named, "{who:?}");
        }
    }
}
