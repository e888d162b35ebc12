//! Values, versions and staging labels through aws-sdk-rust (docs/aws-behaviour.md §2.4, §3.2).

mod common;

use aws_sdk_secretsmanager::primitives::Blob;
use common::*;
use std::collections::HashMap;

/// version id → labels, from DescribeSecret.
async fn stages_of(sm: &aws_sdk_secretsmanager::Client, id: &str) -> HashMap<String, Vec<String>> {
    sm.describe_secret()
        .secret_id(id)
        .send()
        .await
        .unwrap()
        .version_ids_to_stages()
        .cloned()
        .unwrap_or_default()
}

const T1: &str = "00000000-0000-0000-0000-000000000001";
const T2: &str = "00000000-0000-0000-0000-000000000002";
const T3: &str = "00000000-0000-0000-0000-000000000003";

#[tokio::test]
async fn put_without_stages_moves_current_and_previous() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("s")
        .secret_string("v1")
        .client_request_token(T1)
        .send()
        .await
        .unwrap();
    let out = sm
        .put_secret_value()
        .secret_id("s")
        .secret_string("v2")
        .client_request_token(T2)
        .send()
        .await
        .unwrap();
    assert_eq!(out.version_stages(), ["AWSCURRENT"]);
    sm.put_secret_value()
        .secret_id("s")
        .secret_string("v3")
        .client_request_token(T3)
        .send()
        .await
        .unwrap();
    let stages = stages_of(&sm, "s").await;
    assert_eq!(stages.len(), 2, "v1 is deprecated and hidden: {stages:?}");
    assert_eq!(stages[T2], ["AWSPREVIOUS"]);
    assert_eq!(stages[T3], ["AWSCURRENT"]);

    let all = sm
        .list_secret_version_ids()
        .secret_id("s")
        .include_deprecated(true)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = all
        .versions()
        .iter()
        .map(|v| v.version_id().unwrap())
        .collect();
    assert_eq!(ids, [T1, T2, T3]);
    assert!(all.versions()[0].version_stages().is_empty());
    assert_eq!(all.versions()[0].kms_key_ids(), ["DefaultEncryptionKey"]);
    let labelled = sm
        .list_secret_version_ids()
        .secret_id("s")
        .send()
        .await
        .unwrap();
    assert_eq!(labelled.versions().len(), 2);

    // A deprecated version stays readable by id.
    let old = sm
        .get_secret_value()
        .secret_id("s")
        .version_id(T1)
        .send()
        .await
        .unwrap();
    assert_eq!(old.secret_string(), Some("v1"));
    assert!(old.version_stages().is_empty());
}

#[tokio::test]
async fn put_with_custom_stages_leaves_current_alone() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("c")
        .secret_string("v1")
        .client_request_token(T1)
        .send()
        .await
        .unwrap();
    let out = sm
        .put_secret_value()
        .secret_id("c")
        .secret_string("v2")
        .client_request_token(T2)
        .version_stages("SAMPLESTAGE1")
        .version_stages("SAMPLESTAGE0")
        .send()
        .await
        .unwrap();
    assert_eq!(out.version_stages(), ["SAMPLESTAGE0", "SAMPLESTAGE1"]);
    let got = sm.get_secret_value().secret_id("c").send().await.unwrap();
    assert_eq!(got.secret_string(), Some("v1"));
    let staged = sm
        .get_secret_value()
        .secret_id("c")
        .version_stage("SAMPLESTAGE0")
        .send()
        .await
        .unwrap();
    assert_eq!(staged.secret_string(), Some("v2"));
}

#[tokio::test]
async fn first_value_of_empty_secret_becomes_current() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret().name("e").send().await.unwrap();
    let out = sm
        .put_secret_value()
        .secret_id("e")
        .secret_string("v")
        .version_stages("CUSTOM")
        .send()
        .await
        .unwrap();
    assert_eq!(out.version_stages(), ["AWSCURRENT", "CUSTOM"]);
}

#[tokio::test]
async fn put_idempotency_by_token() {
    let server = start().await;
    let sm = client(&server);
    let created = sm
        .create_secret()
        .name("i")
        .secret_string("v1")
        .client_request_token(T1)
        .send()
        .await
        .unwrap();
    let replay = sm
        .put_secret_value()
        .secret_id("i")
        .secret_string("v1")
        .client_request_token(T1)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.version_id(), Some(T1));
    assert_eq!(replay.version_stages(), ["AWSCURRENT"]);
    assert_eq!(stages_of(&sm, "i").await.len(), 1);
    let (code, message) = error_of(
        sm.put_secret_value()
            .secret_id("i")
            .secret_string("different")
            .client_request_token(T1)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceExistsException");
    assert_eq!(
        message,
        format!(
            "You can't use ClientRequestToken {T1} because that value is already in use for a version of secret {}.",
            created.arn().unwrap()
        )
    );
}

#[tokio::test]
async fn put_requires_exactly_one_value() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("p")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(sm.put_secret_value().secret_id("p").send().await);
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(
        message,
        "You must provide either SecretString or SecretBinary."
    );
    let (code, _) = error_of(
        sm.put_secret_value()
            .secret_id("p")
            .secret_string("a")
            .secret_binary(Blob::new(b"b".to_vec()))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
}

#[tokio::test]
async fn binary_values_round_trip() {
    let server = start().await;
    let sm = client(&server);
    let bytes: Vec<u8> = (0..=255).collect();
    sm.create_secret()
        .name("bin")
        .secret_binary(Blob::new(bytes.clone()))
        .send()
        .await
        .unwrap();
    let got = sm.get_secret_value().secret_id("bin").send().await.unwrap();
    assert_eq!(got.secret_binary().unwrap().as_ref(), bytes.as_slice());
    assert!(got.secret_string().is_none());
}

#[tokio::test]
async fn get_by_version_and_stage_errors() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("g")
        .secret_string("v1")
        .client_request_token(T1)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(
        sm.get_secret_value()
            .secret_id("g")
            .version_stage("AWSPREVIOUS")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS"
    );
    let (code, message) = error_of(
        sm.get_secret_value()
            .secret_id("g")
            .version_id(T2)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        format!("Secrets Manager can't find the specified secret value for VersionId: {T2}")
    );
    let (code, message) = error_of(
        sm.get_secret_value()
            .secret_id("g")
            .version_id(T1)
            .version_stage("AWSPREVIOUS")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(
        message,
        "You provided a VersionStage that is not associated to the provided VersionId."
    );
    let both = sm
        .get_secret_value()
        .secret_id("g")
        .version_id(T1)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .unwrap();
    assert_eq!(both.secret_string(), Some("v1"));
    let (code, message) = error_of(sm.get_secret_value().secret_id("missing").send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", NOT_FOUND)
    );
}

#[tokio::test]
async fn reads_set_last_accessed_date_to_midnight_utc() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("a")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    assert!(sm
        .describe_secret()
        .secret_id("a")
        .send()
        .await
        .unwrap()
        .last_accessed_date()
        .is_none());
    sm.get_secret_value().secret_id("a").send().await.unwrap();
    let accessed = sm
        .describe_secret()
        .secret_id("a")
        .send()
        .await
        .unwrap()
        .last_accessed_date()
        .unwrap()
        .secs();
    assert_eq!(accessed % 86400, 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(accessed, now - now % 86400);
    let versions = sm
        .list_secret_version_ids()
        .secret_id("a")
        .send()
        .await
        .unwrap();
    assert_eq!(
        versions.versions()[0].last_accessed_date().unwrap().secs(),
        accessed
    );
}

#[tokio::test]
async fn update_stage_moves_labels_with_awss_rules() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("u")
        .secret_string("v1")
        .client_request_token(T1)
        .send()
        .await
        .unwrap();
    sm.put_secret_value()
        .secret_id("u")
        .secret_string("v2")
        .client_request_token(T2)
        .version_stages("PENDINGISH")
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(
        sm.update_secret_version_stage()
            .secret_id("u")
            .version_stage("AWSCURRENT")
            .move_to_version_id(T2)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(message, format!("The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version {T1}, so you must explicitly reference that version in RemoveFromVersionId."));
    sm.update_secret_version_stage()
        .secret_id("u")
        .version_stage("AWSCURRENT")
        .move_to_version_id(T2)
        .remove_from_version_id(T1)
        .send()
        .await
        .unwrap();
    let stages = stages_of(&sm, "u").await;
    assert_eq!(stages[T1], ["AWSPREVIOUS"]);
    assert_eq!(stages[T2], ["AWSCURRENT", "PENDINGISH"]);
    // Detach a custom label.
    sm.update_secret_version_stage()
        .secret_id("u")
        .version_stage("PENDINGISH")
        .remove_from_version_id(T2)
        .send()
        .await
        .unwrap();
    assert_eq!(stages_of(&sm, "u").await[T2], ["AWSCURRENT"]);
    let (code, message) = error_of(
        sm.update_secret_version_stage()
            .secret_id("u")
            .version_stage("AWSCURRENT")
            .move_to_version_id(T3)
            .remove_from_version_id(T2)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(message, format!("Not a valid version: {T3}"));
    let (code, message) = error_of(
        sm.update_secret_version_stage()
            .secret_id("u")
            .version_stage("AWSCURRENT")
            .move_to_version_id(T1)
            .remove_from_version_id(T1)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(message, "When you move staging label AWSCURRENT, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label AWSCURRENT.");
}

#[tokio::test]
async fn list_versions_paginates() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("pg")
        .secret_string("0")
        .send()
        .await
        .unwrap();
    for i in 1..5 {
        sm.put_secret_value()
            .secret_id("pg")
            .secret_string(i.to_string())
            .version_stages(format!("L{i}"))
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = sm
            .list_secret_version_ids()
            .secret_id("pg")
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.versions().len() <= 2);
        seen.extend(
            page.versions()
                .iter()
                .map(|v| v.version_id().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    let (code, _) = error_of(
        sm.list_secret_version_ids()
            .secret_id("pg")
            .next_token("forged")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidNextTokenException");
}

#[tokio::test]
async fn random_password_follows_rules() {
    let server = start().await;
    let sm = client(&server);
    let p = sm.get_random_password().send().await.unwrap();
    assert_eq!(p.random_password().unwrap().len(), 32);
    let p = sm
        .get_random_password()
        .password_length(120)
        .exclude_characters("xyzDje@?!.")
        .send()
        .await
        .unwrap();
    let p = p.random_password().unwrap();
    assert_eq!(p.len(), 120);
    assert!(!p.chars().any(|c| "xyzDje@?!.".contains(c)));
    let (code, message) = error_of(sm.get_random_password().password_length(2).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        "Password length is too short based on the required types."
    );
    let (code, _) = error_of(sm.get_random_password().password_length(4097).send().await);
    assert_eq!(code, "ValidationException");
}

#[tokio::test]
async fn signature_is_verified_for_the_test_credential() {
    let server = start().await;
    let wrong = client_for(&server, "us-east-1", "test", "not-the-secret");
    let (code, message) = error_of(wrong.get_random_password().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with(
        "The request signature we calculated does not match the signature you provided."
    ));
    // Unknown keys are trusted in open mode.
    let unknown = client_for(&server, "us-east-1", "AKIAUNKNOWN", "whatever");
    unknown.get_random_password().send().await.unwrap();
}

fn token(i: usize) -> String {
    format!("00000000-0000-0000-0000-{i:012}")
}

/// Every version id ListSecretVersionIds gives, page by page, with deprecated ones.
async fn all_version_ids(sm: &aws_sdk_secretsmanager::Client, id: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = None;
    loop {
        let page = sm
            .list_secret_version_ids()
            .secret_id(id)
            .include_deprecated(true)
            .max_results(30)
            .set_next_token(next)
            .send()
            .await
            .unwrap();
        ids.extend(
            page.versions()
                .iter()
                .map(|v| v.version_id().unwrap().to_string()),
        );
        next = page.next_token().map(str::to_string);
        if next.is_none() {
            return ids;
        }
    }
}

/// The version quota (docs/aws-behaviour.md §2.5): 100 versions, deprecated ones pruned oldest
/// first once they are 24 hours old; and deprecated versions (kept apart from the record by the
/// store) behave as versions for reads by id, token replays, label moves and LastAccessedDate.
#[tokio::test]
async fn version_quota_and_deprecated_versions() {
    let server = start().await;
    let sm = client(&server);
    let put = |i: usize, value: String| {
        sm.put_secret_value()
            .secret_id("q")
            .secret_string(value)
            .client_request_token(token(i))
            .send()
    };
    sm.create_secret()
        .name("q")
        .secret_string("value-0")
        .client_request_token(token(0))
        .send()
        .await
        .unwrap();
    for i in 1..100 {
        put(i, format!("value-{i}")).await.unwrap();
    }
    let expected: Vec<String> = (0..100).map(token).collect();
    assert_eq!(all_version_ids(&sm, "q").await, expected);

    // A 101st version within a day: refused, and nothing is lost.
    let (code, message) = error_of(put(100, "value-100".into()).await);
    assert_eq!(code, "LimitExceededException");
    assert!(message.contains("100 versions"), "{message}");
    assert_eq!(all_version_ids(&sm, "q").await, expected);

    // A deprecated version: read by id (which sets its LastAccessedDate), its token replayed,
    // its token reused with another value.
    let old = sm
        .get_secret_value()
        .secret_id("q")
        .version_id(token(5))
        .send()
        .await
        .unwrap();
    assert_eq!(old.secret_string(), Some("value-5"));
    assert!(old.version_stages().is_empty());
    let listed = sm
        .list_secret_version_ids()
        .secret_id("q")
        .include_deprecated(true)
        .send()
        .await
        .unwrap();
    let accessed: Vec<&str> = listed
        .versions()
        .iter()
        .filter(|v| v.last_accessed_date().is_some())
        .map(|v| v.version_id().unwrap())
        .collect();
    assert_eq!(accessed, [token(5)]);
    let replay = put(5, "value-5".into()).await.unwrap();
    assert_eq!(replay.version_id(), Some(token(5).as_str()));
    assert!(replay.version_stages().is_empty());
    let (code, _) = error_of(put(5, "other".into()).await);
    assert_eq!(code, "ResourceExistsException");

    // A label moved onto a deprecated version brings it back among the labelled ones.
    sm.update_secret_version_stage()
        .secret_id("q")
        .version_stage("KEEP")
        .move_to_version_id(token(0))
        .send()
        .await
        .unwrap();
    let stages = stages_of(&sm, "q").await;
    assert_eq!(stages[&token(0)], ["KEEP"]);
    assert_eq!(stages.len(), 3);

    // A day later the oldest deprecated version goes: token 1, as token 0 is labelled now.
    server.clock().advance_millis(24 * 3600 * 1000 + 1000);
    put(100, "value-100".into()).await.unwrap();
    let mut expected: Vec<String> = (0..101).filter(|i| *i != 1).map(token).collect();
    assert_eq!(all_version_ids(&sm, "q").await, expected);
    let (code, message) = error_of(
        sm.get_secret_value()
            .secret_id("q")
            .version_id(token(1))
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        format!(
            "Secrets Manager can't find the specified secret value for VersionId: {}",
            token(1)
        )
    );
    // Its token is free again: a new version under it replaces the next oldest.
    put(1, "value-1-again".into()).await.unwrap();
    expected.retain(|t| *t != token(2));
    expected.push(token(1));
    assert_eq!(all_version_ids(&sm, "q").await, expected);
    let current = sm.get_secret_value().secret_id("q").send().await.unwrap();
    assert_eq!(current.secret_string(), Some("value-1-again"));
}
