//! What a rotation does to a secret's record: start a job, schedule the next window, give way
//! to a client's new AWSCURRENT. The engine and the operations both apply these.

use crate::app::Ctx;
use crate::error::{messages, ApiError, ApiResult};
use crate::model::schedule;
use crate::model::secret::{Secret, Version, AWSCURRENT, AWSPENDING};
use crate::rotation::function::FunctionConfig;
use crate::store::SecretTxn;

/// The function name of a Lambda ARN (`arn:aws:lambda:region:account:function:NAME[:qualifier]`),
/// or the string itself when it is a bare name.
pub fn function_name(lambda_arn: &str) -> &str {
    match lambda_arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        _ => lambda_arn,
    }
}

/// The function a Lambda ARN names: a configured one, or else the built-in rotator of the AWS
/// template of that name.
pub fn function_for(ctx: &Ctx, lambda_arn: &str) -> Option<FunctionConfig> {
    let name = function_name(lambda_arn);
    ctx.functions
        .get(name)
        .cloned()
        .or_else(|| FunctionConfig::template(name))
}

/// Checks that a rotation function can be invoked, as AWS does before storing anything.
pub fn check_invokable(ctx: &Ctx, lambda_arn: &str) -> ApiResult<()> {
    if function_for(ctx, lambda_arn).is_some() {
        Ok(())
    } else {
        Err(ApiError::new(
            crate::error::ErrorCode::AccessDenied,
            "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.",
        ))
    }
}

/// Starts a rotation in `secret`: the AWSPENDING version `token` (empty, or for a test a copy of
/// the current value) and the job that will fill it. AWSPENDING riding on AWSCURRENT is dropped
/// first (a finished rotation's leftover).
pub fn prepare(
    txn: &mut SecretTxn<'_>,
    secret: &mut Secret,
    token: &str,
    test: bool,
    now_ms: i64,
) -> ApiResult<()> {
    if txn.version(secret, token)?.is_some() {
        return Err(ApiError::invalid_parameter(format!(
            "The ClientRequestToken {token} already names a version of this secret."
        )));
    }
    for v in secret.versions.iter_mut() {
        v.stages.retain(|s| s != AWSPENDING);
    }
    let copy = if test {
        let current = secret
            .version_with_stage(AWSCURRENT)
            .filter(|v| v.has_value)
            .cloned()
            .ok_or_else(|| {
                ApiError::invalid_request(messages::staging_label_not_found(AWSCURRENT))
            })?;
        Some(txn.read_value(secret, &current)?)
    } else {
        None
    };
    secret.versions.push(Version {
        id: token.to_string(),
        created_ms: now_ms,
        last_accessed_ms: None,
        stages: vec![AWSPENDING.to_string()],
        kms_key_id: secret.kms_key_id.clone(),
        has_value: copy.is_some(),
    });
    if let Some(value) = copy {
        txn.put_value(secret, token, &value);
    }
    secret.rotation_job = Some(crate::model::secret::RotationJob {
        token: token.to_string(),
        test,
        attempts: 0,
        last_error: None,
        started_ms: now_ms,
        lease: None,
    });
    secret.rotation_due_ms = Some(now_ms);
    let name = if test {
        "TestRotationStarted"
    } else {
        "RotationStarted"
    };
    secret.record_rotation_event(now_ms, name, token, None);
    Ok(())
}

/// Sets `NextRotationDate` and the scheduler's due time from the rules, counting from `base_ms`.
pub fn schedule_next(secret: &mut Secret, base_ms: i64) {
    let Some(config) = secret.rotation.as_ref().filter(|c| c.enabled) else {
        secret.next_rotation_ms = None;
        secret.rotation_due_ms = None;
        return;
    };
    let rules = &config.rules;
    let parsed = schedule::parse(
        rules.automatically_after_days,
        rules.schedule_expression.as_deref(),
    );
    match parsed {
        Ok(Some(schedule)) => {
            let duration = schedule::parse_duration(rules.duration.as_deref(), Some(&schedule))
                .ok()
                .flatten();
            let window = schedule::next_window(&schedule, duration, base_ms);
            secret.next_rotation_ms = Some(window.end_ms);
            secret.rotation_due_ms = Some(window.start_ms);
        }
        _ => {
            secret.next_rotation_ms = None;
            secret.rotation_due_ms = None;
        }
    }
}

/// A new AWSCURRENT written by a client while a rotation waits abandons that rotation
/// (docs/aws-behaviour.md §R1.6) and counts as a rotation for the schedule.
pub fn on_new_current(secret: &mut Secret, new_current: &str, now_ms: i64) {
    if let Some(job) = secret
        .rotation_job
        .clone()
        .filter(|j| !j.test && j.token != new_current)
    {
        if let Some(v) = secret.version_mut(&job.token) {
            v.stages.retain(|s| s != AWSPENDING);
        }
        secret.rotation_job = None;
        secret.record_rotation_event(now_ms, "RotationAbandoned", &job.token, None);
    }
    if secret.rotation_job.is_none() {
        schedule_next(secret, now_ms);
    }
}
