//! The HTTP server: accept loop (plain or TLS), the door (`door`), limits, timeouts, graceful
//! shutdown, request ids, and routing between the admin endpoints and the Secrets Manager API.

pub mod door;
pub mod tls;

use crate::admin;
use crate::api;
use crate::app::Ctx;
use crate::audit;
use crate::auth::{self, credentials::Credentials, sigv4::SignedRequest};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{self, Operation};
use crate::rotation::{self, RotationHandle};
use crate::store::{Location, Store, StoreError};
use bytes::Bytes;
use door::{Connection, DoorPolicy, Verdict};
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
use tls::Tls;
use tokio::io::{AsyncRead, AsyncWrite};
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
/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
}

pub struct Server {
    addr: SocketAddr,
    /// The certificate file clients trust, when serving HTTPS.
    trust_file: Option<std::path::PathBuf>,
    ctx: Arc<Ctx>,
    stop: watch::Sender<bool>,
    accept_loop: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    rotator: JoinHandle<()>,
}

impl Server {
    /// Opens the store, binds the listener and starts serving. Each error reads as one line
    /// for the operator.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        let store = Store::open(&config.storage, &config.store, config.master_key)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartError::Listen(config.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Listen(config.listen, e))?;
        let (rotation, rotation_receiver) = RotationHandle::channel();
        let audit_dir = match &config.storage {
            Location::Dir(dir) => Some(dir.clone()),
            Location::InMemory => None,
        };
        let tls = match &config.tls {
            Some(setting) => {
                let names = tls::certificate_names(
                    config.listen,
                    config.allowed_hosts.names().map(str::to_string),
                );
                Some(Tls::load(setting, audit_dir.as_deref(), &names)?)
            }
            None => None,
        };
        let door = Arc::new(DoorPolicy {
            allowed_hosts: config.allowed_hosts.clone(),
            allowed_origins: config.allowed_origins.clone(),
            admin_token: config.admin_token.clone(),
            admin_always_needs_token: config.auth == crate::auth::credentials::AuthMode::Strict,
        });
        // Nodes sharing a store tell the same time: the test clock's offset lives in it.
        let clock = match store.shared() {
            true => Clock::shared(store.shared_clock_offset()),
            false => Clock::default(),
        };
        // Nodes sharing a store keep one audit trail, in its database.
        let audit_table = store.audit_table();
        let ctx = Arc::new(Ctx {
            store,
            audit: crate::audit::Audit::start(
                audit_dir,
                config.audit,
                config.audit_retention,
                audit_table,
            )?,
            clock,
            credentials: Credentials::new(config.auth, &config.account, &config.principals),
            functions: config.functions.clone(),
            rotation,
            resource_policies: Default::default(),
            identity_policies: Default::default(),
            rotation_tls: crate::rotation::builtin::RotationTls::new(
                config.rotation_ca_file.clone(),
            ),
            endpoint: OnceLock::new(),
            endpoint_ca: OnceLock::new(),
        });
        // Rotation functions call back over loopback, which the door always answers.
        let callback = match addr.ip() {
            ip if !ip.is_unspecified() => addr,
            IpAddr::V4(_) => SocketAddr::from(([127, 0, 0, 1], addr.port())),
            IpAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let _ = ctx.endpoint.set(format!("{scheme}://{callback}"));
        let trust_file = tls.as_ref().map(|t| t.trust_file.clone());
        if let Some(file) = &trust_file {
            let _ = ctx.endpoint_ca.set(file.clone());
        }
        let (stop, stopped) = watch::channel(false);
        let accept_loop = tokio::spawn(accept_loop(
            listener,
            tls.map(|t| t.acceptor),
            door,
            ctx.clone(),
            stopped.clone(),
        ));
        let sweeper = tokio::spawn(sweep_deletions(ctx.clone(), stopped.clone()));
        let rotator = tokio::spawn(rotation::run_worker(
            ctx.clone(),
            Arc::new(api::for_rotators::Api(ctx.clone())),
            rotation_receiver,
            stopped,
        ));
        Ok(Server {
            addr,
            trust_file,
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
    /// change waits for the apply). Not part of `start`, so that the apply does not compete for
    /// the CPU with start-up's last steps and delay the ready line after a crash. Without this
    /// call the apply runs at the first change or after 200 ms idle.
    pub fn serving(&self) {
        self.ctx.store.serving();
    }

    /// `http://127.0.0.1:PORT` (`https://` over TLS), ready for an SDK's endpoint URL.
    pub fn endpoint_url(&self) -> String {
        let scheme = if self.trust_file.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Over TLS, the certificate file a client trusts (the CA of a self-signed setup).
    pub fn trust_file(&self) -> Option<&std::path::Path> {
        self.trust_file.as_deref()
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

/// What a server started with `config` lets in beyond this machine, said at start-up.
pub fn exposure_warnings(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    let ip = config.listen.ip();
    if !ip.to_canonical().is_loopback() {
        let mut hosts = vec![
            "localhost".to_string(),
            "loopback addresses".to_string(),
            "the address a client connects to".to_string(),
        ];
        hosts.extend(config.allowed_hosts.names().map(str::to_string));
        let hosts = if config.allowed_hosts.allows_any() {
            "any Host (--allowed-host *: no DNS-rebinding defence)".to_string()
        } else {
            format!("Host {} (add names with --allowed-host)", hosts.join(", "))
        };
        warnings.push(format!(
            "listening on {} beyond loopback: answering {hosts}",
            config.listen
        ));
        if config.auth == crate::auth::credentials::AuthMode::Open {
            warnings.push("open mode beyond loopback: anyone who reaches this port can read and change every secret with any credentials; use --auth strict with configured principals".to_string());
        }
        if config.admin_token.is_none() {
            warnings.push("no admin token: the admin endpoints refuse every client beyond loopback (set SECRETSD_ADMIN_TOKEN)".to_string());
        }
        if config.tls.is_none() {
            warnings.push("plain HTTP beyond loopback: requests and secret values cross the network unencrypted (use --tls self-signed or --tls-cert/--tls-key)".to_string());
        }
    } else if config.auth == crate::auth::credentials::AuthMode::Strict
        && config.admin_token.is_none()
    {
        warnings.push("strict mode without an admin token: the admin endpoints but the health check refuse every request (set SECRETSD_ADMIN_TOKEN)".to_string());
    }
    if ip.to_canonical().is_loopback() && config.allowed_hosts.allows_any() {
        warnings.push("--allowed-host *: any Host is answered, so web pages on DNS-rebinding names can reach this server".to_string());
    }
    warnings
}

/// Where a server keeps its data, for the ready line.
pub fn describe_location(location: &Location) -> String {
    match location {
        Location::Dir(dir) => dir.display().to_string(),
        Location::InMemory => "in-memory".to_string(),
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    door: Arc<DoorPolicy>,
    ctx: Arc<Ctx>,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = Arc::new(GracefulShutdown::new());
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .max_buf_size(64 * 1024)
        .writev(false);
    let builder = Arc::new(builder);
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
                let local_ip = stream.local_addr().map_or(peer.ip(), |a| a.ip());
                let peer = Peer::new(peer, local_ip, tls.is_some());
                let served = Served { ctx: ctx.clone(), door: door.clone(), peer: Arc::new(peer) };
                match &tls {
                    None => serve_connection(stream, served, &builder, &graceful),
                    Some(acceptor) => {
                        // The handshake runs in the connection's own task, under the same
                        // limit as a request's headers, so a slow client holds up no one else.
                        let handshake = acceptor.accept(stream);
                        let (builder, graceful) = (builder.clone(), graceful.clone());
                        tokio::spawn(async move {
                            match tokio::time::timeout(HEADER_TIMEOUT, handshake).await {
                                Ok(Ok(stream)) => serve_connection(stream, served, &builder, &graceful),
                                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!("TLS handshake timed out"),
                            }
                        });
                    }
                }
            }
            _ = stopped.changed() => break,
        }
    }
    drop(listener);
    let graceful = Arc::try_unwrap(graceful).unwrap_or_else(|_| GracefulShutdown::new());
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace period");
    }
}

/// What every request on one connection shares.
#[derive(Clone)]
struct Served {
    ctx: Arc<Ctx>,
    door: Arc<DoorPolicy>,
    peer: Arc<Peer>,
}

fn serve_connection<S>(
    stream: S,
    served: Served,
    builder: &http1::Builder,
    graceful: &GracefulShutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(served.clone(), req));
    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    });
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
    connection: Connection,
}

impl Peer {
    fn new(addr: SocketAddr, local_ip: IpAddr, secure: bool) -> Self {
        Peer {
            ip: addr.ip(),
            ip_text: addr.ip().to_string(),
            connection: Connection {
                local_ip,
                peer_is_loopback: addr.ip().to_canonical().is_loopback(),
                secure,
            },
        }
    }
}

/// One request in, one response out; never an `Err`, never a panic on client input.
async fn handle(
    served: Served,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Served { ctx, door, peer } = served;
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
    let mut response = match door.check(req.method(), req.headers(), &peer.connection) {
        Verdict::Serve { cors } => {
            let mut response = route(&ctx, &door, req, &peer, request_id).await;
            if let Some(origin) = cors {
                door::add_cors_headers(&mut response, origin);
            }
            response
        }
        Verdict::Preflight(response) => response,
        Verdict::Refuse(refusal) => {
            tracing::info!(peer = %peer.ip_text, reason = ?refusal, "request refused at the door");
            refused(&refusal)
        }
    };
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

/// A door's refusal in the API's error shape, so SDKs and people read the reason.
fn refused(refusal: &door::Refusal) -> Response<Full<Bytes>> {
    let mut response =
        protocol::error_response(&ApiError::new(ErrorCode::AccessDenied, refusal.message()));
    *response.status_mut() = hyper::StatusCode::FORBIDDEN;
    response
}

async fn route(
    ctx: &Ctx,
    door: &DoorPolicy,
    req: Request<Incoming>,
    peer: &Peer,
    request_id: &str,
) -> Response<Full<Bytes>> {
    if admin::is_admin_path(req.uri().path()) {
        let open = req.method() == Method::GET && req.uri().path() == admin::HEALTH_PATH;
        if !open {
            if let Err(refusal) = door.check_admin(req.headers(), &peer.connection) {
                return refused(&refusal);
            }
        }
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
            secure_transport: peer.connection.secure,
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
