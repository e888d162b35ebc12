//! Who may do what: every call by a configured principal is checked against its
//! identity policies and the secret's resource policy with `auth::policy`, using the condition
//! keys Secrets Manager documents. Callers without a configured principal (the built-in
//! credential and unknown keys in open mode, secretsd's own rotators) are not restricted.
//!
//! The facts of a request (its action and the keys its members give) are gathered once per call
//! (`RequestFacts`); the shared lookup in `api/mod.rs` then authorizes against the secret it
//! found, so every operation that names a secret is checked the same way.

use crate::app::Ctx;
use crate::auth::policy::{self, Context, Decision, LazyContext, Request};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::model::secret::{Secret, DEFAULT_KMS_KEY};
use crate::protocol::Operation;
use serde_json::{Map, Value};
use std::ops::Deref;

/// One call of an operation: who makes it and, for a configured principal whose policies are
/// evaluated, what it asks. Operations read the caller's fields through it.
pub struct Call<'a> {
    pub caller: &'a Caller,
    pub facts: Option<RequestFacts>,
}

impl<'a> Call<'a> {
    /// A call whose caller no policy restricts.
    pub fn new(caller: &'a Caller) -> Call<'a> {
        Call {
            caller,
            facts: None,
        }
    }

    pub fn with_facts(caller: &'a Caller, facts: RequestFacts) -> Call<'a> {
        Call {
            caller,
            facts: Some(facts),
        }
    }
}

impl Deref for Call<'_> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        self.caller
    }
}

/// What a request asks, for policy evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// `secretsmanager:<Operation>`.
    pub action: &'static str,
    /// The action checked against each secret: BatchGetSecretValue reads each secret with
    /// GetSecretValue's permission.
    pub secret_action: &'static str,
    /// Condition keys that come from the request's members.
    pub keys: Vec<(String, Vec<String>)>,
    /// Whether the call encrypts or decrypts a secret value with the secret's KMS key, which
    /// decides if a caller from another account can make it (`check_kms_key`).
    pub uses_value_key: bool,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl RequestFacts {
    /// Reads the condition keys a request's members give (docs/aws-behaviour.md §3.5, condition
    /// keys); `None` when the body is not a JSON object. Members of the wrong type are left out;
    /// the operation rejects them anyway.
    pub fn of(operation: Operation, members: Option<&Map<String, Value>>) -> RequestFacts {
        let action = operation.action();
        let secret_action = if operation == Operation::BatchGetSecretValue {
            Operation::GetSecretValue.action()
        } else {
            action
        };
        let mut keys = Vec::new();
        let Some(members) = members else {
            return RequestFacts {
                action,
                secret_action,
                keys,
                uses_value_key: false,
            };
        };
        let uses_value_key = match operation {
            Operation::GetSecretValue
            | Operation::BatchGetSecretValue
            | Operation::PutSecretValue => true,
            Operation::UpdateSecret => {
                members.contains_key("SecretString") || members.contains_key("SecretBinary")
            }
            _ => false,
        };
        for (member, key) in [
            ("SecretId", "secretsmanager:SecretId"),
            ("Name", "secretsmanager:Name"),
            ("Description", "secretsmanager:Description"),
            ("KmsKeyId", "secretsmanager:KmsKeyId"),
            ("VersionId", "secretsmanager:VersionId"),
            ("VersionStage", "secretsmanager:VersionStage"),
            ("RotationLambdaARN", "secretsmanager:RotationLambdaARN"),
            ("BlockPublicPolicy", "secretsmanager:BlockPublicPolicy"),
        ] {
            if let Some(value) = members.get(member).and_then(text) {
                keys.push((key.to_string(), vec![value]));
            }
        }
        if let Some(Value::Array(stages)) = members.get("VersionStages") {
            let stages: Vec<String> = stages.iter().filter_map(text).collect();
            keys.push(("secretsmanager:VersionStage".to_string(), stages));
        }
        // Tags in the request: aws:RequestTag/<key> and aws:TagKeys.
        let mut tag_keys = Vec::new();
        if let Some(Value::Array(tags)) = members.get("Tags") {
            for tag in tags {
                if let (Some(k), Some(v)) = (
                    tag.get("Key").and_then(text),
                    tag.get("Value").and_then(text),
                ) {
                    keys.push((format!("aws:RequestTag/{k}"), vec![v]));
                    tag_keys.push(k);
                }
            }
        }
        if let Some(Value::Array(names)) = members.get("TagKeys") {
            tag_keys.extend(names.iter().filter_map(text));
        }
        if !tag_keys.is_empty() {
            keys.push(("aws:TagKeys".to_string(), tag_keys));
        }
        RequestFacts {
            action,
            secret_action,
            keys,
            uses_value_key,
        }
    }
}

/// The condition context of one check: the request's keys, the caller's, the secret's.
fn context(ctx: &Ctx, caller: &Caller, facts: &RequestFacts, secret: Option<&Secret>) -> Context {
    let mut context = Context::default();
    for (key, values) in &facts.keys {
        context.set(key, values.clone());
    }
    let principal = caller.principal.as_deref();
    let mfa = principal.is_some_and(|p| p.mfa);
    context.set("aws:MultiFactorAuthPresent", vec![mfa.to_string()]);
    for (key, value) in principal.map(|p| &p.tags).into_iter().flatten() {
        context.set(&format!("aws:PrincipalTag/{key}"), vec![value.clone()]);
    }
    context.set("aws:PrincipalArn", vec![caller.principal_arn.clone()]);
    context.set("aws:PrincipalAccount", vec![caller.account.clone()]);
    let now = chrono::DateTime::from_timestamp_millis(ctx.clock.now_millis()).unwrap_or_default();
    context.set(
        "aws:CurrentTime",
        vec![now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
    );
    context.set("aws:EpochTime", vec![now.timestamp().to_string()]);
    context.set(
        "aws:SecureTransport",
        vec![caller.secure_transport.to_string()],
    );
    if let Some(ip) = caller.source_ip {
        context.set("aws:SourceIp", vec![ip.to_string()]);
    }
    if let Some(secret) = secret {
        for tag in secret.tags.iter().flatten() {
            for prefix in ["aws:ResourceTag", "secretsmanager:ResourceTag"] {
                context.set(&format!("{prefix}/{}", tag.key), vec![tag.value.clone()]);
            }
        }
        if let Some(rotation) = &secret.rotation {
            context.set(
                "secretsmanager:resource/AllowRotationLambdaArn",
                vec![rotation.lambda_arn.clone()],
            );
        }
        if let Some(kind) = &secret.secret_type {
            context.set("secretsmanager:resource/Type", vec![kind.clone()]);
        }
    }
    context
}

/// Checks that the caller may perform the request's action on `secret` (or, when there is no
/// such secret, on the resource as the caller named it, `"*"` for account-level actions).
/// AWS answers a denial before it says whether the secret exists.
pub fn authorize(
    ctx: &Ctx,
    caller: &Call<'_>,
    secret: Option<&Secret>,
    resource_as_given: &str,
) -> Result<(), ApiError> {
    let (Some(principal), Some(facts)) = (caller.principal.as_deref(), caller.facts.as_ref())
    else {
        return Ok(());
    };
    let action = if secret.is_some() || resource_as_given != "*" {
        facts.secret_action
    } else {
        facts.action
    };
    let resource = secret.map_or(resource_as_given, |s| s.arn.as_str());
    let resource_policy = secret
        .and_then(|s| s.resource_policy.as_deref())
        .and_then(|text| ctx.resource_policies.parsed(text));
    let context = LazyContext::new(|| context(ctx, caller, facts, secret));
    let request = Request {
        action,
        resource,
        principal_arn: &caller.principal_arn,
        principal_account: &principal.account,
        resource_account: secret.map_or(&caller.account, |s| &s.account),
        context: &context,
    };
    let identity_statements =
        ctx.identity_policies
            .for_action(&caller.access_key_id, &principal.policies, action);
    match policy::evaluate(&identity_statements, resource_policy.as_deref(), &request) {
        Decision::Allow => match secret {
            Some(secret) if facts.uses_value_key => check_kms_key(&principal.account, secret),
            _ => Ok(()),
        },
        denied => Err(ApiError::new(
            ErrorCode::AccessDenied,
            policy::denial_message(&request, &denied),
        )),
    }
}

/// AWS's KMS rule for cross-account access: the AWS managed key `aws/secretsmanager` can only be
/// used by its own account, so another account's principal can read or write the value of a
/// secret only if it is encrypted with a customer managed key, whatever the policies allow.
/// (Key policies are not modelled: a customer managed key is taken to grant what the secret's
/// policies grant.)
fn check_kms_key(principal_account: &str, secret: &Secret) -> Result<(), ApiError> {
    let default_key = secret
        .kms_key_id
        .as_deref()
        .is_none_or(|key| key.ends_with(DEFAULT_KMS_KEY));
    if principal_account != secret.account && default_key {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key.",
        ));
    }
    Ok(())
}
