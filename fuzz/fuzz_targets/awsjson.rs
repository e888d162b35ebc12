//! The awsJson 1.1 decoder: `protocol::decode` into each operation's typed input and its
//! `Input::validate`, as `api::dispatch` does, plus the other pure readers of a raw body
//! (`RequestFacts::of` for policy evaluation, GetRandomPassword, the ListSecrets/BatchGetSecretValue
//! filters).
//!
//! Input: `<Operation>\n<body>`, e.g. `CreateSecret\n{"Name":"x"}`. A first line that names no
//! operation picks one by its first byte, so mutations move between operations.
//!
//! Properties: no panic; a body is accepted only if it is blank or a JSON object; every refusal
//! is a 400 `SerializationException` with a message; acceptance depends on the JSON value, not
//! on its spelling (the re-encoded value decodes the same way); a body parsed first (strict mode)
//! decodes exactly as the raw body does; validation refuses only with a client error; the
//! condition keys name the operation's action; a generated password obeys the rules it was asked
//! for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secretsd::api::access::RequestFacts;
use secretsd::api::{list, lookup, policy, random, replication, rotation, secrets, tags, values};
use secretsd::error::ErrorCode;
use secretsd::model::password::{DEFAULT_LENGTH, PUNCTUATION};
use secretsd::model::validate::Constraints;
use secretsd::protocol::{self, Body, Input, Operation};
use serde_json::Value;

fn split(data: &[u8]) -> (Operation, &[u8]) {
    let (line, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let named = std::str::from_utf8(line)
        .ok()
        .and_then(|name| Operation::from_target(&format!("secretsmanager.{}", name.trim())));
    let op = named.unwrap_or_else(|| {
        let pick = line.first().map_or(0, |&b| usize::from(b));
        Operation::ALL[pick % Operation::ALL.len()]
    });
    (op, body)
}

/// `protocol::decode::<T>` and `T::validate` with the protocol's promises checked.
fn decode<T: Input>(body: &[u8]) -> Option<T> {
    let blank = body.iter().all(u8::is_ascii_whitespace);
    let value = serde_json::from_slice::<Value>(body).ok();
    // An object by JSON's syntax. A `Value` may still refuse one (a number beyond f64, serde_json's
    // private raw-value member name) in a member the input type ignores, as it ignores any
    // unknown member.
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    let result = protocol::decode::<T>(body);
    match &result {
        Ok(_) => assert!(
            blank || object,
            "decode accepted a body that is neither blank nor a JSON object"
        ),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::Serialization, "{e:?}");
            assert_eq!(e.code.status(), 400);
            assert!(!e.message.is_empty());
        }
    }
    if let Some(value @ Value::Object(_)) = &value {
        let again = serde_json::to_vec(value).expect("a JSON value encodes");
        assert_eq!(
            protocol::decode::<T>(&again).is_ok(),
            result.is_ok(),
            "the re-encoded body decodes differently: {}",
            String::from_utf8_lossy(&again)
        );
    }
    assert_eq!(
        Body::parsed(body).decode::<T>().err(),
        result.as_ref().err().cloned(),
        "a body parsed first decodes differently"
    );
    let input = result.ok()?;
    if let Err(e) = protocol::decode::<T>(body).ok()?.validate() {
        assert!(
            matches!(
                e.code,
                ErrorCode::Validation
                    | ErrorCode::InvalidParameter
                    | ErrorCode::InvalidRequest
                    | ErrorCode::InvalidNextToken
                    | ErrorCode::MalformedPolicyDocument
            ),
            "{e:?}"
        );
        assert!(!e.message.is_empty());
    }
    Some(input)
}

fn check_facts(op: Operation, body: &[u8]) {
    let facts = RequestFacts::of(op, Body::parsed(body).members());
    assert_eq!(facts.action, format!("secretsmanager:{}", op.name()));
    if op == Operation::BatchGetSecretValue {
        assert_eq!(facts.secret_action, "secretsmanager:GetSecretValue");
    } else {
        assert_eq!(facts.secret_action, facts.action);
    }
    if !matches!(
        serde_json::from_slice::<Value>(body),
        Ok(Value::Object(_))
    ) {
        assert!(facts.keys.is_empty() && !facts.uses_value_key);
    }
    for (key, _) in &facts.keys {
        assert!(
            key.starts_with("secretsmanager:") || key.starts_with("aws:"),
            "{key}"
        );
    }
}

fn check_password(input: random::GetRandomPasswordInput) {
    let length = input.password_length;
    let excluded = input.exclude_characters.clone().unwrap_or_default();
    let no_digits = input.exclude_numbers == Some(true);
    let no_punct = input.exclude_punctuation == Some(true);
    let no_upper = input.exclude_uppercase == Some(true);
    let no_lower = input.exclude_lowercase == Some(true);
    let space = input.include_space == Some(true);
    match input.validate().and_then(random::get_random_password) {
        Ok(out) => {
            let p = out.random_password;
            let want = length.map_or(DEFAULT_LENGTH, |n| n as usize);
            assert_eq!(p.chars().count(), want);
            for c in p.chars() {
                assert!(!excluded.contains(c), "excluded {c:?} in the password");
                assert!(!(no_digits && c.is_ascii_digit()));
                assert!(!(no_punct && PUNCTUATION.contains(c)));
                assert!(!(no_upper && c.is_ascii_uppercase()));
                assert!(!(no_lower && c.is_ascii_lowercase()));
                assert!(space || c != ' ');
                assert!(c.is_ascii() && (c == ' ' || c.is_ascii_graphic()));
            }
        }
        Err(e) => assert!(
            matches!(
                e.code,
                ErrorCode::Validation | ErrorCode::InvalidParameter
            ),
            "{e:?}"
        ),
    }
}

fn check_filters(shapes: Option<&[list::FilterShape]>) {
    let mut c = Constraints::new();
    match list::parse_filters(&mut c, shapes) {
        Ok(filters) => assert!(filters.len() <= shapes.map_or(0, <[_]>::len)),
        Err(e) => assert_eq!(e.code, ErrorCode::InvalidParameter, "{e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (op, body) = split(data);
    check_facts(op, body);
    use Operation::*;
    match op {
        CreateSecret => {
            decode::<secrets::CreateSecretInput>(body);
        }
        DescribeSecret | RestoreSecret => {
            decode::<lookup::SecretIdInput>(body);
        }
        UpdateSecret => {
            decode::<secrets::UpdateSecretInput>(body);
        }
        DeleteSecret => {
            decode::<secrets::DeleteSecretInput>(body);
        }
        GetSecretValue => {
            decode::<values::GetSecretValueInput>(body);
        }
        BatchGetSecretValue => {
            if let Some(input) = decode::<values::BatchGetSecretValueInput>(body) {
                check_filters(input.filters.as_deref());
            }
        }
        PutSecretValue => {
            decode::<values::PutSecretValueInput>(body);
        }
        ListSecretVersionIds => {
            decode::<values::ListSecretVersionIdsInput>(body);
        }
        UpdateSecretVersionStage => {
            decode::<values::UpdateSecretVersionStageInput>(body);
        }
        GetRandomPassword => {
            if let Some(input) = decode::<random::GetRandomPasswordInput>(body) {
                check_password(input);
            }
        }
        ListSecrets => {
            if let Some(input) = decode::<list::ListSecretsInput>(body) {
                check_filters(input.filters.as_deref());
            }
        }
        RotateSecret => {
            decode::<rotation::RotateSecretInput>(body);
        }
        CancelRotateSecret => {
            decode::<lookup::SecretIdInput>(body);
        }
        ReplicateSecretToRegions => {
            decode::<replication::ReplicateSecretToRegionsInput>(body);
        }
        RemoveRegionsFromReplication => {
            decode::<replication::RemoveRegionsFromReplicationInput>(body);
        }
        StopReplicationToReplica => {
            decode::<lookup::SecretIdInput>(body);
        }
        AssociateCrossAccountReplica => {
            decode::<replication::AssociateCrossAccountReplicaInput>(body);
        }
        DisassociateCrossAccountReplica => {
            decode::<replication::DisassociateCrossAccountReplicaInput>(body);
        }
        TagResource => {
            decode::<tags::TagResourceInput>(body);
        }
        UntagResource => {
            decode::<tags::UntagResourceInput>(body);
        }
        PutResourcePolicy => {
            decode::<policy::PutResourcePolicyInput>(body);
        }
        GetResourcePolicy | DeleteResourcePolicy => {
            decode::<policy::PolicyRefInput>(body);
        }
        ValidateResourcePolicy => {
            decode::<policy::ValidateResourcePolicyInput>(body);
        }
        ListResourcePolicies => {
            decode::<policy::ListResourcePoliciesInput>(body);
        }
    }
});
