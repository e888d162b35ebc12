//! Replication to other Regions through aws-sdk-rust (docs/aws-behaviour.md §3.6): replicas are
//! real secrets in their Region, read-only, and follow the primary.

mod common;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, ReplicaRegionType};
use common::*;

fn region(name: &str) -> ReplicaRegionType {
    ReplicaRegionType::builder().region(name).build()
}

#[tokio::test]
async fn replicas_follow_the_primary_and_are_read_only() {
    let server = start().await;
    let east = client(&server);
    let west = client_for(&server, "eu-west-1", "test", "test");
    let created = east
        .create_secret()
        .name("shared")
        .secret_string("v1")
        .add_replica_regions(region("eu-west-1"))
        .send()
        .await
        .unwrap();
    let status = created.replication_status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].region(), Some("eu-west-1"));
    assert_eq!(status[0].status().unwrap().as_str(), "InSync");

    let replica = west
        .get_secret_value()
        .secret_id("shared")
        .send()
        .await
        .unwrap();
    assert_eq!(replica.secret_string(), Some("v1"));
    let suffix = &created.arn().unwrap()[created.arn().unwrap().len() - 6..];
    assert_eq!(
        replica.arn().unwrap(),
        format!("arn:aws:secretsmanager:eu-west-1:000000000000:secret:shared-{suffix}")
    );
    east.put_secret_value()
        .secret_id("shared")
        .secret_string("v2")
        .send()
        .await
        .unwrap();
    let replica = west
        .get_secret_value()
        .secret_id("shared")
        .send()
        .await
        .unwrap();
    assert_eq!(replica.secret_string(), Some("v2"));
    let previous = west
        .get_secret_value()
        .secret_id("shared")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.secret_string(), Some("v1"));

    let d = west
        .describe_secret()
        .secret_id("shared")
        .send()
        .await
        .unwrap();
    assert_eq!(d.primary_region(), Some("us-east-1"));
    let d = east
        .describe_secret()
        .secret_id("shared")
        .send()
        .await
        .unwrap();
    assert_eq!(d.primary_region(), Some("us-east-1"));
    assert_eq!(d.replication_status().len(), 1);

    let (code, message) = error_of(
        west.put_secret_value()
            .secret_id("shared")
            .secret_string("x")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(message, "Operation not permitted on a replica secret. Call must be made in primary secret's region.");
    let (code, _) = error_of(west.delete_secret().secret_id("shared").send().await);
    assert_eq!(code, "InvalidParameterException");
    let (code, message) = error_of(east.delete_secret().secret_id("shared").send().await);
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(
        message,
        "You can't delete secret shared that still has replica regions [eu-west-1]"
    );

    let listed = east
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::PrimaryRegion)
                .values("us-east")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(listed.secret_list().len(), 1);
}

#[tokio::test]
async fn replicate_remove_and_promote() {
    let server = start().await;
    let east = client(&server);
    let west = client_for(&server, "eu-west-1", "test", "test");
    let south = client_for(&server, "ap-south-1", "test", "test");
    east.create_secret()
        .name("p")
        .secret_string("v")
        .send()
        .await
        .unwrap();
    south
        .create_secret()
        .name("p")
        .secret_string("theirs")
        .send()
        .await
        .unwrap();
    let out = east
        .replicate_secret_to_regions()
        .secret_id("p")
        .add_replica_regions(region("eu-west-1"))
        .add_replica_regions(region("ap-south-1"))
        .send()
        .await
        .unwrap();
    let statuses: Vec<(&str, &str)> = out
        .replication_status()
        .iter()
        .map(|s| (s.region().unwrap(), s.status().unwrap().as_str()))
        .collect();
    assert_eq!(
        statuses,
        [("eu-west-1", "InSync"), ("ap-south-1", "Failed")]
    );
    assert_eq!(
        south
            .get_secret_value()
            .secret_id("p")
            .send()
            .await
            .unwrap()
            .secret_string(),
        Some("theirs"),
        "an existing secret is not overwritten without ForceOverwriteReplicaSecret"
    );
    let (code, message) = error_of(
        east.replicate_secret_to_regions()
            .secret_id("p")
            .add_replica_regions(region("us-east-1"))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("InvalidParameterException", "Invalid replica region.")
    );

    // Promotion: the replica stands alone and the primary forgets it.
    let promoted = west
        .stop_replication_to_replica()
        .secret_id("p")
        .send()
        .await
        .unwrap();
    assert!(promoted.arn().unwrap().contains(":eu-west-1:"));
    west.put_secret_value()
        .secret_id("p")
        .secret_string("mine")
        .send()
        .await
        .unwrap();
    let d = east.describe_secret().secret_id("p").send().await.unwrap();
    let regions: Vec<&str> = d
        .replication_status()
        .iter()
        .map(|s| s.region().unwrap())
        .collect();
    assert_eq!(regions, ["ap-south-1"]);

    let out = east
        .remove_regions_from_replication()
        .secret_id("p")
        .remove_replica_regions("ap-south-1")
        .send()
        .await
        .unwrap();
    assert!(out.replication_status().is_empty());
    // A Failed replica never owned the other secret there: it survives.
    assert!(south.describe_secret().secret_id("p").send().await.is_ok());
    east.delete_secret()
        .secret_id("p")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
}

/// Every version id of `id` (with deprecated ones) and the value of each, as `sm` reads them.
async fn versions_and_values(
    sm: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Vec<(String, String)> {
    let listed = sm
        .list_secret_version_ids()
        .secret_id(id)
        .include_deprecated(true)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for v in listed.versions() {
        let version_id = v.version_id().unwrap().to_string();
        let value = sm
            .get_secret_value()
            .secret_id(id)
            .version_id(&version_id)
            .send()
            .await
            .unwrap();
        out.push((version_id, value.secret_string().unwrap().to_string()));
    }
    out
}

/// A replica holds the primary's deprecated versions too: those the primary had when the
/// replica was made, and those it deprecates later; a version the primary labels again is
/// labelled on the replica, and listed once.
#[tokio::test]
async fn replicas_keep_deprecated_versions() {
    let server = start().await;
    let east = client(&server);
    let west = client_for(&server, "eu-west-1", "test", "test");
    let token = |i: u32| format!("00000000-0000-0000-0000-{i:012}");
    east.create_secret()
        .name("history")
        .secret_string("v1")
        .client_request_token(token(1))
        .send()
        .await
        .unwrap();
    for i in 2..=4 {
        east.put_secret_value()
            .secret_id("history")
            .secret_string(format!("v{i}"))
            .client_request_token(token(i))
            .send()
            .await
            .unwrap();
    }
    east.replicate_secret_to_regions()
        .secret_id("history")
        .add_replica_regions(region("eu-west-1"))
        .send()
        .await
        .unwrap();
    let expected: Vec<(String, String)> = (1..=4).map(|i| (token(i), format!("v{i}"))).collect();
    assert_eq!(versions_and_values(&west, "history").await, expected);

    east.put_secret_value()
        .secret_id("history")
        .secret_string("v5")
        .client_request_token(token(5))
        .send()
        .await
        .unwrap();
    east.update_secret_version_stage()
        .secret_id("history")
        .version_stage("OLD")
        .move_to_version_id(token(1))
        .send()
        .await
        .unwrap();
    let expected: Vec<(String, String)> = (1..=5).map(|i| (token(i), format!("v{i}"))).collect();
    assert_eq!(versions_and_values(&east, "history").await, expected);
    assert_eq!(versions_and_values(&west, "history").await, expected);
    let stages = west
        .describe_secret()
        .secret_id("history")
        .send()
        .await
        .unwrap()
        .version_ids_to_stages()
        .cloned()
        .unwrap();
    assert_eq!(stages.len(), 3, "{stages:?}");
    assert_eq!(stages[&token(1)], ["OLD"]);
    assert_eq!(stages[&token(4)], ["AWSPREVIOUS"]);
    assert_eq!(stages[&token(5)], ["AWSCURRENT"]);
}
