//! The audit trail: one CloudTrail-shaped JSON record per API call (allowed or denied) and per
//! rotation event, appended to `<data-dir>/audit/YYYY-MM-DD.jsonl` (one file per UTC day) and
//! readable through `GET /_secretsd/audit?since=…`.
//!
//! Records never hold secret material: request members that carry values (`SecretString`,
//! `SecretBinary`, `RotationToken`) are dropped, and responses contribute only identifiers.
//! Writing happens on a task of its own so a request pays for a channel send, not a disk write;
//! lines reach the file within a fraction of a second and are fsynced every second.

use crate::config::AuditLevel;
use crate::model::secret::{RotationEvent, Secret};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Request members that may carry secret material, never recorded.
const SENSITIVE_MEMBERS: &[&str] = &["SecretString", "SecretBinary", "RotationToken"];
/// Records kept in memory for the admin endpoint when there is no data dir.
const MEMORY_RECORDS: usize = 10_000;
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const SYNC_EVERY_FLUSHES: u32 = 10;
/// Big enough that a burst of records costs one write.
const BUFFER_BYTES: usize = 256 * 1024;

/// Where records go. Cloning shares the trail.
///
/// A request appends its line to a shared buffer under a short lock (no task wake-up, no system
/// call); a flusher writes the buffer out every 100 ms and syncs the file every second.
#[derive(Clone)]
pub struct Audit {
    level: AuditLevel,
    sink: Arc<Mutex<Sink>>,
    dir: Option<PathBuf>,
}

/// The open day file (with a data dir) or the latest records (without one).
struct Sink {
    day: String,
    file: Option<std::io::BufWriter<std::fs::File>>,
    recent: VecDeque<String>,
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
    pub response: Result<&'a ResponseIds, (&'a str, &'a str)>,
}

/// What a record keeps of an answer: the identifiers of the secret it names. The operation
/// hands them over, so the response (which may be large, and holds the value for
/// GetSecretValue) is never read back.
#[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ResponseIds {
    #[serde(rename = "ARN", default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "VersionId", default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl ResponseIds {
    /// The identifiers a response body shows, read back from it: what an operation's declared
    /// identifiers must equal (checked in debug builds, so by every in-process test).
    pub fn read(body: &[u8]) -> ResponseIds {
        serde_json::from_slice(body).unwrap_or_default()
    }

    fn is_empty(&self) -> bool {
        self.arn.is_none() && self.name.is_none() && self.version_id.is_none()
    }
}

/// The request's members a record keeps, as the client sent them (values not re-encoded), in
/// the client's order.
struct RequestMembers<'a>(Vec<(&'a str, Cow<'a, RawValue>)>);

impl Serialize for RequestMembers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for RequestMembers<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RequestMembers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut kept = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((name, value)) = map.next_entry::<&'de str, &'de RawValue>()? {
                    if !SENSITIVE_MEMBERS.contains(&name) {
                        kept.push((name, one_line(value)));
                    }
                }
                Ok(RequestMembers(kept))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// One record, in CloudTrail's field names. Built from borrowed parts and encoded once, by
/// `Record::encode`; the derived `Serialize` is what tests hold that encoding to.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    event_version: &'static str,
    user_identity: UserIdentity<'a>,
    event_time: String,
    event_source: &'static str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    request_parameters: Option<RequestMembers<'a>>,
    response_elements: Option<&'a ResponseIds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    #[serde(rename = "requestID")]
    request_id: Option<&'a str>,
    #[serde(rename = "eventID")]
    event_id: String,
    read_only: bool,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_event_details: Option<ServiceEventDetails<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum UserIdentity<'a> {
    Principal {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(rename = "principalId")]
        principal_id: &'a str,
        arn: &'a str,
        #[serde(rename = "accountId")]
        account_id: &'a str,
        #[serde(rename = "accessKeyId")]
        access_key_id: &'a str,
    },
    Unknown {
        #[serde(rename = "type")]
        kind: &'static str,
    },
    Service {
        #[serde(rename = "invokedBy")]
        invoked_by: &'static str,
    },
}

#[derive(Serialize)]
struct ServiceEventDetails<'a> {
    #[serde(rename = "SecretId")]
    secret_id: &'a str,
    #[serde(rename = "versionId")]
    version_id: &'a str,
}

const SOURCE: &str = "secretsmanager.amazonaws.com";

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The request's members minus the sensitive ones, or `None` (not an object, nothing left, or
/// a member name with escapes, which no real client sends).
fn request_members(body: &[u8]) -> Option<RequestMembers<'_>> {
    let kept: RequestMembers<'_> = serde_json::from_slice(body).ok()?;
    (!kept.0.is_empty()).then_some(kept)
}

/// A value of a pretty-printed request spans lines, which would split its record in two.
/// Outside strings a line break is only whitespace, and inside one it is always escaped, so
/// each becomes a space.
fn one_line(raw: &RawValue) -> Cow<'_, RawValue> {
    if !raw.get().contains(['\n', '\r']) {
        return Cow::Borrowed(raw);
    }
    RawValue::from_string(raw.get().replace(['\n', '\r'], " "))
        .map_or(Cow::Borrowed(raw), Cow::Owned)
}

/// Read-only operations, as CloudTrail marks them.
fn read_only(operation: &str) -> bool {
    ["Get", "Describe", "List", "BatchGet", "Validate"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

fn user_identity<'a>(identity: &Identity<'a>) -> UserIdentity<'a> {
    let kind = if identity.principal_arn.ends_with(":root") {
        "Root"
    } else if identity.principal_arn.contains(":assumed-role/")
        || identity.principal_arn.contains(":role/")
    {
        "AssumedRole"
    } else {
        "IAMUser"
    };
    UserIdentity::Principal {
        kind,
        principal_id: identity.access_key_id,
        arn: identity.principal_arn,
        account_id: identity.account,
        access_key_id: identity.access_key_id,
    }
}

fn api_record<'a>(call: &'a ApiCall<'a>) -> Record<'a> {
    let (response_elements, error_code, error_message) = match call.response {
        Ok(ids) => ((!ids.is_empty()).then_some(ids), None, None),
        Err((code, message)) => (None, Some(code), Some(message)),
    };
    Record {
        event_version: "1.08",
        user_identity: call
            .identity
            .as_ref()
            .map_or(UserIdentity::Unknown { kind: "Unknown" }, user_identity),
        event_time: rfc3339(call.time_ms),
        event_source: SOURCE,
        event_name: call.operation,
        aws_region: call.region,
        source_ip_address: call.source_ip,
        user_agent: call.user_agent,
        request_parameters: request_members(call.request),
        response_elements,
        error_code,
        error_message,
        request_id: Some(call.request_id),
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: read_only(call.operation),
        event_type: "AwsApiCall",
        management_event: true,
        recipient_account_id: call.identity.as_ref().map_or("", |i| i.account),
        service_event_details: None,
    }
}

fn rotation_record<'a>(
    secret_arn: &'a str,
    account: &'a str,
    region: &'a str,
    event: &'a RotationEvent,
) -> Record<'a> {
    Record {
        event_version: "1.08",
        user_identity: UserIdentity::Service { invoked_by: SOURCE },
        event_time: rfc3339(event.time_ms),
        event_source: SOURCE,
        event_name: &event.name,
        aws_region: region,
        source_ip_address: SOURCE,
        user_agent: SOURCE,
        request_parameters: None,
        response_elements: None,
        error_code: None,
        error_message: event.detail.as_deref(),
        request_id: None,
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: false,
        event_type: "AwsServiceEvent",
        management_event: true,
        recipient_account_id: account,
        service_event_details: Some(ServiceEventDetails {
            secret_id: secret_arn,
            version_id: &event.token,
        }),
    }
}

/// One audit line under construction. Records are encoded by hand rather than by the derived
/// `Serialize` (which tests keep as the oracle): member names are constants, and values that
/// need no escaping (nearly all: ARNs, ids, times) are copied as they are, so a record costs
/// far fewer instructions.
struct Line(Vec<u8>);

impl Line {
    fn raw(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    fn string(&mut self, value: &str) {
        // What serde_json escapes: quote, backslash, control characters. No early exit: the
        // loop over the bytes stays free of branches.
        let plain = value.bytes().fold(true, |plain, b| {
            plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
        });
        if plain {
            self.0.push(b'"');
            self.0.extend_from_slice(value.as_bytes());
            self.0.push(b'"');
        } else {
            // serde_json's escaping; writing to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.0, value);
        }
    }

    /// Opens an object (`first`) or continues one, up to a member's value. Member names are
    /// constants that need no escaping.
    fn key(&mut self, first: bool, name: &str) {
        self.0.reserve(name.len() + 4);
        self.0.push(if first { b'{' } else { b',' });
        self.0.push(b'"');
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b"\":");
    }

    fn string_member(&mut self, first: bool, name: &str, value: &str) {
        self.key(first, name);
        self.string(value);
    }

    fn optional_string(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.string(value),
            None => self.raw("null"),
        }
    }
}

impl Record<'_> {
    fn encode(&self, line: &mut Line) {
        line.string_member(true, "eventVersion", self.event_version);
        line.key(false, "userIdentity");
        match &self.user_identity {
            UserIdentity::Principal {
                kind,
                principal_id,
                arn,
                account_id,
                access_key_id,
            } => {
                line.string_member(true, "type", kind);
                line.string_member(false, "principalId", principal_id);
                line.string_member(false, "arn", arn);
                line.string_member(false, "accountId", account_id);
                line.string_member(false, "accessKeyId", access_key_id);
            }
            UserIdentity::Unknown { kind } => line.string_member(true, "type", kind),
            UserIdentity::Service { invoked_by } => {
                line.string_member(true, "invokedBy", invoked_by)
            }
        }
        line.raw("}");
        line.string_member(false, "eventTime", &self.event_time);
        line.string_member(false, "eventSource", self.event_source);
        line.string_member(false, "eventName", self.event_name);
        line.string_member(false, "awsRegion", self.aws_region);
        line.string_member(false, "sourceIPAddress", self.source_ip_address);
        line.string_member(false, "userAgent", self.user_agent);
        line.key(false, "requestParameters");
        match &self.request_parameters {
            Some(RequestMembers(members)) if !members.is_empty() => {
                for (i, (name, value)) in members.iter().enumerate() {
                    line.raw(if i == 0 { "{" } else { "," });
                    // A client's member name, so escaped like any value.
                    line.string(name);
                    line.raw(":");
                    line.raw(value.get());
                }
                line.raw("}");
            }
            Some(_) => line.raw("{}"),
            None => line.raw("null"),
        }
        line.key(false, "responseElements");
        match self.response_elements {
            Some(ids) => {
                let mut first = true;
                for (name, value) in [
                    ("ARN", &ids.arn),
                    ("Name", &ids.name),
                    ("VersionId", &ids.version_id),
                ] {
                    if let Some(value) = value {
                        line.string_member(first, name, value);
                        first = false;
                    }
                }
                line.raw(if first { "{}" } else { "}" });
            }
            None => line.raw("null"),
        }
        if let Some(code) = self.error_code {
            line.string_member(false, "errorCode", code);
        }
        if let Some(message) = self.error_message {
            line.string_member(false, "errorMessage", message);
        }
        line.key(false, "requestID");
        line.optional_string(self.request_id);
        line.string_member(false, "eventID", &self.event_id);
        line.key(false, "readOnly");
        line.raw(if self.read_only { "true" } else { "false" });
        line.string_member(false, "eventType", self.event_type);
        line.key(false, "managementEvent");
        line.raw(if self.management_event {
            "true"
        } else {
            "false"
        });
        line.string_member(false, "recipientAccountId", self.recipient_account_id);
        if let Some(details) = &self.service_event_details {
            line.key(false, "serviceEventDetails");
            line.string_member(true, "SecretId", details.secret_id);
            line.string_member(false, "versionId", details.version_id);
            line.raw("}");
        }
        line.raw("}");
    }
}

/// Why the trail cannot be kept where asked.
#[derive(Debug, thiserror::Error)]
#[error("cannot create audit dir {}: {source}", .dir.display())]
pub struct AuditError {
    dir: PathBuf,
    source: std::io::Error,
}

impl Audit {
    /// A trail under `dir/audit` (created if needed), or in memory only.
    pub fn start(dir: Option<PathBuf>, level: AuditLevel) -> Result<Audit, AuditError> {
        let dir = dir.map(|d| d.join("audit"));
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|source| AuditError {
                dir: dir.clone(),
                source,
            })?;
        }
        let audit = Audit {
            level,
            sink: Arc::new(Mutex::new(Sink {
                day: String::new(),
                file: None,
                recent: VecDeque::new(),
            })),
            dir,
        };
        if audit.dir.is_some() {
            tokio::spawn(flush_periodically(Arc::downgrade(&audit.sink)));
        }
        Ok(audit)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sink> {
        self.sink.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, record: &Record<'_>) {
        // Sized for a typical record up front, so that encoding does not keep growing the buffer.
        let mut line = Line(Vec::with_capacity(1024));
        record.encode(&mut line);
        let line = line.0;
        let mut sink = self.lock();
        let Some(dir) = &self.dir else {
            if sink.recent.len() == MEMORY_RECORDS {
                sink.recent.pop_front();
            }
            // serde_json writes UTF-8 only.
            sink.recent
                .push_back(String::from_utf8(line).unwrap_or_default());
            return;
        };
        // The day of the record's eventTime picks its file.
        let day = record.event_time.get(..10).unwrap_or("unknown");
        if sink.file.is_none() || sink.day != day {
            if let Some(mut old) = sink.file.take() {
                let _ = old.flush();
                let _ = old.get_ref().sync_data();
            }
            let path = dir.join(format!("{day}.jsonl"));
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                Ok(f) => {
                    sink.file = Some(std::io::BufWriter::with_capacity(BUFFER_BYTES, f));
                    sink.day = day.to_string();
                }
                Err(e) => {
                    return tracing::warn!(path = %path.display(), error = %e, "cannot open the audit file")
                }
            }
        }
        if let Some(file) = sink.file.as_mut() {
            let _ = file.write_all(&line);
            let _ = file.write_all(b"\n");
        }
    }

    /// Writes buffered records out (before reading the files, and at shutdown).
    pub fn flush(&self) {
        if let Some(file) = self.lock().file.as_mut() {
            let _ = file.flush();
        }
    }

    /// Records one API call.
    pub fn api_call(&self, call: ApiCall<'_>) {
        let wanted = match self.level {
            AuditLevel::All => true,
            AuditLevel::Writes => call.response.is_err() || !read_only(call.operation),
            AuditLevel::Off => false,
        };
        if wanted {
            self.record(&api_record(&call));
        }
    }

    /// Records a rotation event of a secret (CloudTrail's service events).
    pub fn rotation_event(&self, secret: &Secret, event: &RotationEvent) {
        self.record(&rotation_record(
            &secret.arn,
            &secret.account,
            &secret.region,
            event,
        ));
    }

    /// Records at or after `since_ms`, oldest first (at most `limit`).
    pub fn since(&self, since_ms: i64, limit: usize) -> Vec<Value> {
        let since = rfc3339(since_ms);
        let keep = |r: &Value| r["eventTime"].as_str().is_some_and(|t| *t >= *since);
        let Some(dir) = &self.dir else {
            return self
                .lock()
                .recent
                .iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|r| keep(r))
                .take(limit)
                .collect();
        };
        self.flush();
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

/// Writes the buffer out every 100 ms and syncs the file every second, until the trail is
/// dropped (then a last flush and sync).
async fn flush_periodically(sink: std::sync::Weak<Mutex<Sink>>) {
    let mut ticks = 0u32;
    loop {
        tokio::time::sleep(FLUSH_EVERY).await;
        let Some(sink) = sink.upgrade() else { return };
        ticks += 1;
        let file = {
            let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
            let Some(file) = sink.file.as_mut() else {
                continue;
            };
            let _ = file.flush();
            // Sync on a second handle, outside the lock, so requests never wait for the disk.
            if ticks.is_multiple_of(SYNC_EVERY_FLUSHES) {
                file.get_ref().try_clone().ok()
            } else {
                None
            }
        };
        if let Some(file) = file {
            let _ = tokio::task::spawn_blocking(move || file.sync_data()).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(file) = self.file.as_mut() {
            let _ = file.flush();
            let _ = file.get_ref().sync_data();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(request: &'a [u8], response: &'a ResponseIds) -> ApiCall<'a> {
        ApiCall {
            time_ms: 1_700_000_000_000,
            operation: "ListSecrets",
            region: "us-east-1",
            identity: None,
            source_ip: "127.0.0.1",
            user_agent: "test",
            request_id: "r-1",
            request,
            response: Ok(response),
        }
    }

    fn only_record(audit: &Audit) -> Value {
        let lines = audit.lock().recent.clone();
        assert_eq!(lines.len(), 1);
        assert!(!lines[0].contains(['\n', '\r']), "{}", lines[0]);
        serde_json::from_str(&lines[0]).unwrap()
    }

    #[test]
    fn a_pretty_printed_request_is_one_record_on_one_line() {
        let audit = Audit::start(None, AuditLevel::All).unwrap();
        let request = b"{\r\n  \"Filters\": [\n    {\"Key\": \"name\", \"Values\": [\"a\\nb\"]}\n  ],\n  \"MaxResults\": 5,\n  \"SecretString\": \"hidden\"\n}";
        audit.api_call(call(request, &ResponseIds::default()));
        let record = only_record(&audit);
        assert_eq!(
            record["requestParameters"],
            serde_json::json!({"Filters": [{"Key": "name", "Values": ["a\nb"]}], "MaxResults": 5})
        );
        assert_eq!(record["responseElements"], Value::Null);
    }

    #[test]
    fn request_values_are_dropped_and_nothing_left_is_null() {
        let audit = Audit::start(None, AuditLevel::All).unwrap();
        let request = br#"{"SecretBinary":"c2VjcmV0","RotationToken":"t","SecretString":"s3cr3t"}"#;
        audit.api_call(call(request, &ResponseIds::default()));
        let record = only_record(&audit);
        assert_eq!(record["requestParameters"], Value::Null);
        assert!(!record.to_string().contains("s3cr3t"));
        assert!(!record.to_string().contains("c2VjcmV0"));
    }

    #[test]
    fn response_identifiers_are_read_without_the_value() {
        let response = br#"{"ARN":"arn:x","CreatedDate":1.5,"Name":"n","SecretString":"s3cr3t","VersionId":"v","VersionStages":["AWSCURRENT"]}"#;
        let ids = ResponseIds::read(response);
        assert_eq!(
            ids,
            ResponseIds {
                arn: Some("arn:x".into()),
                name: Some("n".into()),
                version_id: Some("v".into()),
            }
        );
        let audit = Audit::start(None, AuditLevel::All).unwrap();
        audit.api_call(call(br#"{"SecretId":"n"}"#, &ids));
        let record = only_record(&audit);
        assert_eq!(
            record["responseElements"],
            serde_json::json!({"ARN": "arn:x", "Name": "n", "VersionId": "v"})
        );
        assert_eq!(
            record["requestParameters"],
            serde_json::json!({"SecretId": "n"})
        );
    }

    fn encodings_agree(record: &Record<'_>) {
        let mut line = Line(Vec::new());
        record.encode(&mut line);
        let by_hand = String::from_utf8(line.0).unwrap();
        let derived = serde_json::to_string(record).unwrap();
        assert_eq!(by_hand, derived);
    }

    #[test]
    fn the_hand_encoding_is_the_derived_one() {
        let ids = ResponseIds {
            arn: Some("arn:aws:secretsmanager:us-east-1:000000000000:secret:a-AbCdEf".into()),
            name: Some("back\\slash".into()),
            version_id: None,
        };
        let only_version = ResponseIds {
            arn: None,
            name: None,
            version_id: Some("v1".into()),
        };
        let request = b"{\"SecretId\":\"a\",\n\"Tags\":[{\"Key\":\"k\\u00e9\",\"Value\":\"\\\"q\\\"\"}],\"SecretString\":\"x\"}";
        let identity = || Identity {
            principal_arn: "arn:aws:iam::000000000000:user/t\u{7f}\u{e9}",
            account: "000000000000",
            access_key_id: "AKIA\"X",
        };
        let none = ResponseIds::default();
        let calls = [
            ApiCall {
                identity: Some(identity()),
                ..call(request, &ids)
            },
            ApiCall {
                user_agent: "control\u{1}character",
                ..call(b"{}", &only_version)
            },
            ApiCall {
                response: Err((
                    "ResourceNotFoundException",
                    "Secrets Manager can't find \"it\".",
                )),
                ..call(b"not json", &ids)
            },
            ApiCall {
                identity: Some(identity()),
                operation: "PutSecretValue",
                ..call(br#"{"SecretId":"a"}"#, &none)
            },
        ];
        for call in &calls {
            encodings_agree(&api_record(call));
        }
        let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:rot\"ated-AbCdEf";
        let event = RotationEvent {
            time_ms: 1_700_000_000_000,
            name: "RotationSucceeded".into(),
            token: "t-1".into(),
            detail: Some("step \"finishSecret\"\nfailed".into()),
        };
        encodings_agree(&rotation_record(arn, "000000000000", "us-east-1", &event));
        let event = RotationEvent {
            detail: None,
            ..event
        };
        encodings_agree(&rotation_record(arn, "000000000000", "us-east-1", &event));
    }
}
