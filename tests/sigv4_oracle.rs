//! secretsd's SigV4 verifier against an oracle: AWS's own signer, the `aws-sigv4` crate the Rust
//! SDK signs every request with. Random requests (methods, paths with unreserved, sub-delim and
//! percent-encoded segments, query strings with repeated keys and values needing encoding, extra
//! headers whose values have runs of spaces, bodies, dates across years, regions, credentials,
//! session tokens, `x-amz-content-sha256` claims) are signed by `aws-sigv4` with its default
//! header-based settings and checked by `secretsd::auth::sigv4`:
//!
//! 1. what the oracle signed verifies, and `parse` reads back what was signed;
//! 2. a one-byte change to any signed part of it fails, with the signature-mismatch error;
//! 3. a wrong secret key fails;
//! 4. the clock-skew window is five minutes either side of the signing time.
//!
//! `PROPTEST_CASES` bounds the run (scripts/test sets 5,000).
//!
//! Where the two canonicalisations differ, SDKs differ among themselves too; the generators stay
//! out of these corners, and say so where they do:
//! * A literal `+` in the query: `aws-sigv4` reads it as a space (`form_urlencoded`) and signs
//!   `%20`; secretsd decodes only `%XX` and signs `%2B`. SDKs send `%2B` and `%20`, never a bare
//!   `+`, so `+` is only ever generated percent-encoded.
//! * A tab in a header value: `aws-sigv4` trims and collapses spaces only (`a\tb` stays), secretsd
//!   every ASCII whitespace, as botocore does (`' '.join(value.split())`). Header values here
//!   have spaces as their only ASCII whitespace.
//! * A path that *ends* in a dot segment without a slash: `aws-sigv4` follows RFC 3986 §5.2.4
//!   and keeps the slash (`/a/b/..` and `/a/.` → `/a/`), secretsd drops it (`/a`), as botocore's
//!   `remove_dot_segments` does. Generated paths may hold `.` and `..` anywhere, but one that
//!   ends in a dot segment also ends in `/` (`/a/../`), where the two agree.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngAlgorithm;
use secretsd::auth::sigv4::{self, SignedRequest};
use secretsd::error::{ApiError, ErrorCode};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SERVICE: &str = "secretsmanager";
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE"];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-3",
    "eu-north-1",
    "eu-south-2",
    "il-central-1",
    "me-south-1",
    "sa-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];
/// Headers `aws-sigv4` adds itself, or leaves unsigned (`SigningSettings::default()`'s
/// `excluded_headers`): random extra headers never take these names, so every one is signed.
const RESERVED: &[&str] = &[
    "host",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
];
const MISMATCH: &str =
    "The request signature we calculated does not match the signature you provided.";
const CLAIM_MISMATCH: &str =
    "The provided 'x-amz-content-sha256' header does not match what was computed.";

/// How the payload enters the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    /// No `x-amz-content-sha256`: the canonical request ends in the body's hash (the default).
    Implicit,
    /// `PayloadChecksumKind::XAmzSha256`: the body's hash is also sent, and signed, as
    /// `x-amz-content-sha256`.
    Claimed,
    /// `x-amz-content-sha256: UNSIGNED-PAYLOAD`, signed; the body itself is not.
    Unsigned,
}

#[derive(Debug, Clone)]
struct Input {
    method: &'static str,
    /// `host[:port]`, never a default port (which `aws-sigv4` would leave out of `host`).
    authority: String,
    path: String,
    query: String,
    /// Extra headers, all signed, names as the client spells them, values as sent.
    headers: Vec<(String, String)>,
    /// Headers sent but left unsigned by `aws-sigv4` (`user-agent`, `x-amzn-trace-id`).
    unsigned: Vec<(String, String)>,
    body: Vec<u8>,
    payload: Payload,
    /// Signing time, with sub-seconds (the signer drops them).
    time: (u64, u32),
    region: String,
    access_key_id: String,
    secret: String,
    session_token: Option<String>,
}

impl Input {
    fn system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::new(self.time.0, self.time.1)
    }

    fn signing_time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(i64::try_from(self.time.0).unwrap(), 0).unwrap()
    }
}

/// A request as secretsd receives it after `aws-sigv4` signed it.
#[derive(Debug, Clone)]
struct Wire {
    method: String,
    path: String,
    query: String,
    /// Lower-case names, in arrival order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Wire {
    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// Where the (first) header `name` is.
    fn position(&self, name: &str) -> usize {
        self.headers.iter().position(|(n, _)| n == name).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Signed {
    wire: Wire,
    signature: String,
    /// What the signature must cover: sorted, lower-case.
    signed_headers: Vec<String>,
}

/// Signs `input` with `aws-sigv4`, header-based, default settings (but for the payload
/// checksum kind when `x-amz-content-sha256` is wanted).
fn sign_with_oracle(input: &Input) -> Signed {
    let identity = Credentials::new(
        &input.access_key_id,
        &input.secret,
        input.session_token.clone(),
        None,
        "sigv4-oracle",
    )
    .into();
    let mut settings = SigningSettings::default();
    if input.payload != Payload::Implicit {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&input.region)
        .name(SERVICE)
        .time(input.system_time())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let mut uri = format!("https://{}{}", input.authority, input.path);
    if !input.query.is_empty() {
        uri.push('?');
        uri.push_str(&input.query);
    }
    let body = match input.payload {
        Payload::Unsigned => SignableBody::UnsignedPayload,
        Payload::Implicit | Payload::Claimed => SignableBody::Bytes(&input.body),
    };
    let sent = input.headers.iter().chain(&input.unsigned);
    let request = SignableRequest::new(
        input.method,
        uri,
        sent.clone().map(|(n, v)| (n.as_str(), v.as_str())),
        body,
    )
    .unwrap();
    let (instructions, signature) = sign(request, &params).unwrap().into_parts();

    let mut headers = vec![("host".to_string(), input.authority.clone())];
    headers.extend(sent.map(|(n, v)| (n.to_ascii_lowercase(), v.clone())));
    headers.extend(
        instructions
            .headers()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string())),
    );

    let mut signed_headers: Vec<String> = ["host", "x-amz-date"]
        .into_iter()
        .map(String::from)
        .chain(input.headers.iter().map(|(n, _)| n.to_ascii_lowercase()))
        .collect();
    if input.session_token.is_some() {
        signed_headers.push("x-amz-security-token".into());
    }
    if input.payload != Payload::Implicit {
        signed_headers.push("x-amz-content-sha256".into());
    }
    signed_headers.sort();
    signed_headers.dedup();

    Signed {
        wire: Wire {
            method: input.method.to_string(),
            path: input.path.clone(),
            query: input.query.clone(),
            headers,
            body: input.body.clone(),
        },
        signature,
        signed_headers,
    }
}

/// Which step rejected a request.
#[derive(Debug, PartialEq, Eq)]
enum Rejected {
    Parse(ApiError),
    Verify(ApiError),
}

/// secretsd's `parse` then `verify` (no clock-skew check: dates range over years).
fn secretsd_checks(wire: &Wire, secret: &str) -> Result<(), Rejected> {
    let request = wire.request();
    let auth = sigv4::parse(&request).map_err(Rejected::Parse)?;
    let key = sigv4::signing_key(secret, auth.scope_date, auth.region, auth.service);
    sigv4::verify(&request, &auth, &key).map_err(Rejected::Verify)
}

/// [`secretsd_checks`] of `original` and then of `changed`, deriving the signing key once when
/// their scopes agree (deriving one, unoptimised, is a visible share of a case's time).
fn secretsd_checks_both(
    original: &Wire,
    changed: &Wire,
    secret: &str,
) -> (Result<(), Rejected>, Result<(), Rejected>) {
    let request = original.request();
    let auth = match sigv4::parse(&request) {
        Ok(auth) => auth,
        Err(e) => return (Err(Rejected::Parse(e)), secretsd_checks(changed, secret)),
    };
    let key = sigv4::signing_key(secret, auth.scope_date, auth.region, auth.service);
    let first = sigv4::verify(&request, &auth, &key).map_err(Rejected::Verify);
    let changed_request = changed.request();
    let second = match sigv4::parse(&changed_request) {
        Err(e) => Err(Rejected::Parse(e)),
        Ok(changed_auth) => {
            let same_scope = (
                changed_auth.scope_date,
                changed_auth.region,
                changed_auth.service,
            ) == (auth.scope_date, auth.region, auth.service);
            if same_scope {
                sigv4::verify(&changed_request, &changed_auth, &key).map_err(Rejected::Verify)
            } else {
                secretsd_checks(changed, secret)
            }
        }
    };
    (first, second)
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// Strings matching `pattern`, compiled once: a `&str` strategy compiles its regex for every
/// value, which made up most of a case's time.
fn re(pattern: &str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern).unwrap()
}

/// One path segment: unreserved characters, sub-delims (legal unencoded in a path) and
/// percent-encoded bytes in either hex case; empty segments (`//`) too.
fn segment(dot_segments: bool) -> BoxedStrategy<String> {
    let piece = prop_oneof![
        4 => re("[A-Za-z0-9._~-]"),
        1 => re("[!$&'()*+,;=:@]"),
        2 => (any::<u8>(), any::<bool>()).prop_map(|(b, upper)| if upper {
            format!("%{b:02X}")
        } else {
            format!("%{b:02x}")
        }),
    ];
    let word = prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat());
    if dot_segments {
        prop_oneof![6 => word, 1 => Just(".".to_string()), 1 => Just("..".to_string())].boxed()
    } else {
        word.prop_map(|w| if w == "." || w == ".." { "x".into() } else { w })
            .boxed()
    }
}

/// `/`, or `/`-joined segments with an optional trailing `/`. A path ending in a dot segment
/// always gets the trailing slash (see the module comment).
fn path(dot_segments: bool) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(segment(dot_segments), 0..5),
        any::<bool>(),
    )
        .prop_map(|(segments, trailing_slash)| {
            let mut path = format!("/{}", segments.join("/"));
            let ends_in_dots = matches!(segments.last().map(String::as_str), Some("." | ".."));
            if !segments.is_empty() && (trailing_slash || ends_in_dots) {
                path.push('/');
            }
            path
        })
}

/// How a client percent-encodes a query parameter. All of these decode to the same text.
#[derive(Debug, Clone, Copy)]
enum Style {
    /// What the SDKs send: everything but the unreserved characters, upper-case hex.
    Sdk,
    LowerHex,
    /// Sub-delims and `:@/?` left as they are, as a hand-written URL might.
    RawSubDelims,
    /// Even the unreserved characters encoded.
    EncodeAll,
}

fn encode(text: &str, style: Style) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        let unreserved = ch.is_ascii_alphanumeric() || "-_.~".contains(ch);
        // `&`, `=`, `%`, `#` and `+` are always encoded: the first four would change the
        // query's structure, `+` reads differently to the two implementations.
        let keep = match style {
            Style::Sdk | Style::LowerHex => unreserved,
            Style::RawSubDelims => unreserved || "!$'()*,;:@/?".contains(ch),
            Style::EncodeAll => false,
        };
        if keep {
            out.push(ch);
            continue;
        }
        let mut utf8 = [0; 4];
        for b in ch.encode_utf8(&mut utf8).bytes() {
            match style {
                Style::LowerHex => write!(out, "%{b:02x}"),
                _ => write!(out, "%{b:02X}"),
            }
            .unwrap();
        }
    }
    out
}

/// Raw (unencoded) text for query keys and values: ASCII that needs encoding, and any Unicode.
fn query_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => re("[A-Za-z0-9 ._~!*'();:@&=+$,/?#\\[\\]%-]{0,8}"),
        1 => re("\\PC{0,4}"),
    ]
}

/// A query string of 0–6 parameters, keys often repeated, values absent (`k`), empty (`k=`) or
/// needing encoding, each in its own encoding style; now and then a stray `&`.
fn query() -> impl Strategy<Value = String> {
    let style = prop::sample::select(vec![
        Style::Sdk,
        Style::Sdk,
        Style::LowerHex,
        Style::RawSubDelims,
        Style::EncodeAll,
    ]);
    let key = prop_oneof![
        Just("a".to_string()),
        Just("Param".to_string()),
        Just("Param-3".to_string()),
        // Starts with a letter, so that a key always holds an ASCII alphanumeric.
        (re("[A-Za-z]"), query_text()).prop_map(|(first, rest)| first + &rest),
    ];
    let param = (key, prop::option::of(query_text()), style).prop_map(|(k, v, style)| {
        let mut param = encode(&k, style);
        if let Some(v) = v {
            param.push('=');
            param.push_str(&encode(&v, style));
        }
        param
    });
    (
        prop::collection::vec(param, 0..7),
        prop::option::of(any::<Index>()),
    )
        .prop_map(|(mut params, stray)| {
            if let (Some(at), false) = (stray, params.is_empty()) {
                params.insert(at.index(params.len() + 1), String::new());
            }
            params.join("&")
        })
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x-dup".to_string()),
        Just("Content-Type".to_string()),
        re("X-Amz-[A-Za-z0-9-]{1,10}"),
        re("[A-Za-z][A-Za-z0-9-]{0,15}"),
    ]
    .prop_map(|name| {
        if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            format!("x-{name}")
        } else {
            name
        }
    })
}

/// Visible ASCII with spaces, including leading, trailing and inner runs of them, which
/// canonicalisation trims and collapses; sometimes empty, nothing but spaces, or Unicode (a
/// no-break space is not whitespace to either side).
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => re("[ -~]{0,24}"),
        4 => re("( {0,3}[!-~]{1,5}){0,4} {0,3}"),
        1 => re(" {0,4}"),
        1 => re("( ?[a-z\u{a0}\u{e9}\u{2603}]{1,3}){0,3}"),
    ]
}

/// 0–2 KiB of random bytes, mostly short ones (hashing, unoptimised, is a visible share of a
/// case's time). Drawn from a seed: a `vec(any::<u8>())` draws from the test runner's
/// generator, and keeps a shrinkable value, once a byte, which was most of a case's time.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![3 => 0usize..=64, 1 => 0usize..=2048];
    (len, any::<u64>()).prop_map(|(len, mut seed)| {
        // SplitMix64.
        let mut next = move || {
            seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut body: Vec<u8> = (0..len.div_ceil(8))
            .flat_map(|_| next().to_le_bytes())
            .collect();
        body.truncate(len);
        body
    })
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(REGIONS).prop_map(String::from),
        1 => re("[a-z]{1,12}(-[a-z]{1,10}-[0-9]{1,2})?"),
    ]
}

/// Signing time, region, access key id, secret key and session token.
fn credentials() -> impl Strategy<Value = ((u64, u32), String, String, String, Option<String>)> {
    (
        // 1970 to 2099, sub-seconds included.
        (0u64..4_102_444_800, 0u32..1_000_000_000),
        region(),
        prop_oneof![re("(AKIA|ASIA)[A-Z2-7]{16}"), re("[A-Za-z0-9_]{1,32}")],
        prop_oneof![re("[A-Za-z0-9/+]{40}"), re("\\PC{0,24}")],
        prop::option::of(re("[A-Za-z0-9/+=]{8,48}")),
    )
}

fn input(dot_segments: bool) -> impl Strategy<Value = Input> {
    let authority = (
        prop_oneof![
            Just("secretsmanager.us-east-1.amazonaws.com".to_string()),
            Just("localhost".to_string()),
            Just("127.0.0.1".to_string()),
            re("[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,2}"),
        ],
        prop::option::of(1024u16..),
    )
        .prop_map(|(host, port)| match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        });
    // Their values do not matter to the signature: a few realistic ones.
    let unsigned = (
        prop::option::of(prop::sample::select(vec![
            "aws-sdk-rust/1.3.9 os/linux lang/rust/1.94.0",
            "Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.12.3",
            "  curl/8.5.0 ",
        ])),
        prop::option::of(prop::sample::select(vec![
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
        ])),
    )
        .prop_map(|(agent, trace)| {
            let mut headers = Vec::new();
            if let Some(agent) = agent {
                headers.push(("User-Agent".to_string(), agent.to_string()));
            }
            if let Some(trace) = trace {
                headers.push(("X-Amzn-Trace-Id".to_string(), trace.to_string()));
            }
            headers
        });
    let request = (
        prop::sample::select(METHODS),
        authority,
        path(dot_segments),
        query(),
        prop::collection::vec((header_name(), header_value()), 0..=6),
        unsigned,
        body(),
        prop::sample::select(vec![Payload::Implicit, Payload::Claimed, Payload::Unsigned]),
    );
    (request, credentials()).prop_map(
        |(
            (method, authority, path, query, headers, unsigned, body, payload),
            (time, region, access_key_id, secret, session_token),
        )| Input {
            method,
            authority,
            path,
            query,
            headers,
            unsigned,
            body,
            payload,
            time,
            region,
            access_key_id,
            secret,
            session_token,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// One-byte mutations.

/// The signed parts of a request that a mutation changes.
#[derive(Debug, Clone, Copy)]
enum Part {
    Method,
    Path,
    Query,
    SignedHeaderValue,
    Body,
    AmzDate,
    Signature,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789ABCDEF";

/// `text` with the byte at `at` replaced by one of `choices` that is not the current byte in
/// either case (so a hex digit always changes value).
fn replace_byte(text: &str, at: usize, choices: &[u8], pick: Index) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let others: Vec<u8> = choices
        .iter()
        .copied()
        .filter(|c| !c.eq_ignore_ascii_case(&bytes[at]))
        .collect();
    bytes[at] = *pick.get(&others);
    String::from_utf8(bytes).expect("ASCII replaced by ASCII")
}

/// Positions in a URI component that are safe to change: `(position, is a hex digit of an
/// escape)`. `ascii_escapes_only` keeps only the second digit of escapes of ASCII bytes.
fn uri_positions(text: &str, ascii_escapes_only: bool) -> Vec<(usize, bool)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let escape = b[i] == b'%'
            && b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if escape {
            if !ascii_escapes_only {
                out.push((i + 1, true));
                out.push((i + 2, true));
            } else if b[i + 1] < b'8' {
                out.push((i + 2, true));
            }
            i += 3;
        } else {
            if b[i].is_ascii_alphanumeric() {
                out.push((i, false));
            }
            i += 1;
        }
    }
    out
}

/// Changes one byte of `part` of `wire` so that the canonical request (or the string to sign,
/// or the signature) must change, and returns the part it really changed.
///
/// The changes that are canonically equivalent, and so are never made:
/// * the case of a header name (names are lower-cased), and whitespace in a header value that
///   trimming and collapsing would undo: a header value has a visible ASCII byte replaced by
///   another, which keeps its runs of spaces as they were, so its canonical form changes in
///   exactly that byte (and so does the `,`-joined list of a repeated header's values);
/// * in the query, the case of an escape's hex digits (`%2f` is `%2F`), an escape for the
///   character itself (`%41` is `A`), and any change inside the escapes of a multi-byte UTF-8
///   character (a broken sequence decodes to U+FFFD however it is broken): a letter or digit
///   outside escapes is replaced by another letter or digit, or the second hex digit of an
///   ASCII escape (`%00`–`%7F`) by another value, so one decoded character changes, and with
///   it the sorted multiset of pairs;
/// * in the path, anything that dot-segment or `//` resolution would hide: mutated paths have
///   no dot segments, and a letter or digit is replaced by another (so no segment becomes `.`
///   or `..`), or an escape's hex digit by another value (the path is not decoded, only
///   encoded once more, so `%41` and `%42` stay `%2541` and `%2542`). A path with nothing to
///   replace (`/`, `//`) gets a letter inserted after its first `/`, a new segment.
/// * the body under `UNSIGNED-PAYLOAD`, which the signature does not cover: the signed
///   `x-amz-content-sha256` header is changed instead.
fn mutate(signed: &Signed, payload: Payload, part: Part, at: Index, pick: Index) -> (Wire, Part) {
    let mut wire = signed.wire.clone();
    match part {
        Part::Method => {
            let i = at.index(wire.method.len());
            wire.method = replace_byte(&wire.method, i, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", pick);
        }
        Part::Path => {
            let positions = uri_positions(&wire.path, false);
            if positions.is_empty() {
                wire.path.insert(1, char::from(*pick.get(ALNUM)));
            } else {
                let (i, hex) = *at.get(&positions);
                wire.path = replace_byte(&wire.path, i, if hex { HEX } else { ALNUM }, pick);
            }
        }
        Part::Query => {
            let positions = uri_positions(&wire.query, true);
            if positions.is_empty() {
                // Only an empty query has neither: every key starts with a letter.
                assert!(wire.query.is_empty(), "{:?}", wire.query);
                wire.query = char::from(*pick.get(ALNUM)).to_string();
            } else {
                let (i, hex) = *at.get(&positions);
                wire.query = replace_byte(&wire.query, i, if hex { HEX } else { ALNUM }, pick);
            }
        }
        Part::Body if payload == Payload::Unsigned => {
            mutate_header(&mut wire, signed, Some("x-amz-content-sha256"), at, pick);
            return (wire, Part::SignedHeaderValue);
        }
        Part::Body => {
            if wire.body.is_empty() {
                wire.body.push(pick.index(256) as u8);
            } else {
                let i = at.index(wire.body.len());
                wire.body[i] ^= 1 + pick.index(255) as u8;
            }
        }
        Part::SignedHeaderValue => mutate_header(&mut wire, signed, None, at, pick),
        Part::AmzDate => {
            let h = wire.position("x-amz-date");
            let date = &wire.headers[h].1;
            let i = at.index(date.len());
            let choices: &[u8] = if date.as_bytes()[i].is_ascii_digit() {
                b"0123456789"
            } else {
                b"TZ"
            };
            wire.headers[h].1 = replace_byte(date, i, choices, pick);
        }
        Part::Signature => {
            let h = wire.position("authorization");
            let value = &wire.headers[h].1;
            let start = value.find("Signature=").unwrap() + "Signature=".len();
            assert_eq!(&value[start..], signed.signature);
            let i = start + at.index(signed.signature.len());
            wire.headers[h].1 = replace_byte(value, i, b"0123456789abcdef", pick);
        }
    }
    (wire, part)
}

/// Replaces a visible ASCII byte of a signed header's value (of header `only`, if given) by
/// another one. `x-amz-date` is left to its own part.
fn mutate_header(wire: &mut Wire, signed: &Signed, only: Option<&str>, at: Index, pick: Index) {
    // (header index, byte index) of every candidate byte.
    let positions: Vec<(usize, usize)> = wire
        .headers
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| name != "x-amz-date" && signed.signed_headers.contains(name))
        .filter(|(_, (name, _))| only.is_none_or(|only| name == only))
        .flat_map(|(h, (_, value))| {
            value
                .bytes()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_graphic())
                .map(move |(i, _)| (h, i))
        })
        .collect();
    let (h, i) = *at.get(&positions); // never empty: `host` is never blank
    let visible: Vec<u8> = (b'!'..=b'~').collect();
    wire.headers[h].1 = replace_byte(&wire.headers[h].1, i, &visible, pick);
}

fn expect_mismatch(result: Result<(), Rejected>, message: &str) -> Result<(), TestCaseError> {
    match result {
        Err(Rejected::Verify(e)) => {
            prop_assert_eq!(e.code, ErrorCode::InvalidSignature);
            prop_assert!(e.message.starts_with(message), "{}", e.message);
            Ok(())
        }
        other => Err(TestCaseError::fail(format!(
            "expected verify to fail with {message:?}, got {other:?}"
        ))),
    }
}

/// Proptest's defaults (so `PROPTEST_CASES` applies) but for the random generator: its default,
/// ChaCha, unoptimised, took half of a case's time; XorShift is plenty for generating inputs
/// (this also means `PROPTEST_RNG_ALGORITHM` is not read).
fn config() -> ProptestConfig {
    ProptestConfig {
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Properties 1, 3 and 4, on one signing (the oracle's signing is a good share of a case's
    /// time): what AWS's signer signs, secretsd verifies, and `parse` reads back the credential
    /// scope, signed headers, signature, date and session token that were signed; with any
    /// other secret key, `verify` refuses it; and `check_clock_skew` accepts it less than five
    /// minutes either side of its signing time, and refuses it more than five minutes off, in
    /// AWS's words.
    #[test]
    fn oracle_signed_requests_verify(
        input in input(true),
        wrong_at in any::<Index>(),
        wrong_char in prop::sample::select(vec!['A', 'z', '0', '/', '+', '\u{e9}']),
        inside in -299i64..=299,
        outside in 301i64..=20 * 365 * 86_400,
        later in any::<bool>(),
        millis in 0i64..1000,
    ) {
        let signed = sign_with_oracle(&input);
        let request = signed.wire.request();
        let auth = sigv4::parse(&request);
        prop_assert!(auth.is_ok(), "parse: {:?}", auth.err());
        let auth = auth.unwrap();
        prop_assert_eq!(auth.access_key_id, &input.access_key_id);
        prop_assert_eq!(auth.region, &input.region);
        prop_assert_eq!(auth.service, SERVICE);
        let date = input.signing_time().format("%Y%m%d").to_string();
        prop_assert_eq!(auth.scope_date, &date);
        let amz_date = input.signing_time().format("%Y%m%dT%H%M%SZ").to_string();
        prop_assert_eq!(&*auth.amz_date, &amz_date);
        prop_assert_eq!(signed.wire.header("x-amz-date"), Some(amz_date.as_str()));
        prop_assert_eq!(auth.request_time, input.signing_time());
        let listed: Vec<&str> = auth.signed_headers.iter().map(|h| &**h).collect();
        prop_assert_eq!(listed, signed.signed_headers.clone());
        prop_assert_eq!(auth.signature, &signed.signature);
        prop_assert_eq!(auth.security_token, input.session_token.as_deref());

        let key = sigv4::signing_key(&input.secret, auth.scope_date, auth.region, auth.service);
        let verified = sigv4::verify(&request, &auth, &key);
        prop_assert!(verified.is_ok(), "verify: {}", verified.unwrap_err().message);

        // 3: a wrong secret, one character off the right one (or one longer).
        let mut wrong_secret: Vec<char> = input.secret.chars().collect();
        match wrong_at.index(wrong_secret.len() + 1) {
            i if i == wrong_secret.len() => wrong_secret.push(wrong_char),
            i if wrong_secret[i] == wrong_char => wrong_secret[i] = '-',
            i => wrong_secret[i] = wrong_char,
        }
        let wrong_secret: String = wrong_secret.into_iter().collect();
        expect_mismatch(secretsd_checks(&signed.wire, &wrong_secret), MISMATCH)?;

        // 4: the clock-skew window, a separate step from `verify`. Sub-seconds of the server's
        // clock are ignored (AWS compares whole seconds), so `millis` never moves a time across
        // the edge when whole seconds stay a second inside.
        let signed_at = input.signing_time();
        let at = |seconds: i64| {
            signed_at + TimeDelta::seconds(seconds) + TimeDelta::milliseconds(millis)
        };
        prop_assert_eq!(sigv4::check_clock_skew(&auth, at(inside)), Ok(()));
        prop_assert_eq!(sigv4::check_clock_skew(&auth, at(0)), Ok(()));
        // `now` is `outside` seconds after (the request expired) or before (not yet current)
        // the signing time.
        let (now, words) = if later {
            (at(outside), "Signature expired: ")
        } else {
            (at(-outside), "Signature not yet current: ")
        };
        let refused = sigv4::check_clock_skew(&auth, now);
        prop_assert!(refused.is_err(), "now {now}, signed at {signed_at}");
        let refused = refused.unwrap_err();
        prop_assert_eq!(refused.code, ErrorCode::InvalidSignature);
        prop_assert!(refused.message.starts_with(words), "{}", refused.message);
    }

    /// Property 2: a one-byte change to any signed part fails; every part but the date with
    /// `verify`'s signature mismatch (or, for the body and the payload claim, the claim check).
    #[test]
    fn one_byte_changes_fail(
        input in input(false),
        part in prop::sample::select(vec![
            Part::Method,
            Part::Path,
            Part::Query,
            Part::SignedHeaderValue,
            Part::Body,
            Part::AmzDate,
            Part::Signature,
        ]),
        at in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let signed = sign_with_oracle(&input);
        let (wire, part) = mutate(&signed, input.payload, part, at, pick);
        let (unchanged, result) = secretsd_checks_both(&signed.wire, &wire, &input.secret);
        prop_assert_eq!(unchanged, Ok(()));
        match part {
            // The date is read by `parse` (its shape, the scope's day) before it is signed over,
            // so any step may refuse it.
            Part::AmzDate => prop_assert!(result.is_err(), "{:?}", wire.headers),
            Part::Body if input.payload == Payload::Claimed => {
                expect_mismatch(result, CLAIM_MISMATCH)?;
            }
            Part::SignedHeaderValue => {
                let claim_changed = wire.header("x-amz-content-sha256")
                    != signed.wire.header("x-amz-content-sha256");
                let expected = if claim_changed { CLAIM_MISMATCH } else { MISMATCH };
                expect_mismatch(result, expected)?;
            }
            _ => expect_mismatch(result, MISMATCH)?,
        }
    }
}
