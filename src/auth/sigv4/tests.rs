//! The verifier against AWS's Signature Version 4 test suite, requests as the SDKs sign them,
//! and AWS's error texts.

use super::authorization::*;
use super::canonical::*;
use super::request::*;
use super::signing_key::*;
use super::verify::*;
use crate::error::ErrorCode;
use crate::error::{ApiError, ApiResult};
use chrono::TimeZone;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- AWS's test suite
//
// Data from AWS's Signature Version 4 test suite (aws4_testsuite, 2015-08-30; the `-cl`
// variant below is the suite as maintained in awslabs/aws-c-auth). Every vector shares
// these credentials, date, region and service.

const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_CREDENTIAL: &str =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SUITE_STS: &str =
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n";
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

struct Vector {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    query: &'static str,
    /// The signed request's headers, `Authorization` excluded.
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    /// `SignedHeaders=…, Signature=…` of the published `Authorization` header.
    authorization: &'static str,
    creq: &'static str,
    /// Last line of the published string to sign.
    sts_hash: &'static str,
}

const HOST: (&str, &str) = ("Host", "example.amazonaws.com");
const DATE: (&str, &str) = ("X-Amz-Date", "20150830T123600Z");

const VECTORS: &[Vector] = &[
    Vector {
        name: "get-vanilla",
        method: "GET",
        path: "/",
        query: "",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    },
    Vector {
        name: "post-vanilla",
        method: "POST",
        path: "/",
        query: "",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        creq: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
    },
    Vector {
        name: "post-vanilla-query",
        method: "POST",
        path: "/",
        query: "Param1=value1",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        creq: "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
    },
    Vector {
        name: "get-header-value-trim",
        method: "GET",
        path: "/",
        query: "",
        headers: &[HOST, ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\""), DATE],
        body: b"",
        authorization: "SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
    },
    Vector {
        name: "post-header-key-sort",
        method: "POST",
        path: "/",
        query: "",
        headers: &[HOST, ("My-Header1", "value1"), DATE],
        body: b"",
        authorization: "SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        creq: "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
    },
    Vector {
        name: "post-x-www-form-urlencoded",
        method: "POST",
        path: "/",
        query: "",
        headers: &[("Content-Type", "application/x-www-form-urlencoded"), HOST, DATE],
        body: b"Param1=value1",
        authorization: "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        creq: "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        sts_hash: "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
    },
    Vector {
        // aws-c-auth's edition signs content-length and the body hash header, as JS v3 does.
        name: "post-x-www-form-urlencoded-cl",
        method: "POST",
        path: "/",
        query: "",
        headers: &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            HOST,
            ("Content-Length", "13"),
            DATE,
            ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
        ],
        body: b"Param1=value1",
        authorization: "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
        creq: "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nx-amz-date:20150830T123600Z\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        sts_hash: "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
    },
    Vector {
        name: "get-header-key-duplicate",
        method: "GET",
        path: "/",
        query: "",
        headers: &[HOST, ("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1"), DATE],
        body: b"",
        authorization: "SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
    },
    Vector {
        name: "get-vanilla-query-order-key-case",
        method: "GET",
        path: "/",
        query: "Param2=value2&Param1=value1",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        creq: "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
    },
    Vector {
        name: "get-vanilla-query-order-encoded",
        method: "GET",
        path: "/",
        query: "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
        creq: "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71",
    },
    Vector {
        name: "get-slashes-normalized",
        method: "GET",
        path: "//example//",
        query: "",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
        creq: "GET\n/example/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
    },
    Vector {
        name: "get-slash-dot-slash-normalized",
        method: "GET",
        path: "/./",
        query: "",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    },
    Vector {
        name: "get-relative-relative-normalized",
        method: "GET",
        path: "/example1/example2/../..",
        query: "",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    },
    Vector {
        name: "get-space-normalized",
        method: "GET",
        path: "/example space/",
        query: "",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        creq: "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
    },
    Vector {
        name: "get-utf8",
        method: "GET",
        path: "/\u{1234}",
        query: "",
        headers: &[HOST, DATE],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        creq: "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
    },
    Vector {
        name: "get-vanilla-with-session-token",
        method: "GET",
        path: "/",
        query: "",
        headers: &[
            HOST,
            ("X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"),
            DATE,
        ],
        body: b"",
        authorization: "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
    },
];

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect()
}

fn request<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> SignedRequest<'a> {
    SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers,
        body,
    }
}

#[test]
fn aws_test_suite_vectors() {
    for v in VECTORS {
        let mut h = headers(v.headers);
        h.push((
            "authorization".into(),
            format!("{SUITE_CREDENTIAL}{}", v.authorization),
        ));
        let req = SignedRequest {
            method: v.method,
            path: v.path,
            query: v.query,
            headers: &h,
            body: v.body,
        };
        // The suite's service is "service": parse it without the secretsmanager pin.
        let auth = parse_for_service(&req, "service").unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let creq =
            canonical_request(&req, &auth.signed_headers, &payload_hash(&req).unwrap()).unwrap();
        assert_eq!(creq, v.creq, "{}: canonical request", v.name);
        let sts = string_to_sign(&auth.amz_date, &auth.scope(), &creq);
        assert_eq!(
            sts,
            format!("{SUITE_STS}{}", v.sts_hash),
            "{}: string to sign",
            v.name
        );
        let key = signing_key(SUITE_SECRET, "20150830", "us-east-1", "service");
        assert_eq!(
            hex(&key.sign(sts.as_bytes())),
            auth.signature,
            "{}: signature",
            v.name
        );
        verify(&req, &auth, &key).unwrap_or_else(|e| panic!("{}: {e}", v.name));

        let wrong = signing_key("not the secret", "20150830", "us-east-1", "service");
        let err = verify(&req, &auth, &wrong).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSignature, "{}", v.name);
        assert_eq!(
            err.message,
            format!("{MISMATCH}\n\nThe Canonical String for this request should have been\n'{creq}'\n\nThe String-to-Sign should have been\n'{sts}'\n")
        );
    }
}

#[test]
fn suite_session_token_and_signature_are_parsed() {
    let v = VECTORS
        .iter()
        .find(|v| v.name == "get-vanilla-with-session-token")
        .unwrap();
    let mut h = headers(v.headers);
    h.push((
        "authorization".into(),
        format!("{SUITE_CREDENTIAL}{}", v.authorization),
    ));
    let auth = parse_for_service(&request(&h, b""), "service").unwrap();
    assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
    assert_eq!(auth.scope_date, "20150830");
    assert_eq!(auth.region, "us-east-1");
    assert_eq!(auth.service, "service");
    assert_eq!(
        auth.signed_headers,
        ["host", "x-amz-date", "x-amz-security-token"]
    );
    assert_eq!(auth.amz_date, "20150830T123600Z");
    assert_eq!(
        auth.request_time,
        Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap()
    );
    assert_eq!(auth.security_token, Some(v.headers[1].1));
    assert_eq!(hex(&Sha256::digest(b"")), EMPTY_SHA256);
    assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
}

// ------------------------------------------------------------- SDK-shaped requests

const BODY: &[u8] = br#"{"SecretId":"demo"}"#;
const AMZ_DATE: &str = "20260101T000000Z";

/// Signs `signed` (lower-case names, all present in `pairs`), then appends the
/// `Authorization` header and the unsigned `extra` headers, as an SDK would send them.
fn signed_headers(
    pairs: &[(&str, &str)],
    signed: &[&str],
    extra: &[(&str, &str)],
    body: &[u8],
    secret: &str,
) -> Vec<(String, String)> {
    let mut h = headers(pairs);
    let names: Vec<String> = signed.iter().map(|s| s.to_string()).collect();
    let auth = sign(
        &request(&h, body),
        &names,
        "AKIDTEST",
        secret,
        AMZ_DATE,
        "eu-west-1",
        SERVICE,
    )
    .unwrap();
    h.push(("authorization".into(), auth));
    h.extend(headers(extra));
    h
}

fn check<'a>(
    h: &'a [(String, String)],
    body: &'a [u8],
    secret: &str,
) -> ApiResult<Authorization<'a>> {
    let req = request(h, body);
    let auth = parse(&req)?;
    // Through the cache twice: a cached key must verify exactly as a fresh one.
    let cache = SigningKeyCache::default();
    verify(&req, &auth, &cache.get(secret, &auth))?;
    verify(&req, &auth, &cache.get(secret, &auth))?;
    Ok(auth)
}

/// What botocore sends: four signed headers, and unsigned ones after signing.
fn botocore(body: &[u8]) -> Vec<(String, String)> {
    signed_headers(
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Host", "localhost:4566"),
            ("X-Amz-Date", AMZ_DATE),
            ("X-Amz-Target", "secretsmanager.GetSecretValue"),
            ("Content-Length", "19"),
        ],
        &["content-type", "host", "x-amz-date", "x-amz-target"],
        &[
            ("User-Agent", "Boto3/1.40.0 md/Botocore#1.40.0"),
            (
                "amz-sdk-invocation-id",
                "b9b5b1a4-0000-4000-8000-000000000000",
            ),
            ("amz-sdk-request", "attempt=1"),
        ],
        body,
        "secret",
    )
}

#[test]
fn botocore_request_verifies_with_unsigned_extras() {
    let h = botocore(BODY);
    assert!(h[5].1.contains(
        "Credential=AKIDTEST/20260101/eu-west-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
    ));
    let auth = check(&h, BODY, "secret").unwrap();
    assert_eq!(auth.access_key_id, "AKIDTEST");
    assert_eq!(auth.region, "eu-west-1");
    assert_eq!(auth.security_token, None);

    // Unsigned headers may change freely (proxies add them too).
    let mut h2 = h.clone();
    h2[6].1 = "something else".into();
    h2.push(("x-forwarded-for".into(), "10.0.0.1".into()));
    assert!(check(&h2, BODY, "secret").is_ok());
}

#[test]
fn tampered_body_gets_awss_mismatch_text() {
    let h = botocore(BODY);
    let tampered = br#"{"SecretId":"demO"}"#;
    let err = check(&h, tampered, "secret").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidSignature);
    let creq = format!(
        "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:localhost:4566\nx-amz-date:{AMZ_DATE}\nx-amz-target:secretsmanager.GetSecretValue\n\ncontent-type;host;x-amz-date;x-amz-target\n{}",
        hex::encode(Sha256::digest(tampered))
    );
    let sts = string_to_sign(
        AMZ_DATE,
        "20260101/eu-west-1/secretsmanager/aws4_request",
        &creq,
    );
    assert_eq!(
        err.message,
        format!("{MISMATCH}\n\nThe Canonical String for this request should have been\n'{creq}'\n\nThe String-to-Sign should have been\n'{sts}'\n")
    );
}

#[test]
fn wrong_secret_or_changed_signed_header_is_rejected() {
    let h = botocore(BODY);
    assert_eq!(
        check(&h, BODY, "other").unwrap_err().code,
        ErrorCode::InvalidSignature
    );

    let mut retargeted = h.clone();
    retargeted[3].1 = "secretsmanager.DeleteSecret".into();
    assert_eq!(
        check(&retargeted, BODY, "secret").unwrap_err().code,
        ErrorCode::InvalidSignature
    );

    // A proxy that rewrites the host breaks the signature.
    let mut rehosted = h.clone();
    rehosted[1].1 = "localhost".into();
    assert_eq!(
        check(&rehosted, BODY, "secret").unwrap_err().code,
        ErrorCode::InvalidSignature
    );

    let mut garbled = h.clone();
    let sig_at = garbled[5].1.len() - 1;
    garbled[5].1.replace_range(sig_at.., "x");
    assert_eq!(
        check(&garbled, BODY, "secret").unwrap_err().code,
        ErrorCode::InvalidSignature
    );

    let mut dropped = h;
    dropped.remove(3);
    let err = check(&dropped, BODY, "secret").unwrap_err();
    assert_eq!(
        err,
        ApiError::invalid_signature(
            "Header 'x-amz-target' is listed in SignedHeaders but is not present in the request."
        )
    );
}

#[test]
fn session_token_is_signed_and_reported() {
    let h = signed_headers(
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Host", "127.0.0.1:4566"),
            ("X-Amz-Date", AMZ_DATE),
            ("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLE"),
            ("X-Amz-Target", "secretsmanager.ListSecrets"),
        ],
        &[
            "content-type",
            "host",
            "x-amz-date",
            "x-amz-security-token",
            "x-amz-target",
        ],
        &[],
        b"{}",
        "secret",
    );
    let auth = check(&h, b"{}", "secret").unwrap();
    assert_eq!(auth.security_token, Some("FwoGZXIvYXdzEXAMPLE"));
}

/// The JS v3 header set, with `x-amz-content-sha256` signed.
fn js_v3(content_sha256: &str, body: &[u8]) -> Vec<(String, String)> {
    signed_headers(
        &[
            (
                "amz-sdk-invocation-id",
                "0a4c7b1e-0000-4000-8000-000000000000",
            ),
            ("amz-sdk-request", "attempt=1; max=3"),
            ("content-length", "19"),
            ("content-type", "application/x-amz-json-1.1"),
            ("host", "localhost:4566"),
            ("x-amz-content-sha256", content_sha256),
            ("x-amz-date", AMZ_DATE),
            ("x-amz-target", "secretsmanager.GetSecretValue"),
            ("x-amz-user-agent", "aws-sdk-js/3.900.0"),
        ],
        &[
            "amz-sdk-invocation-id",
            "amz-sdk-request",
            "content-length",
            "content-type",
            "host",
            "x-amz-content-sha256",
            "x-amz-date",
            "x-amz-target",
            "x-amz-user-agent",
        ],
        &[("user-agent", "aws-sdk-js/3.900.0 ua/2.1 os/linux")],
        body,
        "secret",
    )
}

#[test]
fn js_content_sha256_must_describe_the_body() {
    let body_hash = hex::encode(Sha256::digest(BODY));
    assert!(check(&js_v3(&body_hash, BODY), BODY, "secret").is_ok());

    // Validly signed over a hash of another body: the signature alone would pass.
    let other = hex::encode(Sha256::digest(b"other"));
    let err = check(&js_v3(&other, BODY), BODY, "secret").unwrap_err();
    assert_eq!(
        err,
        ApiError::invalid_signature(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    );

    // Signed over the right hash, body swapped afterwards.
    let err = check(&js_v3(&body_hash, BODY), b"{}", "secret").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidSignature);

    // UNSIGNED-PAYLOAD is taken literally.
    assert!(check(&js_v3("UNSIGNED-PAYLOAD", BODY), BODY, "secret").is_ok());
}

// ----------------------------------------------------------------------- parse

const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd";

fn parse_with(
    authorization: Option<&str>,
    date: Option<(&str, &str)>,
) -> ApiResult<Authorization<'static>> {
    let mut h = vec![("host".to_string(), "localhost".to_string())];
    if let Some(a) = authorization {
        h.push(("authorization".into(), a.into()));
    }
    if let Some((name, value)) = date {
        h.push((name.into(), value.into()));
    }
    // The parsed header borrows the request; a test's few headers may live until the end.
    parse(&request(Vec::leak(h), b""))
}

fn parse_err(authorization: &str) -> ApiError {
    parse_with(Some(authorization), Some(("x-amz-date", AMZ_DATE))).unwrap_err()
}

#[test]
fn parse_accepts_sdk_headers() {
    let ok = parse_with(Some(GOOD), Some(("x-amz-date", AMZ_DATE))).unwrap();
    assert_eq!(ok.access_key_id, "AKIDTEST");
    assert_eq!(ok.scope_date, "20260101");
    assert_eq!(ok.region, "us-east-1");
    assert_eq!(ok.service, "secretsmanager");
    assert_eq!(ok.signed_headers, ["host", "x-amz-date"]);
    assert_eq!(ok.signature, "abcd");
    assert_eq!(ok.amz_date, AMZ_DATE);

    // No spaces after the commas, as some hand-written clients send it.
    let tight = GOOD.replace(", ", ",");
    assert!(parse_with(Some(&tight), Some(("x-amz-date", AMZ_DATE))).is_ok());

    // Date (RFC 1123) stands in for X-Amz-Date, and is formatted for the string to sign.
    let ok = parse_with(Some(GOOD), Some(("date", "Thu, 01 Jan 2026 00:00:00 GMT"))).unwrap();
    assert_eq!(ok.amz_date, AMZ_DATE);
    assert_eq!(
        ok.request_time,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    );
}

#[test]
fn parse_errors_have_awss_codes_and_texts() {
    let err = parse_with(None, Some(("x-amz-date", AMZ_DATE))).unwrap_err();
    assert_eq!(err.code, ErrorCode::MissingAuthenticationToken);
    assert_eq!(err.message, "Missing Authentication Token");

    let incomplete = |message: &str| ApiError::incomplete_signature(message);
    let invalid = |message: &str| ApiError::invalid_signature(message);

    assert_eq!(
        parse_err("AWS4-HMAC-SHA256 Credential=a/b"),
        incomplete("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=a/b")
    );
    let no_signature = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host";
    assert_eq!(
        parse_with(Some(no_signature), None).unwrap_err(),
        incomplete(&format!("Authorization header requires 'Signature' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={no_signature}"))
    );
    assert_eq!(
        parse_err("Basic dXNlcjpwYXNz"),
        incomplete("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=Basic dXNlcjpwYXNz")
    );
    assert_eq!(
        parse_err("AWS4-HMAC-SHA256 garbage"),
        incomplete("'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 garbage'.")
    );
    assert_eq!(
        parse_err(&GOOD.replace("AKIDTEST/", "AKID/TEST/")),
        incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/TEST/20260101/us-east-1/secretsmanager/aws4_request'")
    );
    assert_eq!(
        parse_err(&GOOD.replace("aws4_request", "aws4_requests")),
        incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_requests'. ")
    );
    assert_eq!(
        parse_err(&GOOD.replace("AKIDTEST/", "/")),
        incomplete("Credential must start with a non-empty access key id, got '/20260101/us-east-1/secretsmanager/aws4_request'")
    );
    assert_eq!(
        parse_err(&GOOD.replace("host;", ";")),
        incomplete(&format!(
            "SignedHeaders must be a ';'-separated list of header names. Authorization={}",
            GOOD.replace("host;", ";")
        ))
    );
    assert_eq!(
        parse_err(&GOOD.replace("/secretsmanager/", "/s3/")),
        invalid("Credential should be scoped to correct service: 'secretsmanager'. ")
    );
    assert_eq!(
        parse_err(&GOOD.replace("us-east-1", "US_EAST")),
        invalid("Credential should be scoped to a valid region, not 'US_EAST'. ")
    );
    assert_eq!(
        parse_err(&GOOD.replace("us-east-1", "")),
        invalid("Credential should be scoped to a valid region, not ''. ")
    );
    assert_eq!(
        parse_with(Some(GOOD), Some(("x-amz-date", "20260102T000000Z"))).unwrap_err(),
        invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20260102', from '20260102T000000Z'.")
    );
    assert_eq!(
        parse_with(Some(GOOD), Some(("x-amz-date", "2026-01-01T00:00:00Z"))).unwrap_err(),
        incomplete("Date must be in ISO-8601 'basic format'. Got '2026-01-01T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601")
    );
    assert_eq!(
        parse_err(&GOOD.replace("host;", "")),
        invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    );
}

#[test]
fn nothing_panics_on_odd_input() {
    let long = "A".repeat(100_000);
    let authorizations = [
        "",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 ",
        "AWS4-HMAC-SHA256 ,,,=,",
        "AWS4-HMAC-SHA256X Credential=a",
        "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;, Signature=",
        "AWS4-HMAC-SHA256 Credential=é/ü/ö/ä/ß, SignedHeaders=hóst, Signature=ẞ",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date;x-amz-date, Signature=ff",
        &long,
        &format!("AWS4-HMAC-SHA256 Credential={long}, SignedHeaders={long}, Signature={long}"),
    ];
    let dates = [
        "",
        "garbage",
        "20260101T000000",
        "2026010１T000000Z",
        "20261399T996199Z",
        "99991231T235959Z",
        "00000101T000000Z",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 32 Foo 2026 25:61:61 XYZ",
        &long,
    ];
    for a in authorizations {
        for d in dates {
            for name in ["x-amz-date", "date"] {
                if let Ok(auth) = parse_with(Some(a), Some((name, d))) {
                    let _ = check_clock_skew(&auth, Utc::now());
                    let _ = check_clock_skew(&auth, DateTime::<Utc>::MIN_UTC);
                    let _ = check_clock_skew(&auth, DateTime::<Utc>::MAX_UTC);
                }
            }
        }
    }
    let h = headers(&[
        ("host", "h"),
        ("x-amz-content-sha256", "é"),
        ("x-amz-content-sha256", ""),
    ]);
    for path in ["", "/", "//", "/../..", "/%", "/%E1%8", "/ü/./../ß/", &long] {
        for query in ["", "&", "=&=", "a=%zz%&%%=%", "ü=ß&ü", &long] {
            let req = SignedRequest {
                method: "",
                path,
                query,
                headers: &h,
                body: &[0xff, 0],
            };
            let names = vec!["host".to_string(), "missing".to_string()];
            let _ = canonical_request(&req, &names, "");
            let _ = canonical_request(&req, &names[..1], "");
            let _ = sign(&req, &names[..1], "", "", "é", "", "");
        }
    }
}

#[test]
fn uri_decoding_is_lenient() {
    assert_eq!(uri_decode("%41%zz%"), "A%zz%");
    assert_eq!(uri_decode("%E1%88%B4"), "\u{1234}");
    assert_eq!(uri_decode("%E1%8"), "\u{FFFD}%8");
    assert_eq!(uri_decode("a%2Fb%2fc"), "a/b/c");
    assert_eq!(canonical_query("a=b%20c&a=b c"), "a=b%20c&a=b%20c");
    assert_eq!(canonical_query("flag"), "flag=");
    // The path as received is encoded once more, as non-S3 SDKs double-encode.
    assert_eq!(canonical_uri("/a%20b"), "/a%2520b");
}

// ------------------------------------------------------------------ clock skew

#[test]
fn clock_skew_uses_awss_texts() {
    let auth = parse_with(Some(GOOD), Some(("x-amz-date", AMZ_DATE))).unwrap();
    let at = |h, m, s| Utc.with_ymd_and_hms(2026, 1, 1, h, m, s).unwrap();

    assert_eq!(
        check_clock_skew(&auth, at(0, 10, 0)).unwrap_err(),
        ApiError::invalid_signature("Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)")
    );
    assert_eq!(
        check_clock_skew(&auth, at(0, 5, 1)).unwrap_err(),
        ApiError::invalid_signature("Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z (20260101T000501Z - 5 min.)")
    );
    let earlier = Utc.with_ymd_and_hms(2025, 12, 31, 23, 50, 0).unwrap();
    assert_eq!(
        check_clock_skew(&auth, earlier).unwrap_err(),
        ApiError::invalid_signature("Signature not yet current: 20260101T000000Z is still later than 20251231T235500Z (20251231T235000Z + 5 min.)")
    );
    assert_eq!(
        check_clock_skew(
            &auth,
            Utc.with_ymd_and_hms(2025, 12, 31, 23, 54, 59).unwrap()
        )
        .unwrap_err()
        .code,
        ErrorCode::InvalidSignature
    );
    // The window's edges are inside; sub-second server time does not matter.
    assert!(check_clock_skew(&auth, at(0, 5, 0)).is_ok());
    assert!(check_clock_skew(&auth, at(0, 5, 0) + TimeDelta::milliseconds(999)).is_ok());
    assert!(check_clock_skew(
        &auth,
        Utc.with_ymd_and_hms(2025, 12, 31, 23, 55, 0).unwrap()
    )
    .is_ok());
    assert!(check_clock_skew(&auth, at(0, 0, 0)).is_ok());
}
