//! The `webhook` executor: each step's Lambda event is POSTed as JSON to the configured URL
//! (docs/aws-behaviour.md §R6.5 c). The body is signed so the receiver can tell the call came from
//! this secretsd: `X-Signature: sha256=<hex HMAC-SHA256 of the body, keyed by hmac_secret>`.
//! A 2xx answer is success; any other status, a network error or the timeout is a step failure
//! whose text is the answer's body. The engine, not the hook, retries.

use crate::rotation::error::StepError;
use crate::rotation::function::FunctionConfig;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use std::time::Duration;

/// Answer text kept for the failure event.
const ERROR_BODY: usize = 500;

/// `sha256=<hex>` of `body` under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn invoke(function: &FunctionConfig, event: &serde_json::Value) -> Result<(), StepError> {
    let timeout = Duration::from_secs(function.timeout_s);
    match tokio::time::timeout(timeout, post(function, event)).await {
        Err(_) => Err(StepError::TimedOut(function.timeout_s)),
        Ok(result) => result,
    }
}

/// A failure of the exchange with the webhook at `url`.
fn failed_at(url: &str) -> impl Fn(hyper::Error) -> StepError + '_ {
    move |e| StepError::Webhook(format!("webhook {url}: {e}"))
}

async fn post(function: &FunctionConfig, event: &serde_json::Value) -> Result<(), StepError> {
    let url = function.url.as_deref().unwrap_or_default();
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| StepError::Webhook(format!("bad webhook url {url}: {e}")))?;
    let authority = uri
        .authority()
        .ok_or_else(|| StepError::Webhook(format!("bad webhook url {url}: no host")))?
        .clone();
    let address = format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    );
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .map_err(|e| StepError::Webhook(format!("cannot connect to {address}: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(failed_at(url))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let body = event.to_string();
    let mut request = hyper::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            "x-rotation-step",
            event["Step"].as_str().unwrap_or_default(),
        )
        .header(
            "x-rotation-token",
            event["ClientRequestToken"].as_str().unwrap_or_default(),
        );
    if let Some(key) = &function.hmac_secret {
        request = request.header("x-signature", signature(key.as_bytes(), body.as_bytes()));
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| StepError::Webhook(format!("webhook request: {e}")))?;
    let response = sender.send_request(request).await.map_err(failed_at(url))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let answer = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&answer[..answer.len().min(ERROR_BODY)]).into_owned();
    Err(StepError::Webhook(format!(
        "webhook answered {status}: {}",
        text.trim()
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
