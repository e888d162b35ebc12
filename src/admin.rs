//! Admin endpoints for people and test harnesses, outside the AWS API (no SigV4). Every one
//! but the health check needs the admin token in strict mode or from beyond loopback
//! (`server::door`):
//! - `GET  /_secretsd/health` → `{"status":"ok","version":"…"}`, or 503 and
//!   `{"status":"degraded","reason":"…"}` while the store refuses changes (a full disk)
//! - `POST /_secretsd/reset` (and moto's `POST /moto-api/reset`) → wipes every secret and puts
//!   the clock back to system time
//! - `GET  /_secretsd/clock` → the server's time; `POST /_secretsd/clock` with
//!   `{"advance_seconds": N}` or `{"epoch_seconds": T}` moves it (recovery windows, schedules)
//! - `GET  /_secretsd/rotations?secret=<ARN>` → rotation configuration, job, attempts, events
//! - `GET  /_secretsd/audit?since=<time>&limit=N` → audit records (CloudTrail's shape)

use crate::api;
use crate::app::Ctx;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::protocol;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

/// The one admin endpoint anyone may call: it tells nothing but status and version.
pub const HEALTH_PATH: &str = "/_secretsd/health";

pub fn is_admin_path(path: &str) -> bool {
    path.starts_with("/_secretsd/") || path.starts_with("/moto-api/")
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = protocol::success_response(Bytes::from(value.to_string()));
    *response.status_mut() = status;
    response
}

/// 200 and `ok`, or, while the store refuses changes (a full disk), 503 and `degraded` with
/// the reason: what a container's health check takes for unhealthy.
fn health(ctx: &Ctx) -> Response<Full<Bytes>> {
    let version = env!("CARGO_PKG_VERSION");
    match ctx.store.degraded() {
        None => json_response(StatusCode::OK, json!({"status": "ok", "version": version})),
        Some(reason) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "degraded", "reason": reason, "version": version}),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    advance_seconds: Option<f64>,
    epoch_seconds: Option<f64>,
}

pub async fn handle(
    ctx: &Ctx,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let result = match (method, path) {
        (&Method::GET, HEALTH_PATH) => return health(ctx),
        (&Method::POST, "/_secretsd/reset" | "/moto-api/reset") => {
            ctx.clock.reset();
            ctx.store.reset().await.map(|_| json!({"status": "ok"}))
        }
        (&Method::GET, "/_secretsd/clock") => Ok(clock_state(ctx)),
        (&Method::GET, "/_secretsd/rotations") => rotations(ctx, query),
        (&Method::GET, "/_secretsd/audit") => audit_records(ctx, query),
        (&Method::POST, "/_secretsd/clock") => set_clock(ctx, body).await,
        (&Method::POST, "/_secretsd/managed-secrets") => managed_secret(ctx, body).await,
        _ => {
            return json_response(
                StatusCode::NOT_FOUND,
                json!({"__type": "NotFound", "Message": format!("No admin endpoint {method} {path}.")}),
            )
        }
    };
    match result {
        Ok(value) => json_response(StatusCode::OK, value),
        Err(e) => protocol::error_response(&e),
    }
}

/// `POST /_secretsd/managed-secrets`: registers a database's master login as a secret that RDS
/// owns (`api::managed`), as `ManageMasterUserPassword` would; answers `ARN`, `Name`,
/// `VersionId`.
async fn managed_secret(ctx: &Ctx, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let request = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_parameter(format!("bad managed secret request: {e}")))?;
    let created = crate::api::managed::create_managed_secret(ctx, request).await?;
    serde_json::to_value(created).map_err(|e| ApiError::internal(e.to_string()))
}

/// `GET /_secretsd/rotations?secret=<ARN>`: the rotation configuration, the job in progress (if
/// any, with its attempts and last error) and the latest rotation events of one secret.
fn rotations(ctx: &Ctx, query: &str) -> Result<serde_json::Value, ApiError> {
    let arn = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("secret="))
        .map(crate::auth::sigv4::uri_decode)
        .ok_or_else(|| ApiError::invalid_parameter("give ?secret=<secret ARN>"))?;
    let key = match crate::model::arn::parse_secret_id(&arn)? {
        crate::model::arn::SecretRef::FullArn { key, .. } => key,
        _ => return Err(ApiError::invalid_parameter("give the secret's full ARN")),
    };
    let secret = ctx
        .store
        .get(&key)?
        .filter(|s| s.arn == arn)
        .ok_or_else(ApiError::secret_not_found)?;
    Ok(json!({
        "arn": secret.arn,
        "rotation": secret.rotation.as_ref().map(|r| json!({
            "lambda_arn": r.lambda_arn,
            "enabled": r.enabled,
            "rules": {
                "AutomaticallyAfterDays": r.rules.automatically_after_days,
                "ScheduleExpression": r.rules.schedule_expression,
                "Duration": r.rules.duration,
            },
        })),
        "job": secret.rotation_job.as_ref().map(|j| json!({
            "token": j.token,
            "test": j.test,
            "attempts": j.attempts,
            "last_error": j.last_error,
            "started": j.started_ms as f64 / 1000.0,
            "lease": j.lease.as_ref().map(|l| json!({
                "node": l.node,
                "until": l.until_ms as f64 / 1000.0,
            })),
        })),
        "due": secret.rotation_due_ms.map(|t| t as f64 / 1000.0),
        "events": secret.rotation_events.iter().map(|e| json!({
            "time": e.time_ms as f64 / 1000.0,
            "event": e.name,
            "token": e.token,
            "detail": e.detail,
        })).collect::<Vec<_>>(),
    }))
}

/// `GET /_secretsd/audit?since=<RFC 3339 or epoch seconds>&limit=N`: audit records from that
/// time on, oldest first (default: the last hour, 1,000 records).
fn audit_records(ctx: &Ctx, query: &str) -> Result<serde_json::Value, ApiError> {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .map(crate::auth::sigv4::uri_decode)
    };
    let since_ms = match param("since") {
        None => ctx.clock.now_millis() - 3_600_000,
        Some(text) => match text.parse::<f64>() {
            Ok(seconds) => (seconds * 1000.0) as i64,
            Err(_) => chrono::DateTime::parse_from_rfc3339(&text)
                .map(|t| t.timestamp_millis())
                .map_err(|_| {
                    ApiError::invalid_parameter(format!(
                        "since={text} is neither RFC 3339 nor epoch seconds"
                    ))
                })?,
        },
    };
    let limit = param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(1000usize)
        .min(100_000);
    Ok(json!({ "Records": ctx.audit.since(since_ms, limit) }))
}

fn clock_state(ctx: &Ctx) -> serde_json::Value {
    json!({
        "epoch_seconds": ctx.clock.now_millis() as f64 / 1000.0,
        "offset_seconds": ctx.clock.offset_millis() as f64 / 1000.0,
    })
}

async fn set_clock(ctx: &Ctx, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let change: ClockChange = serde_json::from_slice(body).map_err(|e| {
        ApiError::serialization(format!(
            "expected {{\"advance_seconds\": N}} or {{\"epoch_seconds\": T}}: {e}"
        ))
    })?;
    let offset = match (change.advance_seconds, change.epoch_seconds) {
        (Some(s), None) if s.is_finite() => ctx.clock.offset_millis() + (s * 1000.0) as i64,
        (None, Some(t)) if t.is_finite() => Clock::offset_for((t * 1000.0) as i64),
        _ => {
            return Err(ApiError::serialization(
                "give exactly one of advance_seconds or epoch_seconds",
            ))
        }
    };
    ctx.clock
        .set_offset_millis(offset)
        .map_err(|e| ApiError::internal(format!("cannot set the clock: {e}")))?;
    // Moving time may end recovery windows and open rotation windows: act now, not at the
    // next sweep.
    api::purge_due_deletions(ctx).await?;
    ctx.rotation.tick();
    Ok(clock_state(ctx))
}
