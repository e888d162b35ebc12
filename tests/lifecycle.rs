//! The secret lifecycle through aws-sdk-rust: CreateSecret, DescribeSecret, UpdateSecret,
//! DeleteSecret, RestoreSecret (docs/aws-behaviour.md §3.1, §2.7).

mod common;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use common::*;

#[tokio::test]
async fn create_returns_arn_with_six_char_suffix_and_version() {
    let server = start().await;
    let sm = client(&server);
    let out = sm
        .create_secret()
        .name("app/db")
        .secret_string("s3cr3t")
        .send()
        .await
        .unwrap();
    let arn = out.arn().unwrap();
    let prefix = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-";
    assert!(arn.starts_with(prefix), "{arn}");
    let suffix = &arn[prefix.len()..];
    assert_eq!(suffix.len(), 6);
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(out.name(), Some("app/db"));
    assert!(out.version_id().is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn create_without_value_has_no_version() {
    let server = start().await;
    let sm = client(&server);
    let out = sm.create_secret().name("empty").send().await.unwrap();
    assert!(out.version_id().is_none());
    let described = sm
        .describe_secret()
        .secret_id("empty")
        .send()
        .await
        .unwrap();
    assert!(described.version_ids_to_stages().is_none());
    let (code, message) = error_of(sm.get_secret_value().secret_id("empty").send().await);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"
    );
}

#[tokio::test]
async fn duplicate_name_is_resource_exists() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("dup")
        .secret_string("a")
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(
        sm.create_secret()
            .name("dup")
            .secret_string("a")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceExistsException");
    assert_eq!(
        message,
        "The operation failed because the secret dup already exists."
    );
}

#[tokio::test]
async fn create_with_same_token_is_idempotent_and_different_value_conflicts() {
    let server = start().await;
    let sm = client(&server);
    let token = "11111111-2222-3333-4444-555555555555";
    let first = sm
        .create_secret()
        .name("idem")
        .secret_string("v")
        .client_request_token(token)
        .send()
        .await
        .unwrap();
    let again = sm
        .create_secret()
        .name("idem")
        .secret_string("v")
        .client_request_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(first.arn(), again.arn());
    assert_eq!(again.version_id(), Some(token));
    let (code, message) = error_of(
        sm.create_secret()
            .name("idem")
            .secret_string("other")
            .client_request_token(token)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceExistsException");
    assert_eq!(
        message,
        format!(
            "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {}.",
            first.arn().unwrap()
        )
    );
}

#[tokio::test]
async fn invalid_names_are_validation_errors() {
    let server = start().await;
    let sm = client(&server);
    for name in ["Inv Name", " Inv*Name? "] {
        let (code, message) = error_of(sm.create_secret().name(name).send().await);
        assert_eq!(code, "ValidationException");
        assert_eq!(message, "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!");
        let (code, _) = error_of(sm.describe_secret().secret_id(name).send().await);
        assert_eq!(code, "ValidationException");
    }
}

#[tokio::test]
async fn both_string_and_binary_is_invalid_parameter() {
    let server = start().await;
    let sm = client(&server);
    let (code, message) = error_of(
        sm.create_secret()
            .name("both")
            .secret_string("a")
            .secret_binary(Blob::new(b"b".to_vec()))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        "You can't specify both a binary secret value and a string secret value in the same secret."
    );
}

#[tokio::test]
async fn secret_is_found_by_name_full_arn_and_partial_arn() {
    let server = start().await;
    let sm = client(&server);
    for name in [
        "s-c64bdc03",
        "Valid/_+=.@-Name",
        "Valid/_+=.@-Name-a1b2",
        "Valid/_+=.@-Name-a1b2c3-",
    ] {
        let arn = sm
            .create_secret()
            .name(name)
            .secret_string("x")
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_string();
        let partial = &arn[..arn.len() - 7];
        for id in [name, arn.as_str(), partial] {
            let got = sm.get_secret_value().secret_id(id).send().await.unwrap();
            assert_eq!(got.name(), Some(name), "lookup by {id}");
        }
    }
}

#[tokio::test]
async fn partial_arn_of_name_ending_like_a_suffix_is_not_found() {
    let server = start().await;
    let sm = client(&server);
    let name = "Invalid/_+=.@-Name-a1b2c3";
    let arn = sm
        .create_secret()
        .name(name)
        .secret_string("x")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let partial = &arn[..arn.len() - 7];
    let (code, message) = error_of(sm.get_secret_value().secret_id(partial).send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", NOT_FOUND)
    );
    // A stale full ARN (other suffix) never reaches the secret either.
    let stale = format!("{}-AAAAAA", &arn[..arn.len() - 7]);
    let (code, _) = error_of(sm.get_secret_value().secret_id(stale).send().await);
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn regions_and_accounts_are_isolated() {
    let server = start().await;
    let east = client(&server);
    let west = client_for(&server, "eu-west-1", "test", "test");
    let other_account = client_for(&server, "us-east-1", "111111111111", "anything");
    let arn = east
        .create_secret()
        .name("iso")
        .secret_string("x")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    for sm in [&west, &other_account] {
        let (code, _) = error_of(sm.describe_secret().secret_id("iso").send().await);
        assert_eq!(code, "ResourceNotFoundException");
        let (code, _) = error_of(sm.describe_secret().secret_id(&arn).send().await);
        assert_eq!(code, "ResourceNotFoundException");
    }
    let theirs = other_account
        .create_secret()
        .name("iso")
        .secret_string("y")
        .send()
        .await
        .unwrap();
    assert!(theirs
        .arn()
        .unwrap()
        .starts_with("arn:aws:secretsmanager:us-east-1:111111111111:secret:iso-"));
}

#[tokio::test]
async fn describe_shows_only_members_with_values() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("desc")
        .description("")
        .secret_string("x")
        .tags(Tag::builder().key("team").value("payments").build())
        .send()
        .await
        .unwrap();
    let d = sm.describe_secret().secret_id("desc").send().await.unwrap();
    assert!(d.description().is_none());
    assert!(d.kms_key_id().is_none());
    assert!(d.deleted_date().is_none());
    assert!(d.last_accessed_date().is_none());
    assert!(d.rotation_enabled().is_none());
    assert_eq!(d.tags().len(), 1);
    assert_eq!(d.tags()[0].key(), Some("team"));
    let stages = d.version_ids_to_stages().unwrap();
    assert_eq!(stages.len(), 1);
    assert_eq!(
        stages.values().next().unwrap(),
        &vec!["AWSCURRENT".to_string()]
    );
    assert!(d.created_date().is_some() && d.last_changed_date().is_some());

    sm.create_secret()
        .name("kms")
        .kms_key_id("alias/my-key")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let d = sm.describe_secret().secret_id("kms").send().await.unwrap();
    assert_eq!(d.kms_key_id(), Some("alias/my-key"));
}

#[tokio::test]
async fn update_changes_metadata_and_value() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("upd")
        .secret_string("one")
        .send()
        .await
        .unwrap();
    let out = sm
        .update_secret()
        .secret_id("upd")
        .description("now described")
        .send()
        .await
        .unwrap();
    assert!(out.version_id().is_none());
    let out = sm
        .update_secret()
        .secret_id("upd")
        .secret_string("two")
        .send()
        .await
        .unwrap();
    let new_version = out.version_id().unwrap().to_string();
    let got = sm.get_secret_value().secret_id("upd").send().await.unwrap();
    assert_eq!(got.secret_string(), Some("two"));
    assert_eq!(got.version_id(), Some(new_version.as_str()));
    let previous = sm
        .get_secret_value()
        .secret_id("upd")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.secret_string(), Some("one"));
    let d = sm.describe_secret().secret_id("upd").send().await.unwrap();
    assert_eq!(d.description(), Some("now described"));
}

#[tokio::test]
async fn delete_schedules_and_restore_cancels() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("del")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let out = sm
        .delete_secret()
        .secret_id("del")
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let deletion = out.deletion_date().unwrap().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((deletion - (now + 7 * 86400)).abs() < 60);

    let d = sm.describe_secret().secret_id("del").send().await.unwrap();
    assert_eq!(d.deleted_date().unwrap().secs(), deletion);
    for (code, message) in [
        error_of(sm.get_secret_value().secret_id("del").send().await),
        error_of(
            sm.put_secret_value()
                .secret_id("del")
                .secret_string("y")
                .send()
                .await,
        ),
        error_of(
            sm.update_secret()
                .secret_id("del")
                .description("d")
                .send()
                .await,
        ),
    ] {
        assert_eq!(code, "InvalidRequestException");
        assert_eq!(message, MARKED_FOR_DELETION);
    }
    let (code, message) = error_of(
        sm.create_secret()
            .name("del")
            .secret_string("x")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(message, "You can't create this secret because a secret with this name is already scheduled for deletion.");
    let (code, message) = error_of(sm.delete_secret().secret_id("del").send().await);
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(
        message,
        "You tried to perform the operation on a secret that's currently marked deleted."
    );

    sm.restore_secret().secret_id("del").send().await.unwrap();
    let got = sm.get_secret_value().secret_id("del").send().await.unwrap();
    assert_eq!(got.secret_string(), Some("x"));
    assert!(sm
        .describe_secret()
        .secret_id("del")
        .send()
        .await
        .unwrap()
        .deleted_date()
        .is_none());
}

#[tokio::test]
async fn recovery_window_rules() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("w")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    for days in [0, 6, 31] {
        let (code, message) = error_of(
            sm.delete_secret()
                .secret_id("w")
                .recovery_window_in_days(days)
                .send()
                .await,
        );
        assert_eq!(code, "InvalidParameterException");
        assert_eq!(
            message,
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
        );
    }
    let (code, message) = error_of(
        sm.delete_secret()
            .secret_id("w")
            .recovery_window_in_days(7)
            .force_delete_without_recovery(true)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
    );
}

#[tokio::test]
async fn force_delete_frees_the_name_and_new_secret_gets_new_arn() {
    let server = start().await;
    let sm = client(&server);
    let first = sm
        .create_secret()
        .name("f")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    sm.delete_secret()
        .secret_id("f")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(sm.describe_secret().secret_id("f").send().await);
    assert_eq!(code, "ResourceNotFoundException");
    let second = sm
        .create_secret()
        .name("f")
        .secret_string("y")
        .send()
        .await
        .unwrap();
    assert_ne!(first.arn(), second.arn());
    let (code, _) = error_of(
        sm.get_secret_value()
            .secret_id(first.arn().unwrap())
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn force_delete_of_missing_secret_succeeds() {
    let server = start().await;
    let sm = client(&server);
    let out = sm
        .delete_secret()
        .secret_id("ghost")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert_eq!(out.name(), Some("ghost"));
    assert!(out.arn().unwrap().contains(":secret:ghost-"));
    assert!(out.deletion_date().is_some());
    let (code, message) = error_of(sm.delete_secret().secret_id("ghost").send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", NOT_FOUND)
    );
}

#[tokio::test]
async fn secret_is_purged_when_recovery_window_ends() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("gone")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    sm.delete_secret()
        .secret_id("gone")
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    server.clock().advance_millis(7 * 86_400_000 + 1000);
    let (code, _) = error_of(sm.describe_secret().secret_id("gone").send().await);
    assert_eq!(code, "ResourceNotFoundException");
    // The name is free again.
    sm.create_secret()
        .name("gone")
        .secret_string("y")
        .send()
        .await
        .unwrap();
    let got = sm
        .get_secret_value()
        .secret_id("gone")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("y"));
}

#[tokio::test]
async fn restore_of_unknown_secret_is_not_found() {
    let server = start().await;
    let sm = client(&server);
    let (code, message) = error_of(sm.restore_secret().secret_id("nope").send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", NOT_FOUND)
    );
}

#[tokio::test]
async fn oversized_members_are_validation_errors() {
    let server = start().await;
    let sm = client(&server);
    let (code, message) = error_of(
        sm.create_secret()
            .name("big")
            .secret_string("x".repeat(65537))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536");
    let (code, message) = error_of(
        sm.create_secret()
            .name("desc")
            .description("d".repeat(2049))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.starts_with("1 validation error detected: Value '"));
    assert!(message.ends_with("at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048"));
}
