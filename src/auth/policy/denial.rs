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
