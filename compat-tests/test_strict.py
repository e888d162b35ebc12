"""Strict mode (issue 5): only the principals of the config file are let in, every request is
verified, and the audit trail names the principal."""

import json
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

from conftest import SecretsdProcess, client, error_of

CONFIG = """
[[principals]]
name = "app"
account = "111111111111"
access_key_id = "AKIAAPPEXAMPLE000001"
secret_access_key = "app-secret-key"
tags = { team = "payments" }
policies = ['{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}']

[[principals]]
name = "deployer"
type = "role"
account = "111111111111"
access_key_id = "ASIADEPLOYER00000001"
secret_access_key = "deployer-secret-key"
session_token = "session-token-1"
"""


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    d = tmp_path_factory.mktemp("strict")
    (d / "secretsd.toml").write_text(CONFIG)
    proc = SecretsdProcess(d / "data", ["--config", str(d / "secretsd.toml"), "--auth", "strict"]).start()
    yield proc
    proc.stop()


def with_token(url, key, secret, token):
    return boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token, config=Config(retries={"max_attempts": 1}))


def test_only_configured_principals_get_in(strict):
    app = client(strict.url, key="AKIAAPPEXAMPLE000001", secret="app-secret-key")
    arn = app.create_secret(Name="s", SecretString="v")["ARN"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:111111111111:secret:s-")

    code, message, status = error_of(client(strict.url).list_secrets)  # the built-in test/test
    assert (code, status) == ("UnrecognizedClientException", 400)
    assert message == "The security token included in the request is invalid."
    code, _, _ = error_of(client(strict.url, key="AKIAUNKNOWN000000000", secret="x").list_secrets)
    assert code == "UnrecognizedClientException"
    code, message, _ = error_of(client(strict.url, key="AKIAAPPEXAMPLE000001", secret="wrong").list_secrets)
    assert code == "InvalidSignatureException"
    assert message.startswith("The request signature we calculated does not match the signature you provided.")


def test_session_tokens_are_required_where_configured(strict):
    code, _, _ = error_of(client(strict.url, key="ASIADEPLOYER00000001", secret="deployer-secret-key").list_secrets)
    assert code == "UnrecognizedClientException"
    code, _, _ = error_of(with_token(strict.url, "ASIADEPLOYER00000001", "deployer-secret-key", "wrong").list_secrets)
    assert code == "UnrecognizedClientException"
    ok = with_token(strict.url, "ASIADEPLOYER00000001", "deployer-secret-key", "session-token-1")
    assert "SecretList" in ok.list_secrets()


def test_the_audit_trail_names_the_principal(strict):
    app = client(strict.url, key="AKIAAPPEXAMPLE000001", secret="app-secret-key")
    app.list_secrets()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = json.loads(urllib.request.urlopen(strict.url + "/_secretsd/audit?since=0").read())["Records"]
        mine = [r for r in records if r["userIdentity"].get("arn") == "arn:aws:iam::111111111111:user/app"]
        if mine:
            break
        time.sleep(0.1)
    assert mine[-1]["userIdentity"] == {"type": "IAMUser", "principalId": "AKIAAPPEXAMPLE000001",
                                        "arn": "arn:aws:iam::111111111111:user/app", "accountId": "111111111111",
                                        "accessKeyId": "AKIAAPPEXAMPLE000001"}
    assert mine[-1]["recipientAccountId"] == "111111111111"
    refused = [r for r in records if r.get("errorCode") == "UnrecognizedClientException"]
    assert refused and refused[0]["userIdentity"] == {"type": "Unknown"}
