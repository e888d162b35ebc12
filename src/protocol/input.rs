//! A request's input in two steps, as a command is parsed and then applied: the wire shape
//! decodes (`decode`, every member optional as the wire allows), then `Input::validate` checks
//! it once, in AWS's order, into the request the operation runs, whose required members are
//! plain values.

use crate::error::{messages, ApiError, ApiResult};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// An operation's wire input and the checks that make it a request.
pub trait Input: DeserializeOwned {
    /// The checked request the operation takes.
    type Valid;

    /// Every check that needs nothing but the request itself, in the order AWS applies them:
    /// Coral's constraints (reported together), then the rules that follow them.
    fn validate(self) -> ApiResult<Self::Valid>;
}

/// Decodes a request body into an operation's typed input. An empty body counts as `{}`.
/// Malformed JSON and members of the wrong type are `SerializationException`s, as Coral answers;
/// unknown members are ignored so newer SDKs keep working.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if is_blank(body) {
        b"{}".as_slice()
    } else {
        body
    };
    // Straight into the input type when the body is an object that fits it (every request of a
    // working client); only a body that does not fit goes through a `Value` for the error text.
    if starts_object(body) {
        if let Ok(input) = serde_json::from_slice(body) {
            return Ok(input);
        }
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| not_json(&e))?;
    decode_value(&value)
}

/// The typed input from a body already parsed: only an object can be one.
fn decode_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::serialization(messages::NOT_A_STRUCTURE));
    }
    T::deserialize(value).map_err(|e| {
        ApiError::serialization(format!(
            "The request body does not match the operation's input: {e}"
        ))
    })
}

/// A request body, read once. `Raw` decodes straight into the input type; `Parsed` was read into
/// a JSON value because something had to look at its members before the input type was known
/// (the condition keys of policy evaluation), and the input is read from that value.
pub enum Body<'a> {
    Raw(&'a [u8]),
    Parsed {
        raw: &'a [u8],
        blank: bool,
        value: Result<Value, serde_json::Error>,
    },
}

impl<'a> Body<'a> {
    pub fn raw(body: &'a [u8]) -> Body<'a> {
        Body::Raw(body)
    }

    pub fn parsed(body: &'a [u8]) -> Body<'a> {
        let blank = is_blank(body);
        let text = if blank { b"{}".as_slice() } else { body };
        Body::Parsed {
            raw: body,
            blank,
            value: serde_json::from_slice(text),
        }
    }

    /// The members of a body that is a JSON object; `None` for a blank body or any other.
    pub fn members(&self) -> Option<&Map<String, Value>> {
        match self {
            Body::Parsed {
                blank: false,
                value: Ok(Value::Object(members)),
                ..
            } => Some(members),
            _ => None,
        }
    }

    /// The typed input, with the errors `protocol::decode` gives for the same bytes.
    pub fn decode<T: DeserializeOwned>(&self) -> ApiResult<T> {
        match self {
            Body::Raw(body) => decode(body),
            Body::Parsed {
                value: Ok(value), ..
            } => decode_value(value),
            // A body a `Value` cannot hold may still fit the input type: a number beyond f64 or
            // serde_json's private raw-value name in a member the type ignores. Only then is it
            // read again, as `decode` would.
            Body::Parsed {
                raw, value: Err(e), ..
            } => {
                if starts_object(raw) {
                    if let Ok(input) = serde_json::from_slice(raw) {
                        return Ok(input);
                    }
                }
                Err(not_json(e))
            }
        }
    }
}

pub(super) fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

pub(super) fn starts_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

pub(super) fn not_json(e: &serde_json::Error) -> ApiError {
    ApiError::serialization(format!("The request body is not valid JSON: {e}"))
}
