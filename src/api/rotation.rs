//! RotateSecret and CancelRotateSecret (docs/aws-behaviour.md §3.3, §R1.3, §R1.9). The work itself
//! is the rotation engine's (`crate::rotation`); these calls configure it and start jobs.

use super::access::Call;
use super::lookup::{begin_active, check_secret_id, SecretIdRequest};
use super::output::Identified;
use super::tags::TagShape;
use crate::app::{commit, Ctx};
use crate::audit::ResponseIds;
use crate::error::{messages, ApiError, ApiResult};
use crate::model::schedule;
use crate::model::secret::{RotationConfig, RotationRules, Tag, AWSCURRENT, AWSPENDING};
use crate::model::validate::Constraints;
use crate::protocol::Input;
use crate::rotation as engine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationRulesShape {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatically_after_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
}

impl From<&RotationRules> for RotationRulesShape {
    fn from(rules: &RotationRules) -> Self {
        RotationRulesShape {
            automatically_after_days: rules.automatically_after_days,
            duration: rules.duration.clone(),
            schedule_expression: rules.schedule_expression.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateSecretInput {
    pub secret_id: Option<String>,
    pub client_request_token: Option<String>,
    #[serde(rename = "RotationLambdaARN")]
    pub rotation_lambda_arn: Option<String>,
    pub rotation_rules: Option<RotationRulesShape>,
    pub rotate_immediately: Option<bool>,
    pub external_secret_rotation_metadata: Option<Vec<TagShape>>,
    pub external_secret_rotation_role_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateSecretOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl Identified for RotateSecretOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: Some(self.name),
            version_id: self.version_id,
        }
    }
}

const PREVIOUS_INCOMPLETE: &str =
    "A previous rotation isn't complete. That rotation will be reattempted.";

pub struct RotateSecretRequest {
    pub secret_id: String,
    pub client_request_token: String,
    pub rotation_lambda_arn: Option<String>,
    pub rotation_rules: Option<RotationRules>,
    pub rotate_immediately: bool,
    pub external_secret_rotation_metadata: Option<Vec<Tag>>,
    pub external_secret_rotation_role_arn: Option<String>,
}

impl Input for RotateSecretInput {
    type Valid = RotateSecretRequest;

    fn validate(self) -> ApiResult<RotateSecretRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        c.length(
            "clientRequestToken",
            self.client_request_token.as_deref(),
            32,
            64,
        )
        .length(
            "rotationLambdaARN",
            self.rotation_lambda_arn.as_deref(),
            0,
            2048,
        )
        .length(
            "externalSecretRotationRoleArn",
            self.external_secret_rotation_role_arn.as_deref(),
            20,
            2048,
        );
        let metadata = self.external_secret_rotation_metadata.map(|items| {
            let mut checked = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let path = format!("externalSecretRotationMetadata.{}.member", i + 1);
                let key = c.required_length(&format!("{path}.key"), item.key, 1, 256);
                let value = c.required_length(&format!("{path}.value"), item.value, 1, 2048);
                checked.push((key, value));
            }
            checked
        });
        if let Some(rules) = &self.rotation_rules {
            c.range(
                "rotationRules.automaticallyAfterDays",
                rules.automatically_after_days,
                1,
                1000,
            )
            .length("rotationRules.duration", rules.duration.as_deref(), 2, 3)
            .length(
                "rotationRules.scheduleExpression",
                rules.schedule_expression.as_deref(),
                1,
                256,
            );
        }
        let ok = c.finish()?;
        // RotateSecret reports a missing token as a parameter problem (docs/aws-behaviour.md §3.3),
        // unlike the writes.
        let token = self
            .client_request_token
            .ok_or_else(|| ApiError::invalid_parameter(messages::TOKEN_REQUIRED))?;
        let rotation_rules = self.rotation_rules.map(|r| RotationRules {
            automatically_after_days: r.automatically_after_days,
            schedule_expression: r.schedule_expression,
            duration: r.duration,
        });
        if let Some(rules) = &rotation_rules {
            let parsed = schedule::parse(
                rules.automatically_after_days,
                rules.schedule_expression.as_deref(),
            )?;
            schedule::parse_duration(rules.duration.as_deref(), parsed.as_ref())?;
        }
        Ok(RotateSecretRequest {
            secret_id: secret_id.take(ok),
            client_request_token: token,
            rotation_lambda_arn: self.rotation_lambda_arn,
            rotation_rules,
            rotate_immediately: self.rotate_immediately.unwrap_or(true),
            external_secret_rotation_metadata: metadata.map(|items| {
                items
                    .into_iter()
                    .map(|(key, value)| Tag {
                        key: key.take(ok),
                        value: value.take(ok),
                    })
                    .collect()
            }),
            external_secret_rotation_role_arn: self.external_secret_rotation_role_arn,
        })
    }
}

pub async fn rotate_secret(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: RotateSecretRequest,
) -> ApiResult<RotateSecretOutput> {
    let token = input.client_request_token;
    let new_rules = input.rotation_rules;
    let (mut txn, mut secret) = begin_active(ctx, caller, &input.secret_id).await?;
    super::lookup::check_rotation_function(&secret, input.rotation_lambda_arn.as_deref())?;
    let lambda_arn = if secret.owned_by.is_some() {
        String::new() // the owning service rotates it
    } else {
        let arn = input
            .rotation_lambda_arn
            .clone()
            .filter(|a| !a.is_empty())
            .or_else(|| secret.rotation.as_ref().map(|r| r.lambda_arn.clone()))
            .ok_or_else(|| {
                ApiError::invalid_request(
                    "No Lambda rotation function ARN is associated with this secret.",
                )
            })?;
        // AWS checks that it can invoke the function before it stores anything.
        engine::check_invokable(ctx, &arn)?;
        arn
    };
    let pending_elsewhere = secret
        .versions
        .iter()
        .any(|v| v.has_stage(AWSPENDING) && !v.has_stage(AWSCURRENT));
    if pending_elsewhere {
        // "That rotation will be reattempted": resume it with its own token.
        if secret.rotation_job.is_some() {
            ctx.rotation.run(secret.key());
        }
        return Err(ApiError::invalid_request(PREVIOUS_INCOMPLETE));
    }
    let rules = new_rules
        .or_else(|| secret.rotation.as_ref().map(|r| r.rules.clone()))
        .unwrap_or_default();
    secret.rotation = Some(RotationConfig {
        lambda_arn,
        rules,
        enabled: true,
    });
    if let Some(items) = input.external_secret_rotation_metadata {
        secret.external_rotation_metadata = items;
    }
    if input.external_secret_rotation_role_arn.is_some() {
        secret.external_rotation_role_arn = input.external_secret_rotation_role_arn;
    }
    let now = ctx.clock.now_millis();
    secret.last_changed_ms = now;
    engine::schedule_next(&mut secret, now);
    let immediately = input.rotate_immediately;
    engine::prepare(&mut txn, &mut secret, &token, !immediately, now)?;
    commit(ctx, txn, &secret).await?;
    ctx.rotation.run(secret.key());
    Ok(RotateSecretOutput {
        arn: secret.arn,
        name: secret.name,
        version_id: Some(token),
    })
}

/// Turns rotation off; a rotation in flight stops, its AWSPENDING version stays for the caller
/// to clean up, and its id is returned (docs/aws-behaviour.md §R1.9).
pub async fn cancel_rotate_secret(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: SecretIdRequest,
) -> ApiResult<RotateSecretOutput> {
    let (txn, mut secret) = begin_active(ctx, caller, &input.secret_id).await?;
    let Some(config) = secret.rotation.as_mut() else {
        return Err(ApiError::invalid_request(
            "You can't cancel rotation for a secret that doesn't have rotation configured.",
        ));
    };
    config.enabled = false;
    let now = ctx.clock.now_millis();
    let pending = secret
        .versions
        .iter()
        .find(|v| v.has_stage(AWSPENDING) && !v.has_stage(AWSCURRENT))
        .map(|v| v.id.clone());
    if let Some(job) = secret.rotation_job.take() {
        secret.record_rotation_event(now, "RotationCancelled", &job.token, None);
    }
    engine::schedule_next(&mut secret, now);
    secret.last_changed_ms = now;
    commit(ctx, txn, &secret).await?;
    Ok(RotateSecretOutput {
        arn: secret.arn,
        name: secret.name,
        version_id: pending,
    })
}
