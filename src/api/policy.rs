//! Resource policies (docs/aws-behaviour.md §3.5): Put/Get/Delete/ValidateResourcePolicy and
//! ListResourcePolicies. Policies are stored and validated here; enforcing them is the
//! access-control work's.

use super::access::Call;
use super::lookup::{begin_active, begin_existing, check_secret_id, load};
use super::output::Identified;
use crate::app::{commit, Ctx};
use crate::audit::ResponseIds;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::model::policy;
use crate::model::validate::Constraints;
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

pub async fn put_resource_policy(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: PutResourcePolicyInput,
) -> ApiResult<PolicyOutput> {
    let mut c = Constraints::new();
    check_secret_id(&mut c, input.secret_id.as_deref());
    c.required("resourcePolicy", input.resource_policy.as_ref())
        .length("resourcePolicy", input.resource_policy.as_deref(), 1, 20480);
    check_policy_name(&mut c, input.policy_name.as_deref())?;
    c.finish()?;
    let document = input.resource_policy.unwrap_or_default();
    let parsed = policy::parse(&document).map_err(malformed)?;
    let (txn, mut secret) =
        begin_active(ctx, caller, input.secret_id.as_deref().unwrap_or_default()).await?;
    if input.block_public_policy.unwrap_or(false) && grants_public_access(&parsed, &secret.arn) {
        return Err(ApiError::new(
            ErrorCode::PublicPolicy,
            "BlockPublicPolicy is set and the resource policy grants broad access: it lets principals of any account act on the secret.",
        ));
    }
    secret.resource_policy = Some(document);
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

fn check_ref(input: &PolicyRefInput) -> ApiResult<()> {
    let mut c = Constraints::new();
    check_secret_id(&mut c, input.secret_id.as_deref());
    check_policy_name(&mut c, input.policy_name.as_deref())?;
    c.finish()
}

/// Without a policy the answer is just `ARN` and `Name` (docs/aws-behaviour.md §3.5).
pub async fn get_resource_policy(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: PolicyRefInput,
) -> ApiResult<PolicyOutput> {
    check_ref(&input)?;
    let secret = load(ctx, caller, input.secret_id.as_deref().unwrap_or_default())?;
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
    input: PolicyRefInput,
) -> ApiResult<PolicyOutput> {
    check_ref(&input)?;
    let (txn, mut secret) =
        begin_existing(ctx, caller, input.secret_id.as_deref().unwrap_or_default()).await?;
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

/// Unparseable JSON is a `MalformedPolicyDocumentException`; a document that parses but breaks
/// the grammar, or grants broad access, is reported as findings.
pub async fn validate_resource_policy(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: ValidateResourcePolicyInput,
) -> ApiResult<ValidateResourcePolicyOutput> {
    let mut c = Constraints::new();
    c.length("secretId", input.secret_id.as_deref(), 1, 2048)
        .required("resourcePolicy", input.resource_policy.as_ref())
        .length("resourcePolicy", input.resource_policy.as_deref(), 1, 20480)
        .finish()?;
    if let Some(secret_id) = input.secret_id.as_deref() {
        load(ctx, caller, secret_id)?;
    }
    let document = input.resource_policy.unwrap_or_default();
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

pub async fn list_resource_policies(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: ListResourcePoliciesInput,
) -> ApiResult<ListResourcePoliciesOutput> {
    let mut c = Constraints::new();
    check_secret_id(&mut c, input.secret_id.as_deref());
    c.range("maxResults", input.max_results, 1, 100)
        .length("nextToken", input.next_token.as_deref(), 1, 4096)
        .finish()?;
    // One policy at most fits on any page, so no page follows the first.
    if input.next_token.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidNextToken,
            "The NextToken value is invalid.",
        ));
    }
    let secret = load(ctx, caller, input.secret_id.as_deref().unwrap_or_default())?;
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
