//! Many clients racing on one secret (issue 6): values, label moves, tags, delete/restore and
//! rotations at once. Writes to one secret are serialised, so every observed state must satisfy
//! the stage invariants, and the end state must be what some serial order of the acknowledged
//! calls produces: every acknowledged version present with its value, no acknowledged tag lost.

mod common;

use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;
use common::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

const CLIENTS: usize = 8;
const OPS: usize = 30;
const ROTATOR: &str = "arn:aws:lambda:us-east-1:000000000000:function:fails";

#[derive(Default)]
struct Acknowledged {
    versions: BTreeMap<String, String>,
    tags: BTreeSet<String>,
}

/// The stage invariants of one observed state; `Err` describes the breach.
async fn check(sm: &Client) -> Result<HashMap<String, Vec<String>>, String> {
    let d = sm
        .describe_secret()
        .secret_id("raced")
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let stages = d.version_ids_to_stages().cloned().unwrap_or_default();
    let labels: Vec<&String> = stages.values().flatten().collect();
    let count = |l: &str| labels.iter().filter(|x| x.as_str() == l).count();
    if count("AWSCURRENT") != 1 || count("AWSPREVIOUS") > 1 {
        return Err(format!("stage invariants broken: {stages:?}"));
    }
    let unique: BTreeSet<&String> = labels.iter().copied().collect();
    if unique.len() != labels.len() {
        return Err(format!("a label on two versions: {stages:?}"));
    }
    Ok(stages)
}

async fn racer(sm: Client, me: usize, acked: Arc<Mutex<Acknowledged>>) -> Result<(), String> {
    for n in 0..OPS {
        let token = format!("{me:02}-{n:03}-{}", "0".repeat(28));
        match (me + n) % 6 {
            0 | 1 => {
                let value = format!("value {me} {n}");
                if sm
                    .put_secret_value()
                    .secret_id("raced")
                    .client_request_token(&token)
                    .secret_string(&value)
                    .send()
                    .await
                    .is_ok()
                {
                    acked.lock().unwrap().versions.insert(token, value);
                }
            }
            2 => {
                // Move a custom label to some acknowledged version (it may lose a race: fine).
                let target = acked.lock().unwrap().versions.keys().last().cloned();
                if let Some(target) = target {
                    let stages = check(&sm).await?;
                    let holder = stages
                        .iter()
                        .find(|(_, s)| s.iter().any(|l| l == "MARK"))
                        .map(|(v, _)| v.clone());
                    let _ = sm
                        .update_secret_version_stage()
                        .secret_id("raced")
                        .version_stage("MARK")
                        .move_to_version_id(target)
                        .set_remove_from_version_id(holder)
                        .send()
                        .await;
                }
            }
            3 => {
                let key = format!("k{me}-{n}");
                if sm
                    .tag_resource()
                    .secret_id("raced")
                    .tags(Tag::builder().key(&key).value("v").build())
                    .send()
                    .await
                    .is_ok()
                {
                    acked.lock().unwrap().tags.insert(key);
                }
            }
            4 => {
                let _ = sm.delete_secret().secret_id("raced").send().await;
                let _ = sm.restore_secret().secret_id("raced").send().await;
            }
            _ => {
                let _ = sm
                    .rotate_secret()
                    .secret_id("raced")
                    .rotation_lambda_arn(ROTATOR)
                    .send()
                    .await;
            }
        }
        check(&sm).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_clients_leave_a_serialisable_history() {
    let server = start_with_config(
        "[functions.fails]\nkind = \"exec\"\ncommand = [\"false\"]\ntimeout_s = 5\n",
    )
    .await;
    let sm = client(&server);
    let created = sm
        .create_secret()
        .name("raced")
        .secret_string("initial")
        .send()
        .await
        .unwrap();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    acked.lock().unwrap().versions.insert(
        created.version_id().unwrap().to_string(),
        "initial".to_string(),
    );
    let racers: Vec<_> = (0..CLIENTS)
        .map(|me| tokio::spawn(racer(client(&server), me, acked.clone())))
        .collect();
    for racer in racers {
        racer.await.unwrap().unwrap();
    }
    let _ = sm.restore_secret().secret_id("raced").send().await;
    check(&sm).await.unwrap();

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.versions.len() > CLIENTS,
        "too few writes won: {}",
        acked.versions.len()
    );
    for (version, value) in &acked.versions {
        let got = sm
            .get_secret_value()
            .secret_id("raced")
            .version_id(version)
            .send()
            .await
            .unwrap_or_else(|e| panic!("acknowledged version {version} is gone: {e:?}"));
        assert_eq!(got.secret_string(), Some(value.as_str()));
    }
    // The history holds exactly the acknowledged versions (rotation placeholders have no
    // value and are not listed).
    let listed: BTreeSet<String> = sm
        .list_secret_version_ids()
        .secret_id("raced")
        .include_deprecated(true)
        .max_results(100)
        .send()
        .await
        .unwrap()
        .versions()
        .iter()
        .filter_map(|v| v.version_id().map(str::to_string))
        .collect();
    let expected: BTreeSet<String> = acked.versions.keys().cloned().collect();
    assert_eq!(listed, expected);
    // No acknowledged tag was lost to a concurrent writer.
    let tags: BTreeSet<String> = sm
        .describe_secret()
        .secret_id("raced")
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .filter_map(|t| t.key().map(str::to_string))
        .collect();
    assert!(
        acked.tags.is_subset(&tags),
        "lost tags: {:?}",
        acked.tags.difference(&tags)
    );
    server.shutdown().await;
}
