//! The `webhook` executor: each step's Lambda event is POSTed, signed with HMAC-SHA256, to a
//! hook that does the work through the Secrets Manager API — here a small HTTP server in the
//! test that checks the signature and rotates a value the way the templates do.

mod common;

use aws_sdk_secretsmanager::Client;
use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "hook-key";

struct Hook {
    sm: Client,
    /// (step, signature ok) of every call, in order.
    calls: Mutex<Vec<(String, bool)>>,
    fail_step: Option<&'static str>,
}

fn expected_signature(body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Hook {
    async fn handle(&self, request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let signature = request
            .headers()
            .get("x-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let step_header = request
            .headers()
            .get("x-rotation-step")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let signed = signature == expected_signature(&body);
        let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let step = event["Step"].as_str().unwrap().to_string();
        assert_eq!(step_header, step);
        self.calls.lock().unwrap().push((step.clone(), signed));
        if !signed {
            return answer(401, "bad signature");
        }
        if self.fail_step == Some(step.as_str()) {
            return answer(500, "database unreachable");
        }
        let (arn, token) = (
            event["SecretId"].as_str().unwrap(),
            event["ClientRequestToken"].as_str().unwrap(),
        );
        match step.as_str() {
            "createSecret" => {
                let pending = self
                    .sm
                    .get_secret_value()
                    .secret_id(arn)
                    .version_id(token)
                    .version_stage("AWSPENDING")
                    .send()
                    .await;
                if pending.is_err() {
                    self.sm
                        .put_secret_value()
                        .secret_id(arn)
                        .client_request_token(token)
                        .secret_string(format!("rotated-by-hook-{token}"))
                        .version_stages("AWSPENDING")
                        .send()
                        .await
                        .unwrap();
                }
            }
            "finishSecret" => {
                let current = self
                    .sm
                    .get_secret_value()
                    .secret_id(arn)
                    .send()
                    .await
                    .unwrap();
                self.sm
                    .update_secret_version_stage()
                    .secret_id(arn)
                    .version_stage("AWSCURRENT")
                    .move_to_version_id(token)
                    .remove_from_version_id(current.version_id().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            _ => {}
        }
        answer(200, "")
    }
}

fn answer(status: u16, text: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(text.to_string())))
        .unwrap()
}

async fn setup(fail_step: Option<&'static str>, key: &str) -> (TestServer, Client, Arc<Hook>) {
    // The hook needs the server's address and the server needs the hook's: bind the hook first
    // with a client filled in once the server is up.
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = hook_listener.local_addr().unwrap();
    drop(hook_listener);
    let server = start_with_config(&format!(
        "[functions.hook]\nkind = \"webhook\"\nurl = \"http://{hook_addr}/rotate\"\nhmac_secret = \"{key}\"\ntimeout_s = 5\n"
    ))
    .await;
    let sm = client(&server);
    let hook = Arc::new(Hook {
        sm: sm.clone(),
        calls: Mutex::new(Vec::new()),
        fail_step,
    });
    // Re-bind the reserved port for the hook.
    let listener = tokio::net::TcpListener::bind(hook_addr).await.unwrap();
    let served = hook.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let hook = served.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let hook = hook.clone();
                    async move { Ok::<_, std::convert::Infallible>(hook.handle(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (server, sm, hook)
}

async fn last_event(server: &TestServer, arn: &str, token: &str) -> serde_json::Value {
    for _ in 0..500 {
        let status = admin(
            server,
            "GET",
            &format!("/_secretsd/rotations?secret={arn}"),
            "",
        )
        .await;
        if let Some(e) = status["events"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e["token"] == token && e["event"] != "RotationStarted")
        {
            return e.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no outcome for {token}");
}

/// Creates a secret and starts its rotation by the hook; its ARN and the rotation's token.
async fn rotate_new_secret(sm: &Client, name: &str) -> (String, String) {
    let arn = sm
        .create_secret()
        .name(name)
        .secret_string("first")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let token = sm
        .rotate_secret()
        .secret_id(&arn)
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:000000000000:function:hook")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    (arn, token)
}

#[tokio::test]
async fn a_signed_webhook_runs_the_four_steps() {
    let (server, sm, hook) = setup(None, KEY).await;
    let (arn, token) = rotate_new_secret(&sm, "hooked").await;
    assert_eq!(
        last_event(&server, &arn, &token).await["event"],
        "RotationSucceeded"
    );
    let calls = hook.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        ["createSecret", "setSecret", "testSecret", "finishSecret"].map(|s| (s.to_string(), true))
    );
    let current = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(
        current.secret_string(),
        Some(format!("rotated-by-hook-{token}").as_str())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_failing_or_unsigned_webhook_fails_the_step_with_its_answer() {
    let (server, sm, hook) = setup(Some("setSecret"), KEY).await;
    let (arn, token) = rotate_new_secret(&sm, "hook-fails").await;
    let event = last_event(&server, &arn, &token).await;
    assert_eq!(event["event"], "RotationFailed");
    assert_eq!(
        event["detail"],
        "Error when executing lambda arn:aws:lambda:us-east-1:000000000000:function:hook during setSecret step: webhook answered 500 Internal Server Error: database unreachable"
    );
    assert_eq!(hook.calls.lock().unwrap().len(), 2);
    server.shutdown().await;

    // A hook keyed differently refuses secretsd's calls: the signature is what it checks.
    let (server, sm, hook) = setup(None, "another-key").await;
    let (arn, token) = rotate_new_secret(&sm, "hook-unsigned").await;
    let event = last_event(&server, &arn, &token).await;
    assert!(
        event["detail"].as_str().unwrap().ends_with(
            "during createSecret step: webhook answered 401 Unauthorized: bad signature"
        ),
        "{event}"
    );
    assert_eq!(
        hook.calls.lock().unwrap()[0],
        ("createSecret".to_string(), false)
    );
    server.shutdown().await;
}
