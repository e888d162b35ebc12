//! The door: which requests the server answers at all, decided from the connection and the
//! headers before any body is read, any signature checked or any operation run.
//!
//! Three attackers are kept out (README "Running it beyond your laptop"):
//! - a web page on a DNS-rebinding name, whose requests reach 127.0.0.1 with `Host` naming the
//!   attacker's domain: only `Host` values that name this server are answered;
//! - a web page on any other origin, which may send simple cross-origin requests (a form POST
//!   needs no CORS preflight): a foreign `Origin`, or `Sec-Fetch-Site` of `same-site` or
//!   `cross-site` without an allowed `Origin`, is refused;
//! - a peer beyond loopback, or anyone in strict mode, on the admin endpoints: they need the
//!   admin token.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::fmt;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The shortest admin token accepted: a guessable token would make the admin surface as open
/// as having none.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// A rule of the door that the configuration gives wrong; the server does not start.
#[derive(Debug, thiserror::Error)]
pub enum BadRule {
    #[error("the admin token must be at least {MIN_ADMIN_TOKEN_LEN} characters long")]
    ShortAdminToken,
    #[error(
        "the admin token must be printable ASCII without spaces (it travels in an HTTP header)"
    )]
    AdminTokenCharacters,
    #[error("bad allowed host '{0}': give a host name (app.internal), a domain with its subdomains (.internal), an IP address, or *")]
    Host(String),
    #[error("bad allowed origin '{0}': give it as a browser sends it, e.g. http://localhost:3000")]
    Origin(String),
}

/// The admin token, kept only as its SHA-256 so that the comparison takes the same time
/// whatever the presented token's length or content.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    pub fn new(token: &str) -> Result<AdminToken, BadRule> {
        let token = token.trim();
        if token.len() < MIN_ADMIN_TOKEN_LEN {
            return Err(BadRule::ShortAdminToken);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BadRule::AdminTokenCharacters);
        }
        Ok(AdminToken(Sha256::digest(token.as_bytes()).into()))
    }

    fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        self.0.ct_eq(&digest).into()
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

/// The `Host` names the server answers for besides its own addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    /// `*`: every name (the DNS-rebinding defence is off).
    any: bool,
    /// Lower-case names; one written `.example.com` stands for the domain and its subdomains.
    names: Vec<String>,
}

impl AllowedHosts {
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowedHosts, BadRule> {
        let mut hosts = AllowedHosts::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry == "*" {
                hosts.any = true;
                continue;
            }
            let name = entry.trim_end_matches('.').to_ascii_lowercase();
            let bare = name.strip_prefix('.').unwrap_or(&name);
            let valid = !bare.is_empty()
                && bare
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if !valid && bare.parse::<IpAddr>().is_err() {
                return Err(BadRule::Host(entry.to_string()));
            }
            hosts.names.push(name);
        }
        Ok(hosts)
    }

    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// The configured names, for the start-up message and the self-signed certificate.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    fn allows(&self, name: &str) -> bool {
        self.any
            || self
                .names
                .iter()
                .any(|allowed| match allowed.strip_prefix('.') {
                    Some(domain) => {
                        name.eq_ignore_ascii_case(domain)
                            || (name.len() > allowed.len()
                                && name.is_char_boundary(name.len() - allowed.len())
                                && name[name.len() - allowed.len()..].eq_ignore_ascii_case(allowed))
                    }
                    None => name.eq_ignore_ascii_case(allowed),
                })
    }
}

/// Origins (`scheme://host[:port]`, as browsers send them) whose pages may call the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowedOrigins, BadRule> {
        let mut origins = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let normal = entry.trim_end_matches('/').to_ascii_lowercase();
            let host = normal
                .strip_prefix("http://")
                .or_else(|| normal.strip_prefix("https://"));
            match host {
                Some(host)
                    if !host.is_empty() && !host.contains('/') && host_name(host).is_some() =>
                {
                    origins.push(normal)
                }
                _ => return Err(BadRule::Origin(entry.to_string())),
            }
        }
        Ok(AllowedOrigins(origins))
    }

    fn get(&self, origin: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|allowed| allowed.eq_ignore_ascii_case(origin))
            .map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Who may open the door, from the configuration.
#[derive(Debug, Clone, Default)]
pub struct DoorPolicy {
    pub allowed_hosts: AllowedHosts,
    pub allowed_origins: AllowedOrigins,
    pub admin_token: Option<AdminToken>,
    /// Strict mode: the admin endpoints need the token from loopback too.
    pub admin_always_needs_token: bool,
}

/// What the connection tells about a request.
pub struct Connection {
    /// The address the client connected to: a `Host` that is this literal names the server.
    pub local_ip: IpAddr,
    pub peer_is_loopback: bool,
    pub secure: bool,
}

/// Why a request is turned away; each becomes a 403 with a message that says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    ForeignHost(String),
    MissingHost,
    ForeignOrigin(String),
    CrossSiteFetch(String),
    AdminTokenNotConfigured,
    AdminTokenRequired,
    AdminTokenInvalid,
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::ForeignHost(host) => format!(
                "secretsd does not answer for Host '{host}'. It answers for localhost, loopback addresses and the address it listens on; allow another name with --allowed-host NAME (or allowed_hosts in the config file)."
            ),
            Refusal::MissingHost => "The request has no Host header.".to_string(),
            Refusal::ForeignOrigin(origin) => format!(
                "secretsd does not answer requests from web pages of origin '{origin}'. Allow a browser app's origin with --allowed-origin ORIGIN (or allowed_origins in the config file)."
            ),
            Refusal::CrossSiteFetch(site) => format!(
                "secretsd does not answer {site} requests from web pages. Allow a browser app's origin with --allowed-origin ORIGIN (or allowed_origins in the config file)."
            ),
            Refusal::AdminTokenNotConfigured => "The admin endpoints need the admin token here (strict mode, or a client beyond loopback), and none is configured. Start secretsd with SECRETSD_ADMIN_TOKEN=<token> (or --admin-token-file FILE, or admin_token in the config file) and send Authorization: Bearer <token>.".to_string(),
            Refusal::AdminTokenRequired => "This admin endpoint needs the admin token: send Authorization: Bearer <token>.".to_string(),
            Refusal::AdminTokenInvalid => "The admin token is not valid.".to_string(),
        }
    }
}

/// What the door decided about one request.
pub enum Verdict {
    /// Serve it; `cors` is the allowed foreign origin to name in the answer, if any.
    Serve {
        cors: Option<HeaderValue>,
    },
    /// A CORS preflight from an allowed origin: answer it and serve nothing.
    Preflight(Response<Full<Bytes>>),
    Refuse(Refusal),
}

/// The name part of a `Host` value (`name`, `name:port`, `[v6]:port`), without brackets.
fn host_name(host: &str) -> Option<&str> {
    let is_port = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) && !name.contains(':') => name,
            Some(_) => return None,
            None => host,
        }
    };
    (!name.is_empty()).then_some(name)
}

impl DoorPolicy {
    /// Host, Origin and Fetch Metadata checks, on every path.
    pub fn check(&self, method: &Method, headers: &HeaderMap, conn: &Connection) -> Verdict {
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return Verdict::Refuse(Refusal::MissingHost);
        };
        if !self.names_this_server(host, conn.local_ip) {
            return Verdict::Refuse(Refusal::ForeignHost(host.to_string()));
        }
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let cors = match origin {
            Some(origin) if is_own_origin(origin, host, conn.secure) => None,
            Some(origin) => match self.allowed_origins.get(origin) {
                Some(allowed) => HeaderValue::from_str(allowed).ok(),
                None => return Verdict::Refuse(Refusal::ForeignOrigin(origin.to_string())),
            },
            None => {
                // A navigation or a no-cors load carries no Origin, but a browser still says
                // where it comes from.
                let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
                if let Some(site @ ("cross-site" | "same-site")) = site {
                    return Verdict::Refuse(Refusal::CrossSiteFetch(site.to_string()));
                }
                None
            }
        };
        match cors {
            Some(origin)
                if method == Method::OPTIONS
                    && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) =>
            {
                Verdict::Preflight(preflight(origin, headers))
            }
            cors => Verdict::Serve { cors },
        }
    }

    /// The admin token check for every admin endpoint but the health check.
    pub fn check_admin(&self, headers: &HeaderMap, conn: &Connection) -> Result<(), Refusal> {
        // Only the Bearer scheme carries the admin token; a SigV4 header is not one.
        let presented = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .and_then(|v| match v.get(..7) {
                Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => Some(&v[7..]),
                _ => None,
            });
        match (presented, &self.admin_token) {
            (Some(presented), Some(token)) if token.matches(presented) => Ok(()),
            (Some(_), _) => Err(Refusal::AdminTokenInvalid),
            (None, _) if conn.peer_is_loopback && !self.admin_always_needs_token => Ok(()),
            (None, Some(_)) => Err(Refusal::AdminTokenRequired),
            (None, None) => Err(Refusal::AdminTokenNotConfigured),
        }
    }

    fn names_this_server(&self, host: &str, local_ip: IpAddr) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        // Browsers resolve localhost and its subdomains to loopback themselves (RFC 6761), so
        // no page can rebind them; and an address literal is never a rebinding name.
        if name.eq_ignore_ascii_case("localhost")
            || (name.len() > 10
                && name.is_char_boundary(name.len() - 10)
                && name[name.len() - 10..].eq_ignore_ascii_case(".localhost"))
        {
            return true;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            let ip = ip.to_canonical();
            if ip.is_loopback() || ip == local_ip.to_canonical() {
                return true;
            }
        }
        self.allowed_hosts.allows(name)
    }
}

/// Whether `origin` is `scheme://<Host>` of this request: a page the server itself served.
fn is_own_origin(origin: &str, host: &str, secure: bool) -> bool {
    let scheme = if secure { "https://" } else { "http://" };
    origin.len() == scheme.len() + host.len()
        && origin[..scheme.len()].eq_ignore_ascii_case(scheme)
        && origin.is_char_boundary(scheme.len())
        && origin[scheme.len()..].eq_ignore_ascii_case(host)
}

/// The answer to a CORS preflight from an allowed origin: the API's methods, and the headers
/// the browser asked for (SDKs send their own `x-amz-*` and `amz-sdk-*` headers).
fn preflight(origin: HeaderValue, headers: &HeaderMap) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let out = response.headers_mut();
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    out.insert(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ),
    );
    response
}

/// Names an allowed foreign origin in an answer, so the browser lets its page read it.
pub fn add_cors_headers(response: &mut Response<Full<Bytes>>, origin: HeaderValue) {
    let out = response.headers_mut();
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    out.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-amzn-requestid, x-amzn-errortype, date"),
    );
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> Connection {
        Connection {
            local_ip: "127.0.0.1".parse().unwrap(),
            peer_is_loopback: true,
            secure: false,
        }
    }

    fn request(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn verdict(
        policy: &DoorPolicy,
        conn: &Connection,
        pairs: &[(&str, &str)],
    ) -> Result<(), Refusal> {
        match policy.check(&Method::POST, &request(pairs), conn) {
            Verdict::Serve { .. } | Verdict::Preflight(_) => Ok(()),
            Verdict::Refuse(refusal) => Err(refusal),
        }
    }

    #[test]
    fn only_names_of_this_server_are_answered() {
        let policy = DoorPolicy::default();
        let conn = Connection {
            local_ip: "198.18.0.1".parse().unwrap(),
            ..loopback()
        };
        for host in [
            "localhost",
            "LOCALHOST:4584",
            "localhost.",
            "app.localhost:80",
            "127.0.0.1:4584",
            "127.9.9.9",
            "[::1]:4584",
            "[::1]",
            "198.18.0.1:4584",
        ] {
            assert_eq!(verdict(&policy, &conn, &[("host", host)]), Ok(()), "{host}");
        }
        for host in [
            "attacker.example:4584",
            "localhost.attacker.example",
            "evillocalhost",
            "198.18.0.2:4584",
            "127.0.0.1:port",
            "[::1",
            "::1:4584",
            ":4584",
            "",
        ] {
            assert_eq!(
                verdict(&policy, &conn, &[("host", host)]),
                Err(Refusal::ForeignHost(host.to_string())),
                "{host}"
            );
        }
        assert_eq!(verdict(&policy, &conn, &[]), Err(Refusal::MissingHost));
    }

    #[test]
    fn allowed_hosts_add_names_and_domains() {
        let policy = DoorPolicy {
            allowed_hosts: AllowedHosts::parse(&["secretsd", ".corp.example", "10.1.2.3"]).unwrap(),
            ..DoorPolicy::default()
        };
        for host in [
            "secretsd:4584",
            "SecretsD",
            "corp.example",
            "a.b.corp.example:443",
            "10.1.2.3:4584",
        ] {
            assert_eq!(
                verdict(&policy, &loopback(), &[("host", host)]),
                Ok(()),
                "{host}"
            );
        }
        for host in ["secretsd.evil", "xcorp.example", "10.1.2.4"] {
            assert!(
                verdict(&policy, &loopback(), &[("host", host)]).is_err(),
                "{host}"
            );
        }
        let any = DoorPolicy {
            allowed_hosts: AllowedHosts::parse(&["*"]).unwrap(),
            ..DoorPolicy::default()
        };
        assert_eq!(
            verdict(&any, &loopback(), &[("host", "anything.example")]),
            Ok(())
        );
        assert!(AllowedHosts::parse(&["bad host"]).is_err());
        assert!(AllowedHosts::parse(&["."]).is_err());
    }

    #[test]
    fn foreign_origins_and_cross_site_fetches_are_refused() {
        let policy = DoorPolicy {
            allowed_origins: AllowedOrigins::parse(&["http://localhost:3000/"]).unwrap(),
            ..DoorPolicy::default()
        };
        let host = ("host", "127.0.0.1:4584");
        assert_eq!(
            verdict(
                &policy,
                &loopback(),
                &[host, ("origin", "http://127.0.0.1:4584")]
            ),
            Ok(())
        );
        assert_eq!(
            verdict(
                &policy,
                &loopback(),
                &[host, ("origin", "http://localhost:3000")]
            ),
            Ok(())
        );
        assert_eq!(
            verdict(
                &policy,
                &loopback(),
                &[host, ("sec-fetch-site", "same-origin")]
            ),
            Ok(())
        );
        assert_eq!(
            verdict(&policy, &loopback(), &[host, ("sec-fetch-site", "none")]),
            Ok(())
        );
        for origin in [
            "https://127.0.0.1:4584",
            "http://evil.example",
            "null",
            "http://localhost:3001",
        ] {
            assert_eq!(
                verdict(&policy, &loopback(), &[host, ("origin", origin)]),
                Err(Refusal::ForeignOrigin(origin.to_string()))
            );
        }
        for site in ["cross-site", "same-site"] {
            assert_eq!(
                verdict(&policy, &loopback(), &[host, ("sec-fetch-site", site)]),
                Err(Refusal::CrossSiteFetch(site.to_string()))
            );
        }
        // An allowed origin is served even though the browser calls it cross-site.
        assert_eq!(
            verdict(
                &policy,
                &loopback(),
                &[
                    host,
                    ("origin", "http://localhost:3000"),
                    ("sec-fetch-site", "cross-site")
                ]
            ),
            Ok(())
        );
        assert!(AllowedOrigins::parse(&["localhost:3000"]).is_err());
        assert!(AllowedOrigins::parse(&["http://a/b"]).is_err());
    }

    #[test]
    fn a_preflight_from_an_allowed_origin_gets_cors_headers() {
        let policy = DoorPolicy {
            allowed_origins: AllowedOrigins::parse(&["http://localhost:3000"]).unwrap(),
            ..DoorPolicy::default()
        };
        let headers = request(&[
            ("host", "localhost:4584"),
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,x-amz-target",
            ),
        ]);
        let Verdict::Preflight(response) = policy.check(&Method::OPTIONS, &headers, &loopback())
        else {
            panic!("not a preflight answer");
        };
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:3000");
        assert_eq!(
            h["access-control-allow-headers"],
            "authorization,x-amz-target"
        );
        assert_eq!(h["access-control-allow-methods"], "GET, POST");
    }

    #[test]
    fn the_admin_token_is_needed_beyond_loopback_and_in_strict_mode() {
        let token = "s3cr3t-admin-token-0123";
        let open = DoorPolicy::default();
        let remote = Connection {
            peer_is_loopback: false,
            ..loopback()
        };
        let none = request(&[]);
        let bearer = request(&[("authorization", &format!("Bearer {token}"))]);
        let wrong = request(&[("authorization", "Bearer s3cr3t-admin-token-0124")]);
        let no_scheme = request(&[("authorization", token)]);
        assert_eq!(open.check_admin(&none, &loopback()), Ok(()));
        assert_eq!(
            open.check_admin(&none, &remote),
            Err(Refusal::AdminTokenNotConfigured)
        );
        assert_eq!(
            open.check_admin(&bearer, &loopback()),
            Err(Refusal::AdminTokenInvalid)
        );
        let with_token = DoorPolicy {
            admin_token: Some(AdminToken::new(token).unwrap()),
            ..DoorPolicy::default()
        };
        assert_eq!(with_token.check_admin(&none, &loopback()), Ok(()));
        assert_eq!(
            with_token.check_admin(&none, &remote),
            Err(Refusal::AdminTokenRequired)
        );
        assert_eq!(with_token.check_admin(&bearer, &remote), Ok(()));
        assert_eq!(
            with_token.check_admin(&wrong, &remote),
            Err(Refusal::AdminTokenInvalid)
        );
        assert_eq!(
            with_token.check_admin(&wrong, &loopback()),
            Err(Refusal::AdminTokenInvalid)
        );
        assert_eq!(
            with_token.check_admin(&no_scheme, &remote),
            Err(Refusal::AdminTokenRequired)
        );
        let strict = DoorPolicy {
            admin_always_needs_token: true,
            ..with_token
        };
        assert_eq!(
            strict.check_admin(&none, &loopback()),
            Err(Refusal::AdminTokenRequired)
        );
        assert_eq!(strict.check_admin(&bearer, &loopback()), Ok(()));
        assert!(AdminToken::new("short").is_err());
        assert!(AdminToken::new("has a space in it ok").is_err());
    }
}
