//! The decision for a request: which statements apply, and AWS's rules for combining them.

use super::conditions;
use super::context::{ConditionKeys, Context, NoKeys};
use super::matching::{action_matches, principal_matches, resource_matches, Caller, Named};
use crate::model::policy::{Effect, PolicyDocument, Statement};

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

#[derive(Default)]
struct Effects {
    allow: bool,
    allow_by_account: bool,
    deny: bool,
}

/// The effects of the statements that apply to the request: whether one allows (and whether
/// only through account delegation) and whether one denies. A Deny that names the caller's
/// account covers all of the account's principals. Identity statements are about their
/// principal; resource-policy statements must name the caller.
fn effects<'s>(
    statements: impl IntoIterator<Item = &'s Statement>,
    request: &Request<'_>,
    resource_policy: bool,
) -> Effects {
    let caller = Caller {
        arn: request.principal_arn,
        account: request.principal_account,
    };
    let mut effects = Effects::default();
    for statement in statements {
        // The action first: it rules out most statements, and costs least to check.
        if !action_matches(&statement.actions, request.action, request.context) {
            continue;
        }
        let named = if resource_policy {
            principal_matches(statement.principal.as_ref(), caller)
        } else {
            Named::Directly
        };
        let applies = named != Named::No
            && resource_matches(&statement.resources, request.resource, request.context)
            && conditions::all_hold(&statement.conditions, request.context);
        if applies {
            match statement.effect {
                Effect::Deny => effects.deny = true,
                Effect::Allow if named == Named::Directly => effects.allow = true,
                Effect::Allow => effects.allow_by_account = true,
            }
        }
    }
    effects
}

/// The statements of `policies` that can apply to a request for `action`. Evaluating such a
/// request against them decides exactly as against `policies`, since a statement whose
/// `Action`/`NotAction` does not match never applies; a statement whose action patterns hold
/// policy variables is kept, as its match depends on the request.
pub fn statements_for_action(policies: &[PolicyDocument], action: &str) -> Vec<Statement> {
    policies
        .iter()
        .flat_map(|policy| &policy.statements)
        .filter(|statement| {
            statement
                .actions
                .patterns()
                .iter()
                .any(|p| p.has_variables())
                || action_matches(&statement.actions, action, &NoKeys)
        })
        .cloned()
        .collect()
}

/// AWS's decision for the request, from the caller's identity statements (all of its
/// policies', or those `statements_for_action` kept) and the secret's resource policy.
pub fn evaluate(
    identity: &[Statement],
    resource_policy: Option<&PolicyDocument>,
    request: &Request<'_>,
) -> Decision {
    let identity = effects(identity, request, false);
    let resource = effects(
        resource_policy.into_iter().flat_map(|p| &p.statements),
        request,
        true,
    );
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
pub fn grants_public_access(
    resource_policy: &PolicyDocument,
    resource: &str,
    actions: &[&str],
) -> bool {
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
        effects(&resource_policy.statements, &stranger, true).allow
    })
}
