//! The condition keys of one request, as evaluation reads them.

use std::collections::BTreeMap;

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

/// No keys at all: what is known of a request before it is made.
pub struct NoKeys;

impl ConditionKeys for NoKeys {
    fn get(&self, _: &str) -> Option<&[String]> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_without_case() {
        let mut c = Context::default();
        c.set("aws:ResourceTag/Team", vec!["a".into()]);
        assert_eq!(c.get("AWS:resourcetag/team"), Some(&["a".to_string()][..]));
        assert_eq!(c.get("aws:ResourceTag/owner"), None);
        assert_eq!(NoKeys.get("aws:ResourceTag/Team"), None);
    }

    #[test]
    fn a_lazy_context_is_built_once_on_first_use() {
        let builds = std::cell::Cell::new(0);
        let lazy = LazyContext::new(|| {
            builds.set(builds.get() + 1);
            let mut c = Context::default();
            c.set("k", vec!["v".into()]);
            c
        });
        assert_eq!(builds.get(), 0);
        assert_eq!(ConditionKeys::get(&lazy, "K"), Some(&["v".to_string()][..]));
        assert_eq!(ConditionKeys::get(&lazy, "other"), None);
        assert_eq!(builds.get(), 1);
    }
}
