//! TagResource, UntagResource and BatchGetSecretValue through aws-sdk-rust
//! (docs/aws-behaviour.md §3.2, §3.4).

mod common;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use common::*;

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

#[tokio::test]
async fn tags_are_added_overwritten_and_removed() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("t")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    sm.tag_resource()
        .secret_id("t")
        .tags(tag("a", "1"))
        .tags(tag("b", "2"))
        .send()
        .await
        .unwrap();
    sm.tag_resource()
        .secret_id("t")
        .tags(tag("a", "one"))
        .send()
        .await
        .unwrap();
    let d = sm.describe_secret().secret_id("t").send().await.unwrap();
    let tags: Vec<(&str, &str)> = d
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags, [("a", "one"), ("b", "2")]);
    sm.untag_resource()
        .secret_id("t")
        .tag_keys("a")
        .tag_keys("b")
        .tag_keys("missing")
        .send()
        .await
        .unwrap();
    let d = sm.describe_secret().secret_id("t").send().await.unwrap();
    assert!(
        d.tags.as_ref().is_some_and(|t| t.is_empty()),
        "Tags: [] after the last untag"
    );
    let (code, message) = error_of(
        sm.tag_resource()
            .secret_id("t")
            .tags(tag("aws:cloudformation:stack-name", "s"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        "You can't modify system tags. Tag key: 'aws:cloudformation:stack-name'."
    );
}

#[tokio::test]
async fn tagging_a_deleted_secret_is_refused() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("d")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    sm.delete_secret().secret_id("d").send().await.unwrap();
    let (code, message) = error_of(
        sm.tag_resource()
            .secret_id("d")
            .tags(tag("a", "1"))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("InvalidRequestException", MARKED_FOR_DELETION)
    );
    let (code, _) = error_of(
        sm.untag_resource()
            .secret_id("d")
            .tag_keys("a")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidRequestException");
    let (code, _) = error_of(
        sm.tag_resource()
            .secret_id("nope")
            .tags(tag("a", "1"))
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn batch_get_by_ids_reports_each_failure() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("a")
        .secret_string("A")
        .send()
        .await
        .unwrap();
    sm.create_secret()
        .name("b")
        .secret_string("B")
        .send()
        .await
        .unwrap();
    sm.create_secret().name("empty").send().await.unwrap();
    sm.create_secret()
        .name("gone")
        .secret_string("G")
        .send()
        .await
        .unwrap();
    sm.delete_secret().secret_id("gone").send().await.unwrap();
    let out = sm
        .batch_get_secret_value()
        .secret_id_list("a")
        .secret_id_list("b")
        .secret_id_list("missing")
        .secret_id_list("empty")
        .secret_id_list("gone")
        .send()
        .await
        .unwrap();
    let values: Vec<(&str, &str)> = out
        .secret_values()
        .iter()
        .map(|v| (v.name().unwrap(), v.secret_string().unwrap()))
        .collect();
    assert_eq!(values, [("a", "A"), ("b", "B")]);
    assert_eq!(out.secret_values()[0].version_stages(), ["AWSCURRENT"]);
    let errors: Vec<(&str, &str, &str)> = out
        .errors()
        .iter()
        .map(|e| {
            (
                e.secret_id().unwrap(),
                e.error_code().unwrap(),
                e.message().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("missing", "ResourceNotFoundException", NOT_FOUND),
            ("empty", "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"),
            ("gone", "InvalidRequestException", MARKED_FOR_DELETION),
        ]
    );
}

#[tokio::test]
async fn batch_get_by_filters_pages() {
    let server = start().await;
    let sm = client(&server);
    for i in 0..5 {
        sm.create_secret()
            .name(format!("app/{i}"))
            .secret_string(format!("v{i}"))
            .send()
            .await
            .unwrap();
        server.clock().advance_millis(1000);
    }
    sm.create_secret()
        .name("other")
        .secret_string("o")
        .send()
        .await
        .unwrap();
    let filter = Filter::builder()
        .key(FilterNameStringType::Name)
        .values("app/")
        .build();
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = sm
            .batch_get_secret_value()
            .filters(filter.clone())
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        seen.extend(
            page.secret_values()
                .iter()
                .map(|v| v.secret_string().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["v0", "v1", "v2", "v3", "v4"]);
}

#[tokio::test]
async fn batch_get_argument_rules() {
    let server = start().await;
    let sm = client(&server);
    let filter = Filter::builder()
        .key(FilterNameStringType::Name)
        .values("a")
        .build();
    let (code, _) = error_of(
        sm.batch_get_secret_value()
            .secret_id_list("a")
            .filters(filter)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = error_of(sm.batch_get_secret_value().send().await);
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = error_of(
        sm.batch_get_secret_value()
            .secret_id_list("a")
            .max_results(5)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    let mut many = sm.batch_get_secret_value();
    for i in 0..21 {
        many = many.secret_id_list(format!("s{i}"));
    }
    let (code, _) = error_of(many.send().await);
    assert_eq!(code, "ValidationException");
}
