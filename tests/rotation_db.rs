//! The built-in rotators against real PostgreSQL and MariaDB servers with password
//! authentication (docs/aws-behaviour.md §R7.2), started by `scripts/testdb` — scripts/test exports
//! where they listen. Every rotation is proven on the server: the new password logs in, the
//! old one is refused, and alternating users keep their grants.

mod common;

use aws_sdk_secretsmanager::types::RotationRulesType;
use aws_sdk_secretsmanager::Client;
use common::*;
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_postgres::config::SslMode;

const PG_SINGLE: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:SecretsManagerRDSPostgreSQLRotationSingleUser";
const PG_MULTI: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:SecretsManagerRDSPostgreSQLRotationMultiUser";
const MARIADB_SINGLE: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:SecretsManagerRDSMariaDBRotationSingleUser";
const MARIADB_MULTI: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:SecretsManagerRDSMariaDBRotationMultiUser";
const MYSQL_SINGLE: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:SecretsManagerRDSMySQLRotationSingleUser";

/// A private test server: where it listens and its superuser's password.
struct Db {
    port: u16,
    master_password: String,
}

fn env_db(prefix: &str) -> Db {
    let var = |name: &str| {
        std::env::var(format!("SECRETSD_TEST_{prefix}_{name}")).unwrap_or_else(|_| {
            panic!(
                "SECRETSD_TEST_{prefix}_{name} is not set: these tests need the private database \
                 servers that scripts/test starts (or: eval \"$(scripts/testdb start /tmp/secretsd-db)\")"
            )
        })
    };
    Db {
        port: var("PORT").parse().expect("a port"),
        master_password: var("PASSWORD"),
    }
}

fn pg() -> Db {
    env_db("PG")
}

fn mariadb() -> Db {
    env_db("MYSQL")
}

/// A name no other test (or earlier run) uses.
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

async fn pg_login(port: u16, user: &str, password: &str) -> Result<tokio_postgres::Client, String> {
    pg_connect(
        port,
        user,
        password,
        SslMode::Disable,
        tokio_postgres::NoTls,
    )
    .await
}

/// A login to the private PostgreSQL, with `tls` as the connector for `ssl_mode`.
async fn pg_connect<T>(
    port: u16,
    user: &str,
    password: &str,
    ssl_mode: SslMode,
    tls: T,
) -> Result<tokio_postgres::Client, String>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname("postgres")
        .ssl_mode(ssl_mode);
    let (client, connection) = config.connect(tls).await.map_err(|e| {
        e.as_db_error()
            .map_or(e.to_string(), |db| db.message().to_string())
    })?;
    tokio::spawn(connection);
    Ok(client)
}

async fn pg_master(db: &Db) -> tokio_postgres::Client {
    pg_login(db.port, "master", &db.master_password)
        .await
        .expect("master logs in")
}

async fn my_login(port: u16, user: &str, password: &str) -> Result<mysql_async::Conn, String> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(password))
        .prefer_socket(false);
    mysql_async::Conn::new(opts)
        .await
        .map_err(|e| e.to_string())
}

async fn my_master(db: &Db) -> mysql_async::Conn {
    my_login(db.port, "master", &db.master_password)
        .await
        .expect("master logs in")
}

async fn create_secret(sm: &Client, name: &str, value: &Value) -> String {
    sm.create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string()
}

async fn current_value(sm: &Client, id: &str, stage: &str) -> Value {
    let out = sm
        .get_secret_value()
        .secret_id(id)
        .version_stage(stage)
        .send()
        .await
        .unwrap();
    serde_json::from_str(out.secret_string().unwrap()).unwrap()
}

/// Starts a rotation and waits until it ends: the token's version is AWSCURRENT (Ok) or the
/// attempt failed (Err with the event's detail).
async fn rotate(
    server: &TestServer,
    sm: &Client,
    arn: &str,
    lambda: &str,
) -> Result<String, String> {
    let seen = event_count(server, arn).await;
    let out = sm
        .rotate_secret()
        .secret_id(arn)
        .rotation_lambda_arn(lambda)
        .send()
        .await
        .unwrap();
    let token = out.version_id().unwrap().to_string();
    wait_for(server, arn, &token, seen).await.map(|()| token)
}

async fn rotation_events(server: &TestServer, arn: &str) -> Vec<Value> {
    let status = admin(
        server,
        "GET",
        &format!("/_secretsd/rotations?secret={arn}"),
        "",
    )
    .await;
    status["events"].as_array().unwrap().clone()
}

async fn event_count(server: &TestServer, arn: &str) -> usize {
    rotation_events(server, arn).await.len()
}

/// Waits for the attempt's outcome among the events after the first `seen`.
async fn wait_for(server: &TestServer, arn: &str, token: &str, seen: usize) -> Result<(), String> {
    for _ in 0..1500 {
        let events = rotation_events(server, arn).await;
        if let Some(last) = events.iter().skip(seen).rev().find(|e| e["token"] == token) {
            match last["event"].as_str().unwrap() {
                "RotationSucceeded" => return Ok(()),
                "RotationFailed" => return Err(last["detail"].as_str().unwrap().to_string()),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = admin(
        server,
        "GET",
        &format!("/_secretsd/rotations?secret={arn}"),
        "",
    )
    .await;
    panic!("rotation {token} of {arn} did not end within 15 s: {status:#}");
}

async fn stages(sm: &Client, arn: &str) -> std::collections::HashMap<String, Vec<String>> {
    sm.describe_secret()
        .secret_id(arn)
        .send()
        .await
        .unwrap()
        .version_ids_to_stages()
        .unwrap()
        .clone()
}

/// A new PostgreSQL login role named after `prefix`, with password `initial-pw` and the
/// memberships `in_roles` (`IN ROLE …`); its name.
async fn pg_role(prefix: &str, in_roles: &str) -> String {
    let user = unique(prefix);
    let membership = if in_roles.is_empty() {
        String::new()
    } else {
        format!(" IN ROLE {in_roles}")
    };
    pg_master(&pg())
        .await
        .batch_execute(&format!(
            "CREATE ROLE {user} LOGIN PASSWORD 'initial-pw'{membership}"
        ))
        .await
        .unwrap();
    user
}

/// A new PostgreSQL login role with password `initial-pw`, and a secret describing it (with an
/// extra key that rotations must carry over).
async fn pg_secret(sm: &Client, prefix: &str) -> (String, String) {
    let db = pg();
    let user = pg_role(prefix, "").await;
    let arn = create_secret(
        sm,
        &format!("db/{user}"),
        &json!({"engine": "postgres", "host": "127.0.0.1", "port": db.port, "username": user,
                "password": "initial-pw", "dbname": "postgres", "note": "kept"}),
    )
    .await;
    (arn, user)
}

#[tokio::test]
async fn postgres_single_user_rotation_changes_the_real_password() {
    let db = pg();
    let server = start().await;
    let sm = client(&server);
    let (arn, user) = pg_secret(&sm, "app").await;
    let mut old_password = "initial-pw".to_string();
    for round in 0..2 {
        let token = rotate(&server, &sm, &arn, PG_SINGLE).await.unwrap();
        let map = stages(&sm, &arn).await;
        assert_eq!(map[&token], ["AWSCURRENT"], "round {round}: {map:?}");
        assert_eq!(
            map.values()
                .filter(|s| s.contains(&"AWSPENDING".to_string()))
                .count(),
            0
        );
        let current = current_value(&sm, &arn, "AWSCURRENT").await;
        let previous = current_value(&sm, &arn, "AWSPREVIOUS").await;
        let new_password = current["password"].as_str().unwrap().to_string();
        assert_eq!(previous["password"], old_password.as_str());
        assert_eq!(new_password.len(), 32);
        assert!(
            !new_password.contains(|c| ":/@\"'\\".contains(c)),
            "{new_password}"
        );
        assert_eq!(current["note"], "kept", "other keys are carried over");
        assert_eq!(current["username"], user.as_str());
        // The server agrees: the new password works, the old one is refused.
        let client = pg_login(db.port, &user, &new_password)
            .await
            .expect("new password works");
        client.simple_query("SELECT 1").await.unwrap();
        let refused = pg_login(db.port, &user, &old_password)
            .await
            .expect_err("old refused");
        assert!(
            refused.contains("password authentication failed"),
            "{refused}"
        );
        old_password = new_password;
    }
    let d = sm.describe_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(d.rotation_enabled(), Some(true));
    assert!(d.last_rotated_date().is_some());
    server.shutdown().await;
}

/// A master secret for `db` and a user's secret pointing at it (`masterarn`), for the
/// alternating-users rotators; the user's secret's ARN.
async fn alternating_secrets(
    sm: &Client,
    engine: &str,
    db: &Db,
    user: &str,
    extra: Value,
) -> String {
    let master_arn = create_secret(
        sm,
        &format!("db/master-{user}"),
        &json!({"engine": engine, "host": "127.0.0.1", "port": db.port, "username": "master",
                "password": db.master_password}),
    )
    .await;
    let mut secret = json!({"engine": engine, "host": "127.0.0.1", "port": db.port, "username": user,
                            "password": "initial-pw", "masterarn": master_arn});
    for (k, v) in extra.as_object().into_iter().flatten() {
        secret[k] = v.clone();
    }
    create_secret(sm, &format!("db/{user}"), &secret).await
}

#[tokio::test]
async fn postgres_alternating_users_take_turns_and_both_keep_working() {
    let db = pg();
    let master = pg_master(&db).await;
    let user = unique("multi");
    let table = unique("orders");
    master
        .batch_execute(&format!(
            "CREATE ROLE {user} LOGIN PASSWORD 'initial-pw';
             CREATE TABLE {table} (id int); INSERT INTO {table} VALUES (7);
             GRANT SELECT ON {table} TO {user};"
        ))
        .await
        .unwrap();
    let server = start().await;
    let sm = client(&server);
    let arn = alternating_secrets(&sm, "postgres", &db, &user, json!({"dbname": "postgres"})).await;
    let clone = format!("{user}_clone");
    let mut expected_user = clone.clone();
    for round in 0..3 {
        rotate(&server, &sm, &arn, PG_MULTI).await.unwrap();
        let current = current_value(&sm, &arn, "AWSCURRENT").await;
        let previous = current_value(&sm, &arn, "AWSPREVIOUS").await;
        assert_eq!(current["username"], expected_user.as_str(), "round {round}");
        // Both the new and the previous credentials log in and can read the table.
        for creds in [&current, &previous] {
            let c = pg_login(
                db.port,
                creds["username"].as_str().unwrap(),
                creds["password"].as_str().unwrap(),
            )
            .await
            .unwrap_or_else(|e| panic!("round {round}: {creds}: {e}"));
            let rows = c
                .query(&format!("SELECT id FROM {table}"), &[])
                .await
                .unwrap();
            assert_eq!(rows[0].get::<_, i32>(0), 7);
        }
        expected_user = if expected_user == clone {
            user.clone()
        } else {
            clone.clone()
        };
    }
    // The clone is a member of the original role: that is where its privileges come from.
    let member = master
        .query_one("SELECT pg_has_role($1, $2, 'MEMBER')", &[&clone, &user])
        .await
        .unwrap();
    assert!(member.get::<_, bool>(0));
    server.shutdown().await;
}

async fn mariadb_single_user(lambda: &str, engine: &str) {
    let db = mariadb();
    let mut master = my_master(&db).await;
    let user = unique("app");
    master
        .query_drop(format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY 'initial-pw'"
        ))
        .await
        .unwrap();
    let server = start().await;
    let sm = client(&server);
    let arn = create_secret(
        &sm,
        &format!("db/{user}"),
        &json!({"engine": engine, "host": "127.0.0.1", "port": db.port.to_string(),
                "username": user, "password": "initial-pw"}),
    )
    .await;
    let mut old_password = "initial-pw".to_string();
    for _ in 0..2 {
        rotate(&server, &sm, &arn, lambda).await.unwrap();
        let current = current_value(&sm, &arn, "AWSCURRENT").await;
        let new_password = current["password"].as_str().unwrap().to_string();
        assert!(
            !new_password.contains(|c| "/@\"'\\".contains(c)),
            "{new_password}"
        );
        my_login(db.port, &user, &new_password)
            .await
            .expect("new password works")
            .disconnect()
            .await
            .unwrap();
        let refused = my_login(db.port, &user, &old_password)
            .await
            .expect_err("old refused");
        assert!(refused.contains("Access denied"), "{refused}");
        old_password = new_password;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn mariadb_single_user_rotation_changes_the_real_password() {
    mariadb_single_user(MARIADB_SINGLE, "mariadb").await;
}

#[tokio::test]
async fn the_mysql_rotator_speaks_to_mariadb_too() {
    mariadb_single_user(MYSQL_SINGLE, "mysql").await;
}

/// SHOW GRANTS of `user`, with the grantee and password hash taken out, sorted.
async fn grants_of(master: &mut mysql_async::Conn, user: &str) -> Vec<String> {
    let rows: Vec<String> = master
        .query(format!("SHOW GRANTS FOR '{user}'@'%'"))
        .await
        .unwrap();
    let mut grants: Vec<String> = rows
        .iter()
        .map(|g| g.split(" TO ").next().unwrap().to_string())
        .collect();
    grants.sort();
    grants
}

#[tokio::test]
async fn mariadb_alternating_users_get_the_same_grants() {
    let db = mariadb();
    let mut master = my_master(&db).await;
    let user = unique("multi");
    let schema = unique("appdb");
    master
        .query_drop(format!(
            "CREATE DATABASE {schema}; CREATE TABLE {schema}.t (id INT); INSERT INTO {schema}.t VALUES (7);
             CREATE USER '{user}'@'%' IDENTIFIED BY 'initial-pw';
             GRANT SELECT ON {schema}.* TO '{user}'@'%';"
        ))
        .await
        .unwrap();
    let server = start().await;
    let sm = client(&server);
    let arn = alternating_secrets(&sm, "mariadb", &db, &user, json!({"ssl": false})).await;
    let clone = format!("{user}_clone");
    for round in 0..3 {
        rotate(&server, &sm, &arn, MARIADB_MULTI).await.unwrap();
        let current = current_value(&sm, &arn, "AWSCURRENT").await;
        let expected = if round % 2 == 0 { &clone } else { &user };
        assert_eq!(current["username"], expected.as_str(), "round {round}");
        for stage in ["AWSCURRENT", "AWSPREVIOUS"] {
            let creds = current_value(&sm, &arn, stage).await;
            let mut c = my_login(
                db.port,
                creds["username"].as_str().unwrap(),
                creds["password"].as_str().unwrap(),
            )
            .await
            .unwrap_or_else(|e| panic!("round {round} {stage}: {e}"));
            let id: Option<i32> = c
                .query_first(format!("SELECT id FROM {schema}.t"))
                .await
                .unwrap();
            assert_eq!(id, Some(7));
            c.disconnect().await.unwrap();
        }
    }
    assert_eq!(
        grants_of(&mut master, &clone).await,
        grants_of(&mut master, &user).await
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_set_secret_is_resumed_with_the_same_token() {
    let db = pg();
    let master = pg_master(&db).await;
    let server = start().await;
    let sm = client(&server);
    let (arn, user) = pg_secret(&sm, "stuck").await;
    let first = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    // Someone changed the password behind the secret's back: no stored credential works.
    master
        .batch_execute(&format!("ALTER ROLE {user} PASSWORD 'out-of-band'"))
        .await
        .unwrap();
    let out = sm
        .rotate_secret()
        .secret_id(&arn)
        .rotation_lambda_arn(PG_SINGLE)
        .send()
        .await
        .unwrap();
    let token = out.version_id().unwrap().to_string();
    let detail = wait_for(&server, &arn, &token, 0).await.unwrap_err();
    assert_eq!(
        detail,
        format!(
            "Error when executing lambda {PG_SINGLE} during setSecret step: setSecret: Unable to log into database with previous, current, or pending secret of secret arn {arn} (login failed: password authentication failed for user \"{user}\" (over TLS: login failed: error performing TLS handshake: invalid peer certificate: UnknownIssuer))"
        )
    );
    // Nothing rolled back, nothing moved: AWSPENDING holds the generated value, AWSCURRENT
    // stays, rotation stays enabled, and a new RotateSecret is refused.
    let map = stages(&sm, &arn).await;
    assert_eq!(map[&token], ["AWSPENDING"]);
    assert_eq!(map[first.version_id().unwrap()], ["AWSCURRENT"]);
    let pending = sm
        .get_secret_value()
        .secret_id(&arn)
        .version_id(&token)
        .version_stage("AWSPENDING")
        .send()
        .await
        .unwrap();
    let d = sm.describe_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(d.rotation_enabled(), Some(true));
    assert!(d.last_rotated_date().is_none());
    let (code, message) = error_of(sm.rotate_secret().secret_id(&arn).send().await);
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(
        message,
        "A previous rotation isn't complete. That rotation will be reattempted."
    );
    // Fixed by the operator; a retry (30 s, then 2 min after a failure — and the refused
    // RotateSecret above may itself have run one at once) uses the same token and the pending
    // value generated by the first attempt. Move the clock past whatever back-off is pending.
    // Counted once, before the fix: a retry already running, or slower than one wait, must
    // still count.
    let seen = event_count(&server, &arn).await;
    master
        .batch_execute(&format!("ALTER ROLE {user} PASSWORD 'initial-pw'"))
        .await
        .unwrap();
    let mut resumed = false;
    for _ in 0..10 {
        admin(
            &server,
            "POST",
            "/_secretsd/clock",
            r#"{"advance_seconds": 200}"#,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let events = rotation_events(&server, &arn).await;
        if events[seen..]
            .iter()
            .any(|e| e["event"] == "RotationSucceeded")
        {
            resumed = true;
            break;
        }
    }
    assert!(resumed, "{:#?}", rotation_events(&server, &arn).await);
    let names: Vec<String> = rotation_events(&server, &arn)
        .await
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names.iter().filter(|n| *n == "RotationStarted").count(),
        1,
        "{names:?}"
    );
    let current = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(current.version_id(), Some(token.as_str()));
    assert_eq!(current.secret_string(), pending.secret_string());
    let password: Value = serde_json::from_str(current.secret_string().unwrap()).unwrap();
    pg_login(db.port, &user, password["password"].as_str().unwrap())
        .await
        .expect("the resumed rotation's password works");
    server.shutdown().await;
}

#[tokio::test]
async fn a_secret_without_host_fails_in_create_secret_and_keeps_an_empty_placeholder() {
    let server = start().await;
    let sm = client(&server);
    let arn = create_secret(
        &sm,
        &unique("db/nohost"),
        &json!({"engine": "postgres", "username": "u", "password": "p"}),
    )
    .await;
    let out = sm
        .rotate_secret()
        .secret_id(&arn)
        .rotation_lambda_arn(PG_SINGLE)
        .send()
        .await
        .unwrap();
    let token = out.version_id().unwrap().to_string();
    let detail = wait_for(&server, &arn, &token, 0).await.unwrap_err();
    assert_eq!(
        detail,
        format!("Error when executing lambda {PG_SINGLE} during createSecret step: host key is missing from secret JSON")
    );
    assert_eq!(stages(&sm, &arn).await[&token], ["AWSPENDING"]);
    let (code, _) = error_of(
        sm.get_secret_value()
            .secret_id(&arn)
            .version_stage("AWSPENDING")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    server.shutdown().await;
}

/// Every character the generator may draw here is one that SQL quoting must get right.
const HOSTILE_ONLY: &str = r##"
[functions.hostile-pg]
kind = "builtin"
engine = "postgres"
strategy = "single"
env = { EXCLUDE_CHARACTERS = "!#&()*+,-./:<=>?@[]^_{|}~", EXCLUDE_NUMBERS = "true", EXCLUDE_UPPERCASE = "true", EXCLUDE_LOWERCASE = "true", PASSWORD_LENGTH = "24" }

[functions.hostile-mariadb]
kind = "builtin"
engine = "mariadb"
strategy = "alternating"
env = { EXCLUDE_CHARACTERS = "!#&()*+,-./:<=>?@[]^_{|}~", EXCLUDE_NUMBERS = "true", EXCLUDE_UPPERCASE = "true", EXCLUDE_LOWERCASE = "true", PASSWORD_LENGTH = "24" }
"##;

#[tokio::test]
async fn passwords_made_of_quotes_and_backslashes_are_set_exactly() {
    let (pg_db, my_db) = (pg(), mariadb());
    let server = start_with_config(HOSTILE_ONLY).await;
    let sm = client(&server);

    let pg_master = pg_master(&pg_db).await;
    let pg_user = unique("Hostile User");
    pg_master
        .batch_execute(&format!(
            "CREATE ROLE \"{pg_user}\" LOGIN PASSWORD 'initial-pw'"
        ))
        .await
        .unwrap();
    let arn = create_secret(
        &sm,
        &unique("db/hostile-pg"),
        &json!({"engine": "postgres", "host": "127.0.0.1", "port": pg_db.port,
                "username": pg_user, "password": "initial-pw"}),
    )
    .await;
    rotate(
        &server,
        &sm,
        &arn,
        "arn:aws:lambda:us-east-1:000000000000:function:hostile-pg",
    )
    .await
    .unwrap();
    let value = current_value(&sm, &arn, "AWSCURRENT").await;
    let password = value["password"].as_str().unwrap();
    assert!(
        password.chars().all(|c| "\"$%'\\`;".contains(c)),
        "{password}"
    );
    pg_login(pg_db.port, &pg_user, password)
        .await
        .expect("hostile password works on PostgreSQL");

    let mut my_master = my_master(&my_db).await;
    let my_user = unique("hostile");
    my_master
        .query_drop(format!(
            "CREATE USER '{my_user}'@'%' IDENTIFIED BY 'initial-pw'"
        ))
        .await
        .unwrap();
    let arn = alternating_secrets(&sm, "mariadb", &my_db, &my_user, json!({})).await;
    for _ in 0..2 {
        rotate(
            &server,
            &sm,
            &arn,
            "arn:aws:lambda:us-east-1:000000000000:function:hostile-mariadb",
        )
        .await
        .unwrap();
        let value = current_value(&sm, &arn, "AWSCURRENT").await;
        let password = value["password"].as_str().unwrap();
        assert!(
            password.chars().all(|c| "\"$%'\\`;".contains(c)),
            "{password}"
        );
        my_login(my_db.port, value["username"].as_str().unwrap(), password)
            .await
            .expect("hostile password works on MariaDB");
    }
    server.shutdown().await;
}

fn epoch(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp()
}

async fn set_clock(server: &TestServer, at: &str) {
    admin(
        server,
        "POST",
        "/_secretsd/clock",
        &format!(r#"{{"epoch_seconds": {}}}"#, epoch(at)),
    )
    .await;
}

async fn next_rotation(sm: &Client, arn: &str) -> i64 {
    sm.describe_secret()
        .secret_id(arn)
        .send()
        .await
        .unwrap()
        .next_rotation_date()
        .expect("NextRotationDate")
        .secs()
}

/// Moves the clock to `at` and returns the names of the rotation events it caused.
async fn events_after_moving_to(server: &TestServer, arn: &str, at: &str) -> Vec<String> {
    let seen = event_count(server, arn).await;
    set_clock(server, at).await;
    let mut names = Vec::new();
    // A rotation the clock starts is recorded at once (the clock change runs the scheduler);
    // if none has started after half a second, none will.
    for round in 0..300 {
        if round == 50 && names.is_empty() {
            break;
        }
        names = rotation_events(server, arn).await[seen..]
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect();
        if names
            .iter()
            .any(|n| n == "RotationSucceeded" || n == "RotationFailed")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    names
}

/// Waits for the RotateImmediately=false probe started after the first `seen` events to pass.
async fn wait_for_test_rotation(server: &TestServer, arn: &str, seen: usize) {
    for _ in 0..1500 {
        let events = rotation_events(server, arn).await;
        let names: Vec<&str> = events[seen..]
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        match names.last() {
            Some(&"TestRotationSucceeded") => return,
            Some(&"TestRotationFailed") => panic!("test rotation failed: {events:?}"),
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    panic!("the test rotation did not end within 15 s");
}

/// Sets `rules` with RotateImmediately=false and waits for the test rotation it runs.
async fn schedule_only(server: &TestServer, sm: &Client, arn: &str, rules: RotationRulesType) {
    let seen = event_count(server, arn).await;
    sm.rotate_secret()
        .secret_id(arn)
        .rotation_lambda_arn(PG_SINGLE)
        .rotate_immediately(false)
        .rotation_rules(rules)
        .send()
        .await
        .unwrap();
    wait_for_test_rotation(server, arn, seen).await;
}

#[tokio::test]
async fn cron_schedules_rotate_inside_their_windows_only() {
    let server = start().await;
    let sm = client(&server);
    let (arn, user) = pg_secret(&sm, "cron").await;
    set_clock(&server, "2027-01-10T12:00:00Z").await;
    let seen = event_count(&server, &arn).await;
    let rules = RotationRulesType::builder()
        .schedule_expression("cron(0 16 1,15 * ? *)")
        .build();
    // RotateImmediately=false only tests the current credentials.
    schedule_only(&server, &sm, &arn, rules).await;
    let names: Vec<String> = rotation_events(&server, &arn).await[seen..]
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["TestRotationStarted", "TestRotationSucceeded"]);
    assert_eq!(
        current_value(&sm, &arn, "AWSCURRENT").await["password"],
        "initial-pw"
    );
    // The next window is the 15th, 16:00 to the end of the day.
    assert_eq!(
        next_rotation(&sm, &arn).await,
        epoch("2027-01-15T23:59:59Z")
    );
    assert!(
        events_after_moving_to(&server, &arn, "2027-01-15T15:59:00Z")
            .await
            .is_empty()
    );
    let names = events_after_moving_to(&server, &arn, "2027-01-15T16:00:00Z").await;
    assert_eq!(names, ["RotationStarted", "RotationSucceeded"]);
    let rotated = current_value(&sm, &arn, "AWSCURRENT").await;
    assert_ne!(rotated["password"], "initial-pw");
    pg_login(pg().port, &user, rotated["password"].as_str().unwrap())
        .await
        .expect("the scheduled rotation's password works");
    assert_eq!(
        next_rotation(&sm, &arn).await,
        epoch("2027-02-01T23:59:59Z")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn rate_and_day_schedules_rotate_when_due() {
    let server = start().await;
    let sm = client(&server);
    let (arn, _) = pg_secret(&sm, "rate").await;
    set_clock(&server, "2027-03-10T12:30:00Z").await;
    let rules = RotationRulesType::builder()
        .schedule_expression("rate(4 hours)")
        .build();
    schedule_only(&server, &sm, &arn, rules).await;
    // Hour windows start on the hour: 16:00, one hour long.
    assert_eq!(
        next_rotation(&sm, &arn).await,
        epoch("2027-03-10T16:59:59Z")
    );
    assert!(
        events_after_moving_to(&server, &arn, "2027-03-10T15:59:59Z")
            .await
            .is_empty()
    );
    assert_eq!(
        events_after_moving_to(&server, &arn, "2027-03-10T16:00:00Z").await,
        ["RotationStarted", "RotationSucceeded"]
    );
    assert_eq!(
        next_rotation(&sm, &arn).await,
        epoch("2027-03-10T20:59:59Z")
    );

    // Switching to days rotates at once (RotateImmediately defaults to true), then on the
    // second UTC day after.
    rotate(&server, &sm, &arn, PG_SINGLE).await.unwrap();
    let rules = RotationRulesType::builder()
        .automatically_after_days(2)
        .build();
    schedule_only(&server, &sm, &arn, rules).await;
    assert_eq!(
        next_rotation(&sm, &arn).await,
        epoch("2027-03-12T23:59:59Z")
    );
    assert!(
        events_after_moving_to(&server, &arn, "2027-03-11T23:00:00Z")
            .await
            .is_empty()
    );
    assert_eq!(
        events_after_moving_to(&server, &arn, "2027-03-12T00:00:00Z").await,
        ["RotationStarted", "RotationSucceeded"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn two_rotate_secret_calls_at_once_start_one_rotation() {
    let server = start().await;
    let sm = client(&server);
    let (arn, _) = pg_secret(&sm, "race").await;
    let call = || {
        sm.rotate_secret()
            .secret_id(&arn)
            .rotation_lambda_arn(PG_SINGLE)
            .send()
    };
    let (a, b) = tokio::join!(call(), call());
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        (a, b) => panic!("exactly one call should start a rotation: {a:?} / {b:?}"),
    };
    let (code, message) = error_of::<(), _>(Err(lost));
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(
        message,
        "A previous rotation isn't complete. That rotation will be reattempted."
    );
    let token = won.version_id().unwrap();
    wait_for(&server, &arn, token, 0).await.unwrap();
    let started = rotation_events(&server, &arn)
        .await
        .iter()
        .filter(|e| e["event"] == "RotationStarted")
        .count();
    assert_eq!(started, 1);
    server.shutdown().await;
}

/// The private CA that signed both test servers' certificates.
fn test_ca_file() -> String {
    std::env::var("SECRETSD_TEST_CA_FILE")
        .expect("SECRETSD_TEST_CA_FILE is not set: scripts/testdb start exports it")
}

/// A server whose built-in rotators trust the test CA.
async fn start_trusting_test_ca() -> TestServer {
    start_with_config(&format!("rotation_ca_file = {:?}\n", test_ca_file())).await
}

/// A PostgreSQL login over verified TLS (the test CA), the way `"ssl": true` logs in.
async fn pg_login_tls(
    port: u16,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(test_ca_file()).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    pg_connect(port, user, password, SslMode::Require, tls).await
}

/// A PostgreSQL role in `group` (scripts/testdb: members of `tls_only` log in only over TLS,
/// members of `plain_only` only without it) and its secret with `ssl` as given.
async fn pg_secret_in(sm: &Client, group: &str, ssl: Option<Value>) -> (String, String) {
    let db = pg();
    let user = pg_role(group, group).await;
    let mut secret = json!({"engine": "postgres", "host": "127.0.0.1", "port": db.port,
                            "username": user, "password": "initial-pw"});
    if let Some(ssl) = ssl {
        secret["ssl"] = ssl;
    }
    (
        create_secret(sm, &format!("db/{user}"), &secret).await,
        user,
    )
}

#[tokio::test]
async fn postgres_logins_use_verified_tls_as_the_secret_says() {
    let db = pg();
    let server = start_trusting_test_ca().await;
    let sm = client(&server);

    // "ssl": true: over TLS, verified against the configured CA. The role cannot log in without
    // TLS, so the rotation proves it.
    let (arn, user) = pg_secret_in(&sm, "tls_only", Some(json!(true))).await;
    for _ in 0..2 {
        rotate(&server, &sm, &arn, PG_SINGLE).await.unwrap();
    }
    let password = current_value(&sm, &arn, "AWSCURRENT").await["password"].clone();
    let c = pg_login_tls(db.port, &user, password.as_str().unwrap())
        .await
        .unwrap();
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl);

    // No "ssl" key: TLS first; for a role refused over TLS, plain after it.
    let (arn, user) = pg_secret_in(&sm, "plain_only", None).await;
    rotate(&server, &sm, &arn, PG_SINGLE).await.unwrap();
    let password = current_value(&sm, &arn, "AWSCURRENT").await["password"].clone();
    pg_login(db.port, &user, password.as_str().unwrap())
        .await
        .unwrap();
    let (arn, _) = pg_secret_in(&sm, "tls_only", None).await;
    rotate(&server, &sm, &arn, PG_SINGLE).await.unwrap();

    // "ssl": false: plain only, which a TLS-only role is refused.
    let (arn, user) = pg_secret_in(&sm, "tls_only", Some(json!("false"))).await;
    let detail = rotate(&server, &sm, &arn, PG_SINGLE).await.unwrap_err();
    assert!(detail.contains("during setSecret step"), "{detail}");
    assert!(
        detail.contains(&format!("pg_hba.conf rejects connection for host \"127.0.0.1\", user \"{user}\", database \"postgres\", no encryption")),
        "{detail}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn tls_refuses_a_server_certificate_it_cannot_verify() {
    // The default trust (system roots) does not include the tests' private CA.
    let server = start().await;
    let sm = client(&server);
    let (arn, _) = pg_secret_in(&sm, "tls_only", Some(json!(true))).await;
    let detail = rotate(&server, &sm, &arn, PG_SINGLE).await.unwrap_err();
    assert!(detail.contains("during setSecret step"), "{detail}");
    assert!(
        detail.contains("invalid peer certificate: UnknownIssuer"),
        "{detail}"
    );
    // Nothing changed: the pending version waits, AWSCURRENT still holds the initial password.
    assert_eq!(
        current_value(&sm, &arn, "AWSCURRENT").await["password"],
        "initial-pw"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn mariadb_logins_use_verified_tls_as_the_secret_says() {
    let db = mariadb();
    let server = start_trusting_test_ca().await;
    let sm = client(&server);
    let user = unique("tls");
    let mut master = my_master(&db).await;
    master
        .query_drop(format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY 'initial-pw' REQUIRE SSL"
        ))
        .await
        .unwrap();
    let secret = json!({"engine": "mariadb", "host": "127.0.0.1", "port": db.port,
                        "username": user, "password": "initial-pw", "ssl": true});
    let arn = create_secret(&sm, &format!("db/{user}"), &secret).await;
    for _ in 0..2 {
        rotate(&server, &sm, &arn, MARIADB_SINGLE).await.unwrap();
    }
    let password = current_value(&sm, &arn, "AWSCURRENT").await["password"]
        .as_str()
        .unwrap()
        .to_string();
    // The new password logs in over verified TLS; without TLS the server refuses the user.
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(db.port)
        .user(Some(user.clone()))
        .pass(Some(password.clone()))
        .prefer_socket(false)
        .ssl_opts(Some(mysql_async::SslOpts::default().with_root_certs(vec![
            std::path::PathBuf::from(test_ca_file()).into(),
        ])));
    let mut conn = mysql_async::Conn::new(opts).await.unwrap();
    let cipher: Option<(String, String)> = conn
        .query_first("SHOW STATUS LIKE 'Ssl_cipher'")
        .await
        .unwrap();
    assert!(!cipher.unwrap().1.is_empty());
    let refused = my_login(db.port, &user, &password).await.unwrap_err();
    assert!(refused.contains("Access denied"), "{refused}");

    // With "ssl": false the rotator does not try TLS, and the server refuses it.
    sm.put_secret_value()
        .secret_id(&arn)
        .secret_string(
            json!({"engine": "mariadb", "host": "127.0.0.1", "port": db.port,
                              "username": user, "password": password, "ssl": false})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let detail = rotate(&server, &sm, &arn, MARIADB_SINGLE)
        .await
        .unwrap_err();
    assert!(detail.contains("during setSecret step"), "{detail}");
    assert!(detail.contains("Access denied"), "{detail}");
    server.shutdown().await;
}

/// Registers `user`/`password` on PostgreSQL as the master login of an RDS instance (what
/// `ManageMasterUserPassword` does in AWS); the secret's ARN and name.
async fn rds_managed_secret(
    server: &TestServer,
    db: &Db,
    user: &str,
    password: &str,
) -> (String, String) {
    let body = json!({"DBInstanceIdentifier": "orders-db", "Engine": "postgres", "Host": "127.0.0.1",
                      "Port": db.port, "DBName": "postgres", "Ssl": false,
                      "MasterUsername": user, "MasterUserPassword": password});
    let created = admin(
        server,
        "POST",
        "/_secretsd/managed-secrets",
        &body.to_string(),
    )
    .await;
    let arn = created["ARN"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    (arn, created["Name"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_secret_rds_owns_is_closed_to_clients_and_rotated_by_the_service() {
    let db = pg();
    let user = pg_role("rdsmaster", "").await;
    let server = start().await;
    let sm = client(&server);
    let (arn, name) = rds_managed_secret(&server, &db, &user, "initial-pw").await;
    assert!(name.starts_with("rds!db-"), "{name}");

    // What DescribeSecret shows of it (docs/aws-behaviour.md §R4.1).
    let d = sm.describe_secret().secret_id(&arn).send().await.unwrap();
    let instance = "arn:aws:rds:us-east-1:000000000000:db:orders-db";
    assert_eq!(d.owning_service(), Some("rds"));
    assert_eq!(
        d.description(),
        Some(format!("Secret associated with primary RDS DB instance: {instance}").as_str())
    );
    let tags: Vec<(&str, &str)> = d
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(
        tags,
        [
            ("aws:rds:primaryDBInstanceArn", instance),
            ("aws:secretsmanager:owningService", "rds")
        ]
    );
    assert_eq!(d.rotation_enabled(), Some(true));
    assert_eq!(d.rotation_lambda_arn(), None);
    assert_eq!(
        d.rotation_rules()
            .and_then(|r| r.automatically_after_days()),
        Some(7)
    );
    assert!(d.next_rotation_date().is_some());
    let listed = sm
        .list_secrets()
        .filters(
            aws_sdk_secretsmanager::types::Filter::builder()
                .key(aws_sdk_secretsmanager::types::FilterNameStringType::OwningService)
                .values("rds")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed
            .secret_list()
            .iter()
            .filter_map(|s| s.arn())
            .collect::<Vec<_>>(),
        [arn.as_str()]
    );

    // Clients cannot change it.
    let refusal = (
        "InvalidRequestException".to_string(),
        format!(
            "You can't modify secret {name} because it's managed by rds. Use rds to update it."
        ),
    );
    let put = sm
        .put_secret_value()
        .secret_id(&arn)
        .secret_string("{}")
        .send()
        .await;
    assert_eq!(error_of(put), refusal);
    let update = sm
        .update_secret()
        .secret_id(&arn)
        .description("mine")
        .send()
        .await;
    assert_eq!(error_of(update), refusal);
    let current_id = current_version_id(&sm, &arn).await;
    let stage = sm
        .update_secret_version_stage()
        .secret_id(&arn)
        .version_stage("AWSCURRENT")
        .remove_from_version_id(&current_id)
        .send()
        .await;
    assert_eq!(error_of(stage), refusal);
    let delete = sm.delete_secret().secret_id(&arn).send().await;
    assert_eq!(error_of(delete), refusal);
    let with_function = sm
        .rotate_secret()
        .secret_id(&arn)
        .rotation_lambda_arn(PG_SINGLE)
        .send()
        .await;
    assert_eq!(
        error_of(with_function),
        (
            "InvalidParameterException".to_string(),
            "You can't specify a rotation function for a secret managed by rds: rds rotates it. Omit RotationLambdaARN.".to_string()
        )
    );

    // RotateSecret without a function: the service rotates the real password, and the value
    // stays the login alone.
    let seen = event_count(&server, &arn).await;
    let out = sm
        .rotate_secret()
        .secret_id(&arn)
        .rotation_rules(
            RotationRulesType::builder()
                .automatically_after_days(3)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let token = out.version_id().unwrap().to_string();
    wait_for(&server, &arn, &token, seen).await.unwrap();
    let current = current_value(&sm, &arn, "AWSCURRENT").await;
    let keys: Vec<&String> = current.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["password", "username"]);
    let password = current["password"].as_str().unwrap();
    assert_ne!(password, "initial-pw");
    pg_login(db.port, &user, password)
        .await
        .expect("the new password works");
    let refused = pg_login(db.port, &user, "initial-pw").await.unwrap_err();
    assert!(
        refused.contains("password authentication failed"),
        "{refused}"
    );
    let d = sm.describe_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(
        d.rotation_rules()
            .and_then(|r| r.automatically_after_days()),
        Some(3)
    );
    assert_eq!(d.rotation_lambda_arn(), None);
    server.shutdown().await;
}

async fn current_version_id(sm: &Client, arn: &str) -> String {
    sm.get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn alternating_users_can_use_a_master_secret_that_rds_owns() {
    let db = pg();
    let user = pg_role("withrds", "").await;
    let server = start().await;
    let sm = client(&server);
    // The database's master login, owned by RDS: only `username` and `password` in its value.
    let (master_arn, _) = rds_managed_secret(&server, &db, "master", &db.master_password).await;
    let master_arn = master_arn.as_str();
    let arn = create_secret(
        &sm,
        &format!("db/{user}"),
        &json!({"engine": "postgres", "host": "127.0.0.1", "port": db.port, "username": user,
                "password": "initial-pw", "masterarn": master_arn, "ssl": false}),
    )
    .await;
    rotate(&server, &sm, &arn, PG_MULTI).await.unwrap();
    let current = current_value(&sm, &arn, "AWSCURRENT").await;
    assert_eq!(current["username"], format!("{user}_clone").as_str());
    pg_login(
        db.port,
        &format!("{user}_clone"),
        current["password"].as_str().unwrap(),
    )
    .await
    .expect("the clone, created by the RDS-owned master login, logs in");
    server.shutdown().await;
}
