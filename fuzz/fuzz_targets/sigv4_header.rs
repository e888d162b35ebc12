//! The SigV4 `Authorization` header parser (`sigv4::parse`) and what the server runs after it:
//! the clock-skew check and signature verification.
//!
//! Input: a raw HTTP/1.1 request head, as on the wire:
//! `POST /?query HTTP/1.1\r\nHost: localhost\r\nAuthorization: AWS4-HMAC-SHA256 …\r\n\r\n<body>`.
//! Header names are lower-cased and values trimmed, as hyper hands them to the server.
//!
//! Properties: no panic; refusals are the three authentication errors; an accepted header
//! satisfies every rule `parse` promises (secretsmanager scope, a valid region, `host` signed,
//! the scope date equal to the request's day); a request dated now passes the skew check and one
//! dated over five minutes away fails it; re-signing the same request with `sigv4::sign` gives
//! a header that parses to the same scope and verifies, and one altered signature digit fails.
#![no_main]

use chrono::TimeDelta;
use libfuzzer_sys::fuzz_target;
use secretsd::auth::sigv4::{self, SignedRequest};
use secretsd::error::ErrorCode;

const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Parsed {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(data: &[u8]) -> Parsed {
    let (head, body) = match data.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&data[..i], &data[i + 4..]),
        None => match data.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &[][..]),
        },
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| {
            (
                name.trim().to_ascii_lowercase(),
                value.trim_matches([' ', '\t']).to_string(),
            )
        })
        .collect();
    Parsed {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.to_vec(),
    }
}

fuzz_target!(|data: &[u8]| {
    let p = parse_request(data);
    let request = SignedRequest {
        method: &p.method,
        path: &p.path,
        query: &p.query,
        headers: &p.headers,
        body: &p.body,
    };
    let auth = match sigv4::parse(&request) {
        Ok(auth) => auth,
        Err(e) => {
            assert!(
                matches!(
                    e.code,
                    ErrorCode::MissingAuthenticationToken
                        | ErrorCode::IncompleteSignature
                        | ErrorCode::InvalidSignature
                ),
                "{e:?}"
            );
            assert_eq!(e.code.status(), 400);
            return;
        }
    };

    // What an accepted header promises.
    assert_eq!(auth.service, "secretsmanager");
    assert!(!auth.access_key_id.is_empty());
    assert!(
        !auth.region.is_empty()
            && auth
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    );
    assert!(auth.signed_headers.iter().any(|h| h == "host"));
    assert!(auth
        .signed_headers
        .iter()
        .all(|h| !h.is_empty() && *h == h.to_ascii_lowercase()));
    assert_eq!(Some(auth.scope_date), auth.amz_date.get(..8));

    // The skew check: now is fine, five minutes either way is fine, more is not.
    let t = auth.request_time;
    sigv4::check_clock_skew(&auth, t).expect("a request dated now is fresh");
    let five = TimeDelta::seconds(300);
    let six = TimeDelta::seconds(360);
    for (delta, fresh) in [(five, true), (-five, true), (six, false), (-six, false)] {
        if let Some(now) = t.checked_add_signed(delta) {
            let result = sigv4::check_clock_skew(&auth, now);
            assert_eq!(result.is_ok(), fresh, "{delta:?}: {result:?}");
            if let Err(e) = result {
                assert_eq!(e.code, ErrorCode::InvalidSignature);
            }
        }
    }

    // The header's own signature, against a made-up key: checking must not panic.
    let key = sigv4::SigningKeyCache::default().get(SECRET_KEY, &auth);
    let _ = sigv4::verify(&request, &auth, &key);

    // Re-sign the request as an SDK would and check it verifies. Not when the Authorization
    // header is itself signed (replacing it changes what was signed), nor when the payload
    // claims are ones `verify` refuses whatever the signature.
    if auth.signed_headers.iter().any(|h| h == "authorization") {
        return;
    }
    let claims: Vec<&str> = p
        .headers
        .iter()
        .filter(|(n, _)| n == "x-amz-content-sha256")
        .map(|(_, v)| v.trim())
        .collect();
    let body_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&p.body));
    let claims_ok = match claims[..] {
        [] => true,
        [one] => one == "UNSIGNED-PAYLOAD" || one == body_hash,
        _ => false,
    };
    let signed = sigv4::sign(
        &request,
        &auth.signed_headers,
        &auth.access_key_id,
        SECRET_KEY,
        &auth.amz_date,
        &auth.region,
        &auth.service,
    );
    let Ok(header) = signed else {
        // Only a signed header missing from the request stops signing; verification must then
        // fail as well, whatever the signature.
        let e = sigv4::verify(&request, &auth, &key).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidSignature);
        return;
    };
    let mut headers = p.headers.clone();
    let slot = headers
        .iter_mut()
        .find(|(n, _)| n == "authorization")
        .expect("parse found it");
    slot.1 = header.clone();
    let resigned = SignedRequest {
        headers: &headers,
        ..request
    };
    let again = sigv4::parse(&resigned).unwrap_or_else(|e| panic!("{header}: {e:?}"));
    assert_eq!(again.access_key_id, auth.access_key_id);
    assert_eq!(again.scope_date, auth.scope_date);
    assert_eq!(again.region, auth.region);
    assert_eq!(again.amz_date, auth.amz_date);
    let (mut a, mut b) = (again.signed_headers.clone(), auth.signed_headers.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let verified = sigv4::verify(&resigned, &again, &key);
    assert_eq!(verified.is_ok(), claims_ok, "{header}: {verified:?}");

    // One wrong hex digit in an otherwise good signature is refused.
    if claims_ok {
        let mut flipped = again.signature.to_string();
        let first = flipped.remove(0);
        flipped.insert(0, if first == '0' { '1' } else { '0' });
        let wrong = sigv4::Authorization {
            signature: &flipped,
            ..again.clone()
        };
        let e = sigv4::verify(&resigned, &wrong, &key).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidSignature);
    }
});
