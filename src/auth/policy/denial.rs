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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::policy::context::Context;
    use crate::auth::policy::tests::{request, ME, SECRET};

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
}
