//! A small closed-loop load generator for `scripts/bench`: N connections, each sending signed
//! Secrets Manager requests back to back for a fixed time; prints one JSON line with req/s and
//! latency percentiles. Usage:
//!   loadgen --url http://127.0.0.1:4584 --op create|policy|get|put|list|list-filtered|list-sparse|batch --secrets N --connections 16 --seconds 10 [--access-key K --secret-key S]
//! `create` makes secrets `bench-0` … `bench-(N-1)` and exits; `get` reads `bench-0`; `put`
//! writes to a random one of them (AWS keeps at most 100 versions of a secret a day, so durable
//! writes are spread over many secrets, as a real workload is). `--url` may list several
//! servers, comma-separated (nodes of one cluster): connections are spread over them in turn.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use secretsd::auth::sigv4::{self, SignedRequest};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    op: String,
    secrets: usize,
    connections: usize,
    seconds: u64,
    access_key: String,
    secret_key: String,
}

fn parse_args() -> Args {
    let mut args = Args {
        url: "http://127.0.0.1:4584".into(),
        op: "get".into(),
        secrets: 1000,
        connections: 16,
        seconds: 10,
        access_key: "test".into(),
        secret_key: "test".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => args.url = value,
            "--op" => args.op = value,
            "--secrets" => args.secrets = value.parse().expect("a number"),
            "--connections" => args.connections = value.parse().expect("a number"),
            "--seconds" => args.seconds = value.parse().expect("a number"),
            "--access-key" => args.access_key = value,
            "--secret-key" => args.secret_key = value,
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

/// Signs like botocore: content-type;host;x-amz-date;x-amz-target, with the given key
/// (`test`/`test` unless `--access-key`/`--secret-key` say otherwise).
fn signed_request(args: &Args, host: &str, target: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
    let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let headers = vec![
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        ("host".to_string(), host.to_string()),
        ("x-amz-date".to_string(), amz_date.clone()),
        ("x-amz-target".to_string(), target.to_string()),
    ];
    let names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let req = SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: &body,
    };
    let authorization = sigv4::sign(
        &req,
        &names,
        &args.access_key,
        &args.secret_key,
        &amz_date,
        "us-east-1",
        "secretsmanager",
    )
    .expect("signable request");
    let mut builder = Request::post("/");
    for (name, value) in &headers {
        builder = builder.header(name, value);
    }
    builder
        .header("authorization", authorization)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request")
}

fn body_for(op: &str, n: usize, secrets: usize) -> (String, Vec<u8>) {
    use rand::Rng;
    match op {
        // A resource policy on bench-N that lets the bench's strict-mode principal read it.
        "policy" => (
            "secretsmanager.PutResourcePolicy".into(),
            serde_json::json!({
                "SecretId": format!("bench-{n}"),
                "ResourcePolicy": serde_json::json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/bench-app"},
                     "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
                    {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "secretsmanager:DeleteSecret",
                     "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalTag/role": "admin"}}}
                ]}).to_string(),
            })
            .to_string()
            .into_bytes(),
        ),
        "create" => (
            "secretsmanager.CreateSecret".into(),
            serde_json::json!({
                "Name": format!("bench-{n}"),
                "SecretString": "{\"username\":\"app\",\"password\":\"bench-password\"}",
                "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
            })
            .to_string()
            .into_bytes(),
        ),
        "put" => (
            "secretsmanager.PutSecretValue".into(),
            serde_json::json!({
                "SecretId": format!("bench-{}", rand::rng().random_range(0..secrets)),
                "SecretString": "{\"username\":\"app\",\"password\":\"bench-password\"}",
                "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
            })
            .to_string()
            .into_bytes(),
        ),
        "list" => (
            "secretsmanager.ListSecrets".into(),
            serde_json::json!({ "MaxResults": 100 })
                .to_string()
                .into_bytes(),
        ),
        "list-filtered" => (
            "secretsmanager.ListSecrets".into(),
            serde_json::json!({
                "MaxResults": 100,
                "Filters": [{ "Key": "name", "Values": ["bench-99"] }],
            })
            .to_string()
            .into_bytes(),
        ),
        "list-sparse" => (
            "secretsmanager.ListSecrets".into(),
            serde_json::json!({
                "MaxResults": 100,
                "Filters": [{ "Key": "tag-key", "Values": ["absent"] }],
            })
            .to_string()
            .into_bytes(),
        ),
        "batch" => {
            let ids: Vec<String> = (0..20)
                .map(|_| format!("bench-{}", rand::rng().random_range(0..secrets)))
                .collect();
            (
                "secretsmanager.BatchGetSecretValue".into(),
                serde_json::json!({ "SecretIdList": ids })
                    .to_string()
                    .into_bytes(),
            )
        }
        _ => (
            "secretsmanager.GetSecretValue".into(),
            serde_json::json!({ "SecretId": "bench-0" })
                .to_string()
                .into_bytes(),
        ),
    }
}

async fn connect(authority: &str) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect");
    stream.set_nodelay(true).ok();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

/// Requests a worker sends: until the deadline, or (for `create`) its share of the secrets.
async fn worker(args: std::sync::Arc<Args>, deadline: Instant, index: usize) -> (Vec<u32>, u64) {
    let urls: Vec<&str> = args.url.split(',').collect();
    let authority = urls[index % urls.len()]
        .trim_start_matches("http://")
        .to_string();
    let mut sender = connect(&authority).await;
    let mut latencies = Vec::with_capacity(100_000);
    let mut errors = 0;
    let mut n = index;
    loop {
        if args.op == "create" || args.op == "policy" {
            if n >= args.secrets {
                break;
            }
        } else if Instant::now() >= deadline {
            break;
        }
        let (target, body) = body_for(&args.op, n, args.secrets);
        n += args.connections;
        let request = signed_request(&args, &authority, &target, body);
        let started = Instant::now();
        // Servers that close after each answer (moto's) get a new connection per request.
        if sender.ready().await.is_err() {
            sender = connect(&authority).await;
        }
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(_) => {
                sender = connect(&authority).await;
                errors += 1;
                continue;
            }
        };
        let ok = response.status().is_success();
        let _ = response.into_body().collect().await;
        latencies.push(started.elapsed().as_micros() as u32);
        if !ok {
            errors += 1;
        }
    }
    (latencies, errors)
}

#[tokio::main]
async fn main() {
    let args = std::sync::Arc::new(parse_args());
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| tokio::spawn(worker(args.clone(), deadline, i)))
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, errs) = task.await.expect("worker");
        all.extend(latencies);
        errors += errs;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{}",
        serde_json::json!({
            "op": args.op,
            "connections": args.connections,
            "requests": all.len(),
            "errors": errors,
            "rps": (all.len() as f64 / elapsed).round(),
            "p50_us": pct(0.50),
            "p99_us": pct(0.99),
        })
    );
}
