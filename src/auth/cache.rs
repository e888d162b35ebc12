//! Policies kept ready for evaluation, so a strict-mode request neither parses a resource policy
//! nor scans every identity statement again.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Resource policies as parsed JSON, by their text: a secret's policy is stored as the client
/// sent it, and a strict-mode call should not parse it again on every request.
#[derive(Default)]
pub struct ResourcePolicies(std::sync::Mutex<HashMap<String, Arc<Value>>>);

/// Distinct policies kept; past this the cache starts over.
const CACHED_POLICIES: usize = 1024;

impl ResourcePolicies {
    /// The policy `text` parsed, or `None` if it is not JSON (it was validated when stored).
    pub fn parsed(&self, text: &str) -> Option<Arc<Value>> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(policy) = cache.get(text) {
            return Some(policy.clone());
        }
        let policy = Arc::new(serde_json::from_str::<Value>(text).ok()?);
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
pub struct IdentityPolicies(std::sync::Mutex<HashMap<String, PoliciesByAction>>);

type PoliciesByAction = HashMap<String, Arc<[Value]>>;

impl IdentityPolicies {
    pub fn for_action(
        &self,
        access_key_id: &str,
        policies: &[Value],
        action: &str,
    ) -> Arc<[Value]> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cut) = cache
            .get(access_key_id)
            .and_then(|by_action| by_action.get(action))
        {
            return cut.clone();
        }
        let cut: Arc<[Value]> = Arc::new([super::policy::statements_for_action(policies, action)]);
        cache
            .entry(access_key_id.to_string())
            .or_default()
            .insert(action.to_string(), cut.clone());
        cut
    }
}
