//! AWS Signature Version 4 (AWS4-HMAC-SHA256) verification for awsJson requests
//! (docs/aws-behaviour.md §6).
//!
//! There is no "verify" primitive in SigV4: the server re-signs the request it received and
//! compares. Everything here is a pure function of its inputs — no HTTP library, no clock (the
//! caller passes "now") — so the whole algorithm is pinned by AWS's published test vectors.
//!
//! Pitfalls this module is written around (AWS's algorithm: docs/aws-behaviour.md §6.2):
//! * Re-sign over **exactly** the headers the client listed in `SignedHeaders`. SDKs sign
//!   different sets and also send unsigned headers (`user-agent`, `amz-sdk-invocation-id`, …);
//!   a fixed deny/allow list falsely rejects some client.
//! * Sign with the time from `X-Amz-Date`, never "now"; freshness is a separate check
//!   ([`check_clock_skew`]) so that its error texts can be AWS's.
//! * A client-signed `x-amz-content-sha256` is just a claim: the signature covers the claim, not
//!   the body, so the claim is checked against the body actually received.
//! * `host` must be signed, or a captured request could be replayed against another endpoint.
//! * Only [`parse`] insists on the `secretsmanager` service; the signature check itself is
//!   service-agnostic, which is what lets AWS's generic test suite (service `service`) pin it.

mod authorization;
mod canonical;
mod request;
mod signing_key;
mod verify;

#[cfg(test)]
mod tests;

pub use authorization::{check_clock_skew, parse, Authorization};
pub(crate) use canonical::uri_decode;
pub use canonical::{canonical_request, string_to_sign};
pub use request::{Header, SignedRequest};
pub use signing_key::{signing_key, SigningKey, SigningKeyCache};
pub use verify::{sign, verify};
