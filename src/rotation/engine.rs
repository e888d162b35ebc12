//! The worker: runs kicked jobs and due rotations in the background, one job per secret, each
//! step through the executor its function selects, and records how each attempt ended.
//!
//! On a store several nodes share, every node's worker sees every due rotation: a scheduled
//! rotation is started once (under the secret's lock, by whichever node comes first), and a
//! job runs only on the node that holds its lease, renewed before each step for the step's
//! timeout and a grace. The scheduler looks at the job again when the lease would lapse, so a
//! job whose node died is taken over by another node, with the same token, from its first
//! step (the steps are idempotent, as AWS's rotation functions must be).

use super::builtin;
use super::client::SecretsClient;
use super::error::StepError;
use super::exec;
use super::function::{FunctionConfig, FunctionKind};
use super::handle::{Kick, RotationReceiver};
use super::rules::{function_for, function_name, prepare, schedule_next};
use super::webhook;
use crate::app::{commit, Ctx};
use crate::error::ApiResult;
use crate::model::arn::SecretKey;
use crate::model::secret::{Lease, Secret, AWSCURRENT, AWSPENDING};
use crate::store::Hint;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Automatic attempts of one rotation before it waits for RotateSecret or the next window.
const MAX_ATTEMPTS: u32 = 3;
/// Wait before attempt n+1 (docs/aws-behaviour.md §R6.4's suggested back-off).
const BACKOFF_MS: [i64; 3] = [30_000, 120_000, 600_000];
/// How often the scheduler looks for due rotations.
const TICK: Duration = Duration::from_secs(5);
/// How much longer than a step's own timeout a job's lease lasts: room for the commits around
/// the step, and for the nodes' clocks to differ.
const LEASE_GRACE_MS: i64 = 5_000;

/// What the worker's jobs share: the server's state, the API the built-in rotators call, and
/// the secrets whose job is running.
struct Worker {
    ctx: Arc<Ctx>,
    api: Arc<dyn SecretsClient>,
    running: Mutex<HashSet<SecretKey>>,
    /// This process's id in leases.
    node: String,
}

/// The worker: runs kicked jobs and, every few seconds, whatever the schedule says is due.
pub async fn run_worker(
    ctx: Arc<Ctx>,
    api: Arc<dyn SecretsClient>,
    mut receiver: RotationReceiver,
    mut stopped: watch::Receiver<bool>,
) {
    let worker = Arc::new(Worker {
        ctx,
        api,
        running: Mutex::default(),
        node: uuid::Uuid::new_v4().to_string(),
    });
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            kick = receiver.0.recv() => match kick {
                Some(Kick::Secret(key)) => spawn_job(&worker, key),
                Some(Kick::Tick) => tick(&worker).await,
                None => break,
            },
            _ = ticker.tick() => tick(&worker).await,
            _ = stopped.changed() => break,
        }
    }
}

async fn tick(worker: &Arc<Worker>) {
    if let Err(e) = start_due(worker).await {
        tracing::warn!(error = %e, "rotation scheduler");
    }
}

/// Due entries: retry a job, or start the scheduled rotation of a secret without one.
async fn start_due(worker: &Arc<Worker>) -> ApiResult<()> {
    let ctx = &worker.ctx;
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
            prepare(&mut txn, &mut secret, &token, false, now)?;
            commit(ctx, txn, &secret).await?;
        } else if secret.rotation_job.is_none() {
            secret.rotation_due_ms = None;
            commit(ctx, txn, &secret).await?;
            continue;
        } else {
            drop(txn);
        }
        spawn_job(worker, key);
    }
    Ok(())
}

fn spawn_job(worker: &Arc<Worker>, key: SecretKey) {
    {
        let mut set = worker.running.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(key.clone()) {
            return; // already running: one job per secret
        }
    }
    let worker = worker.clone();
    tokio::spawn(async move {
        if let Err(e) = run_job(&worker, &key).await {
            tracing::warn!(secret = %key.name, error = %e, "rotation job");
        }
        worker
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    });
}

const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// One attempt of the secret's job.
async fn run_job(worker: &Worker, key: &SecretKey) -> ApiResult<()> {
    let ctx = &*worker.ctx;
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
    let lease_ms = function
        .as_ref()
        .map_or(0, |f| f.timeout_s.saturating_mul(1000) as i64)
        + LEASE_GRACE_MS;
    let mut env = environment(ctx, &secret, &job.token);
    if let Some(f) = &function {
        env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), name.into()));
        env.push((
            "AWS_LAMBDA_FUNCTION_TIMEOUT".into(),
            f.timeout_s.to_string(),
        ));
    }
    for step in steps {
        if !claim(worker, key, &job.token, lease_ms).await? {
            return Ok(()); // another node runs it, or it ended meanwhile
        }
        let event = serde_json::json!({
            "Step": step,
            "SecretId": secret.arn,
            "ClientRequestToken": job.token,
            "RotationToken": uuid::Uuid::new_v4().to_string(),
        });
        let result = match &function {
            Some(f) if f.kind == FunctionKind::Builtin => {
                let step_run = builtin::invoke(
                    &*worker.api,
                    &ctx.rotation_tls,
                    (&secret.account, &secret.region),
                    name,
                    f,
                    secret.owned_by.as_ref(),
                    &event,
                );
                match tokio::time::timeout(Duration::from_secs(f.timeout_s), step_run).await {
                    Ok(result) => result,
                    Err(_) => Err(StepError::TimedOut(f.timeout_s)),
                }
            }
            Some(f) if f.kind == FunctionKind::Webhook => webhook::invoke(f, &event).await,
            Some(f) => exec::invoke(f, &event, &env).await,
            None => Err(StepError::NotConfigured),
        };
        if let Err(error) = result {
            let failure = StepError::InStep {
                what,
                step: step.to_string(),
                error: Box::new(error),
            };
            return finish(worker, key, &job.token, Err(failure)).await;
        }
        // A client may have abandoned the rotation meanwhile: stop at once.
        let still = ctx.store.get(key)?.and_then(|s| s.rotation_job.clone());
        if still.as_ref().map(|j| &j.token) != Some(&job.token) {
            return Ok(());
        }
    }
    finish(worker, key, &job.token, Ok(())).await
}

/// Takes or renews the job's lease for this node, for `lease_ms`: `false` if another node holds
/// it, or the job is gone. On a store that only this process opens, every job is this node's.
async fn claim(worker: &Worker, key: &SecretKey, token: &str, lease_ms: i64) -> ApiResult<bool> {
    let ctx = &*worker.ctx;
    if !ctx.store.shared() {
        return Ok(true);
    }
    let txn = ctx.store.begin(key).await?;
    let Some(mut secret) = txn.current().cloned() else {
        return Ok(false);
    };
    let wall_ms = chrono::Utc::now().timestamp_millis();
    let Some(job) = secret.rotation_job.as_mut().filter(|j| j.token == token) else {
        return Ok(false);
    };
    if !holds_or_lapsed(job.lease.as_ref(), &worker.node, wall_ms) {
        return Ok(false);
    }
    job.lease = Some(Lease {
        node: worker.node.clone(),
        until_ms: wall_ms + lease_ms,
    });
    // The scheduler comes back when the lease would lapse: any node may then take it over.
    secret.rotation_due_ms = Some(ctx.clock.now_millis() + lease_ms);
    commit(ctx, txn, &secret).await?;
    Ok(true)
}

/// Whether `node` may run a job under `lease` at `wall_ms`.
fn holds_or_lapsed(lease: Option<&Lease>, node: &str, wall_ms: i64) -> bool {
    lease.is_none_or(|l| l.node == node || l.until_ms <= wall_ms)
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
    worker: &Worker,
    key: &SecretKey,
    token: &str,
    outcome: Result<(), StepError>,
) -> ApiResult<()> {
    let ctx = &*worker.ctx;
    let txn = ctx.store.begin(key).await?;
    let Some(mut secret) = txn.current().cloned() else {
        return Ok(());
    };
    let Some(mut job) = secret.rotation_job.clone().filter(|j| j.token == token) else {
        return Ok(()); // abandoned or cancelled meanwhile
    };
    if job.lease.as_ref().is_some_and(|l| l.node != worker.node) {
        return Ok(()); // taken over by another node, which records the outcome
    }
    job.lease = None;
    let now = ctx.clock.now_millis();
    let outcome = outcome.and_then(|()| {
        if job.test
            || secret
                .version(token)
                .is_some_and(|v| v.has_stage(AWSCURRENT))
        {
            Ok(())
        } else {
            Err(StepError::CurrentNotMoved)
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
        Err(failure) if job.test => {
            let detail = failure.to_string();
            secret.versions.retain(|v| v.id != token);
            secret.rotation_job = None;
            secret.record_rotation_event(now, "TestRotationFailed", token, Some(detail));
            schedule_next(&mut secret, now);
        }
        Err(failure) => {
            let detail = failure.to_string();
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
    commit(ctx, txn, &secret).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_belongs_to_its_node_until_it_lapses() {
        let lease = Lease {
            node: "a".into(),
            until_ms: 1_000,
        };
        assert!(holds_or_lapsed(None, "b", 0));
        assert!(holds_or_lapsed(Some(&lease), "a", 500));
        assert!(!holds_or_lapsed(Some(&lease), "b", 999));
        assert!(holds_or_lapsed(Some(&lease), "b", 1_000));
    }
}
