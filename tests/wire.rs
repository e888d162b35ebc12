//! The wire itself, with raw HTTP requests that no SDK would send: framing, auth-header errors,
//! bad bodies, limits (docs/aws-behaviour.md §1, §6.4). None may panic, hang, answer 500 or change
//! stored data.

mod common;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An `Authorization` header for an unknown access key: accepted unverified in open mode.
fn unverified_auth() -> Vec<(String, String)> {
    let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    vec![
        (
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKE/{}/us-east-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000",
                &amz_date[..8]
            ),
        ),
        ("x-amz-date".into(), amz_date),
    ]
}

async fn send(server: &TestServer, headers: &[(String, String)], body: Vec<u8>) -> Answer {
    let stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut builder = Request::post("/")
        .header("host", server.local_addr().to_string())
        .header("content-type", "application/x-amz-json-1.1");
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = sender
        .send_request(builder.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

async fn call(server: &TestServer, target: &str, body: &[u8]) -> Answer {
    let mut headers = unverified_auth();
    headers.push(("x-amz-target".into(), format!("secretsmanager.{target}")));
    send(server, &headers, body.to_vec()).await
}

#[tokio::test]
async fn missing_authorization_is_missing_authentication_token() {
    let server = start().await;
    let answer = send(
        &server,
        &[("x-amz-target".into(), "secretsmanager.ListSecrets".into())],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        serde_json::json!({"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"})
    );
    assert_eq!(answer.headers["content-type"], "application/x-amz-json-1.1");
    assert!(answer.headers.contains_key("x-amzn-requestid"));
    assert!(answer.headers.contains_key("date"));
}

#[tokio::test]
async fn garbled_authorization_is_incomplete_signature() {
    let server = start().await;
    let answer = send(
        &server,
        &[
            ("authorization".into(), "AWS4-HMAC-SHA256 garbage".into()),
            (
                "x-amz-target".into(),
                "secretsmanager.GetRandomPassword".into(),
            ),
        ],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["__type"], "IncompleteSignatureException");
}

#[tokio::test]
async fn unknown_target_is_unknown_operation() {
    let server = start().await;
    let answer = call(&server, "DoSomethingElse", b"{}").await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        serde_json::json!({"__type": "UnknownOperationException"})
    );
    assert_eq!(
        answer.headers["x-amzn-errortype"],
        "UnknownOperationException"
    );
}

#[tokio::test]
async fn success_has_awss_headers_and_numeric_timestamps() {
    let server = start().await;
    let answer = call(
        &server,
        "CreateSecret",
        br#"{"Name":"w","SecretString":"x","ClientRequestToken":"00000000-0000-0000-0000-000000000001"}"#,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/x-amz-json-1.1");
    assert!(answer.headers.contains_key("x-amzn-requestid"));
    let answer = call(&server, "DescribeSecret", br#"{"SecretId":"w"}"#).await;
    let body = answer.json();
    assert!(body["CreatedDate"].is_number(), "{body}");
    assert!(body["LastChangedDate"].is_number());
    assert!(!answer.body.windows(4).any(|w| w == b"null"));
}

#[tokio::test]
async fn raw_create_with_value_but_no_token_is_rejected() {
    let server = start().await;
    let answer = call(
        &server,
        "CreateSecret",
        br#"{"Name":"t","SecretString":"x"}"#,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        serde_json::json!({"__type": "InvalidRequestException", "Message": "You must provide a ClientRequestToken value. We recommend a UUID-type value."})
    );
}

#[tokio::test]
async fn bad_bodies_are_serialization_errors_and_change_nothing() {
    let server = start().await;
    let created = call(
        &server,
        "CreateSecret",
        br#"{"Name":"keep","SecretString":"original","ClientRequestToken":"00000000-0000-0000-0000-000000000001"}"#,
    )
    .await;
    assert_eq!(created.status, 200);
    for body in [
        &b"{"[..],
        b"not json",
        b"[]",
        b"\xff\xfe\xfd",
        br#"{"SecretId":"keep","SecretString":5,"ClientRequestToken":"00000000-0000-0000-0000-000000000002"}"#,
        br#"{"SecretId":"keep","SecretBinary":"***","ClientRequestToken":"00000000-0000-0000-0000-000000000002"}"#,
    ] {
        let answer = call(&server, "PutSecretValue", body).await;
        assert_eq!(answer.status, 400, "{:?}", answer.body);
        assert_eq!(answer.json()["__type"], "SerializationException");
    }
    let missing = call(&server, "GetSecretValue", b"{}").await;
    assert_eq!(missing.json()["__type"], "ValidationException");
    assert_eq!(
        missing.json()["Message"],
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"
    );
    let answer = call(
        &server,
        "GetSecretValue",
        br#"{"SecretId":"keep","Unknown":{"x":1}}"#,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["SecretString"], "original");
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start().await;
    // Announce 2 MiB but send only the start: the server answers from the length alone, without
    // reading (or waiting for) the rest, and closes the connection. A client that kept writing
    // could see that close as a broken pipe, so this one stops and reads.
    let mut head = String::from("POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: secretsmanager.CreateSecret\r\n");
    for (name, value) in unverified_auth() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", 2 * 1024 * 1024));
    let mut stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b'x'; 1024]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers at once")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#""__type":"RequestEntityTooLargeException""#),
        "{answer}"
    );
    // The server still answers.
    let answer = call(&server, "GetRandomPassword", b"{}").await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn too_many_headers_get_a_4xx_and_the_server_keeps_answering() {
    let server = start().await;
    let mut headers = unverified_auth();
    headers.push((
        "x-amz-target".into(),
        "secretsmanager.GetRandomPassword".into(),
    ));
    for i in 0..500 {
        headers.push((format!("x-filler-{i}"), "y".into()));
    }
    let stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut builder = Request::post("/").header("host", "localhost");
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let status = match sender
        .send_request(builder.body(Full::new(Bytes::from_static(b"{}"))).unwrap())
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 431, // the server may close the connection instead of answering
    };
    assert!((400..500).contains(&status), "status {status}");
    let answer = call(&server, "GetRandomPassword", b"{}").await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn admin_health_and_reset() {
    let server = start().await;
    let client = reqwest_like_get(&server, "/_secretsd/health").await;
    assert_eq!(client.0, 200);
    let body: serde_json::Value = serde_json::from_slice(&client.1).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));

    let sm = common::client(&server);
    sm.create_secret()
        .name("r")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    for path in ["/_secretsd/reset", "/moto-api/reset"] {
        let stream = tokio::net::TcpStream::connect(server.local_addr())
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let response = sender
            .send_request(
                Request::post(path)
                    .header("host", "localhost")
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let (code, _) = error_of(sm.describe_secret().secret_id("r").send().await);
        assert_eq!(code, "ResourceNotFoundException");
        sm.create_secret()
            .name("r")
            .secret_string("x")
            .send()
            .await
            .unwrap();
    }
}

async fn reqwest_like_get(server: &TestServer, path: &str) -> (u16, Bytes) {
    let stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let response = sender
        .send_request(
            Request::get(path)
                .header("host", "localhost")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}
