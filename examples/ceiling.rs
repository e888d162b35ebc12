//! The benchmark ceiling: a do-nothing hyper 1 server on the same runtime settings as secretsd,
//! answering every request with a fixed GetSecretValue-sized JSON body. Usage: ceiling ADDR

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

const BODY: &str = r#"{"ARN":"arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-AbCdEf","CreatedDate":1700000000.123,"Name":"bench","SecretString":"{\"username\":\"app\",\"password\":\"bench-password\"}","VersionId":"00000000-0000-0000-0000-000000000001","VersionStages":["AWSCURRENT"]}"#;

async fn answer(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let _ = req.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    Ok(response)
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!(
        "ceiling listening on http://{}",
        listener.local_addr().expect("addr")
    );
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).ok();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
