//! The records: CloudTrail-shaped, built from borrowed parts of a call or a rotation event.
//! Nothing that carries secret material gets in: request members that hold values are dropped,
//! and responses give only identifiers.

use crate::model::secret::RotationEvent;
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Request members that may carry secret material, never recorded.
const SENSITIVE_MEMBERS: &[&str] = &["SecretString", "SecretBinary", "RotationToken"];

/// Who made a call, as CloudTrail's `userIdentity` shows it.
pub struct Identity<'a> {
    pub principal_arn: &'a str,
    pub account: &'a str,
    pub access_key_id: &'a str,
}

/// One API call, for the record.
pub struct ApiCall<'a> {
    pub time_ms: i64,
    pub operation: &'a str,
    pub region: &'a str,
    pub identity: Option<Identity<'a>>,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub request_id: &'a str,
    pub request: &'a [u8],
    pub response: Result<&'a ResponseIds, (&'a str, &'a str)>,
}

/// What a record keeps of an answer: the identifiers of the secret it names. The operation
/// hands them over, so the response (which may be large, and holds the value for
/// GetSecretValue) is never read back.
#[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ResponseIds {
    #[serde(rename = "ARN", default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "VersionId", default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl ResponseIds {
    /// The identifiers a response body shows, read back from it: what an operation's declared
    /// identifiers must equal (checked in debug builds, so by every in-process test).
    pub fn read(body: &[u8]) -> ResponseIds {
        serde_json::from_slice(body).unwrap_or_default()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.arn.is_none() && self.name.is_none() && self.version_id.is_none()
    }
}

/// The request's members a record keeps, as the client sent them (values not re-encoded), in
/// the client's order.
pub(super) struct RequestMembers<'a>(pub(super) Vec<(&'a str, Cow<'a, RawValue>)>);

impl Serialize for RequestMembers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for RequestMembers<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RequestMembers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut kept = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((name, value)) = map.next_entry::<&'de str, &'de RawValue>()? {
                    if !SENSITIVE_MEMBERS.contains(&name) {
                        kept.push((name, one_line(value)));
                    }
                }
                Ok(RequestMembers(kept))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// One record, in CloudTrail's field names. Built from borrowed parts and encoded once, by
/// `Record::encode`; the derived `Serialize` is what tests hold that encoding to.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Record<'a> {
    pub(super) event_version: &'static str,
    pub(super) user_identity: UserIdentity<'a>,
    pub(super) event_time: String,
    pub(super) event_source: &'static str,
    pub(super) event_name: &'a str,
    pub(super) aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    pub(super) source_ip_address: &'a str,
    pub(super) user_agent: &'a str,
    pub(super) request_parameters: Option<RequestMembers<'a>>,
    pub(super) response_elements: Option<&'a ResponseIds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error_message: Option<&'a str>,
    #[serde(rename = "requestID")]
    pub(super) request_id: Option<&'a str>,
    #[serde(rename = "eventID")]
    pub(super) event_id: String,
    pub(super) read_only: bool,
    pub(super) event_type: &'static str,
    pub(super) management_event: bool,
    pub(super) recipient_account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) service_event_details: Option<ServiceEventDetails<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum UserIdentity<'a> {
    Principal {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(rename = "principalId")]
        principal_id: &'a str,
        arn: &'a str,
        #[serde(rename = "accountId")]
        account_id: &'a str,
        #[serde(rename = "accessKeyId")]
        access_key_id: &'a str,
    },
    Unknown {
        #[serde(rename = "type")]
        kind: &'static str,
    },
    Service {
        #[serde(rename = "invokedBy")]
        invoked_by: &'static str,
    },
}

#[derive(Serialize)]
pub(super) struct ServiceEventDetails<'a> {
    #[serde(rename = "SecretId")]
    pub(super) secret_id: &'a str,
    #[serde(rename = "versionId")]
    pub(super) version_id: &'a str,
}

const SOURCE: &str = "secretsmanager.amazonaws.com";

pub(super) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The request's members minus the sensitive ones, or `None` (not an object, nothing left, or
/// a member name with escapes, which no real client sends).
pub(super) fn request_members(body: &[u8]) -> Option<RequestMembers<'_>> {
    let kept: RequestMembers<'_> = serde_json::from_slice(body).ok()?;
    (!kept.0.is_empty()).then_some(kept)
}

/// A value of a pretty-printed request spans lines, which would split its record in two.
/// Outside strings a line break is only whitespace, and inside one it is always escaped, so
/// each becomes a space.
pub(super) fn one_line(raw: &RawValue) -> Cow<'_, RawValue> {
    if !raw.get().contains(['\n', '\r']) {
        return Cow::Borrowed(raw);
    }
    RawValue::from_string(raw.get().replace(['\n', '\r'], " "))
        .map_or(Cow::Borrowed(raw), Cow::Owned)
}

/// Read-only operations, as CloudTrail marks them.
pub(super) fn read_only(operation: &str) -> bool {
    ["Get", "Describe", "List", "BatchGet", "Validate"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

pub(super) fn user_identity<'a>(identity: &Identity<'a>) -> UserIdentity<'a> {
    let kind = if identity.principal_arn.ends_with(":root") {
        "Root"
    } else if identity.principal_arn.contains(":assumed-role/")
        || identity.principal_arn.contains(":role/")
    {
        "AssumedRole"
    } else {
        "IAMUser"
    };
    UserIdentity::Principal {
        kind,
        principal_id: identity.access_key_id,
        arn: identity.principal_arn,
        account_id: identity.account,
        access_key_id: identity.access_key_id,
    }
}

pub(super) fn api_record<'a>(call: &'a ApiCall<'a>) -> Record<'a> {
    let (response_elements, error_code, error_message) = match call.response {
        Ok(ids) => ((!ids.is_empty()).then_some(ids), None, None),
        Err((code, message)) => (None, Some(code), Some(message)),
    };
    Record {
        event_version: "1.08",
        user_identity: call
            .identity
            .as_ref()
            .map_or(UserIdentity::Unknown { kind: "Unknown" }, user_identity),
        event_time: rfc3339(call.time_ms),
        event_source: SOURCE,
        event_name: call.operation,
        aws_region: call.region,
        source_ip_address: call.source_ip,
        user_agent: call.user_agent,
        request_parameters: request_members(call.request),
        response_elements,
        error_code,
        error_message,
        request_id: Some(call.request_id),
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: read_only(call.operation),
        event_type: "AwsApiCall",
        management_event: true,
        recipient_account_id: call.identity.as_ref().map_or("", |i| i.account),
        service_event_details: None,
    }
}

pub(super) fn rotation_record<'a>(
    secret_arn: &'a str,
    account: &'a str,
    region: &'a str,
    event: &'a RotationEvent,
) -> Record<'a> {
    Record {
        event_version: "1.08",
        user_identity: UserIdentity::Service { invoked_by: SOURCE },
        event_time: rfc3339(event.time_ms),
        event_source: SOURCE,
        event_name: &event.name,
        aws_region: region,
        source_ip_address: SOURCE,
        user_agent: SOURCE,
        request_parameters: None,
        response_elements: None,
        error_code: None,
        error_message: event.detail.as_deref(),
        request_id: None,
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: false,
        event_type: "AwsServiceEvent",
        management_event: true,
        recipient_account_id: account,
        service_event_details: Some(ServiceEventDetails {
            secret_id: secret_arn,
            version_id: &event.token,
        }),
    }
}
