"""A Lambda-shaped single-user database rotation function of our own, written the way AWS's RDS
templates are (handler(event, context); boto3 against SECRETS_MANAGER_ENDPOINT; DescribeSecret,
GetSecretValue, GetRandomPassword, PutSecretValue, UpdateSecretVersionStage) so that the
`python` executor is exercised exactly as the templates exercise it, against real servers:
PostgreSQL through psycopg, MySQL/MariaDB through PyMySQL.

Secret JSON: {"engine": "postgres"|"mysql"|"mariadb", "host", "port", "username", "password",
"dbname"?}."""

import json
import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    sm = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    metadata = sm.describe_secret(SecretId=arn)
    if metadata.get("RotationEnabled") is False:
        raise ValueError(f"Secret {arn} is not enabled for rotation")
    stages = metadata["VersionIdsToStages"].get(token)
    if stages is None:
        raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}.")
    if "AWSCURRENT" in stages:
        logger.info("version %s is already AWSCURRENT", token)
        return
    if "AWSPENDING" not in stages:
        raise ValueError(f"Secret version {token} not set as AWSPENDING for rotation of secret {arn}.")
    {"createSecret": create, "setSecret": set_password, "testSecret": test, "finishSecret": finish}[step](sm, arn, token)


def read(sm, arn, stage, token=None):
    kwargs = {"SecretId": arn, "VersionStage": stage}
    if token:
        kwargs["VersionId"] = token
    return json.loads(sm.get_secret_value(**kwargs)["SecretString"])


def create(sm, arn, token):
    current = read(sm, arn, "AWSCURRENT")
    try:
        read(sm, arn, "AWSPENDING", token)
        logger.info("createSecret: pending value exists")
        return
    except sm.exceptions.ResourceNotFoundException:
        pass
    current["password"] = sm.get_random_password(ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", ":/@\"'\\"))["RandomPassword"]
    sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current), VersionStages=["AWSPENDING"])


def connect(secret):
    """A connection for the secret's credentials, or None when they are refused."""
    if secret["engine"] == "postgres":
        import psycopg

        try:
            return psycopg.connect(host=secret["host"], port=int(secret.get("port", 5432)), user=secret["username"], password=secret["password"], dbname=secret.get("dbname", "postgres"), connect_timeout=5)
        except psycopg.OperationalError:
            return None
    import pymysql

    try:
        return pymysql.connect(host=secret["host"], port=int(secret.get("port", 3306)), user=secret["username"], password=secret["password"], connect_timeout=5)
    except pymysql.OperationalError:
        return None


def set_password(sm, arn, token):
    pending = read(sm, arn, "AWSPENDING", token)
    conn = connect(pending)
    if conn:
        conn.close()
        logger.info("setSecret: pending credentials already work")
        return
    current = read(sm, arn, "AWSCURRENT")
    if (pending["username"], pending["host"]) != (current["username"], current["host"]):
        raise ValueError("the pending version names another user or host")
    conn = connect(current)
    if not conn:
        raise ValueError(f"setSecret: Unable to log into database with current secret of secret arn {arn}")
    with conn:
        with conn.cursor() as cur:
            if pending["engine"] == "postgres":
                from psycopg import sql

                cur.execute(sql.SQL("ALTER USER {} WITH PASSWORD {}").format(sql.Identifier(pending["username"]), sql.Literal(pending["password"])))
            else:
                cur.execute("SET PASSWORD = PASSWORD(%s)", (pending["password"],))
        conn.commit()


def test(sm, arn, token):
    conn = connect(read(sm, arn, "AWSPENDING", token))
    if not conn:
        raise ValueError(f"testSecret: Unable to log into database with pending secret of secret ARN {arn}")
    with conn:  # closes the connection
        with conn.cursor() as cur:
            cur.execute("SELECT NOW()")


def finish(sm, arn, token):
    versions = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next(v for v, stages in versions.items() if "AWSCURRENT" in stages)
    if current != token:
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current)
