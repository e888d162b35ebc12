//! ListSecrets through aws-sdk-rust: filters, orders, keyset pagination, planned deletion.

mod common;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SortByType, SortOrderType, Tag};
use common::*;

async fn names(
    request: aws_sdk_secretsmanager::operation::list_secrets::builders::ListSecretsFluentBuilder,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = request.clone().set_next_token(token).send().await.unwrap();
        out.extend(
            page.secret_list()
                .iter()
                .map(|s| s.name().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

fn filter(key: FilterNameStringType, values: &[&str]) -> Filter {
    let mut f = Filter::builder().key(key);
    for v in values {
        f = f.values(*v);
    }
    f.build()
}

#[tokio::test]
async fn lists_in_creation_order_with_pages() {
    let server = start().await;
    let sm = client(&server);
    for name in ["c", "a", "d", "b", "e"] {
        sm.create_secret()
            .name(name)
            .secret_string("x")
            .send()
            .await
            .unwrap();
        server.clock().advance_millis(1000);
    }
    assert_eq!(names(sm.list_secrets()).await, ["c", "a", "d", "b", "e"]);
    assert_eq!(
        names(sm.list_secrets().max_results(2)).await,
        ["c", "a", "d", "b", "e"]
    );
    assert_eq!(
        names(
            sm.list_secrets()
                .max_results(2)
                .sort_order(SortOrderType::Desc)
        )
        .await,
        ["e", "b", "d", "a", "c"]
    );
    assert_eq!(
        names(sm.list_secrets().max_results(3).sort_by(SortByType::Name)).await,
        ["a", "b", "c", "d", "e"]
    );
    let first = sm.list_secrets().max_results(2).send().await.unwrap();
    assert_eq!(first.secret_list().len(), 2);
    assert!(first.next_token().is_some());
    let entry = &first.secret_list()[0];
    assert!(entry.arn().unwrap().contains(":secret:c-"));
    assert_eq!(entry.secret_versions_to_stages().unwrap().len(), 1);
    assert!(entry.created_date().is_some() && entry.last_changed_date().is_some());
}

#[tokio::test]
async fn pages_do_not_shift_when_secrets_come_and_go() {
    let server = start().await;
    let sm = client(&server);
    for i in 0..6 {
        sm.create_secret()
            .name(format!("s{i}"))
            .secret_string("x")
            .send()
            .await
            .unwrap();
        server.clock().advance_millis(1000);
    }
    let page1 = sm.list_secrets().max_results(3).send().await.unwrap();
    let seen: Vec<&str> = page1
        .secret_list()
        .iter()
        .map(|s| s.name().unwrap())
        .collect();
    assert_eq!(seen, ["s0", "s1", "s2"]);
    sm.delete_secret()
        .secret_id("s0")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    sm.create_secret()
        .name("s6")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let page2 = sm
        .list_secrets()
        .max_results(3)
        .next_token(page1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let seen: Vec<&str> = page2
        .secret_list()
        .iter()
        .map(|s| s.name().unwrap())
        .collect();
    assert_eq!(seen, ["s3", "s4", "s5"]);
}

#[tokio::test]
async fn filters_follow_awss_rules() {
    let server = start().await;
    let sm = client(&server);
    for (name, description) in [
        ("testing1/one", "a secret"),
        ("/testing2/two", "an secret"),
        ("testing3/three", "asecret"),
        ("/testing4/four", "thesecret"),
    ] {
        sm.create_secret()
            .name(name)
            .description(description)
            .secret_string("x")
            .tags(
                Tag::builder()
                    .key("env")
                    .value(if name.starts_with('/') { "prod" } else { "dev" })
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // Listing is in creation order: secrets made in one millisecond would tie.
        server.clock().advance_millis(1);
    }
    let by = |key, values: &[&str]| sm.list_secrets().filters(filter(key, values));
    assert_eq!(
        names(by(FilterNameStringType::Name, &["/"])).await,
        ["/testing2/two", "/testing4/four"]
    );
    assert_eq!(
        names(by(FilterNameStringType::Name, &["!/"])).await,
        ["testing1/one", "testing3/three"]
    );
    assert_eq!(
        names(by(FilterNameStringType::Description, &["a"])).await,
        ["testing1/one", "/testing2/two", "testing3/three"]
    );
    assert_eq!(
        names(by(FilterNameStringType::Description, &["!a"])).await,
        ["/testing4/four"]
    );
    assert_eq!(
        names(by(FilterNameStringType::Description, &["a secret"])).await,
        ["testing1/one", "/testing2/two"]
    );
    assert_eq!(
        names(by(FilterNameStringType::TagValue, &["prod"])).await,
        ["/testing2/two", "/testing4/four"]
    );
    assert_eq!(
        names(by(FilterNameStringType::All, &["testing4"])).await,
        ["/testing4/four"]
    );
    let both = sm
        .list_secrets()
        .filters(filter(FilterNameStringType::Description, &["a"]))
        .filters(filter(FilterNameStringType::Name, &["/"]));
    assert_eq!(names(both).await, ["/testing2/two"]);
}

#[tokio::test]
async fn planned_deletions_are_hidden_unless_asked_for() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("live")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    sm.create_secret()
        .name("dying")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    sm.delete_secret()
        .secret_id("dying")
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(names(sm.list_secrets()).await, ["live"]);
    let all = sm
        .list_secrets()
        .include_planned_deletion(true)
        .send()
        .await
        .unwrap();
    let dying = all
        .secret_list()
        .iter()
        .find(|s| s.name() == Some("dying"))
        .unwrap();
    assert!(dying.deleted_date().is_some());
    assert_eq!(all.secret_list().len(), 2);
}

#[tokio::test]
async fn bad_list_requests() {
    let server = start().await;
    let sm = client(&server);
    let (code, _) = error_of(sm.list_secrets().next_token("forged").send().await);
    assert_eq!(code, "InvalidNextTokenException");
    let (code, message) = error_of(
        sm.list_secrets()
            .filters(filter(FilterNameStringType::from("invalid"), &["x"]))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "1 validation error detected: Value 'invalid' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [description, name, tag-key, tag-value, primary-region, owning-service, all]");
    let (code, _) = error_of(sm.list_secrets().max_results(101).send().await);
    assert_eq!(code, "ValidationException");
    let (code, message) = error_of(
        sm.list_secrets()
            .filters(filter(FilterNameStringType::Name, &["a*b"]))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("Member must satisfy regular expression pattern"));
}

#[tokio::test]
async fn name_filtered_listing_pages_in_every_order() {
    let server = start().await;
    let sm = client(&server);
    for name in ["app/c", "other/x", "app/a", "app", "apple", "app/b", "zz"] {
        sm.create_secret()
            .name(name)
            .secret_string("x")
            .send()
            .await
            .unwrap();
        server.clock().advance_millis(1000);
    }
    let app = || {
        sm.list_secrets()
            .max_results(2)
            .filters(filter(FilterNameStringType::Name, &["app/", "app"]))
    };
    assert_eq!(
        names(app()).await,
        ["app/c", "app/a", "app", "apple", "app/b"]
    );
    assert_eq!(
        names(app().sort_order(SortOrderType::Desc)).await,
        ["app/b", "apple", "app", "app/a", "app/c"]
    );
    assert_eq!(
        names(app().sort_by(SortByType::Name)).await,
        ["app", "app/a", "app/b", "app/c", "apple"]
    );
    let only_slash = sm
        .list_secrets()
        .filters(filter(FilterNameStringType::Name, &["app/"]))
        .filters(filter(FilterNameStringType::Name, &["!app/b"]));
    assert_eq!(names(only_slash).await, ["app/c", "app/a"]);
}

/// A name filter that matches more secrets than a page may examine is read in the listing's
/// order, a budget at a time, never gathered whole to be sorted: under a date order with a
/// sparse second filter, pages end early with a NextToken, and every order finds every match.
#[tokio::test]
async fn a_broad_name_filter_pages_with_bounded_work() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("a/before")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    for i in 0..2500 {
        let mut create = sm
            .create_secret()
            .name(format!("big/{i:04}"))
            .secret_string("x");
        if i % 1000 == 999 {
            create = create.tags(Tag::builder().key("rare").value("yes").build());
        }
        create.send().await.unwrap();
        if i % 100 == 0 {
            server.clock().advance_millis(1000);
        }
    }
    sm.create_secret()
        .name("zz/after")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let big = filter(FilterNameStringType::Name, &["big/"]);
    let rare = sm
        .list_secrets()
        .filters(big.clone())
        .filters(filter(FilterNameStringType::TagKey, &["rare"]));
    let first = rare.clone().send().await.unwrap();
    assert!(first.secret_list().len() <= 1);
    assert!(
        first.next_token().is_some(),
        "the scan budget ends the first page early"
    );
    assert_eq!(names(rare).await, ["big/0999", "big/1999"]);
    let every: Vec<String> = (0..2500).map(|i| format!("big/{i:04}")).collect();
    let listing = || sm.list_secrets().max_results(100).filters(big.clone());
    assert_eq!(names(listing()).await, every);
    assert_eq!(names(listing().sort_by(SortByType::Name)).await, every);
    let mut descending = every.clone();
    descending.reverse();
    assert_eq!(
        names(listing().sort_order(SortOrderType::Desc)).await,
        descending
    );
}

/// A filter that skips most secrets ends a page early (even empty) with a NextToken, so one
/// request never reads the whole partition; following the tokens finds every match once.
#[tokio::test]
async fn sparse_filters_page_with_bounded_work() {
    let server = start().await;
    let sm = client(&server);
    for i in 0..2500 {
        let mut create = sm
            .create_secret()
            .name(format!("s{i:04}"))
            .secret_string("x");
        if i % 1000 == 999 {
            create = create.tags(
                aws_sdk_secretsmanager::types::Tag::builder()
                    .key("rare")
                    .value("yes")
                    .build(),
            );
        }
        create.send().await.unwrap();
    }
    let request = sm
        .list_secrets()
        .filters(filter(FilterNameStringType::TagKey, &["rare"]));
    let first = request.clone().send().await.unwrap();
    assert!(first.secret_list().len() <= 1);
    assert!(
        first.next_token().is_some(),
        "the scan budget ends the first page early"
    );
    assert_eq!(names(request).await, ["s0999", "s1999"]);
}

#[tokio::test]
async fn date_orders_follow_changes_and_reads() {
    let server = start().await;
    let sm = client(&server);
    for name in ["a", "b", "c"] {
        sm.create_secret()
            .name(name)
            .secret_string("x")
            .send()
            .await
            .unwrap();
        server.clock().advance_millis(1000);
    }
    sm.update_secret()
        .secret_id("a")
        .description("changed")
        .send()
        .await
        .unwrap();
    let by_change = || {
        sm.list_secrets()
            .max_results(1)
            .sort_by(SortByType::LastChangedDate)
    };
    assert_eq!(names(by_change()).await, ["b", "c", "a"]);
    assert_eq!(
        names(by_change().sort_order(SortOrderType::Desc)).await,
        ["a", "c", "b"]
    );
    sm.get_secret_value().secret_id("b").send().await.unwrap();
    let by_access = sm
        .list_secrets()
        .max_results(2)
        .sort_by(SortByType::LastAccessedDate);
    assert_eq!(
        names(by_access).await,
        ["a", "c", "b"],
        "never-read secrets first, by name"
    );
}
