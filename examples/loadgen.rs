//! A small closed-loop load generator for `scripts/bench`: N connections, each sending signed
//! Secrets Manager requests back to back for a fixed time; prints one JSON line with req/s and
//! latency percentiles. Usage:
//!   loadgen --url http://127.0.0.1:4584 --op create|policy|get|put|list|list-filtered|list-sparse|batch --secrets N --connections 16 --seconds 10 [--access-key K --secret-key S]
//! `create` makes secrets `bench-0` … `bench-(N-1)` and exits; `get` reads `bench-0`; `put`
//! writes to a random one of them (AWS keeps at most 100 versions of a secret a day, so durable
//! writes are spread over many secrets, as a real workload is). `--url` may list several
//! servers, comma-separated (nodes of one cluster): connections are spread over them in turn.
//! `--replay` (get and put): every request is signed before the clock starts and written as
//! bytes on one thread, so the generator costs less per request than the server it measures
//! (it prints its own CPU time per request, `client_cpu_us`); a put's requests are a pool of
//! distinct tokens, one per request.

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
    replay: bool,
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
        replay: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--replay" {
            args.replay = true;
            continue;
        }
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

/// CPU time this process has used so far (user and system), in µs.
fn cpu_micros() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills `usage` when it returns 0.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: it returned 0.
    let usage = unsafe { usage.assume_init() };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// A request as the bytes on the wire, signed now.
fn wire_request(args: &Args, authority: &str, target: &str, body: Vec<u8>) -> Vec<u8> {
    let request = signed_request(args, authority, target, body);
    let mut out = b"POST / HTTP/1.1\r\n".to_vec();
    for (name, value) in request.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let body = futures_util::FutureExt::now_or_never(request.into_body().collect())
        .expect("a full body is ready")
        .expect("infallible")
        .to_bytes();
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    out
}

/// Reads one HTTP/1.1 response with a Content-Length from `stream` into `buf`; returns its
/// status. `buf` keeps what follows it.
async fn read_response(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).ok()?;
            let status: u16 = head.get(9..12)?.parse().ok()?;
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            let total = end + 4 + length;
            while buf.len() < total {
                let mut chunk = [0u8; 16 * 1024];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..total);
            return Some(status);
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One connection replaying `requests` (in turn, from the first) until the deadline.
async fn replayer(authority: String, requests: Vec<Vec<u8>>, deadline: Instant) -> (Vec<u32>, u64) {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connect");
    stream.set_nodelay(true).ok();
    let mut latencies = Vec::with_capacity(200_000);
    let mut errors = 0;
    let mut buf = Vec::with_capacity(16 * 1024);
    for request in requests.iter().cycle() {
        if Instant::now() >= deadline {
            break;
        }
        let started = Instant::now();
        if stream.write_all(request).await.is_err() {
            errors += 1;
            break;
        }
        match read_response(&mut stream, &mut buf).await {
            Some(status) => {
                latencies.push(started.elapsed().as_micros() as u32);
                if !(200..300).contains(&status) {
                    errors += 1;
                }
            }
            None => {
                errors += 1;
                break;
            }
        }
    }
    (latencies, errors)
}

/// `--replay`: signs every request first, then replays them on one thread.
fn run_replay(args: &Args) -> (Vec<u32>, u64, f64, u64) {
    let urls: Vec<&str> = args.url.split(',').collect();
    // A put per request, none twice: enough for more than the server can take in the run.
    let per_connection = match args.op.as_str() {
        "put" => (40_000 * args.seconds as usize / args.connections).max(1),
        _ => 1,
    };
    let plans: Vec<(String, Vec<Vec<u8>>)> = (0..args.connections)
        .map(|i| {
            let authority = urls[i % urls.len()]
                .trim_start_matches("http://")
                .to_string();
            let requests = (0..per_connection)
                .map(|n| {
                    let (target, body) = body_for(&args.op, n, args.secrets);
                    wire_request(args, &authority, &target, body)
                })
                .collect();
            (authority, requests)
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    runtime.block_on(measured(|| {
        plans
            .into_iter()
            .map(|(authority, requests)| tokio::spawn(replayer(authority, requests, deadline)))
            .collect()
    }))
}

/// Starts the connections' tasks and waits for their end: what they measured, how long it took
/// and the CPU this process used meanwhile.
async fn measured(
    start: impl FnOnce() -> Vec<tokio::task::JoinHandle<(Vec<u32>, u64)>>,
) -> (Vec<u32>, u64, f64, u64) {
    let cpu = cpu_micros();
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in start() {
        let (latencies, errs) = task.await.expect("a connection's task");
        all.extend(latencies);
        errors += errs;
    }
    (
        all,
        errors,
        started.elapsed().as_secs_f64(),
        cpu_micros() - cpu,
    )
}

fn main() {
    let args = std::sync::Arc::new(parse_args());
    let (mut all, errors, elapsed, cpu) = if args.replay {
        run_replay(&args)
    } else {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        runtime.block_on(measured(|| {
            (0..args.connections)
                .map(|i| tokio::spawn(worker(args.clone(), deadline, i)))
                .collect()
        }))
    };
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
            "client_cpu_us": (cpu as f64 / all.len().max(1) as f64 * 10.0).round() / 10.0,
        })
    );
}
