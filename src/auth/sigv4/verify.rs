//! Verifying a request by signing it again and comparing, and signing one as SDKs do.

use super::authorization::Authorization;
use super::canonical::{canonical_request, hex, string_to_sign};
use super::request::{Header, SignedRequest, ALGORITHM, TERMINATOR, UNSIGNED_PAYLOAD};
use super::signing_key::{signing_key, SigningKey};
use crate::error::{ApiError, ApiResult};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Checks the signature with the caller's secret key. Service-agnostic: the scope's service is
/// taken from `auth` (which [`parse`] has already pinned to `secretsmanager`).
pub fn verify<H: Header>(
    req: &SignedRequest<H>,
    auth: &Authorization,
    key: &SigningKey,
) -> ApiResult<()> {
    let payload_hash = payload_hash(req)?;
    let canonical = canonical_request(req, &auth.signed_headers, &payload_hash)?;
    let to_sign = string_to_sign(&auth.amz_date, &auth.scope(), &canonical);
    let expected = hex(&key.sign(to_sign.as_bytes()));
    // Constant time, so response timing does not reveal how much of a guess was right.
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        return Ok(());
    }
    Err(ApiError::invalid_signature(format!(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n"
    )))
}

/// The last line of the canonical request: hex(SHA256(body)), or the client's
/// `x-amz-content-sha256` (JS v3 and .NET send one) once it is known to describe this body —
/// otherwise a valid signature over the claimed hash would authenticate any body.
pub(super) fn payload_hash<H: Header>(req: &SignedRequest<H>) -> ApiResult<String> {
    let body_hash = hex(&Sha256::digest(req.body));
    let mut claims = req.header_values("x-amz-content-sha256").map(str::trim);
    match (claims.next(), claims.next()) {
        (None, _) => Ok(body_hash),
        (Some(UNSIGNED_PAYLOAD), None) => Ok(UNSIGNED_PAYLOAD.to_string()),
        (Some(claim), None) if claim == body_hash => Ok(body_hash),
        _ => Err(ApiError::invalid_signature(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )),
    }
}

/// Signs a request the way SDKs do and returns the `Authorization` header value; for tests and
/// the load generator. `signed_headers` are lower-case names present in `req`; the payload hash
/// is the request's `x-amz-content-sha256` if it has one, else the body's hash.
pub fn sign<H: Header>(
    req: &SignedRequest<H>,
    signed_headers: &[impl AsRef<str>],
    access_key_id: &str,
    secret_access_key: &str,
    amz_date: &str,
    region: &str,
    service: &str,
) -> ApiResult<String> {
    let payload_hash = match req.header("x-amz-content-sha256") {
        Some(claim) => claim.trim().to_string(),
        None => hex(&Sha256::digest(req.body)),
    };
    let canonical = canonical_request(req, signed_headers, &payload_hash)?;
    let date = amz_date.get(..8).unwrap_or_default();
    let scope = format!("{date}/{region}/{service}/{TERMINATOR}");
    let to_sign = string_to_sign(amz_date, &scope, &canonical);
    let key = signing_key(secret_access_key, date, region, service);
    let signature = hex(&key.sign(to_sign.as_bytes()));
    let mut names: Vec<&str> = signed_headers.iter().map(AsRef::as_ref).collect();
    names.sort_unstable();
    Ok(format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={signature}",
        names.join(";")
    ))
}
