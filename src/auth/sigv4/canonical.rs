//! The canonical request and the string to sign: what both sides hash.

use super::request::{Header, SignedRequest, ALGORITHM};
use crate::error::{ApiError, ApiResult};
use sha2::{Digest, Sha256};

/// The canonical request over `signed_headers` (lower-case names as the client listed them;
/// they are sorted here as every SDK does). All values of a repeated header are joined with
/// `,` in arrival order. A listed header that is absent fails verification.
pub fn canonical_request<H: Header>(
    req: &SignedRequest<H>,
    signed_headers: &[impl AsRef<str>],
    payload_hash: &str,
) -> ApiResult<String> {
    let mut names: Vec<&str> = signed_headers.iter().map(AsRef::as_ref).collect();
    names.sort_unstable();
    // Written into one buffer: this runs for every request.
    let mut out = String::with_capacity(512);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query));
    out.push('\n');
    for name in &names {
        out.push_str(name);
        out.push(':');
        let mut values = req.header_values(name).peekable();
        if values.peek().is_none() {
            return Err(ApiError::invalid_signature(format!(
                "Header '{name}' is listed in SignedHeaders but is not present in the request."
            )));
        }
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_canonical_value(&mut out, value);
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// A header value trimmed, with inner runs of whitespace collapsed to one space.
fn push_canonical_value(out: &mut String, value: &str) {
    for (i, word) in value.split_ascii_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// The path with empty, `.` and `..` segments resolved, each segment then URI-encoded once
/// more. Non-S3 SDKs encode the (already encoded) request path a second time, so encoding the
/// path *as received* once reproduces their string; `/` stays `/`.
pub(super) fn canonical_uri(path: &str) -> String {
    if path == "/" {
        return path.to_string(); // every Secrets Manager request
    }
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
    let encoded: Vec<String> = segments.iter().map(|s| uri_encode(s)).collect();
    let mut out = format!("/{}", encoded.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Query parameters decoded, re-encoded (so `%41` and `A` agree), and sorted by encoded name,
/// then value — as pairs, not as `k=v` strings (`Param` sorts before `Param-3`).
pub(super) fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(&uri_decode(k)), uri_encode(&uri_decode(v)))
        })
        .collect();
    pairs.sort_unstable();
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    joined.join("&")
}

/// RFC 3986 encoding of every byte but the unreserved characters, with upper-case hex.
pub(super) fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes. Lenient: a malformed escape is kept as it is, and bytes that do not
/// form UTF-8 become U+FFFD.
pub(crate) fn uri_decode(text: &str) -> String {
    fn hex_digit(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_digit);
            let lo = bytes.get(i + 2).copied().and_then(hex_digit);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex(SHA256(canonical request))>`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let digest = hex(&Sha256::digest(canonical_request.as_bytes()));
    let mut out = String::with_capacity(ALGORITHM.len() + amz_date.len() + scope.len() + 67);
    for part in [ALGORITHM, amz_date, scope] {
        out.push_str(part);
        out.push('\n');
    }
    out.push_str(&digest);
    out
}

/// Lower-case hex. `hex::encode` builds its string a char at a time, and every request
/// hex-encodes three digests.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}
