//! The request as the verifier sees it, whatever the HTTP library, and the scheme's fixed names.

pub(super) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(super) const SERVICE: &str = "secretsmanager";
pub(super) const TERMINATOR: &str = "aws4_request";
pub(super) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub(super) const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// AWS JSON services, Secrets Manager included, accept requests dated within five minutes of
/// their clock (docs/aws-behaviour.md §6.3).
pub(super) const MAX_SKEW_SECONDS: i64 = 5 * 60;

/// What the verifier needs from an HTTP request, independent of the HTTP library.
///
/// Headers are any pairs of string-likes: the server lends the text of its header map (so no
/// request copies every header into owned strings), tests own theirs.
pub struct SignedRequest<'a, H = (String, String)> {
    pub method: &'a str,
    /// The raw path as received, e.g. `/`.
    pub path: &'a str,
    /// The raw query string without `?`, usually empty.
    pub query: &'a str,
    /// Header names lower-cased, values as received, in arrival order; a name may repeat.
    pub headers: &'a [H],
    pub body: &'a [u8],
}

/// One header of a [`SignedRequest`]: a lower-case name and the value as received.
pub trait Header {
    fn name(&self) -> &str;
    fn value(&self) -> &str;
}

impl<N: AsRef<str>, V: AsRef<str>> Header for (N, V) {
    fn name(&self) -> &str {
        self.0.as_ref()
    }
    fn value(&self) -> &str {
        self.1.as_ref()
    }
}

impl<'a, H: Header> SignedRequest<'a, H> {
    pub(super) fn header_values<'h>(&self, name: &'h str) -> impl Iterator<Item = &'a str> + 'h
    where
        'a: 'h,
    {
        self.headers
            .iter()
            .filter(move |h| h.name() == name)
            .map(Header::value)
    }

    pub(super) fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|h| h.name() == name)
            .map(Header::value)
    }
}
