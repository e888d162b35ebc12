//! The grammar of IAM policy documents: resource policies (PutResourcePolicy,
//! ValidateResourcePolicy; docs/aws-behaviour.md §3.5) and the identity policies of configured
//! principals. A document is read once into its typed form (`document`), checked on the way
//! (`validate`); evaluation — who may do what, and whether a policy is public — is
//! `auth::policy`'s.

pub mod document;
pub mod validate;

pub use document::{
    ActionMatch, Comparison, Condition, Effect, Kind, Operator, Pattern, PolicyDocument,
    PrincipalMatch, PrincipalType, Principals, ResourceMatch, SetQualifier, Statement, Test,
    Version,
};
pub use validate::SyntaxError;

/// Parses a resource policy. JSON errors and grammar errors are both syntax errors.
pub fn parse(document: &str) -> Result<PolicyDocument, SyntaxError> {
    parse_as(document, Kind::Resource)
}

/// Parses a policy of either kind.
pub fn parse_as(document: &str, kind: Kind) -> Result<PolicyDocument, SyntaxError> {
    let value: serde_json::Value = serde_json::from_str(document)
        .map_err(|e| SyntaxError(format!("The policy is not valid JSON: {e}")))?;
    parse_value(&value, kind)
}

/// A policy already read as JSON.
pub fn parse_value(value: &serde_json::Value, kind: Kind) -> Result<PolicyDocument, SyntaxError> {
    validate::document(value, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;

    #[test]
    fn accepts_a_plain_resource_policy() {
        let policy = parse(GOOD).unwrap();
        assert_eq!(policy.statements.len(), 1);
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
