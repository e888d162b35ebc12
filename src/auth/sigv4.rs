//! AWS Signature Version 4 (AWS4-HMAC-SHA256) verification for awsJson requests (spec §6).
//!
//! Verification is re-signing: rebuild the canonical request from exactly the headers the client
//! named in `SignedHeaders` (SDKs sign different sets and send unsigned headers too), derive the
//! key from the secret and the credential scope, and compare signatures in constant time.
//! Pure functions of their inputs: no HTTP library, no clock (the caller passes "now").

use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SERVICE: &str = "secretsmanager";
/// AWS JSON services accept requests dated within five minutes of their clock (spec §6.3).
const MAX_SKEW_SECONDS: i64 = 300;
const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// What the verifier needs from an HTTP request, independent of the HTTP library.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The raw path as received, e.g. `/`.
    pub path: &'a str,
    /// The raw query string without `?`, usually empty.
    pub query: &'a str,
    /// Header names lower-cased, values as received, in arrival order; a name may repeat.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header_values<'h>(&'h self, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed `Authorization: AWS4-HMAC-SHA256 …` header plus the request date.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub access_key_id: String,
    /// `YYYYMMDD` from the credential scope.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    /// As listed by the client, lower-case.
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// From `X-Amz-Date` (or `Date` when there is no `X-Amz-Date`).
    pub request_time: DateTime<Utc>,
    /// The `X-Amz-Date` text, as the string to sign uses it.
    pub amz_date: String,
    pub security_token: Option<String>,
}

impl Authorization {
    fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.scope_date, self.region, self.service
        )
    }
}

/// Parses the `Authorization` header and the request date, with AWS's error texts (§6.4).
pub fn parse(req: &SignedRequest) -> ApiResult<Authorization> {
    let raw = req
        .header("authorization")
        .ok_or_else(ApiError::missing_authentication_token)?;
    let rest = raw
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            ApiError::incomplete_signature(format!(
                "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization={raw}"
            ))
        })?;

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| {
            ApiError::incomplete_signature(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{raw}'."
            ))
        })?;
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let date_header = req.header("x-amz-date").or_else(|| req.header("date"));
    let mut missing = String::new();
    for (name, value) in [
        ("Credential", credential.is_none()),
        ("Signature", signature.is_none()),
        ("SignedHeaders", signed_headers.is_none()),
    ] {
        if value {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date_header.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if !missing.is_empty() {
        return Err(ApiError::incomplete_signature(format!(
            "{missing}Authorization={raw}"
        )));
    }
    let (credential, signed_headers, signature, date_text) = (
        credential.unwrap_or_default(),
        signed_headers.unwrap_or_default(),
        signature.unwrap_or_default(),
        date_header.unwrap_or_default(),
    );

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = scope.as_slice() else {
        return Err(ApiError::incomplete_signature(format!(
            "Credential should have exactly 5 parts: <access key>/<date>/<region>/<service>/aws4_request, got '{credential}'."
        )));
    };
    if access_key_id.is_empty() || *terminator != "aws4_request" {
        return Err(ApiError::incomplete_signature(format!(
            "Credential should be scoped to a valid access key and end in 'aws4_request', got '{credential}'."
        )));
    }
    if *service != SERVICE {
        return Err(ApiError::invalid_signature(format!(
            "Credential should be scoped to correct service: '{SERVICE}'. "
        )));
    }
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(ApiError::invalid_signature(format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        )));
    }

    let request_time = parse_request_time(date_text).ok_or_else(|| {
        ApiError::incomplete_signature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{date_text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    let amz_date = request_time.format(AMZ_DATE_FORMAT).to_string();
    if amz_date[..8] != **scope_date {
        return Err(ApiError::invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{}', from '{date_text}'.",
            &amz_date[..8]
        )));
    }

    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err(ApiError::incomplete_signature(format!(
            "SignedHeaders contains an empty header name. Authorization={raw}"
        )));
    }
    // The signature must cover the host, or a request could be replayed to another endpoint.
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(ApiError::invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }

    Ok(Authorization {
        access_key_id: access_key_id.to_string(),
        scope_date: scope_date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers,
        signature: signature.to_string(),
        request_time,
        amz_date,
        security_token: req.header("x-amz-security-token").map(str::to_string),
    })
}

/// `X-Amz-Date` (`20150830T123600Z`) or, failing that, an RFC 1123 `Date` header.
fn parse_request_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(text, AMZ_DATE_FORMAT) {
        return Some(Utc.from_utc_datetime(&t));
    }
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Rejects requests dated more than five minutes from `now`, in AWS's words (spec §6.3).
pub fn check_clock_skew(auth: &Authorization, now: DateTime<Utc>) -> ApiResult<()> {
    let skew = auth.request_time.signed_duration_since(now).num_seconds();
    let fmt = |t: DateTime<Utc>| t.format(AMZ_DATE_FORMAT).to_string();
    let window = chrono::Duration::seconds(MAX_SKEW_SECONDS);
    if skew < -MAX_SKEW_SECONDS {
        return Err(ApiError::invalid_signature(format!(
            "Signature expired: {} is now earlier than {} ({} - 5 min.)",
            auth.amz_date,
            fmt(now - window),
            fmt(now)
        )));
    }
    if skew > MAX_SKEW_SECONDS {
        return Err(ApiError::invalid_signature(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            auth.amz_date,
            fmt(now + window),
            fmt(now)
        )));
    }
    Ok(())
}

/// Checks the signature with the caller's secret key.
pub fn verify(req: &SignedRequest, auth: &Authorization, secret_access_key: &str) -> ApiResult<()> {
    let body_hash = hex::encode(Sha256::digest(req.body));
    // The JS SDK signs `x-amz-content-sha256`; it must describe the body actually sent.
    let payload_hash = match req.header("x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => "UNSIGNED-PAYLOAD".to_string(),
        Some(claimed) if !claimed.eq_ignore_ascii_case(&body_hash) => {
            return Err(ApiError::invalid_signature(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ))
        }
        _ => body_hash,
    };
    let canonical = canonical_request(req, &auth.signed_headers, &payload_hash)?;
    let to_sign = string_to_sign(&auth.amz_date, &auth.scope(), &canonical);
    let key = signing_key(
        secret_access_key,
        &auth.scope_date,
        &auth.region,
        &auth.service,
    );
    let expected = hex::encode(hmac(&key, to_sign.as_bytes()));
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::invalid_signature(format!(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n"
        )))
    }
}

/// The canonical request of SigV4 over `signed_headers` (lower-case names, as the client
/// listed them). A signed header that is absent makes verification fail.
pub fn canonical_request(
    req: &SignedRequest,
    signed_headers: &[String],
    payload_hash: &str,
) -> ApiResult<String> {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query));
    out.push('\n');
    let mut names: Vec<&String> = signed_headers.iter().collect();
    names.sort();
    for name in &names {
        let values: Vec<String> = req.header_values(name).map(canonical_value).collect();
        if values.is_empty() {
            return Err(ApiError::invalid_signature(format!(
                "The request signature we calculated does not match the signature you provided: signed header '{name}' is missing from the request."
            )));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(
        &names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(";"),
    );
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// Trims a header value and folds inner runs of whitespace into one space.
fn canonical_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// RFC 3986 encoding of everything but the unreserved characters.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Decodes `%XX` escapes (lenient: a malformed escape is kept as it is).
pub(crate) fn uri_decode(text: &str) -> String {
    fn hex_digit(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path, normalised (`.`/`..`/empty segments removed) and each segment encoded once more,
/// as every AWS service but S3 expects.
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(
        &segments
            .iter()
            .map(|s| uri_encode(s, false))
            .collect::<Vec<_>>()
            .join("/"),
    );
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Query parameters encoded and sorted by name, then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&uri_decode(k), false),
                uri_encode(&uri_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn signing_key(
    secret_access_key: &str,
    scope_date: &str,
    region: &str,
    service: &str,
) -> [u8; 32] {
    let k_date = hmac(
        format!("AWS4{secret_access_key}").as_bytes(),
        scope_date.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Signs a request the way SDKs do; used by tests and the load generator.
pub fn sign(
    req: &SignedRequest,
    signed_headers: &[String],
    access_key_id: &str,
    secret_access_key: &str,
    amz_date: &str,
    region: &str,
    service: &str,
) -> ApiResult<String> {
    let payload_hash = hex::encode(Sha256::digest(req.body));
    let canonical = canonical_request(req, signed_headers, &payload_hash)?;
    let date = amz_date.get(..8).unwrap_or_default();
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = string_to_sign(amz_date, &scope, &canonical);
    let signature = hex::encode(hmac(
        &signing_key(secret_access_key, date, region, service),
        to_sign.as_bytes(),
    ));
    let mut names: Vec<&str> = signed_headers.iter().map(String::as_str).collect();
    names.sort();
    Ok(format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={signature}",
        names.join(";")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    // AWS's SigV4 test suite: credentials, date, region and service shared by every vector.
    const SUITE_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_DATE: &str = "20150830T123600Z";
    const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
            .collect()
    }

    /// Signs a test-suite request and returns (canonical request, string to sign, signature).
    fn suite(
        method: &str,
        path: &str,
        query: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> (String, String, String) {
        let mut pairs = vec![
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SUITE_DATE),
        ];
        pairs.extend_from_slice(extra);
        let headers = headers(&pairs);
        let mut names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        let req = SignedRequest {
            method,
            path,
            query,
            headers: &headers,
            body,
        };
        let canonical =
            canonical_request(&req, &names, &hex::encode(Sha256::digest(body))).unwrap();
        let to_sign = string_to_sign(
            SUITE_DATE,
            "20150830/us-east-1/service/aws4_request",
            &canonical,
        );
        let key = signing_key(SUITE_KEY, "20150830", "us-east-1", "service");
        let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
        (canonical, to_sign, signature)
    }

    #[test]
    fn get_vanilla() {
        let (canonical, to_sign, signature) = suite("GET", "/", "", &[], b"");
        assert_eq!(
            canonical,
            format!("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n{EMPTY_HASH}")
        );
        assert!(to_sign.starts_with(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        ));
        assert_eq!(
            signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn post_vanilla() {
        let (_, to_sign, signature) = suite("POST", "/", "", &[], b"");
        assert_eq!(
            to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87"
        );
        assert_eq!(
            signature,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn query_vectors() {
        assert_eq!(
            suite("POST", "/", "Param1=value1", &[], b"").2,
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        );
        assert_eq!(
            suite("GET", "/", "Param2=value2&Param1=value1", &[], b"").2,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn header_vectors() {
        let (canonical, _, signature) = suite(
            "GET",
            "/",
            "",
            &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
            b"",
        );
        assert!(canonical.contains("my-header1:value1\nmy-header2:\"a b c\"\n"));
        assert_eq!(
            signature,
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"
        );
        assert_eq!(
            suite("POST", "/", "", &[("My-Header1", "value1")], b"").2,
            "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"
        );
    }

    #[test]
    fn body_and_path_vectors() {
        let (canonical, to_sign, signature) = suite(
            "POST",
            "/",
            "",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"Param1=value1",
        );
        assert!(canonical.ends_with(
            "content-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        ));
        assert!(
            to_sign.ends_with("42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281")
        );
        assert_eq!(
            signature,
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
        assert_eq!(
            suite("GET", "/example space/", "", &[], b"").2,
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"
        );
        assert_eq!(
            suite("GET", "/\u{1234}", "", &[], b"").2,
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"
        );
    }

    /// A request as botocore sends it: four signed headers plus unsigned ones.
    fn botocore_request(
        secret: &str,
        body: &'static [u8],
        amz_date: &str,
    ) -> Vec<(String, String)> {
        let mut h = headers(&[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Host", "127.0.0.1:4584"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Target", "secretsmanager.GetSecretValue"),
        ]);
        let names: Vec<String> = h.iter().map(|(n, _)| n.clone()).collect();
        let auth = sign(
            &SignedRequest {
                method: "POST",
                path: "/",
                query: "",
                headers: &h,
                body,
            },
            &names,
            "test",
            secret,
            amz_date,
            "us-east-1",
            SERVICE,
        )
        .unwrap();
        h.push(("authorization".into(), auth));
        h.push(("user-agent".into(), "Botocore/1.44.8".into()));
        h.push(("amz-sdk-invocation-id".into(), "b9b5b1a4".into()));
        h
    }

    fn check(h: &[(String, String)], body: &[u8], secret: &str) -> ApiResult<Authorization> {
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: h,
            body,
        };
        let auth = parse(&req)?;
        verify(&req, &auth, secret)?;
        Ok(auth)
    }

    const BODY: &[u8] = br#"{"SecretId":"demo"}"#;

    #[test]
    fn botocore_style_request_verifies_and_tampering_fails() {
        let h = botocore_request("test", BODY, "20260101T000000Z");
        let auth = check(&h, BODY, "test").unwrap();
        assert_eq!(auth.access_key_id, "test");
        assert_eq!(auth.region, "us-east-1");
        let err = check(&h, br#"{"SecretId":"demO"}"#, "test").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSignature);
        assert!(err.message.starts_with("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'POST\n/\n"));
        assert_eq!(
            check(&h, BODY, "wrong").unwrap_err().code,
            ErrorCode::InvalidSignature
        );
        let mut tampered = h.clone();
        tampered[3].1 = "secretsmanager.DeleteSecret".into();
        assert_eq!(
            check(&tampered, BODY, "test").unwrap_err().code,
            ErrorCode::InvalidSignature
        );
    }

    #[test]
    fn content_sha256_must_match_the_body() {
        let mut h = headers(&[
            ("Host", "localhost"),
            ("X-Amz-Date", "20260101T000000Z"),
            (
                "X-Amz-Content-Sha256",
                &hex::encode(Sha256::digest(b"other")),
            ),
        ]);
        let names: Vec<String> = h.iter().map(|(n, _)| n.clone()).collect();
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: BODY,
        };
        let auth = sign(
            &req,
            &names,
            "test",
            "test",
            "20260101T000000Z",
            "us-east-1",
            SERVICE,
        )
        .unwrap();
        h.push(("authorization".into(), auth));
        let err = check(&h, BODY, "test").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSignature);
        assert!(err.message.contains("x-amz-content-sha256"));
    }

    fn parse_with(auth: &str, date: Option<&str>) -> ApiResult<Authorization> {
        let mut h = vec![("authorization".to_string(), auth.to_string())];
        if let Some(d) = date {
            h.push(("x-amz-date".into(), d.into()));
        }
        parse(&SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: b"",
        })
    }

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd";

    #[test]
    fn parse_errors_have_awss_codes_and_texts() {
        let none = parse(&SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &[],
            body: b"",
        })
        .unwrap_err();
        assert_eq!(none, ApiError::missing_authentication_token());

        let err =
            parse_with("AWS4-HMAC-SHA256 Credential=a/b", Some("20260101T000000Z")).unwrap_err();
        assert_eq!(err.code, ErrorCode::IncompleteSignature);
        assert_eq!(err.message, "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=a/b");

        let err = parse_with("AWS4-HMAC-SHA256 garbage", Some("20260101T000000Z")).unwrap_err();
        assert_eq!(err.code, ErrorCode::IncompleteSignature);
        assert_eq!(err.message, "'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 garbage'.");

        let err = parse_with(GOOD, None).unwrap_err();
        assert_eq!(err.code, ErrorCode::IncompleteSignature);
        assert!(err
            .message
            .contains("requires existence of either a 'X-Amz-Date' or a 'Date' header"));

        let err = parse_with(
            &GOOD.replace("secretsmanager/", "s3/"),
            Some("20260101T000000Z"),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ApiError::invalid_signature(
                "Credential should be scoped to correct service: 'secretsmanager'. "
            )
        );

        let err = parse_with(
            &GOOD.replace("us-east-1", "US_EAST"),
            Some("20260101T000000Z"),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ApiError::invalid_signature(
                "Credential should be scoped to a valid region, not 'US_EAST'. "
            )
        );

        let err = parse_with(GOOD, Some("20260102T000000Z")).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSignature);
        assert!(err
            .message
            .starts_with("Date in Credential scope does not match YYYYMMDD"));

        let err = parse_with(&GOOD.replace("host;", ""), Some("20260101T000000Z")).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSignature);

        let err = parse_with("Basic dXNlcjpwYXNz", Some("20260101T000000Z")).unwrap_err();
        assert_eq!(err.code, ErrorCode::IncompleteSignature);

        let ok = parse_with(GOOD, Some("20260101T000000Z")).unwrap();
        assert_eq!(ok.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(ok.scope_date, "20260101");
    }

    #[test]
    fn parse_never_panics_on_odd_input() {
        for raw in [
            "",
            "AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA256 ,,,=,",
            "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;, Signature=",
            "AWS4-HMAC-SHA256 Credential=é/ü/ö/ä/ß, SignedHeaders=host, Signature=x",
        ] {
            let _ = parse_with(raw, Some("20260101T000000Z"));
            let _ = parse_with(raw, Some("garbage"));
        }
        assert!(uri_decode("%E1%8").contains('%'));
        assert_eq!(uri_decode("%41%zz%"), "A%zz%");
    }

    #[test]
    fn clock_skew_uses_awss_texts() {
        let auth = parse_with(GOOD, Some("20260101T000000Z")).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 10, 0).unwrap();
        let err = check_clock_skew(&auth, now).unwrap_err();
        assert_eq!(err, ApiError::invalid_signature("Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)"));
        let earlier = Utc.with_ymd_and_hms(2025, 12, 31, 23, 50, 0).unwrap();
        let err = check_clock_skew(&auth, earlier).unwrap_err();
        assert_eq!(err, ApiError::invalid_signature("Signature not yet current: 20260101T000000Z is still later than 20251231T235500Z (20251231T235000Z + 5 min.)"));
        assert!(
            check_clock_skew(&auth, Utc.with_ymd_and_hms(2026, 1, 1, 0, 4, 59).unwrap()).is_ok()
        );
    }
}
