//! State survives a restart on the same data dir; in-memory servers start empty.

mod common;

use common::*;

#[tokio::test]
async fn secrets_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    let sm = client(&server);
    let arn = sm
        .create_secret()
        .name("keep")
        .secret_string("v1")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    sm.put_secret_value()
        .secret_id("keep")
        .secret_string("v2")
        .send()
        .await
        .unwrap();
    sm.delete_secret()
        .secret_id("keep")
        .recovery_window_in_days(10)
        .send()
        .await
        .unwrap();
    sm.restore_secret().secret_id("keep").send().await.unwrap();
    server.shutdown().await;

    let server = start_on(dir.path()).await;
    let sm = client(&server);
    let got = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(got.secret_string(), Some("v2"));
    let previous = sm
        .get_secret_value()
        .secret_id("keep")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.secret_string(), Some("v1"));
    server.shutdown().await;
}

#[tokio::test]
async fn values_are_not_stored_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    let sm = client(&server);
    let marker = "plaintext-marker-7f3a9c1e";
    sm.create_secret()
        .name("hidden")
        .secret_string(marker)
        .send()
        .await
        .unwrap();
    server.shutdown().await;
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{} holds the plaintext",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_wrong_master_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    server.shutdown().await;
    std::fs::write(dir.path().join("master.key"), [9u8; 32]).unwrap();
    let err = secretsd::Server::start(common::config_on(dir.path()))
        .await
        .err()
        .expect("start must fail");
    assert!(
        err.to_string().contains("master key does not match"),
        "{err}"
    );
}

/// Each engine keeps its own files in the data dir and refuses a dir that holds the other's
/// store, instead of starting empty beside secrets it cannot see.
#[tokio::test]
async fn a_data_dir_belongs_to_the_engine_that_wrote_it() {
    use secretsd::store::EngineKind;
    for (first, other, own) in [
        (EngineKind::Redb, EngineKind::Sled, "secrets.redb"),
        (EngineKind::Sled, EngineKind::Redb, "secrets.sled"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = |store: &EngineKind| secretsd::Config {
            storage: secretsd::Location::Dir(dir.path().to_path_buf()),
            store: store.clone(),
            ..common::config()
        };
        let server: common::TestServer = secretsd::Server::start(config(&first))
            .await
            .unwrap()
            .into();
        client(&server)
            .create_secret()
            .name("kept")
            .secret_string("v")
            .send()
            .await
            .unwrap();
        server.shutdown().await;
        let files: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(files.iter().any(|f| f == own), "{first:?}: {files:?}");

        let err = secretsd::Server::start(config(&other))
            .await
            .err()
            .expect("the other engine must refuse the dir")
            .to_string();
        assert_eq!(
            err,
            format!(
                "{} holds a {} store; start with --store {} (or use another --data-dir for a {} store)",
                dir.path().display(),
                first.name(),
                first.name(),
                other.name()
            )
        );
        let server: common::TestServer = secretsd::Server::start(config(&first))
            .await
            .unwrap()
            .into();
        let value = client(&server)
            .get_secret_value()
            .secret_id("kept")
            .send()
            .await
            .unwrap();
        assert_eq!(value.secret_string(), Some("v"));
        server.shutdown().await;
    }
}

#[tokio::test]
async fn in_memory_servers_start_empty() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("m")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    server.shutdown().await;
    let server = start().await;
    let sm = client(&server);
    let (code, _) = error_of(sm.describe_secret().secret_id("m").send().await);
    assert_eq!(code, "ResourceNotFoundException");
}

/// Many writers at once on a durable store: every call completes (no storage deadlock), and
/// each secret ends with exactly one AWSCURRENT and one AWSPREVIOUS.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_durable_writers_all_complete() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    let sm = client(&server);
    for i in 0..4 {
        sm.create_secret()
            .name(format!("c{i}"))
            .secret_string("0")
            .send()
            .await
            .unwrap();
    }
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let sm = sm.clone();
            tokio::spawn(async move {
                for n in 0..20 {
                    sm.put_secret_value()
                        .secret_id(format!("c{}", (w + n) % 4))
                        .secret_string(format!("{w}-{n}"))
                        .send()
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let all = async {
        for w in writers {
            w.await.unwrap();
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), all)
        .await
        .expect("writers finish");
    for i in 0..4 {
        let d = sm
            .describe_secret()
            .secret_id(format!("c{i}"))
            .send()
            .await
            .unwrap();
        let stages = d.version_ids_to_stages().unwrap();
        let count = |label: &str| {
            stages
                .values()
                .filter(|labels| labels.iter().any(|l| l == label))
                .count()
        };
        assert_eq!(count("AWSCURRENT"), 1);
        assert_eq!(count("AWSPREVIOUS"), 1);
        let versions = sm
            .list_secret_version_ids()
            .secret_id(format!("c{i}"))
            .include_deprecated(true)
            .send()
            .await
            .unwrap();
        assert_eq!(versions.versions().len(), 81);
    }
    server.shutdown().await;
}
