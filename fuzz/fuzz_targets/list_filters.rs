//! The ListSecrets filter parser (`api::list::parse_filters`, also BatchGetSecretValue's) and
//! the matcher it feeds (`model::filter::matches_all`).
//!
//! Input: a ListSecrets request body, e.g.
//! `{"Filters":[{"Key":"name","Values":["prod/"]},{"Key":"tag-key","Values":["!team"]}]}`.
//!
//! Properties: no panic; a missing key or values list is an `InvalidParameterException`, a
//! constraint violation a `ValidationException` in Coral's words; filters that pass the
//! constraints are exactly the shapes given (≤ 10 filters, 1–10 values of ≤ 512 characters of
//! AWS's set). The matcher, over a few secrets: filters are ANDed, the values of one filter
//! ORed, and `!v` matches exactly the secrets `v` does not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secretsd::api::list::{parse_filters, ListSecretsInput};
use secretsd::error::ErrorCode;
use secretsd::model::filter::{matches_all, Filter, FilterKey};
use secretsd::model::secret::{Replica, Secret, Tag};
use secretsd::model::validate::Constraints;

fn secret(name: &str, description: Option<&str>, tags: &[(&str, &str)], replicated: bool) -> Secret {
    Secret {
        arn: format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbCdEf"),
        name: name.into(),
        account: "000000000000".into(),
        region: "us-east-1".into(),
        description: description.map(str::to_string),
        tags: Some(
            tags.iter()
                .map(|(k, v)| Tag {
                    key: k.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        ),
        replicas: if replicated {
            vec![Replica {
                region: "eu-west-1".into(),
                kms_key_id: None,
                status: "InSync".into(),
                status_message: None,
            }]
        } else {
            Vec::new()
        },
        ..Secret::default()
    }
}

fn secrets() -> Vec<Secret> {
    vec![
        secret("prod/AppBeta/mysql", Some("The production database"), &[("Environment", "production"), ("team", "db")], true),
        secret("uat/COMPANYthings/x", None, &[], false),
        secret("SecretOne", Some("DescTwo rotated: weekly"), &[("aws:cloudformation:stack-name", "stack-1")], false),
        secret("rds!cluster-1234", Some("Ünïcode ñame ẞ"), &[("Owner", "ops@example.com")], false),
        secret("a", Some(""), &[("", "")], false),
    ]
}

fn value_ok(v: &str) -> bool {
    v.chars().count() <= 512
        && v
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || " :_@/+=.-!".contains(ch))
}

fn one(key: FilterKey, values: &[&str]) -> Filter {
    Filter {
        key,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = secretsd::protocol::decode::<ListSecretsInput>(data) else {
        return; // the awsjson target covers refusals
    };
    let shapes = input.filters.as_deref();
    let mut c = Constraints::new();
    let filters = match parse_filters(&mut c, shapes) {
        Ok(filters) => filters,
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidParameter, "{e:?}");
            let shapes = shapes.expect("no filters never fail");
            assert!(shapes.iter().any(|s| s.key.is_none() || s.values.is_none()));
            return;
        }
    };
    let shapes = shapes.unwrap_or_default();
    assert!(filters.len() <= shapes.len());
    let valid = match c.finish() {
        Ok(_) => true,
        Err(e) => {
            assert_eq!(e.code, ErrorCode::Validation, "{e:?}");
            assert!(
                e.message.starts_with("1 validation error detected: ")
                    || e.message.contains(" validation errors detected: "),
                "{}",
                e.message
            );
            false
        }
    };
    let fits = shapes.len() <= 10
        && shapes.iter().all(|s| {
            s.key.as_deref().and_then(FilterKey::parse).is_some()
                && s.values
                    .as_ref()
                    .is_some_and(|v| (1..=10).contains(&v.len()) && v.iter().all(|v| value_ok(v)))
        });
    assert_eq!(valid, fits, "constraints disagree with the documented limits");
    if valid {
        assert_eq!(filters.len(), shapes.len());
        for (f, s) in filters.iter().zip(shapes) {
            assert_eq!(Some(f.key), s.key.as_deref().and_then(FilterKey::parse));
            assert_eq!(Some(&f.values), s.values.as_ref());
        }
    }

    // The matcher, over secrets of different shapes (only valid filters reach it in the
    // server, but it must not panic on any).
    for s in &secrets() {
        let all = matches_all(&filters, s);
        if !valid {
            continue;
        }
        assert_eq!(
            all,
            filters.iter().all(|f| matches_all(std::slice::from_ref(f), s)),
            "filters are ANDed"
        );
        for f in &filters {
            for v in &f.values {
                if v.starts_with('!') {
                    continue;
                }
                let plain = matches_all(&[one(f.key, &[v])], s);
                let negated = matches_all(&[one(f.key, &[&format!("!{v}")])], s);
                assert_ne!(plain, negated, "!{v} is not the complement of {v}");
            }
            if f.values.iter().all(|v| !v.starts_with('!')) {
                let any = f.values.iter().any(|v| matches_all(&[one(f.key, &[v])], s));
                assert_eq!(matches_all(std::slice::from_ref(f), s), any, "values are ORed");
            }
        }
    }
    assert!(secrets().iter().all(|s| matches_all(&[], s)));
});
