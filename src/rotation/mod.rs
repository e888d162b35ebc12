//! Rotation: the four-step engine, its scheduler and executors (spec/rotation.md §6).
//!
//! RotateSecret (or the scheduler) prepares a job inside the secret's record — a value-less
//! AWSPENDING version named by the job's token — and kicks the worker; the worker runs
//! createSecret → setSecret → testSecret → finishSecret through the function's executor, then
//! checks that AWSCURRENT reached the token. Failures are recorded and retried with the same
//! token. Jobs and due times live in the store, so a restart resumes them.

pub(crate) mod builtin;
mod exec;
mod webhook;

use crate::api::Ctx;
use crate::config::{FunctionConfig, FunctionKind};
use crate::error::{ApiError, ApiResult};
use crate::model::arn::SecretKey;
use crate::model::schedule;
use crate::model::secret::{RotationEvent, Secret, Version, AWSCURRENT, AWSPENDING};
use crate::store::{Hint, SecretTxn};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Automatic attempts of one rotation before it waits for RotateSecret or the next window.
const MAX_ATTEMPTS: u32 = 3;
/// Wait before attempt n+1 (spec/rotation.md §6.4's suggested back-off).
const BACKOFF_MS: [i64; 3] = [30_000, 120_000, 600_000];
/// How often the scheduler looks for due rotations.
const TICK: Duration = Duration::from_secs(5);

/// How API calls reach the worker: "look at this secret now".
#[derive(Clone)]
pub struct RotationHandle {
    kick: mpsc::UnboundedSender<Kick>,
}

enum Kick {
    Secret(SecretKey),
    Tick,
}

impl RotationHandle {
    pub fn channel() -> (RotationHandle, RotationReceiver) {
        let (kick, receiver) = mpsc::unbounded_channel();
        (RotationHandle { kick }, RotationReceiver(receiver))
    }

    /// Runs the secret's pending rotation job, if any, soon.
    pub fn run(&self, key: SecretKey) {
        let _ = self.kick.send(Kick::Secret(key));
    }

    /// Looks for due rotations now (after the clock moved).
    pub fn tick(&self) {
        let _ = self.kick.send(Kick::Tick);
    }
}

pub struct RotationReceiver(mpsc::UnboundedReceiver<Kick>);

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
                ApiError::invalid_request(
                    "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
                )
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

/// A new AWSCURRENT written by a client while a rotation waits abandons that rotation (spec/
/// rotation.md §1.6) and counts as a rotation for the schedule.
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

/// Sends the rotation events `after` gained since `newest_before` to the audit trail
/// (CloudTrail's service events). Events are appended (and the oldest dropped past the cap),
/// so the new ones are those after the previous newest.
pub fn audit_new_events(ctx: &Ctx, newest_before: Option<RotationEvent>, after: &Secret) {
    let events = &after.rotation_events;
    let skip = match &newest_before {
        None => 0,
        Some(last) => match events.iter().rposition(|e| e == last) {
            Some(i) => i + 1,
            None => events
                .iter()
                .take_while(|e| e.time_ms <= last.time_ms)
                .count(),
        },
    };
    for e in events.iter().skip(skip) {
        ctx.audit.rotation_event(after, e);
    }
}

/// The worker: runs kicked jobs and, every few seconds, whatever the schedule says is due.
pub async fn run_worker(
    ctx: Arc<Ctx>,
    mut receiver: RotationReceiver,
    mut stopped: watch::Receiver<bool>,
) {
    let running: Arc<Mutex<HashSet<SecretKey>>> = Arc::default();
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            kick = receiver.0.recv() => match kick {
                Some(Kick::Secret(key)) => spawn_job(&ctx, &running, key),
                Some(Kick::Tick) => tick(&ctx, &running).await,
                None => break,
            },
            _ = ticker.tick() => tick(&ctx, &running).await,
            _ = stopped.changed() => break,
        }
    }
}

async fn tick(ctx: &Arc<Ctx>, running: &Arc<Mutex<HashSet<SecretKey>>>) {
    if let Err(e) = start_due(ctx, running).await {
        tracing::warn!(error = %e, "rotation scheduler");
    }
}

/// Due entries: retry a job, or start the scheduled rotation of a secret without one.
async fn start_due(ctx: &Arc<Ctx>, running: &Arc<Mutex<HashSet<SecretKey>>>) -> ApiResult<()> {
    let now = ctx.clock.now_millis();
    for (at, key) in ctx.store.due(Hint::Rotation, now, 1000)? {
        let mut txn = ctx.store.begin(&key).await?;
        let Some(mut secret) = txn.current().cloned() else {
            ctx.store.remove_hint(Hint::Rotation, &key, at).await?;
            continue;
        };
        if secret.rotation_due_ms != Some(at) {
            ctx.store.remove_hint(Hint::Rotation, &key, at).await?;
            continue;
        }
        let enabled = secret.rotation.as_ref().is_some_and(|c| c.enabled);
        if secret.rotation_job.is_none() && enabled && !secret.is_scheduled_for_deletion() {
            let token = uuid::Uuid::new_v4().to_string();
            let before = secret.rotation_events.last().cloned();
            prepare(&mut txn, &mut secret, &token, false, now)?;
            txn.commit(Some(&secret)).await?;
            audit_new_events(ctx, before, &secret);
        } else if secret.rotation_job.is_none() {
            secret.rotation_due_ms = None;
            txn.commit(Some(&secret)).await?;
            continue;
        } else {
            drop(txn);
        }
        spawn_job(ctx, running, key);
    }
    Ok(())
}

fn spawn_job(ctx: &Arc<Ctx>, running: &Arc<Mutex<HashSet<SecretKey>>>, key: SecretKey) {
    {
        let mut set = running.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(key.clone()) {
            return; // already running: one job per secret
        }
    }
    let (ctx, running) = (ctx.clone(), running.clone());
    tokio::spawn(async move {
        if let Err(e) = run_job(&ctx, &key).await {
            tracing::warn!(secret = %key.name, error = %e, "rotation job");
        }
        running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    });
}

const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// One attempt of the secret's job.
async fn run_job(ctx: &Ctx, key: &SecretKey) -> ApiResult<()> {
    let Some(secret) = ctx.store.get(key)? else {
        return Ok(());
    };
    let (Some(job), Some(config)) = (secret.rotation_job.clone(), secret.rotation.clone()) else {
        return Ok(());
    };
    let steps: &[&str] = if job.test { &STEPS[2..3] } else { &STEPS };
    // A secret another service owns is rotated by that service: the native single-user rotator
    // for its database.
    let (function, name) = match &secret.owned_by {
        Some(owner) => (
            FunctionConfig::for_owned(owner),
            format!("{}-managed-rotation", owner.service),
        ),
        None => (
            function_for(ctx, &config.lambda_arn),
            function_name(&config.lambda_arn).to_string(),
        ),
    };
    let name = name.as_str();
    let what = match &secret.owned_by {
        Some(owner) => format!("managed rotation by {}", owner.service),
        None => format!("lambda {}", config.lambda_arn),
    };
    let mut env = environment(ctx, &secret, &job.token);
    if let Some(f) = &function {
        env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), name.into()));
        env.push((
            "AWS_LAMBDA_FUNCTION_TIMEOUT".into(),
            f.timeout_s.to_string(),
        ));
    }
    for step in steps {
        let event = serde_json::json!({
            "Step": step,
            "SecretId": secret.arn,
            "ClientRequestToken": job.token,
            "RotationToken": uuid::Uuid::new_v4().to_string(),
        });
        let result = match &function {
            Some(f) if f.kind == FunctionKind::Builtin => {
                let step_run = builtin::invoke(
                    ctx,
                    (&secret.account, &secret.region),
                    name,
                    f,
                    secret.owned_by.as_ref(),
                    &event,
                );
                match tokio::time::timeout(Duration::from_secs(f.timeout_s), step_run).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("Task timed out after {} seconds", f.timeout_s)),
                }
            }
            Some(f) if f.kind == FunctionKind::Webhook => webhook::invoke(f, &event).await,
            Some(f) => exec::invoke(f, &event, &env).await,
            None => Err("the rotation function is no longer configured".to_string()),
        };
        if let Err(error) = result {
            let detail = format!("Error when executing {what} during {step} step: {error}");
            return finish(ctx, key, &job.token, Err(detail)).await;
        }
        // A client may have abandoned the rotation meanwhile: stop at once.
        let still = ctx.store.get(key)?.and_then(|s| s.rotation_job.clone());
        if still.as_ref().map(|j| &j.token) != Some(&job.token) {
            return Ok(());
        }
    }
    finish(ctx, key, &job.token, Ok(())).await
}

/// What a rotation function needs to call back: the endpoint, credentials for the secret's
/// account, its region, and the step's context.
fn environment(ctx: &Ctx, secret: &Secret, token: &str) -> Vec<(String, String)> {
    let endpoint = ctx.endpoint.get().cloned().unwrap_or_default();
    // The built-in credential is verified; for another account its 12-digit id is the key.
    let (key_id, secret_key) = if ctx
        .credentials
        .lookup("test")
        .is_some_and(|c| c.account == secret.account)
    {
        ("test".to_string(), "test".to_string())
    } else {
        (secret.account.clone(), "secretsd".to_string())
    };
    [
        ("SECRETS_MANAGER_ENDPOINT", endpoint.clone()),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", key_id),
        ("AWS_SECRET_ACCESS_KEY", secret_key),
        ("AWS_REGION", secret.region.clone()),
        ("AWS_DEFAULT_REGION", secret.region.clone()),
        ("ROTATION_SECRET_ARN", secret.arn.clone()),
        ("ROTATION_TOKEN", token.to_string()),
    ]
    .into_iter()
    .chain(
        // Over TLS the function's SDK must trust the server's certificate.
        ctx.endpoint_ca.get().into_iter().flat_map(|ca| {
            let ca = ca.display().to_string();
            [("AWS_CA_BUNDLE", ca.clone()), ("NODE_EXTRA_CA_CERTS", ca)]
        }),
    )
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Records the end of an attempt. Success needs AWSCURRENT on the token; then AWSPENDING goes
/// and the schedule restarts from now. A failure keeps every label and schedules a retry.
async fn finish(
    ctx: &Ctx,
    key: &SecretKey,
    token: &str,
    outcome: Result<(), String>,
) -> ApiResult<()> {
    let txn = ctx.store.begin(key).await?;
    let Some(mut secret) = txn.current().cloned() else {
        return Ok(());
    };
    let Some(mut job) = secret.rotation_job.clone().filter(|j| j.token == token) else {
        return Ok(()); // abandoned or cancelled meanwhile
    };
    let now = ctx.clock.now_millis();
    let outcome = outcome.and_then(|()| {
        if job.test
            || secret
                .version(token)
                .is_some_and(|v| v.has_stage(AWSCURRENT))
        {
            Ok(())
        } else {
            Err("finishSecret returned without moving AWSCURRENT to the pending version".into())
        }
    });
    match outcome {
        Ok(()) if job.test => {
            secret.versions.retain(|v| v.id != token);
            secret.rotation_job = None;
            secret.record_rotation_event(now, "TestRotationSucceeded", token, None);
            schedule_next(&mut secret, now);
        }
        Ok(()) => {
            if let Some(v) = secret.version_mut(token) {
                v.stages.retain(|s| s != AWSPENDING);
            }
            secret.rotation_job = None;
            secret.last_rotated_ms = Some(now);
            secret.last_changed_ms = now;
            secret.record_rotation_event(now, "RotationSucceeded", token, None);
            schedule_next(&mut secret, now);
        }
        Err(detail) if job.test => {
            secret.versions.retain(|v| v.id != token);
            secret.rotation_job = None;
            secret.record_rotation_event(now, "TestRotationFailed", token, Some(detail));
            schedule_next(&mut secret, now);
        }
        Err(detail) => {
            job.attempts += 1;
            job.last_error = Some(detail.clone());
            secret.rotation_due_ms = BACKOFF_MS
                .get(job.attempts as usize - 1)
                .filter(|_| job.attempts < MAX_ATTEMPTS)
                .map(|wait| now + wait);
            secret.rotation_job = Some(job);
            secret.record_rotation_event(now, "RotationFailed", token, Some(detail));
        }
    }
    let before = txn
        .current()
        .and_then(|s| s.rotation_events.last().cloned());
    txn.commit(Some(&secret)).await?;
    audit_new_events(ctx, before, &secret);
    crate::api::replication::sync_all(ctx, &secret).await
}
