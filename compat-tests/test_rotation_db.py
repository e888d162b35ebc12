"""Rotation against real databases from Python: our own Lambda-shaped function
(rotators/db_single_user.py) run by the `python` executor, and the built-in rotators selected by
AWS's template names, driven by boto3. The private PostgreSQL and MariaDB servers (password
auth) come from scripts/testdb, started by scripts/test; without them these tests fail."""

import json
import os
import pathlib
import sys
import time
import urllib.parse
import urllib.request
import uuid

import psycopg
import pymysql
import pytest

from conftest import SecretsdProcess, client

ROTATOR = pathlib.Path(__file__).resolve().parent / "rotators" / "db_single_user.py"
PY_DB = "arn:aws:lambda:us-east-1:000000000000:function:py-db-single"
PG_MULTI = "arn:aws:lambda:us-east-1:000000000000:function:SecretsManagerRDSPostgreSQLRotationMultiUser"
MARIADB_SINGLE = "arn:aws:lambda:us-east-1:000000000000:function:SecretsManagerRDSMariaDBRotationSingleUser"


def db_env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run scripts/test, which starts the private database servers (scripts/testdb)")
    return value


@pytest.fixture(scope="module")
def dbs():
    return {
        "pg": (int(db_env("SECRETSD_TEST_PG_PORT")), db_env("SECRETSD_TEST_PG_PASSWORD")),
        "my": (int(db_env("SECRETSD_TEST_MYSQL_PORT")), db_env("SECRETSD_TEST_MYSQL_PASSWORD")),
    }


@pytest.fixture(scope="module")
def rotating(tmp_path_factory):
    d = tmp_path_factory.mktemp("rotation-db")
    config = d / "secretsd.toml"
    config.write_text(
        f"""
[functions.py-db-single]
kind = "python"
python = {json.dumps(sys.executable)}
handler = {json.dumps(str(ROTATOR.with_suffix("")) + ".lambda_handler")}
"""
    )
    proc = SecretsdProcess(d / "data", ["--config", str(config)]).start()
    yield proc
    proc.stop()


def pg_login(port, user, password):
    return psycopg.connect(host="127.0.0.1", port=port, user=user, password=password, dbname="postgres", connect_timeout=5)


def my_login(port, user, password):
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, connect_timeout=5)


def rotate(server, sm, arn, lambda_arn):
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=lambda_arn)["VersionId"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = json.loads(urllib.request.urlopen(server.url + "/_secretsd/rotations?secret=" + urllib.parse.quote(arn)).read())
        outcome = [e for e in status["events"] if e["token"] == token and e["event"] != "RotationStarted"]
        if outcome:
            assert outcome[-1]["event"] == "RotationSucceeded", outcome[-1]
            return token
        time.sleep(0.05)
    raise AssertionError(f"rotation {token} did not end")


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_python_executor_rotates_a_real_database_user(rotating, dbs, engine):
    sm = client(rotating.url)
    user = "py_" + uuid.uuid4().hex[:10]
    if engine == "postgres":
        port, master_password = dbs["pg"]
        with pg_login(port, "master", master_password) as conn:
            conn.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'initial-pw'")
        login, refused = pg_login, psycopg.OperationalError
    else:
        port, master_password = dbs["my"]
        with my_login(port, "master", master_password) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'initial-pw'")
        login, refused = my_login, pymysql.OperationalError
    arn = sm.create_secret(Name=f"db/{user}", SecretString=json.dumps(
        {"engine": engine, "host": "127.0.0.1", "port": port, "username": user, "password": "initial-pw"}))["ARN"]
    old = "initial-pw"
    for _ in range(2):
        token = rotate(rotating, sm, arn, PY_DB)
        current = sm.get_secret_value(SecretId=arn)
        assert current["VersionId"] == token
        new = json.loads(current["SecretString"])["password"]
        assert json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"])["password"] == old
        login(port, user, new).close()
        with pytest.raises(refused):
            login(port, user, old)
        old = new


def test_builtin_rotators_by_template_name_from_boto3(rotating, dbs):
    sm = client(rotating.url)
    # MariaDB single user.
    port, master_password = dbs["my"]
    user = "tm_" + uuid.uuid4().hex[:10]
    with my_login(port, "master", master_password) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'initial-pw'")
    arn = sm.create_secret(Name=f"db/{user}", SecretString=json.dumps(
        {"engine": "mariadb", "host": "127.0.0.1", "port": port, "username": user, "password": "initial-pw"}))["ARN"]
    rotate(rotating, sm, arn, MARIADB_SINGLE)
    new = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"]
    my_login(port, user, new).close()
    with pytest.raises(pymysql.OperationalError):
        my_login(port, user, "initial-pw")
    d = sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] is True and d["RotationLambdaARN"] == MARIADB_SINGLE
    assert "LastRotatedDate" in d

    # PostgreSQL alternating users: the clone appears and works.
    port, master_password = dbs["pg"]
    user = "tm_" + uuid.uuid4().hex[:10]
    with pg_login(port, "master", master_password) as conn:
        conn.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'initial-pw'")
    master_arn = sm.create_secret(Name=f"db/master-{user}", SecretString=json.dumps(
        {"engine": "postgres", "host": "127.0.0.1", "port": port, "username": "master", "password": master_password}))["ARN"]
    arn = sm.create_secret(Name=f"db/{user}", SecretString=json.dumps(
        {"engine": "postgres", "host": "127.0.0.1", "port": port, "username": user, "password": "initial-pw", "masterarn": master_arn}))["ARN"]
    rotate(rotating, sm, arn, PG_MULTI)
    current = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert current["username"] == f"{user}_clone"
    pg_login(port, current["username"], current["password"]).close()
    pg_login(port, user, "initial-pw").close()


def test_a_secret_rds_owns_rotates_without_a_function(rotating, dbs):
    port, master_password = dbs["pg"]
    user = f"rds_{uuid.uuid4().hex[:10]}"
    with pg_login(port, "master", master_password) as conn:
        conn.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'initial-pw'")
    body = json.dumps({"DBInstanceIdentifier": "billing", "Engine": "postgres", "Host": "127.0.0.1", "Port": port,
                       "Ssl": False, "MasterUsername": user, "MasterUserPassword": "initial-pw"}).encode()
    request = urllib.request.Request(rotating.url + "/_secretsd/managed-secrets", data=body, method="POST")
    created = json.loads(urllib.request.urlopen(request).read())
    sm = client(rotating.url)
    described = sm.describe_secret(SecretId=created["ARN"])
    assert described["Name"].startswith("rds!db-")
    assert described["OwningService"] == "rds"
    assert "RotationLambdaARN" not in described
    with pytest.raises(sm.exceptions.InvalidRequestException):
        sm.put_secret_value(SecretId=created["ARN"], SecretString="{}")

    # The AWS CLI/Terraform way of changing a managed secret's schedule: no function named.
    token = sm.rotate_secret(SecretId=created["ARN"], RotationRules={"AutomaticallyAfterDays": 2})["VersionId"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        current = sm.get_secret_value(SecretId=created["ARN"])
        if current["VersionId"] == token:
            break
        time.sleep(0.05)
    value = json.loads(current["SecretString"])
    assert current["VersionId"] == token and sorted(value) == ["password", "username"]
    pg_login(port, user, value["password"]).close()
    with pytest.raises(psycopg.OperationalError):
        pg_login(port, user, "initial-pw")
