//! IAM policy evaluation (pure): AWS's documented logic for one account and across accounts,
//! over documents `model::policy` has read into their typed form once.
//!
//! - An explicit `Deny` in any applicable statement wins.
//! - Same account: an `Allow` in an identity policy *or* in the resource policy suffices.
//! - Cross-account: both are needed — the caller's identity policy and the resource policy.
//!
//! A statement applies when its `Action`/`NotAction`, `Resource`/`NotResource`, (resource
//! policies) `Principal`/`NotPrincipal` and every `Condition` match. Actions compare without
//! case, resources with case; both take `*` and `?` wildcards. Condition keys compare without
//! case, values as their operator says. Policy variables (`${aws:PrincipalTag/team}`, and the
//! escapes `${*}`, `${?}`, `${$}`) are replaced in resources and condition values by the
//! request's value; a variable without a value makes that pattern match nothing.
//! An operator this module does not know matches no value, so a condition with one fails closed
//! wherever the request has its key.

pub mod conditions;
pub mod context;
pub mod denial;
pub mod evaluate;
pub mod matching;

pub use context::{ConditionKeys, Context, LazyContext};
pub use denial::denial_message;
pub use evaluate::{
    evaluate, grants_public_access, statements_for_action, Decision, Missing, Request, Source,
};

#[cfg(test)]
mod tests;
