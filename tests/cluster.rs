//! Several secretsd nodes on one PostgreSQL database behave as one Secrets Manager: a write
//! acknowledged by one node is what every node reads, changes to one secret from several nodes
//! at once lose nothing, and a node with another master key refuses to start. Needs the private
//! PostgreSQL of scripts/testdb (`SECRETSD_TEST_PG_PORT`, `SECRETSD_TEST_PG_PASSWORD`).

mod common;

use aws_sdk_secretsmanager::Client;
use common::*;
use secretsd::store::EngineKind;
use secretsd::{Config, Server};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

const MASTER_KEY: [u8; 32] = [7; 32];

/// A node on `database` with the cluster's master key.
async fn node(database: &EngineKind) -> TestServer {
    node_with_key(database, MASTER_KEY)
        .await
        .expect("node starts")
}

async fn node_with_key(
    database: &EngineKind,
    key: [u8; 32],
) -> Result<TestServer, secretsd::server::StartError> {
    let config = Config {
        store: database.clone(),
        master_key: Some(key),
        ..Config::ephemeral()
    };
    Server::start(config).await.map(Into::into)
}

/// A new database for one cluster.
fn database() -> EngineKind {
    EngineKind::Postgres(postgres_database(None))
}

async fn value_of(sm: &Client, id: &str) -> String {
    sm.get_secret_value()
        .secret_id(id)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn each_node_reads_what_another_acknowledged() {
    let db = database();
    let (a, b) = (node(&db).await, node(&db).await);
    let (sa, sb) = (client(&a), client(&b));

    let created = sa
        .create_secret()
        .name("shared/db")
        .secret_string("one")
        .send()
        .await
        .unwrap();
    assert_eq!(value_of(&sb, "shared/db").await, "one");
    let described = sb
        .describe_secret()
        .secret_id("shared/db")
        .send()
        .await
        .unwrap();
    assert_eq!(described.arn(), created.arn());

    let put = sb
        .put_secret_value()
        .secret_id("shared/db")
        .secret_string("two")
        .send()
        .await
        .unwrap();
    assert_eq!(value_of(&sa, "shared/db").await, "two");
    let stages = sa
        .describe_secret()
        .secret_id("shared/db")
        .send()
        .await
        .unwrap()
        .version_ids_to_stages()
        .cloned()
        .unwrap();
    assert_eq!(stages[put.version_id().unwrap()], ["AWSCURRENT"]);
    assert_eq!(stages[created.version_id().unwrap()], ["AWSPREVIOUS"]);

    sa.tag_resource()
        .secret_id("shared/db")
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("team")
                .value("payments")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let listed = sb
        .list_secrets()
        .send()
        .await
        .unwrap()
        .secret_list()
        .to_vec();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].tags()[0].value(), Some("payments"));

    sb.delete_secret()
        .secret_id("shared/db")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(sa.get_secret_value().secret_id("shared/db").send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", NOT_FOUND)
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// Sixteen writers, each on one of two nodes, put versions with known tokens to four secrets
/// at once: every acknowledged version must be there with its value, and each secret must hold
/// one AWSCURRENT among them (a lost update would drop a version another node wrote).
#[tokio::test]
async fn writers_on_two_nodes_lose_no_acknowledged_version() {
    const WRITERS: usize = 16;
    const PUTS: usize = 20;
    const SECRETS: usize = 4;
    let db = database();
    let nodes = [node(&db).await, node(&db).await];
    let clients = [client(&nodes[0]), client(&nodes[1])];
    for s in 0..SECRETS {
        clients[0]
            .create_secret()
            .name(format!("hot/{s}"))
            .secret_string("initial")
            .send()
            .await
            .unwrap();
    }
    let acked: Arc<Mutex<BTreeMap<String, (usize, String)>>> = Default::default();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let sm = clients[w % 2].clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..PUTS {
                let secret = (w + n) % SECRETS;
                let token = format!("w{w:02}-n{n:03}-{}", "0".repeat(26));
                let value = format!("from writer {w}, put {n}");
                let put = sm
                    .put_secret_value()
                    .secret_id(format!("hot/{secret}"))
                    .client_request_token(&token)
                    .secret_string(&value)
                    .send()
                    .await;
                if put.is_ok() {
                    acked.lock().unwrap().insert(token, (secret, value));
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), WRITERS * PUTS, "every put is acknowledged");
    for s in 0..SECRETS {
        let sm = &clients[s % 2];
        let versions = sm
            .list_secret_version_ids()
            .secret_id(format!("hot/{s}"))
            .include_deprecated(true)
            .max_results(100)
            .send()
            .await
            .unwrap();
        let ids: BTreeSet<&str> = versions
            .versions()
            .iter()
            .filter_map(|v| v.version_id())
            .collect();
        let mine: Vec<(&String, &String)> = acked
            .iter()
            .filter(|(_, (secret, _))| *secret == s)
            .map(|(token, (_, value))| (token, value))
            .collect();
        for (token, value) in &mine {
            assert!(ids.contains(token.as_str()), "hot/{s} lost {token}");
            let read = sm
                .get_secret_value()
                .secret_id(format!("hot/{s}"))
                .version_id(token.as_str())
                .send()
                .await
                .unwrap();
            assert_eq!(read.secret_string(), Some(value.as_str()));
        }
        let current: Vec<&str> = versions
            .versions()
            .iter()
            .filter(|v| v.version_stages().contains(&"AWSCURRENT".to_string()))
            .filter_map(|v| v.version_id())
            .collect();
        assert_eq!(current.len(), 1, "hot/{s}: {current:?}");
        assert!(mine.iter().any(|(t, _)| t.as_str() == current[0]));
    }
    for n in nodes {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn a_node_with_another_master_key_refuses_to_start() {
    let db = database();
    let a = node(&db).await;
    let err = node_with_key(&db, [8; 32])
        .await
        .err()
        .expect("a node with another key must not start")
        .to_string();
    assert!(err.contains("master key does not match"), "{err}");
    a.shutdown().await;
}

/// The database turns the node away (its connections cut, new ones refused): calls fail as
/// AWS's InternalServiceError within the engine's bound, never a hang; once the database takes
/// connections again the node serves again, and nothing acknowledged is lost.
#[tokio::test]
async fn a_lost_database_is_an_error_then_service_resumes() {
    let db = database();
    let EngineKind::Postgres(url) = &db else {
        unreachable!()
    };
    let name = url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let a = node(&db).await;
    let sm = client(&a);
    sm.create_secret()
        .name("kept")
        .secret_string("before the cut")
        .send()
        .await
        .unwrap();
    admin_sql(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
    ))
    .unwrap();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let (code, _) = error_of(sm.get_secret_value().secret_id("kept").send().await);
        assert_eq!(code, "InternalServiceError");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
    let (code, _) = error_of(
        sm.put_secret_value()
            .secret_id("kept")
            .secret_string("refused")
            .send()
            .await,
    );
    assert_eq!(code, "InternalServiceError");
    admin_sql(format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")).unwrap();
    assert_eq!(value_of(&sm, "kept").await, "before the cut");
    sm.put_secret_value()
        .secret_id("kept")
        .secret_string("after the cut")
        .send()
        .await
        .unwrap();
    assert_eq!(value_of(&sm, "kept").await, "after the cut");
    a.shutdown().await;
}

/// With a long cache window, a node serves what it read from its cache: a change another node
/// acknowledges must still be what it reads next (the writer waits out the window before its
/// answer), and the writer's own node reads its change at once.
#[tokio::test]
async fn a_cached_read_never_hides_an_acknowledged_change() {
    let EngineKind::Postgres(url) = database() else {
        unreachable!()
    };
    let db = EngineKind::Postgres(format!("{url}&cache_window_ms=1000"));
    let (a, b) = (node(&db).await, node(&db).await);
    let (sa, sb) = (client(&a), client(&b));
    sa.create_secret()
        .name("cached")
        .secret_string("one")
        .send()
        .await
        .unwrap();
    for (n, (reader, writer)) in [(&sa, &sb), (&sb, &sa), (&sa, &sa)].into_iter().enumerate() {
        let before = value_of(reader, "cached").await; // now in the reader's cache
        let next = format!("{before}+{n}");
        let started = std::time::Instant::now();
        writer
            .put_secret_value()
            .secret_id("cached")
            .secret_string(&next)
            .send()
            .await
            .unwrap();
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "the commit waits"
        );
        assert_eq!(value_of(reader, "cached").await, next, "round {n}");
    }
    a.shutdown().await;
    b.shutdown().await;
}

/// A node alone on its database has no other node's cache to outwait: its writes are
/// acknowledged at once, and its own cache still never serves what they replaced. Once a
/// second node is up, every write waits out the window again.
#[tokio::test]
async fn a_node_alone_waits_for_no_cache_but_its_own_and_a_second_node_makes_writes_wait() {
    let EngineKind::Postgres(url) = database() else {
        unreachable!()
    };
    let db = EngineKind::Postgres(format!("{url}&cache_window_ms=1000"));
    let a = node(&db).await;
    let sa = client(&a);
    sa.create_secret()
        .name("alone")
        .secret_string("v0")
        .send()
        .await
        .unwrap();
    let put = |value: String| {
        let sa = sa.clone();
        async move {
            let started = std::time::Instant::now();
            sa.put_secret_value()
                .secret_id("alone")
                .secret_string(value)
                .send()
                .await
                .unwrap();
            started.elapsed()
        }
    };
    for n in 1..=3 {
        assert_eq!(value_of(&sa, "alone").await, format!("v{}", n - 1)); // cached for 1 s
        let took = put(format!("v{n}")).await;
        assert!(
            took < std::time::Duration::from_millis(900),
            "no wait alone: {took:?}"
        );
        assert_eq!(value_of(&sa, "alone").await, format!("v{n}"));
    }
    let b = node(&db).await;
    assert_eq!(value_of(&client(&b), "alone").await, "v3"); // in b's cache now
    let took = put("v4".into()).await;
    assert!(
        took >= std::time::Duration::from_secs(1),
        "b's cache is outwaited: {took:?}"
    );
    assert_eq!(value_of(&client(&b), "alone").await, "v4");
    a.shutdown().await;
    b.shutdown().await;
}

/// TLS to the database: `sslmode=require` verifies the server against `sslrootcert` (the private
/// CA of scripts/testdb), and without that CA the node refuses to start rather than trust it.
#[tokio::test]
async fn tls_to_the_database_is_verified() {
    let EngineKind::Postgres(url) = database() else {
        unreachable!()
    };
    let ca = std::env::var("SECRETSD_TEST_CA_FILE").expect("scripts/testdb");
    let plain = url.replace("sslmode=disable", "sslmode=require");
    let db = EngineKind::Postgres(format!("{plain}&sslrootcert={ca}"));
    let a = node(&db).await;
    let sm = client(&a);
    sm.create_secret()
        .name("over-tls")
        .secret_string("v")
        .send()
        .await
        .unwrap();
    assert_eq!(value_of(&sm, "over-tls").await, "v");
    a.shutdown().await;

    let err = node_with_key(&EngineKind::Postgres(plain), MASTER_KEY)
        .await
        .err()
        .expect("a server certificate from an unknown CA must be refused")
        .to_string();
    assert!(
        err.starts_with("the database is unavailable") && err.contains("invalid peer certificate"),
        "{err}"
    );
    assert!(!err.contains(&std::env::var("SECRETSD_TEST_PG_PASSWORD").unwrap()));
}

/// `(eventName, the secret it named)` of every API record `server`'s audit trail shows.
async fn audited_calls(server: &TestServer) -> Vec<(String, String)> {
    let answer = admin(server, "GET", "/_secretsd/audit?since=0", "").await;
    answer["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let params = &r["requestParameters"];
            let named = params["Name"].as_str().or(params["SecretId"].as_str());
            (
                r["eventName"].as_str().unwrap_or_default().to_string(),
                named.unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_audit_trail_on_any_node_shows_every_node_s_calls() {
    let db = database();
    let (a, b) = (node(&db).await, node(&db).await);
    client(&a)
        .create_secret()
        .name("audit/made-on-a")
        .secret_string("v")
        .send()
        .await
        .unwrap();
    client(&b)
        .describe_secret()
        .secret_id("audit/made-on-a")
        .send()
        .await
        .unwrap();
    let expected = [
        ("CreateSecret".to_string(), "audit/made-on-a".to_string()),
        ("DescribeSecret".to_string(), "audit/made-on-a".to_string()),
    ];
    // A node stores what it buffered every 100 ms, and before it reads the trail.
    for server in [&a, &b] {
        let mut calls = Vec::new();
        for _ in 0..50 {
            calls = audited_calls(server).await;
            if expected.iter().all(|e| calls.contains(e)) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(calls, expected, "each call once, oldest first");
    }
}

/// Every node removes audit batches past the age bound (30 days by default), at start and
/// then every minute; newer ones stay.
#[tokio::test]
async fn audit_batches_past_the_age_bound_are_removed() {
    let db = database();
    let a = node(&db).await;
    client(&a)
        .create_secret()
        .name("audit/kept")
        .secret_string("v")
        .send()
        .await
        .unwrap();
    let EngineKind::Postgres(url) = &db else {
        unreachable!()
    };
    sql_on(
        url.clone(),
        "INSERT INTO secretsd_audit (first_at, last_at, lines) \
         VALUES ('2000-01-01T00:00:00Z', '2000-01-01T00:00:01Z', '\\x00')"
            .into(),
    )
    .unwrap();
    let old_one_left = || {
        sql_on(
            url.clone(),
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM secretsd_audit WHERE last_at < '2001') \
             THEN RAISE EXCEPTION 'an old batch is left'; END IF; END $$"
                .into(),
        )
        .is_err()
    };
    assert!(old_one_left());
    // A node that starts now applies the bound within its first flushes.
    let b = node(&db).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while old_one_left() {
        assert!(std::time::Instant::now() < deadline, "the old batch stays");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        audited_calls(&b).await,
        [("CreateSecret".to_string(), "audit/kept".to_string())]
    );
}
