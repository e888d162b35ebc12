//! What a caller is told when it is denied.

use super::evaluate::{Decision, Missing, Request, Source};

/// AWS's AccessDeniedException text for a denial (docs/aws-behaviour.md §4).
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
