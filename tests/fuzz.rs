//! Property-based fuzzing through the whole server (issue 6), beside the coverage-guided
//! cargo-fuzz targets of `fuzz/` (scripts/fuzz), which drive the parsers alone and much
//! faster. Random and near-valid inputs go through the awsJson decoder and
//! every operation (so through the ListSecrets filter parser, the rotation-rule parsers and the
//! policy parser), the SigV4 header parser, and the cron()/rate() and policy parsers directly.
//! The properties: no panic, no 5xx, every error an AWS-shaped JSON answer, and the server
//! still healthy afterwards. `PROPTEST_CASES` bounds the run (scripts/test sets it).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use proptest::prelude::*;
use secretsd::auth::sigv4::{self, SignedRequest};
use secretsd::model::{policy, schedule};
use secretsd::protocol::Operation;
use secretsd::{Config, Server};
use serde_json::{Map, Value};

/// Member names of the API's inputs, so random documents reach past "unknown member".
const MEMBERS: &[&str] = &[
    "SecretId",
    "Name",
    "SecretString",
    "SecretBinary",
    "ClientRequestToken",
    "Description",
    "KmsKeyId",
    "Tags",
    "Key",
    "Value",
    "Filters",
    "Values",
    "MaxResults",
    "NextToken",
    "SortBy",
    "SortOrder",
    "IncludePlannedDeletion",
    "VersionId",
    "VersionStage",
    "VersionStages",
    "RemoveFromVersionId",
    "MoveToVersionId",
    "RotationLambdaARN",
    "RotationRules",
    "AutomaticallyAfterDays",
    "ScheduleExpression",
    "Duration",
    "RotateImmediately",
    "ResourcePolicy",
    "BlockPublicPolicy",
    "RecoveryWindowInDays",
    "ForceDeleteWithoutRecovery",
    "AddReplicaRegions",
    "Region",
    "SecretIdList",
    "PasswordLength",
    "ExcludeCharacters",
    "TagKeys",
    "ForceOverwriteReplicaSecret",
    "RemoveReplicaRegions",
    "SecretVersionId",
];

/// Strings that matter to the parsers, and some that are merely hostile.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9/_+=.@!-]{1,40}",
        "(name|tag-key|tag-value|description|primary-region|owning-service|all|!name|!tag-key)",
        "(cron|rate)\\([0-9A-Za-z?*#/,\\- ]{0,30}\\)",
        "[0-9]{1,4}h",
        "arn:aws:(secretsmanager|lambda):[a-z0-9-]{0,12}:[0-9]{0,12}:(secret|function):[a-zA-Z0-9/_-]{0,20}",
        "\\PC{0,30}",
        any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(MEMBERS).prop_map(str::to_string),
                        text()
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A member with a value of its own type, so inputs get past the decoder into the operation.
fn typed_member() -> impl Strategy<Value = (String, Value)> {
    let name_like = || prop_oneof!["fuzz/[ab]", "other", text()];
    let filter = ("(name|tag-key|tag-value|description|primary-region|owning-service|all|!name|!tag-key|!description)", prop::collection::vec(text(), 0..4))
        .prop_map(|(k, v)| serde_json::json!({"Key": k, "Values": v}));
    let tag = (text(), text()).prop_map(|(k, v)| serde_json::json!({"Key": k, "Value": v}));
    let rules = (
        prop::option::of(-5i64..1100),
        prop::option::of("(cron|rate)\\([0-9A-Za-z?*#/,L\\- ]{0,30}\\)"),
        prop::option::of("[0-9]{1,2}h"),
    )
        .prop_map(|(d, e, h)| {
            let mut m = Map::new();
            if let Some(d) = d {
                m.insert("AutomaticallyAfterDays".into(), d.into());
            }
            if let Some(e) = e {
                m.insert("ScheduleExpression".into(), e.into());
            }
            if let Some(h) = h {
                m.insert("Duration".into(), h.into());
            }
            Value::Object(m)
        });
    prop_oneof![
        name_like().prop_map(|v| ("SecretId".to_string(), Value::from(v))),
        name_like().prop_map(|v| ("Name".to_string(), Value::from(v))),
        text().prop_map(|v| ("SecretString".to_string(), Value::from(v))),
        "[a-f0-9-]{30,66}".prop_map(|v| ("ClientRequestToken".to_string(), Value::from(v))),
        (
            prop::sample::select(
                &[
                    "MaxResults",
                    "AutomaticallyAfterDays",
                    "RecoveryWindowInDays",
                    "PasswordLength"
                ][..]
            ),
            -5i64..5000
        )
            .prop_map(|(k, v)| (k.to_string(), Value::from(v))),
        (
            prop::sample::select(
                &[
                    "IncludePlannedDeletion",
                    "RotateImmediately",
                    "ForceDeleteWithoutRecovery",
                    "BlockPublicPolicy",
                    "ExcludeNumbers",
                    "RequireEachIncludedType"
                ][..]
            ),
            any::<bool>()
        )
            .prop_map(|(k, v)| (k.to_string(), Value::from(v))),
        prop::collection::vec(filter, 0..4).prop_map(|v| ("Filters".to_string(), Value::Array(v))),
        prop::collection::vec(tag, 0..4).prop_map(|v| ("Tags".to_string(), Value::Array(v))),
        rules.prop_map(|v| ("RotationRules".to_string(), v)),
        (
            prop::sample::select(
                &[
                    "VersionStages",
                    "SecretIdList",
                    "TagKeys",
                    "RemoveReplicaRegions"
                ][..]
            ),
            prop::collection::vec(name_like(), 0..4)
        )
            .prop_map(|(k, v)| (k.to_string(), Value::from(v))),
        (
            prop::sample::select(
                &[
                    "SortBy",
                    "SortOrder",
                    "VersionStage",
                    "VersionId",
                    "RotationLambdaARN",
                    "KmsKeyId",
                    "Description",
                    "NextToken",
                    "ExcludeCharacters"
                ][..]
            ),
            text()
        )
            .prop_map(|(k, v)| (k.to_string(), Value::from(v))),
        json_value().prop_map(|v| ("ResourcePolicy".to_string(), Value::from(v.to_string()))),
    ]
}

/// A request body: mostly objects of known members, sometimes any JSON, sometimes raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(typed_member(), 0..6).prop_map(|pairs| {
            Value::Object(pairs.into_iter().collect()).to_string().into_bytes()
        }),
        3 => prop::collection::vec((prop::sample::select(MEMBERS), json_value()), 0..8).prop_map(|pairs| {
            Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()).to_string().into_bytes()
        }),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

struct Target {
    runtime: tokio::runtime::Runtime,
    server: Server,
}

impl Target {
    fn new() -> Target {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(Server::start(Config::ephemeral()))
            .expect("server starts");
        Target { runtime, server }
    }

    /// One request (open mode trusts the made-up key); the status and body.
    fn call(&self, target: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let addr = self.server.local_addr();
        self.runtime.block_on(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
            tokio::spawn(connection);
            let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
            let request = hyper::Request::post("/")
                .header("host", addr.to_string())
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", target)
                .header("x-amz-date", &now)
                .header(
                    "authorization",
                    format!(
                        "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/{}/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
                        &now[..8],
                        "0".repeat(64)
                    ),
                )
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, bytes.to_vec())
        })
    }
}

fn check_answer(op: &str, status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        status < 500,
        "{op}: {status} {}",
        String::from_utf8_lossy(body)
    );
    if status == 200 {
        prop_assert!(body.is_empty() || serde_json::from_slice::<Value>(body).is_ok());
    } else {
        let error: Value = serde_json::from_slice(body)
            .map_err(|e| TestCaseError::fail(format!("{op}: {status} not JSON: {e}")))?;
        prop_assert!(error["__type"].is_string(), "{op}: {error}");
        let message = error.get("Message").or_else(|| error.get("message"));
        prop_assert!(message.is_some_and(Value::is_string), "{op}: {error}");
    }
    Ok(())
}

#[test]
fn every_operation_answers_random_bodies_without_a_5xx() {
    let target = Target::new();
    // A few secrets so that reads, lists and filters have something to look at.
    for name in ["fuzz/a", "fuzz/b", "other"] {
        let body = serde_json::json!({"Name": name, "SecretString": "v", "ClientRequestToken": "f".repeat(32) + name})
            .to_string()
            .into_bytes();
        assert_eq!(target.call("secretsmanager.CreateSecret", body).0, 200);
    }
    let ops: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
    // How far inputs get: answers by status and error type (printed, to see the run's reach).
    let reach = std::sync::Mutex::new(std::collections::BTreeMap::<String, u32>::new());
    proptest!(|(op in prop::sample::select(ops), body in body())| {
        let (status, answer) = target.call(&format!("secretsmanager.{op}"), body);
        check_answer(op, status, &answer)?;
        let kind = serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|v| v["__type"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{status}"));
        *reach.lock().unwrap().entry(kind).or_default() += 1;
    });
    eprintln!("fuzz reach: {:?}", reach.lock().unwrap());
    // Fuzzed calls may have deleted the seeds; a fresh secret must still work end to end.
    let create = br#"{"Name":"after-the-run","SecretString":"ok","ClientRequestToken":"after-the-run-0000000000000000000"}"#;
    assert_eq!(
        target
            .call("secretsmanager.CreateSecret", create.to_vec())
            .0,
        200
    );
    let (status, answer) = target.call(
        "secretsmanager.GetSecretValue",
        br#"{"SecretId":"after-the-run"}"#.to_vec(),
    );
    assert_eq!(status, 200, "the server still answers after the run");
    assert_eq!(
        serde_json::from_slice::<Value>(&answer).unwrap()["SecretString"],
        "ok"
    );
}

proptest! {
    #[test]
    fn sigv4_parser_takes_any_headers(
        authorization in prop_oneof![
            "AWS4-HMAC-SHA256 Credential=[A-Z0-9/a-z_-]{0,60}, SignedHeaders=[a-z;-]{0,40}, Signature=[0-9a-f]{0,70}",
            "\\PC{0,120}",
            any::<String>(),
        ],
        date in prop_oneof!["[0-9]{8}T[0-9]{6}Z", "\\PC{0,20}"],
        extra in prop::collection::vec(("[a-z-]{1,20}", "\\PC{0,40}"), 0..6),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut headers = vec![
            ("authorization".to_string(), authorization),
            ("x-amz-date".to_string(), date),
            ("host".to_string(), "localhost".to_string()),
        ];
        headers.extend(extra);
        let request = SignedRequest { method: "POST", path: "/", query: "", headers: &headers, body: &body };
        if let Ok(auth) = sigv4::parse(&request) {
            let _ = sigv4::check_clock_skew(&auth, chrono::Utc::now());
            let key = sigv4::SigningKeyCache::default().get("secret", &auth);
            let _ = sigv4::verify(&request, &auth, &key);
        }
    }

    #[test]
    fn schedule_parsers_take_any_expression(
        days in prop::option::of(any::<i64>()),
        expression in prop::option::of(prop_oneof![
            "cron\\([0-9A-Za-z?*#/,L\\- ]{0,40}\\)",
            "rate\\([0-9a-z ]{0,20}\\)",
            "\\PC{0,50}",
        ]),
        duration in prop::option::of(prop_oneof!["[0-9]{0,5}h?", "\\PC{0,10}"]),
        base in 0i64..4_102_444_800_000,
    ) {
        if let Ok(Some(parsed)) = schedule::parse(days.map(|d| d.rem_euclid(2000)), expression.as_deref()) {
            if let Ok(hours) = schedule::parse_duration(duration.as_deref(), Some(&parsed)) {
                let window = schedule::next_window(&parsed, hours, base);
                prop_assert!(window.end_ms >= window.start_ms);
            }
        }
    }

    #[test]
    fn policy_parser_takes_any_document(document in prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        json_value().prop_map(|v| serde_json::json!({"Version": "2012-10-17", "Statement": v}).to_string()),
        "\\PC{0,200}",
    ]) {
        if let Ok(parsed) = policy::parse(&document) {
            let _ = secretsd::auth::policy::grants_public_access(
                &parsed,
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:x-AbCdEf",
                &["secretsmanager:GetSecretValue"],
            );
        }
    }
}
