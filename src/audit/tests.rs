//! Records as CloudTrail shapes them, without secret material, one per line; the hand
//! encoding agrees with the derived one.

use super::encode::Line;
use super::record::*;
use super::*;
use crate::config::{AuditLevel, AuditRetention};
use serde_json::Value;

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
    let lines = sink::lock(&audit.sink)
        .recent()
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].contains(['\n', '\r']), "{}", lines[0]);
    serde_json::from_str(&lines[0]).unwrap()
}

#[test]
fn a_pretty_printed_request_is_one_record_on_one_line() {
    let audit = Audit::start(None, AuditLevel::All, AuditRetention::default(), None).unwrap();
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
    let audit = Audit::start(None, AuditLevel::All, AuditRetention::default(), None).unwrap();
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
    let audit = Audit::start(None, AuditLevel::All, AuditRetention::default(), None).unwrap();
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

/// Batches kept in memory, as the database keeps them: the merge of the nodes' batches.
#[derive(Default)]
struct Batches(std::sync::Mutex<Vec<table::Batch>>);

impl table::AuditTable for Batches {
    fn append(&self, first_at: &str, _last_at: &str, lines: &str) -> Result<(), String> {
        let mut batches = self.0.lock().unwrap();
        let id = batches.len() as i64 + 1;
        batches.push(table::Batch {
            id,
            first_at: first_at.into(),
            lines: lines.into(),
        });
        Ok(())
    }

    fn batches(&self, _since: &str, after: i64, limit: usize) -> Result<Vec<table::Batch>, String> {
        let batches = self.0.lock().unwrap();
        Ok(batches
            .iter()
            .filter(|b| b.id > after)
            .take(limit)
            .map(|b| table::Batch {
                id: b.id,
                first_at: b.first_at.clone(),
                lines: b.lines.clone(),
            })
            .collect())
    }

    fn remove_older_than(&self, _before: &str) -> Result<u64, String> {
        Ok(0)
    }
}

fn record_at(at: &str, n: u32) -> String {
    format!(r#"{{"eventTime":"{at}","n":{n}}}"#)
}

// On one thread, with no await: the trail's flusher never runs; the reads flush.
#[tokio::test]
async fn the_nodes_batches_read_back_merged_oldest_first() {
    let shared = Arc::new(Batches::default());
    let table: Arc<dyn table::AuditTable> = shared.clone();
    // Two nodes' batches, stored in the order they were flushed; their times interleave.
    let a1 = [
        record_at("2026-01-01T00:00:01Z", 1),
        record_at("2026-01-01T00:00:03Z", 3),
    ];
    let b1 = [
        record_at("2026-01-01T00:00:02Z", 2),
        record_at("2026-01-01T00:00:04Z", 4),
    ];
    let a2 = [record_at("2026-01-01T00:00:05Z", 5)];
    for batch in [&a1[..], &b1[..], &a2[..]] {
        let first = batch[0][14..34].to_string();
        table.append(&first, &first, &batch.join("\n")).unwrap();
    }
    let audit = Audit::start(
        None,
        AuditLevel::All,
        AuditRetention::default(),
        Some(table),
    )
    .unwrap();
    let numbers = |records: Vec<Value>| {
        records
            .iter()
            .map(|r| r["n"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let since_2 = 1_767_225_602_000; // 2026-01-01T00:00:02Z
    assert_eq!(numbers(audit.since(since_2, 10)), [2, 3, 4, 5]);
    assert_eq!(numbers(audit.since(0, 3)), [1, 2, 3]);
}

#[tokio::test]
async fn on_a_shared_store_a_record_waits_in_the_buffer_until_a_flush_stores_it() {
    let shared = Arc::new(Batches::default());
    let audit = Audit::start(
        None,
        AuditLevel::All,
        AuditRetention::default(),
        Some(shared.clone()),
    )
    .unwrap();
    audit.api_call(call(b"{}", &ResponseIds::default()));
    assert!(shared.0.lock().unwrap().is_empty());
    audit.flush();
    let batches = shared.0.lock().unwrap();
    assert_eq!(batches.len(), 1);
    let record: Value = serde_json::from_str(&batches[0].lines).unwrap();
    assert_eq!(record["eventName"], "ListSecrets");
    assert_eq!(batches[0].first_at, record["eventTime"].as_str().unwrap());
}

// On one thread, with no await: the flusher never runs, so the bounds apply when the test says.
#[tokio::test]
async fn a_large_day_is_written_in_parts_read_back_in_order_and_the_oldest_part_goes_first() {
    let data = tempfile::tempdir().unwrap();
    // Parts of 1 MiB (the smallest), all of them kept within 3 MiB.
    let retention = AuditRetention {
        max_age_days: 0,
        max_bytes: 3 * 1024 * 1024,
    };
    let audit = Audit::start(Some(data.path().into()), AuditLevel::All, retention, None).unwrap();
    let dir = data.path().join("audit");
    let padding = "p".repeat(1000);
    let line = |n: u32| {
        let at = format!(
            "2026-12-07T{:02}:{:02}:{:02}Z",
            n / 3600,
            n / 60 % 60,
            n % 60
        );
        format!(r#"{{"eventTime":"{at}","n":{n},"pad":"{padding}"}}"#)
    };
    for n in 0..4200 {
        let at = line(n)[14..34].to_string();
        sink::lock(&audit.sink).append(Some(&dir), &at, line(n).into_bytes());
    }
    audit.flush();
    let parts = files::listed(&dir);
    assert_eq!(
        parts.iter().map(|f| f.part).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert!(parts
        .iter()
        .all(|f| f.day == "2026-12-07" && f.bytes <= 1024 * 1024 + 1100));
    let numbers = |records: Vec<Value>| -> Vec<u64> {
        records.iter().map(|r| r["n"].as_u64().unwrap()).collect()
    };
    assert_eq!(numbers(audit.since(0, 5000)), (0..4200).collect::<Vec<_>>());

    let current = sink::lock(&audit.sink).path.clone();
    let removed = files::enforce(&dir, &retention, "2026-12-07", current.as_deref());
    assert_eq!(removed, [parts[0].path.clone(), parts[1].path.clone()]);
    let kept = files::listed(&dir);
    assert!(kept.iter().map(|f| f.bytes).sum::<u64>() <= retention.max_bytes);
    // The reader starts where the oldest kept part does, and misses nothing after it.
    let read = numbers(audit.since(0, 5000));
    let first = read[0];
    assert_eq!(read, (first..4200).collect::<Vec<_>>());
    assert!(first > 1500, "the first two parts are gone");
}
