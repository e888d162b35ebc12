//! Parsing the `Authorization` header and the request's date, and the clock-skew check, with
//! AWS's error texts.

use super::request::{
    Header, SignedRequest, ALGORITHM, AMZ_DATE_FORMAT, MAX_SKEW_SECONDS, SERVICE, TERMINATOR,
};
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use std::borrow::Cow;

/// A parsed `Authorization: AWS4-HMAC-SHA256 ...` header plus the request date, borrowing the
/// request's text.
#[derive(Debug, Clone)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    /// `YYYYMMDD` from the credential scope.
    pub scope_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// As listed by the client, lower-case.
    pub signed_headers: Vec<Cow<'a, str>>,
    pub signature: &'a str,
    /// From `X-Amz-Date` (or `Date`, RFC 1123, when there is no `X-Amz-Date`).
    pub request_time: DateTime<Utc>,
    /// The `X-Amz-Date` text (`YYYYMMDD'T'HHMMSS'Z'`) the string to sign starts with; when the
    /// client sent only `Date`, that date in this format.
    pub amz_date: Cow<'a, str>,
    /// The `X-Amz-Security-Token` header, if present.
    pub security_token: Option<&'a str>,
}

impl Authorization<'_> {
    pub(super) fn scope(&self) -> String {
        let mut scope = String::with_capacity(64);
        for part in [self.scope_date, self.region, self.service] {
            scope.push_str(part);
            scope.push('/');
        }
        scope.push_str(TERMINATOR);
        scope
    }
}

/// Parses the `Authorization` header and the request date, with AWS's error texts
/// (docs/aws-behaviour.md §6.4), and insists on the `secretsmanager` service.
pub fn parse<'a, H: Header>(req: &SignedRequest<'a, H>) -> ApiResult<Authorization<'a>> {
    parse_for_service(req, SERVICE)
}

pub(super) fn parse_for_service<'a, H: Header>(
    req: &SignedRequest<'a, H>,
    expected_service: &str,
) -> ApiResult<Authorization<'a>> {
    let raw = req
        .header("authorization")
        .ok_or_else(ApiError::missing_authentication_token)?;
    // Another scheme ("Basic …", "Bearer …") has none of the three parameters.
    let params = match raw.strip_prefix(ALGORITHM) {
        Some(rest) if rest.is_empty() || rest.starts_with(' ') => rest,
        _ => "",
    };

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(ApiError::incomplete_signature(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{raw}'."
            )));
        };
        match key.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed_headers = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let x_amz_date = req.header("x-amz-date");
    let http_date = req.header("date");

    let mut missing = String::new();
    for (name, absent) in [
        ("Credential", credential.is_none()),
        ("Signature", signature.is_none()),
        ("SignedHeaders", signed_headers.is_none()),
    ] {
        if absent {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if x_amz_date.is_none() && http_date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature), true) =
        (credential, signed_headers, signature, missing.is_empty())
    else {
        return Err(ApiError::incomplete_signature(format!(
            "{missing}Authorization={raw}"
        )));
    };

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = scope[..] else {
        return Err(ApiError::incomplete_signature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if access_key_id.is_empty() {
        return Err(ApiError::incomplete_signature(format!(
            "Credential must start with a non-empty access key id, got '{credential}'"
        )));
    }
    if terminator != TERMINATOR {
        return Err(ApiError::incomplete_signature(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'. "
        )));
    }
    if service != expected_service {
        return Err(ApiError::invalid_signature(format!(
            "Credential should be scoped to correct service: '{expected_service}'. "
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

    // X-Amz-Date wins over Date; an unparsable X-Amz-Date is an error, not a fall-back.
    let (date_text, parsed) = match (x_amz_date, http_date) {
        (Some(text), _) => (text, parse_amz_date(text.trim())),
        (None, Some(text)) => (text, parse_http_date(text.trim())),
        (None, None) => ("", None), // reported above already
    };
    let Some(request_time) = parsed else {
        return Err(ApiError::incomplete_signature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{date_text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    // The string to sign uses the header text itself; re-formatting could differ from it.
    let amz_date = match x_amz_date {
        Some(text) => Cow::Borrowed(text.trim()),
        None => Cow::Owned(request_time.format(AMZ_DATE_FORMAT).to_string()),
    };
    // `amz_date` is in basic format either way, so its first eight characters are the day.
    let request_day = amz_date.get(..8).unwrap_or_default();
    if scope_date != request_day {
        return Err(ApiError::invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{request_day}', from '{amz_date}'."
        )));
    }

    let signed_headers: Vec<Cow<str>> = signed_headers
        .split(';')
        .map(str::trim)
        .map(|h| {
            if h.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(h.to_ascii_lowercase())
            } else {
                Cow::Borrowed(h)
            }
        })
        .collect();
    if signed_headers.iter().any(|h| h.is_empty()) {
        return Err(ApiError::incomplete_signature(format!(
            "SignedHeaders must be a ';'-separated list of header names. Authorization={raw}"
        )));
    }
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(ApiError::invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }

    Ok(Authorization {
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers,
        signature,
        request_time,
        amz_date,
        security_token: req.header("x-amz-security-token"),
    })
}

/// `20150830T123600Z`, exactly: SDKs never send another shape, and chrono alone would also
/// accept one-digit fields, which the string to sign could then not reproduce.
pub(super) fn parse_amz_date(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let shaped = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    if !shaped {
        return None;
    }
    // By hand: chrono's format-string parser is costly for a step every request takes.
    let number = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'))
    };
    let date = chrono::NaiveDate::from_ymd_opt(number(0..4) as i32, number(4..6), number(6..8))?;
    let time = chrono::NaiveTime::from_hms_opt(number(9..11), number(11..13), number(13..15))?;
    Some(NaiveDateTime::new(date, time).and_utc())
}

/// An HTTP `Date` header (RFC 1123, `Sun, 30 Aug 2015 12:36:00 GMT`).
pub(super) fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Rejects requests dated more than five minutes from `now`, in AWS's words
/// (docs/aws-behaviour.md §6.3). A separate step from [`verify`] because the signature itself is
/// computed with the request's own date.
pub fn check_clock_skew(auth: &Authorization, now: DateTime<Utc>) -> ApiResult<()> {
    // AWS prints whole seconds; compare on the same footing so the text never shows equal times.
    let now = now.trunc_subsecs(0);
    let window = TimeDelta::seconds(MAX_SKEW_SECONDS);
    let earliest = now.checked_sub_signed(window).unwrap_or(now);
    let latest = now.checked_add_signed(window).unwrap_or(now);
    let fmt = |t: DateTime<Utc>| t.format(AMZ_DATE_FORMAT).to_string();
    if auth.request_time < earliest {
        return Err(ApiError::invalid_signature(format!(
            "Signature expired: {} is now earlier than {} ({} - 5 min.)",
            auth.amz_date,
            fmt(earliest),
            fmt(now)
        )));
    }
    if auth.request_time > latest {
        return Err(ApiError::invalid_signature(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            auth.amz_date,
            fmt(latest),
            fmt(now)
        )));
    }
    Ok(())
}
