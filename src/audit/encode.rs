//! A record as one line of JSON, encoded by hand.

use super::record::{Record, RequestMembers, UserIdentity};

/// One audit line under construction. Records are encoded by hand rather than by the derived
/// `Serialize` (which tests keep as the oracle): member names are constants, and values that
/// need no escaping (nearly all: ARNs, ids, times) are copied as they are, so a record costs
/// far fewer instructions.
pub(super) struct Line(pub(super) Vec<u8>);

impl Line {
    fn raw(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    fn string(&mut self, value: &str) {
        // What serde_json escapes: quote, backslash, control characters. No early exit: the
        // loop over the bytes stays free of branches.
        let plain = value.bytes().fold(true, |plain, b| {
            plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
        });
        if plain {
            self.0.push(b'"');
            self.0.extend_from_slice(value.as_bytes());
            self.0.push(b'"');
        } else {
            // serde_json's escaping; writing to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.0, value);
        }
    }

    /// Opens an object (`first`) or continues one, up to a member's value. Member names are
    /// constants that need no escaping.
    fn key(&mut self, first: bool, name: &str) {
        self.0.reserve(name.len() + 4);
        self.0.push(if first { b'{' } else { b',' });
        self.0.push(b'"');
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b"\":");
    }

    fn string_member(&mut self, first: bool, name: &str, value: &str) {
        self.key(first, name);
        self.string(value);
    }

    fn optional_string(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.string(value),
            None => self.raw("null"),
        }
    }
}

impl Record<'_> {
    pub(super) fn encode(&self, line: &mut Line) {
        line.string_member(true, "eventVersion", self.event_version);
        line.key(false, "userIdentity");
        match &self.user_identity {
            UserIdentity::Principal {
                kind,
                principal_id,
                arn,
                account_id,
                access_key_id,
            } => {
                line.string_member(true, "type", kind);
                line.string_member(false, "principalId", principal_id);
                line.string_member(false, "arn", arn);
                line.string_member(false, "accountId", account_id);
                line.string_member(false, "accessKeyId", access_key_id);
            }
            UserIdentity::Unknown { kind } => line.string_member(true, "type", kind),
            UserIdentity::Service { invoked_by } => {
                line.string_member(true, "invokedBy", invoked_by)
            }
        }
        line.raw("}");
        line.string_member(false, "eventTime", &self.event_time);
        line.string_member(false, "eventSource", self.event_source);
        line.string_member(false, "eventName", self.event_name);
        line.string_member(false, "awsRegion", self.aws_region);
        line.string_member(false, "sourceIPAddress", self.source_ip_address);
        line.string_member(false, "userAgent", self.user_agent);
        line.key(false, "requestParameters");
        match &self.request_parameters {
            Some(RequestMembers(members)) if !members.is_empty() => {
                for (i, (name, value)) in members.iter().enumerate() {
                    line.raw(if i == 0 { "{" } else { "," });
                    // A client's member name, so escaped like any value.
                    line.string(name);
                    line.raw(":");
                    line.raw(value.get());
                }
                line.raw("}");
            }
            Some(_) => line.raw("{}"),
            None => line.raw("null"),
        }
        line.key(false, "responseElements");
        match self.response_elements {
            Some(ids) => {
                let mut first = true;
                for (name, value) in [
                    ("ARN", &ids.arn),
                    ("Name", &ids.name),
                    ("VersionId", &ids.version_id),
                ] {
                    if let Some(value) = value {
                        line.string_member(first, name, value);
                        first = false;
                    }
                }
                line.raw(if first { "{}" } else { "}" });
            }
            None => line.raw("null"),
        }
        if let Some(code) = self.error_code {
            line.string_member(false, "errorCode", code);
        }
        if let Some(message) = self.error_message {
            line.string_member(false, "errorMessage", message);
        }
        line.key(false, "requestID");
        line.optional_string(self.request_id);
        line.string_member(false, "eventID", &self.event_id);
        line.key(false, "readOnly");
        line.raw(if self.read_only { "true" } else { "false" });
        line.string_member(false, "eventType", self.event_type);
        line.key(false, "managementEvent");
        line.raw(if self.management_event {
            "true"
        } else {
            "false"
        });
        line.string_member(false, "recipientAccountId", self.recipient_account_id);
        if let Some(details) = &self.service_event_details {
            line.key(false, "serviceEventDetails");
            line.string_member(true, "SecretId", details.secret_id);
            line.string_member(false, "versionId", details.version_id);
            line.raw("}");
        }
        line.raw("}");
    }
}
