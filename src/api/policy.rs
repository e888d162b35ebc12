//! Resource policies (docs/aws-behaviour.md §3.5): Put/Get/Delete/ValidateResourcePolicy and
//! ListResourcePolicies. Policies are stored and validated here; enforcing them is the
//! access-control work's.

use super::access::Call;
use super::lookup::{begin_active, begin_existing, check_secret_id, load, SecretIdRequest};
use super::output::Identified;
use crate::app::{commit, Ctx};
use crate::audit::ResponseIds;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::model::policy;
use crate::model::validate::Constraints;
use crate::protocol::Input;
use serde::{Deserialize, Serialize};

/// Secrets Manager's only policy name so far; the 2026 API names it explicitly.
const DEFAULT_POLICY: &str = "default";

fn check_policy_name(c: &mut Constraints, name: Option<&str>) -> ApiResult<()> {
    c.length("policyName", name, 1, 64);
    if let Some(name) = name {
        if !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            c.pattern("policyName", name, r"[0-9A-Za-z\-\_]+");
        } else if name != DEFAULT_POLICY {
            return Err(ApiError::invalid_parameter(format!(
                "The policy name {name} isn't valid. The only supported policy name is {DEFAULT_POLICY}."
            )));
        }
    }
    Ok(())
}

fn malformed(e: policy::SyntaxError) -> ApiError {
    tracing::debug!(reason = %e.0, "malformed resource policy");
    ApiError::new(
        ErrorCode::MalformedPolicyDocument,
        "This policy has invalid syntax.",
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyInput {
    pub secret_id: Option<String>,
    pub resource_policy: Option<String>,
    pub policy_name: Option<String>,
    pub block_public_policy: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
}

impl Identified for PolicyOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: Some(self.name),
            version_id: None,
        }
    }
}

/// Broad access, as BlockPublicPolicy and ValidateResourcePolicy judge it: the policy lets a
/// principal of any account perform one of Secrets Manager's secret actions.
fn grants_public_access(policy: &policy::PolicyDocument, resource: &str) -> bool {
    let actions: Vec<String> = crate::protocol::Operation::ALL
        .iter()
        .map(|op| format!("secretsmanager:{}", op.name()))
        .filter(|a| {
            !matches!(
                a.as_str(),
                "secretsmanager:ListSecrets" | "secretsmanager:GetRandomPassword"
            )
        })
        .collect();
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    crate::auth::policy::grants_public_access(policy, resource, &actions)
}

pub struct PutResourcePolicyRequest {
    pub secret_id: String,
    pub resource_policy: String,
    parsed: policy::PolicyDocument,
    pub policy_name: Option<String>,
    pub block_public_policy: bool,
}

impl Input for PutResourcePolicyInput {
    type Valid = PutResourcePolicyRequest;

    fn validate(self) -> ApiResult<PutResourcePolicyRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let document = c.required_length("resourcePolicy", self.resource_policy, 1, 20480);
        check_policy_name(&mut c, self.policy_name.as_deref())?;
        let ok = c.finish()?;
        let document = document.take(ok);
        let parsed = policy::parse(&document).map_err(malformed)?;
        Ok(PutResourcePolicyRequest {
            secret_id: secret_id.take(ok),
            resource_policy: document,
            parsed,
            policy_name: self.policy_name,
            block_public_policy: self.block_public_policy.unwrap_or(false),
        })
    }
}

pub async fn put_resource_policy(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: PutResourcePolicyRequest,
) -> ApiResult<PolicyOutput> {
    let (txn, mut secret) = begin_active(ctx, caller, &input.secret_id).await?;
    if input.block_public_policy && grants_public_access(&input.parsed, &secret.arn) {
        return Err(ApiError::new(
            ErrorCode::PublicPolicy,
            "BlockPublicPolicy is set and the resource policy grants broad access: it lets principals of any account act on the secret.",
        ));
    }
    secret.resource_policy = Some(input.resource_policy);
    secret.last_changed_ms = ctx.clock.now_millis();
    commit(ctx, txn, &secret).await?;
    Ok(PolicyOutput {
        arn: secret.arn,
        name: secret.name,
        resource_policy: None,
        policy_name: input.policy_name,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyRefInput {
    pub secret_id: Option<String>,
    pub policy_name: Option<String>,
}

pub struct PolicyRefRequest {
    pub secret_id: String,
    pub policy_name: Option<String>,
}

impl Input for PolicyRefInput {
    type Valid = PolicyRefRequest;

    fn validate(self) -> ApiResult<PolicyRefRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        check_policy_name(&mut c, self.policy_name.as_deref())?;
        let ok = c.finish()?;
        Ok(PolicyRefRequest {
            secret_id: secret_id.take(ok),
            policy_name: self.policy_name,
        })
    }
}

/// Without a policy the answer is just `ARN` and `Name` (docs/aws-behaviour.md §3.5).
pub async fn get_resource_policy(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: PolicyRefRequest,
) -> ApiResult<PolicyOutput> {
    let secret = load(ctx, caller, &input.secret_id)?;
    Ok(PolicyOutput {
        arn: secret.arn.clone(),
        name: secret.name.clone(),
        policy_name: input
            .policy_name
            .filter(|_| secret.resource_policy.is_some()),
        resource_policy: secret.resource_policy.clone(),
    })
}

/// Deleting a policy that is not there succeeds.
pub async fn delete_resource_policy(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: PolicyRefRequest,
) -> ApiResult<PolicyOutput> {
    let (txn, mut secret) = begin_existing(ctx, caller, &input.secret_id).await?;
    if secret.resource_policy.take().is_some() {
        secret.last_changed_ms = ctx.clock.now_millis();
        commit(ctx, txn, &secret).await?;
    }
    Ok(PolicyOutput {
        arn: secret.arn,
        name: secret.name,
        resource_policy: None,
        policy_name: input.policy_name,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyInput {
    pub secret_id: Option<String>,
    pub resource_policy: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidationFinding {
    pub check_name: String,
    pub error_message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyOutput {
    pub policy_validation_passed: bool,
    pub validation_errors: Vec<ValidationFinding>,
}

impl Identified for ValidateResourcePolicyOutput {}

pub struct ValidateResourcePolicyRequest {
    pub secret_id: Option<String>,
    pub resource_policy: String,
}

impl Input for ValidateResourcePolicyInput {
    type Valid = ValidateResourcePolicyRequest;

    fn validate(self) -> ApiResult<ValidateResourcePolicyRequest> {
        let mut c = Constraints::new();
        c.length("secretId", self.secret_id.as_deref(), 1, 2048);
        let document = c.required_length("resourcePolicy", self.resource_policy, 1, 20480);
        let ok = c.finish()?;
        Ok(ValidateResourcePolicyRequest {
            secret_id: self.secret_id,
            resource_policy: document.take(ok),
        })
    }
}

/// Unparseable JSON is a `MalformedPolicyDocumentException`; a document that parses but breaks
/// the grammar, or grants broad access, is reported as findings. The secret, when one is named,
/// is looked up first.
pub async fn validate_resource_policy(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: ValidateResourcePolicyRequest,
) -> ApiResult<ValidateResourcePolicyOutput> {
    if let Some(secret_id) = input.secret_id.as_deref() {
        load(ctx, caller, secret_id)?;
    }
    let document = input.resource_policy;
    let value = serde_json::from_str::<serde_json::Value>(&document)
        .map_err(|e| malformed(policy::SyntaxError(e.to_string())))?;
    let mut findings = Vec::new();
    match policy::parse_value(&value, policy::Kind::Resource) {
        Err(e) => findings.push(ValidationFinding {
            check_name: "SYNTAX_CHECKING".into(),
            error_message: e.0,
        }),
        Ok(parsed) if grants_public_access(&parsed, "*") => findings.push(ValidationFinding {
            check_name: "BROAD_ACCESS_CHECKING".into(),
            error_message: "The resource policy grants broad access: it lets principals of any account act on the secret.".into(),
        }),
        Ok(_) => {}
    }
    Ok(ValidateResourcePolicyOutput {
        policy_validation_passed: findings.is_empty(),
        validation_errors: findings,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourcePoliciesInput {
    pub secret_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicySummary {
    pub policy_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourcePoliciesOutput {
    /// Required by the model: always sent, `[]` when there is none.
    pub resource_policies: Vec<PolicySummary>,
}

impl Identified for ListResourcePoliciesOutput {}

impl Input for ListResourcePoliciesInput {
    type Valid = SecretIdRequest;

    fn validate(self) -> ApiResult<SecretIdRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let ok = c
            .range("maxResults", self.max_results, 1, 100)
            .length("nextToken", self.next_token.as_deref(), 1, 4096)
            .finish()?;
        // One policy at most fits on any page, so no page follows the first.
        if self.next_token.is_some() {
            return Err(ApiError::invalid_next_token());
        }
        Ok(SecretIdRequest {
            secret_id: secret_id.take(ok),
        })
    }
}

pub async fn list_resource_policies(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: SecretIdRequest,
) -> ApiResult<ListResourcePoliciesOutput> {
    let secret = load(ctx, caller, &input.secret_id)?;
    Ok(ListResourcePoliciesOutput {
        resource_policies: secret
            .resource_policy
            .iter()
            .map(|_| PolicySummary {
                policy_name: DEFAULT_POLICY.into(),
            })
            .collect(),
    })
}
