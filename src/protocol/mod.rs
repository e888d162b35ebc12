//! awsJson1_1, the wire protocol of Secrets Manager (docs/aws-behaviour.md §1): `X-Amz-Target`
//! names the operation, the body is a JSON object, timestamps are epoch seconds, blobs base64, and
//! errors are `{"__type": …, "Message": …}`. Everything that knows the JSON shape of the wire lives
//! here or in the typed inputs/outputs of `api/`.

mod operation;
pub mod shapes;

pub use operation::Operation;

use crate::error::ApiError;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";

/// Decodes a request body into an operation's typed input. An empty body counts as `{}`.
/// Malformed JSON and members of the wrong type are `SerializationException`s, as Coral answers;
/// unknown members are ignored so newer SDKs keep working.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    // Straight into the input type when the body is an object that fits it (every request of a
    // working client); only a body that does not fit goes through a `Value` for the error text.
    let is_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_object {
        if let Ok(input) = serde_json::from_slice(body) {
            return Ok(input);
        }
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::serialization(format!("The request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::serialization(
            "Start of structure or map found where not expected.",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::serialization(format!(
            "The request body does not match the operation's input: {e}"
        ))
    })
}

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
    use crate::error::ErrorCode;
    use http_body_util::BodyExt;

    #[derive(serde::Deserialize, Debug)]
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
