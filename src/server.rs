//! The HTTP server: accept loop, limits, timeouts, graceful shutdown, request ids, and routing
//! between the admin endpoints and the Secrets Manager API.

use crate::admin;
use crate::api::{self, Ctx};
use crate::audit;
use crate::auth::{self, credentials::Credentials, sigv4::SignedRequest};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{self, Operation};
use crate::rotation::{self, RotationHandle};
use crate::store::{Location, Store};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::borrow::Cow;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Bodies above this are refused: AWS's largest value is 64 KiB, so 1 MiB leaves room for
/// every legitimate request and bounds memory per connection.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Time a client gets to send a request's headers. Hyper starts this timer as soon as it waits
/// for a request, so it also closes keep-alive connections idle for longer (SDK pools notice).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Headers per request; more gets a 431 (an SDK sends about ten).
const MAX_HEADERS: usize = 100;
/// Time a client gets to send its whole body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often secrets past their recovery window are purged.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// A running secretsd. Dropping it does not stop it: call `shutdown`.
pub struct Server {
    addr: SocketAddr,
    ctx: Arc<Ctx>,
    stop: watch::Sender<bool>,
    accept_loop: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    rotator: JoinHandle<()>,
}

impl Server {
    /// Opens the store, binds the listener and starts serving. Errors are one readable line.
    pub async fn start(config: Config) -> Result<Server, String> {
        let store = Store::open(&config.storage, config.master_key)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        let (rotation, rotation_receiver) = RotationHandle::channel();
        let audit_dir = match &config.storage {
            Location::Dir(dir) => Some(dir.clone()),
            Location::InMemory => None,
        };
        let ctx = Arc::new(Ctx {
            store,
            audit: crate::audit::Audit::start(audit_dir, config.audit)?,
            clock: Clock::default(),
            credentials: Credentials::new(config.auth, &config.account, &config.principals),
            functions: config.functions.clone(),
            rotation,
            resource_policies: Default::default(),
            identity_policies: Default::default(),
            rotation_tls: crate::rotation::builtin::RotationTls::new(
                config.rotation_ca_file.clone(),
            ),
            endpoint: OnceLock::new(),
        });
        let _ = ctx.endpoint.set(format!("http://{addr}"));
        let (stop, stopped) = watch::channel(false);
        let accept_loop = tokio::spawn(accept_loop(listener, ctx.clone(), stopped.clone()));
        let sweeper = tokio::spawn(sweep_deletions(ctx.clone(), stopped.clone()));
        let rotator = tokio::spawn(rotation::run_worker(
            ctx.clone(),
            rotation_receiver,
            stopped,
        ));
        Ok(Server {
            addr,
            ctx,
            stop,
            accept_loop,
            sweeper,
            rotator,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Tells the store that the server has said it is ready: what a crash left in the journal
    /// is applied to the data file from now on (reads are answered through it meanwhile; a
    /// change waits for the apply). Not part of `start`: the apply (25 ms with a full journal)
    /// then shared the two cores with start-up's last steps, and delayed the ready line by up to
    /// 4.8 ms after a crash. Without this call the apply runs at the first change or after
    /// 200 ms idle.
    pub fn serving(&self) {
        self.ctx.store.serving();
    }

    /// `http://127.0.0.1:PORT`, ready for an SDK's endpoint URL.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's clock, which tests may move.
    pub fn clock(&self) -> Clock {
        self.ctx.clock.clone()
    }

    /// Stops accepting, lets requests in flight finish (up to a grace period), and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.accept_loop.await;
        let _ = self.sweeper.await;
        let _ = self.rotator.await;
    }
}

/// Where a server keeps its data, for the ready line.
pub fn describe_location(location: &Location) -> String {
    match location {
        Location::Dir(dir) => dir.display().to_string(),
        Location::InMemory => "in-memory".to_string(),
    }
}

async fn accept_loop(listener: TcpListener, ctx: Arc<Ctx>, mut stopped: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .max_buf_size(64 * 1024)
        .writev(false);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let ctx = ctx.clone();
                let peer = Arc::new(Peer::new(peer));
                let service = service_fn(move |req| handle(ctx.clone(), req, peer.clone()));
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = stopped.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace period");
    }
}

async fn sweep_deletions(ctx: Arc<Ctx>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_INTERVAL) => {
                if let Err(e) = api::purge_due_deletions(&ctx).await {
                    tracing::warn!(error = %e, "purging deleted secrets failed");
                }
            }
            _ = stopped.changed() => break,
        }
    }
}

/// The client at the other end of a connection, its address formatted once for the audit
/// trail rather than once per request.
struct Peer {
    ip: IpAddr,
    ip_text: String,
}

impl Peer {
    fn new(addr: SocketAddr) -> Self {
        Peer {
            ip: addr.ip(),
            ip_text: addr.ip().to_string(),
        }
    }
}

/// One request in, one response out; never an `Err`, never a panic on client input.
async fn handle(
    ctx: Arc<Ctx>,
    req: Request<Incoming>,
    peer: Arc<Peer>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // Formatted on the stack: the id goes into the response header and the audit record.
    let mut id_text = uuid::Uuid::encode_buffer();
    let request_id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_text);
    // Only for the debug line; most runs log at info and above.
    let debug = tracing::enabled!(tracing::Level::DEBUG).then(|| {
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (target, Instant::now())
    });
    let mut response = route(&ctx, req, &peer, request_id).await;
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    // `Date` (which SDKs correct their clock skew from) is added by hyper from the real clock,
    // not the test clock, formatted once a second.
    if let Some((target, started)) = debug {
        tracing::debug!(
            request_id,
            target,
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    }
    Ok(response)
}

async fn route(
    ctx: &Ctx,
    req: Request<Incoming>,
    peer: &Peer,
    request_id: &str,
) -> Response<Full<Bytes>> {
    if admin::is_admin_path(req.uri().path()) {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let query = req.uri().query().unwrap_or("").to_string();
        return match read_body(req).await {
            Ok((_, body)) => admin::handle(ctx, &method, &path, &query, &body).await,
            Err(e) => protocol::error_response(&e),
        };
    }
    match api_request(ctx, req, peer, request_id).await {
        Ok(body) => protocol::success_response(body),
        Err(e) => protocol::error_response(&e),
    }
}

/// Reads the body within the size and time limits.
async fn read_body(
    req: Request<Incoming>,
) -> Result<(hyper::http::request::Parts, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
        )
    };
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let collected =
        tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect())
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::RequestTimeout,
                    "The request body was not received in time.",
                )
            })?;
    match collected {
        Ok(body) => Ok((parts, body.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::serialization(format!(
            "The request body could not be read: {e}"
        ))),
    }
}

/// Authenticates and runs one Secrets Manager API call, and records it in the audit trail.
async fn api_request(
    ctx: &Ctx,
    req: Request<Incoming>,
    peer: &Peer,
    request_id: &str,
) -> Result<Bytes, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::new(
            ErrorCode::UnknownOperation,
            "secretsd answers the Secrets Manager API with POST requests.",
        ));
    }
    let (parts, body) = read_body(req).await?;
    // Borrowed: an SDK's header values are ASCII; anything else is read as UTF-8, lossily.
    let headers: Vec<(&str, Cow<str>)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let text = match value.to_str() {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(value.as_bytes()),
            };
            (name.as_str(), text)
        })
        .collect();
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &body,
    };
    let time_ms = ctx.clock.now_millis();
    let caller =
        auth::authenticate(&ctx.credentials, &signed, chrono::Utc::now()).map(|c| auth::Caller {
            source_ip: Some(peer.ip),
            ..c
        });
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let target = header("x-amz-target");
    let result = match &caller {
        Ok(caller) => match Operation::from_target(target) {
            Some(operation) => api::dispatch(ctx, caller, operation, &body).await,
            None => Err(ApiError::new(ErrorCode::UnknownOperation, "")),
        },
        Err(e) => Err(ApiError::new(e.code, e.message.clone())),
    };
    let identity = caller.as_ref().ok().map(|c| audit::Identity {
        principal_arn: &c.principal_arn,
        account: &c.account,
        access_key_id: &c.access_key_id,
    });
    ctx.audit.api_call(audit::ApiCall {
        time_ms,
        operation: target.strip_prefix("secretsmanager.").unwrap_or(target),
        region: caller.as_ref().map_or("", |c| c.region.as_str()),
        identity,
        source_ip: &peer.ip_text,
        user_agent: header("user-agent"),
        request_id,
        request: &body,
        response: match &result {
            Ok(answer) => Ok(&answer.ids),
            Err(e) => Err((e.code.as_str(), &e.message)),
        },
    });
    result.map(|answer| answer.body)
}
