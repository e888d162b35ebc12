//! awsJson1_1, the wire protocol of Secrets Manager (docs/aws-behaviour.md §1): `X-Amz-Target`
//! names the operation, the body is a JSON object, timestamps are epoch seconds, blobs base64, and
//! errors are `{"__type": …, "Message": …}`. Everything that knows the JSON shape of the wire lives
//! here or in the typed inputs/outputs of `api/`.

mod input;
mod operation;
pub mod shapes;

pub use input::{decode, Body, Input};
pub use operation::Operation;

use crate::error::ApiError;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::Serialize;

pub const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";

/// Encodes an operation's typed output.
pub fn encode<T: Serialize>(output: &T) -> Result<Bytes, ApiError> {
    // Most answers are a few hundred bytes: one allocation instead of growing from 128.
    let mut body = Vec::with_capacity(512);
    serde_json::to_writer(&mut body, output)
        .map(|()| Bytes::from(body))
        .map_err(|e| ApiError::internal(format!("cannot encode response: {e}")))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON));
    response
}

/// A 200 answer. `body` may be empty (TagResource/UntagResource answer with no body).
pub fn success_response(body: Bytes) -> Response<Full<Bytes>> {
    json_response(StatusCode::OK, body)
}

/// The one place an `ApiError` becomes bytes on the wire. `X-Amzn-ErrorType` is sent equal to
/// `__type` because aws-sdk-rust reads the header before the body (docs/aws-behaviour.md §1.4).
pub fn error_response(error: &ApiError) -> Response<Full<Bytes>> {
    let mut body = serde_json::Map::new();
    body.insert("__type".into(), error.code.as_str().into());
    if !error.message.is_empty() {
        let key = if error.code.lowercase_message_key() {
            "message"
        } else {
            "Message"
        };
        body.insert(key.into(), error.message.clone().into());
    }
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let status =
        StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, Bytes::from(bytes));
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static(error.code.as_str()),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{messages, ErrorCode};
    use http_body_util::BodyExt;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Input {
        secret_id: Option<String>,
    }

    #[test]
    fn empty_body_is_an_empty_object_and_unknown_members_are_ignored() {
        let input: Input = decode(b"").unwrap();
        assert!(input.secret_id.is_none());
        let input: Input = decode(br#"{"SecretId":"a","Future":1}"#).unwrap();
        assert_eq!(input.secret_id.as_deref(), Some("a"));
        // Unknown members a serde_json `Value` would refuse are ignored like any other.
        for body in [
            &br#"{"SecretId":"a","Future":1e400}"#[..],
            br#"{"$serde_json::private::RawValue":4,"SecretId":"a"}"#,
        ] {
            let input: Input = decode(body).unwrap();
            assert_eq!(input.secret_id.as_deref(), Some("a"));
        }
        // A repeated member takes its last value, on the fallback path.
        let input: Input = decode(br#"{"SecretId":"a","SecretId":"b"}"#).unwrap();
        assert_eq!(input.secret_id.as_deref(), Some("b"));
    }

    #[test]
    fn malformed_or_mistyped_json_is_a_serialization_error() {
        for body in [&b"{"[..], b"[1]", br#"{"SecretId":5}"#, b"\xff\xfe"] {
            assert_eq!(
                decode::<Input>(body).unwrap_err().code,
                ErrorCode::Serialization
            );
        }
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Typed {
        secret_id: Option<String>,
        max_results: Option<i64>,
        tags: Option<Vec<Input>>,
        secret_binary: Option<shapes::Blob>,
    }

    #[test]
    fn a_body_parsed_first_decodes_as_the_raw_body_does() {
        let bodies: &[&[u8]] = &[
            b"",
            b"  \n",
            b"{}",
            br#"{"SecretId":"a","MaxResults":3,"Tags":[{"SecretId":"k"}]}"#,
            br#"{"SecretId":"a","SecretId":"b"}"#,
            br#"{"SecretId":"a","Future":1e400}"#,
            br#"{"$serde_json::private::RawValue":4,"SecretId":"a"}"#,
            br#"{"SecretId":5}"#,
            br#"{"MaxResults":1.5}"#,
            br#"{"MaxResults":"3"}"#,
            br#"{"MaxResults":18446744073709551616}"#,
            br#"{"Tags":{}}"#,
            br#"{"Tags":[1]}"#,
            br#"{"SecretBinary":"***"}"#,
            br#"{"SecretId":"a""#,
            b"{",
            b"[1]",
            b"null",
            b"\"text\"",
            b"\xff\xfe",
            br#"{"SecretId":"a"} trailing"#,
        ];
        // The errors of a decoder that reads a body through an owned `Value`.
        fn through_owned_value(body: &[u8]) -> Result<Typed, ApiError> {
            let body = if input::is_blank(body) {
                b"{}".as_slice()
            } else {
                body
            };
            if let Ok(input) = serde_json::from_slice(body) {
                return Ok(input);
            }
            let value: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| input::not_json(&e))?;
            if !value.is_object() {
                return Err(ApiError::serialization(messages::NOT_A_STRUCTURE));
            }
            serde_json::from_value(value).map_err(|e| {
                ApiError::serialization(format!(
                    "The request body does not match the operation's input: {e}"
                ))
            })
        }
        for body in bodies {
            let raw = decode::<Typed>(body);
            assert_eq!(
                raw,
                through_owned_value(body),
                "{}",
                String::from_utf8_lossy(body)
            );
            let parsed = Body::parsed(body).decode::<Typed>();
            assert_eq!(parsed, raw, "{}", String::from_utf8_lossy(body));
            assert_eq!(Body::raw(body).decode::<Typed>(), raw);
        }
        assert!(Body::parsed(b"").members().is_none());
        assert!(Body::parsed(b"[1]").members().is_none());
        assert_eq!(
            Body::parsed(br#"{"A":1}"#).members().map(|m| m.len()),
            Some(1)
        );
    }

    #[tokio::test]
    async fn errors_have_awss_shape() {
        let response = error_response(&ApiError::secret_not_found());
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "ResourceNotFoundException"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            &body[..],
            br#"{"Message":"Secrets Manager can't find the specified secret.","__type":"ResourceNotFoundException"}"#
        );
        let body = error_response(&ApiError::unrecognized_client())
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert!(
            body.starts_with(br#"{"__type":"UnrecognizedClientException","message""#)
                || body.starts_with(br#"{"message""#)
        );
    }
}
