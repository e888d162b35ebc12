//! The audit trail: one CloudTrail-shaped JSON record per API call (allowed or denied) and per
//! rotation event, appended to `<data-dir>/audit/YYYY-MM-DD.jsonl` (one file per UTC day) and
//! readable through `GET /_secretsd/audit?since=…`.
//!
//! Records never hold secret material: request members that carry values (`SecretString`,
//! `SecretBinary`, `RotationToken`) are dropped, and responses contribute only identifiers.
//! Writing happens on a task of its own so a request pays for a channel send, not a disk write;
//! lines reach the file within a fraction of a second and are fsynced every second.

use crate::model::secret::{RotationEvent, Secret};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Request members that may carry secret material, never recorded.
const SENSITIVE_MEMBERS: &[&str] = &["SecretString", "SecretBinary", "RotationToken"];
/// Response members worth recording: identifiers only.
const RESPONSE_MEMBERS: &[&str] = &["ARN", "Name", "VersionId"];
/// Records kept in memory for the admin endpoint when there is no data dir.
const MEMORY_RECORDS: usize = 10_000;
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Where records go. Cloning shares the trail.
#[derive(Clone)]
pub struct Audit {
    sender: mpsc::UnboundedSender<Value>,
    recent: Arc<Mutex<VecDeque<Value>>>,
    dir: Option<PathBuf>,
}

/// Who made a call, as CloudTrail's `userIdentity` shows it.
pub struct Identity<'a> {
    pub principal_arn: &'a str,
    pub account: &'a str,
    pub access_key_id: &'a str,
}

/// One API call, for the record.
pub struct ApiCall<'a> {
    pub time_ms: i64,
    pub operation: &'a str,
    pub region: &'a str,
    pub identity: Option<Identity<'a>>,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub request_id: &'a str,
    pub request: &'a [u8],
    pub response: Result<&'a [u8], (&'a str, &'a str)>,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The request as CloudTrail would show it: the JSON members minus anything secret.
fn request_parameters(body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut members)) => {
            for name in SENSITIVE_MEMBERS {
                members.remove(*name);
            }
            if members.is_empty() {
                Value::Null
            } else {
                Value::Object(members)
            }
        }
        _ => Value::Null,
    }
}

fn response_elements(body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => {
            let kept: Map<String, Value> = members
                .into_iter()
                .filter(|(k, _)| RESPONSE_MEMBERS.contains(&k.as_str()))
                .collect();
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Object(kept)
            }
        }
        _ => Value::Null,
    }
}

/// Read-only operations, as CloudTrail marks them.
fn read_only(operation: &str) -> bool {
    ["Get", "Describe", "List", "BatchGet", "Validate"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

fn user_identity(identity: &Identity<'_>) -> Value {
    let kind = if identity.principal_arn.ends_with(":root") {
        "Root"
    } else if identity.principal_arn.contains(":assumed-role/")
        || identity.principal_arn.contains(":role/")
    {
        "AssumedRole"
    } else {
        "IAMUser"
    };
    json!({
        "type": kind,
        "principalId": identity.access_key_id,
        "arn": identity.principal_arn,
        "accountId": identity.account,
        "accessKeyId": identity.access_key_id,
    })
}

impl Audit {
    /// A trail under `dir/audit` (created if needed), or in memory only.
    pub fn start(dir: Option<PathBuf>) -> Result<Audit, String> {
        let dir = dir.map(|d| d.join("audit"));
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create audit dir {}: {e}", dir.display()))?;
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        let audit = Audit {
            sender,
            recent: Arc::default(),
            dir: dir.clone(),
        };
        tokio::spawn(write_records(receiver, dir, audit.recent.clone()));
        Ok(audit)
    }

    fn record(&self, record: Value) {
        let _ = self.sender.send(record);
    }

    /// Records one API call.
    pub fn api_call(&self, call: ApiCall<'_>) {
        let account = call
            .identity
            .as_ref()
            .map(|i| i.account.to_string())
            .unwrap_or_default();
        let mut record = json!({
            "eventVersion": "1.08",
            "userIdentity": call.identity.as_ref().map_or(json!({"type": "Unknown"}), user_identity),
            "eventTime": rfc3339(call.time_ms),
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": call.operation,
            "awsRegion": call.region,
            "sourceIPAddress": call.source_ip,
            "userAgent": call.user_agent,
            "requestParameters": request_parameters(call.request),
            "responseElements": Value::Null,
            "requestID": call.request_id,
            "eventID": uuid::Uuid::new_v4().to_string(),
            "readOnly": read_only(call.operation),
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
        });
        match call.response {
            Ok(body) => record["responseElements"] = response_elements(body),
            Err((code, message)) => {
                record["errorCode"] = code.into();
                record["errorMessage"] = message.into();
            }
        }
        self.record(record);
    }

    /// Records a rotation event of a secret (CloudTrail's service events).
    pub fn rotation_event(&self, secret: &Secret, event: &RotationEvent) {
        let (time_ms, name, token) = (event.time_ms, event.name.as_str(), event.token.as_str());
        let (secret_arn, region, account) = (&secret.arn, &secret.region, &secret.account);
        let mut record = json!({
            "eventVersion": "1.08",
            "userIdentity": {"invokedBy": "secretsmanager.amazonaws.com"},
            "eventTime": rfc3339(time_ms),
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "secretsmanager.amazonaws.com",
            "userAgent": "secretsmanager.amazonaws.com",
            "requestParameters": Value::Null,
            "responseElements": Value::Null,
            "requestID": Value::Null,
            "eventID": uuid::Uuid::new_v4().to_string(),
            "readOnly": false,
            "eventType": "AwsServiceEvent",
            "managementEvent": true,
            "recipientAccountId": account,
            "serviceEventDetails": {"SecretId": secret_arn, "versionId": token},
        });
        if let Some(detail) = &event.detail {
            record["errorMessage"] = detail.as_str().into();
        }
        self.record(record);
    }

    /// Records at or after `since_ms`, oldest first (at most `limit`).
    pub fn since(&self, since_ms: i64, limit: usize) -> Vec<Value> {
        let since = rfc3339(since_ms);
        let keep = |r: &Value| r["eventTime"].as_str().is_some_and(|t| *t >= *since);
        let Some(dir) = &self.dir else {
            let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            return recent
                .iter()
                .filter(|r| keep(r))
                .take(limit)
                .cloned()
                .collect();
        };
        let first_day = since.get(..10).unwrap_or_default().to_string();
        let mut days: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        days.retain(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|day| day >= first_day.as_str())
        });
        days.sort();
        let mut out = Vec::new();
        for day in days {
            let text = std::fs::read_to_string(&day).unwrap_or_default();
            for line in text.lines() {
                if let Ok(record) = serde_json::from_str::<Value>(line) {
                    if keep(&record) {
                        out.push(record);
                        if out.len() >= limit {
                            return out;
                        }
                    }
                }
            }
        }
        out
    }
}

/// The writer: appends each record to its day's file, flushing after every burst and syncing
/// to disk every second; without a data dir, keeps the latest records in memory.
async fn write_records(
    mut receiver: mpsc::UnboundedReceiver<Value>,
    dir: Option<PathBuf>,
    recent: Arc<Mutex<VecDeque<Value>>>,
) {
    let mut file: Option<(String, std::io::BufWriter<std::fs::File>)> = None;
    let mut dirty = false;
    let mut sync = tokio::time::interval(SYNC_EVERY);
    loop {
        let record = tokio::select! {
            record = receiver.recv() => match record {
                Some(record) => record,
                None => break,
            },
            _ = sync.tick() => {
                if let Some((_, writer)) = file.as_mut().filter(|_| dirty) {
                    let _ = writer.get_ref().sync_data();
                    dirty = false;
                }
                continue;
            }
        };
        let Some(dir) = &dir else {
            let mut recent = recent.lock().unwrap_or_else(|p| p.into_inner());
            if recent.len() == MEMORY_RECORDS {
                recent.pop_front();
            }
            recent.push_back(record);
            continue;
        };
        let day = record["eventTime"]
            .as_str()
            .and_then(|t| t.get(..10))
            .unwrap_or("unknown")
            .to_string();
        if file.as_ref().is_none_or(|(open_day, _)| *open_day != day) {
            let path = dir.join(format!("{day}.jsonl"));
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                Ok(f) => file = Some((day, std::io::BufWriter::new(f))),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot open the audit file");
                    continue;
                }
            }
        }
        if let Some((_, writer)) = file.as_mut() {
            let _ = writeln!(writer, "{record}");
            // Flush once the burst is drained, so readers see every record promptly.
            if receiver.is_empty() {
                let _ = writer.flush();
            }
            dirty = true;
        }
    }
    if let Some((_, mut writer)) = file {
        let _ = writer.flush();
        let _ = writer.get_ref().sync_data();
    }
}
