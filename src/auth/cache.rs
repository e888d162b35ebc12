//! Policies kept ready for evaluation, so a strict-mode request neither parses a resource policy
//! nor scans every identity statement again.

use super::policy::statements_for_action;
use crate::model::policy::{self, PolicyDocument, Statement};
use std::collections::HashMap;
use std::sync::Arc;

/// Resource policies read into their typed form, by their text: a secret's policy is stored as
/// the client sent it, and a strict-mode call should not parse it again on every request.
#[derive(Default)]
pub struct ResourcePolicies(std::sync::Mutex<HashMap<String, Arc<PolicyDocument>>>);

/// Distinct policies kept; past this the cache starts over.
const CACHED_POLICIES: usize = 1024;

impl ResourcePolicies {
    /// The policy `text` parsed, or `None` if it is not a valid policy (it was validated by
    /// PutResourcePolicy when stored, the one way a policy gets there).
    pub fn parsed(&self, text: &str) -> Option<Arc<PolicyDocument>> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(policy) = cache.get(text) {
            return Some(policy.clone());
        }
        let policy = Arc::new(policy::parse(text).ok()?);
        if cache.len() == CACHED_POLICIES {
            cache.clear();
        }
        cache.insert(text.to_string(), policy.clone());
        Some(policy)
    }
}

/// Each configured principal's identity policies cut down to the statements an action can use,
/// by access key and action (a key's principal is fixed for the server's life), so that a
/// request does not match every statement's actions again.
#[derive(Default)]
pub struct IdentityPolicies(std::sync::Mutex<HashMap<String, StatementsByAction>>);

type StatementsByAction = HashMap<String, Arc<[Statement]>>;

impl IdentityPolicies {
    pub fn for_action(
        &self,
        access_key_id: &str,
        policies: &[PolicyDocument],
        action: &str,
    ) -> Arc<[Statement]> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cut) = cache
            .get(access_key_id)
            .and_then(|by_action| by_action.get(action))
        {
            return cut.clone();
        }
        let cut: Arc<[Statement]> = statements_for_action(policies, action).into();
        cache
            .entry(access_key_id.to_string())
            .or_default()
            .insert(action.to_string(), cut.clone());
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str =
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"secretsmanager:Get*"}}"#;

    #[test]
    fn a_resource_policy_is_parsed_once_per_text() {
        let cache = ResourcePolicies::default();
        let first = cache.parsed(POLICY).unwrap();
        assert!(Arc::ptr_eq(&first, &cache.parsed(POLICY).unwrap()));
        assert_eq!(first.statements.len(), 1);
        assert!(cache.parsed("not json").is_none());
        assert!(cache.parsed(r#"{"Statement":[]}"#).is_none());
    }

    #[test]
    fn identity_statements_are_cut_per_key_and_action() {
        let policies = [policy::parse_as(
            r#"{"Statement":[{"Effect":"Allow","Action":"secretsmanager:Get*","Resource":"*"},{"Effect":"Deny","Action":"secretsmanager:Delete*","Resource":"*"}]}"#,
            policy::Kind::Identity,
        )
        .unwrap()];
        let cache = IdentityPolicies::default();
        let get = cache.for_action("AKIA", &policies, "secretsmanager:GetSecretValue");
        assert_eq!(get.len(), 1);
        assert!(Arc::ptr_eq(
            &get,
            &cache.for_action("AKIA", &policies, "secretsmanager:GetSecretValue")
        ));
        assert!(cache
            .for_action("AKIA", &policies, "secretsmanager:TagResource")
            .is_empty());
    }
}
