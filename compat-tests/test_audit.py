"""The audit trail (issue 5): every API call, allowed or refused, and every rotation event
becomes one CloudTrail-shaped record in <data-dir>/audit/<day>.jsonl, readable through
GET /_secretsd/audit. Secret values never appear in it."""

import json
import sys
import time
import urllib.request
import uuid
import pathlib

from botocore.exceptions import ClientError

from conftest import SecretsdProcess, client

ROTATOR = pathlib.Path(__file__).resolve().parent / "rotators" / "lambda_function.py"


def records(proc, since="0"):
    return json.loads(urllib.request.urlopen(f"{proc.url}/_secretsd/audit?since={since}").read())["Records"]


def wait_for_records(proc, predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in records(proc) if predicate(r)]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no such audit record: {records(proc)[-5:]}")


def test_calls_and_rotations_are_audited_without_values(tmp_path):
    config = tmp_path / "secretsd.toml"
    config.write_text(f'[functions.ok]\nkind = "exec"\ncommand = [{json.dumps(sys.executable)}, {json.dumps(str(ROTATOR))}]\n'
                      f'env = {{ ROTATOR_STATE_FILE = {json.dumps(str(tmp_path / "state"))} }}\n')
    proc = SecretsdProcess(tmp_path / "data", ["--config", str(config)]).start()
    marker = "audit-marker-" + uuid.uuid4().hex
    try:
        sm = client(proc.url)
        created = sm.create_secret(Name="audited", SecretString=json.dumps({"username": "u", "password": marker}), Description="d")
        sm.get_secret_value(SecretId="audited")
        try:
            sm.get_secret_value(SecretId="missing")
        except ClientError:
            pass
        try:
            client(proc.url, secret="wrong").list_secrets()
        except ClientError:
            pass
        sm.get_random_password()
        sm.rotate_secret(SecretId="audited", RotationLambdaARN="arn:aws:lambda:us-east-1:000000000000:function:ok")

        create = wait_for_records(proc, lambda r: r["eventName"] == "CreateSecret")[0]
        assert create["eventSource"] == "secretsmanager.amazonaws.com"
        assert create["eventType"] == "AwsApiCall" and create["eventVersion"] == "1.08"
        assert create["awsRegion"] == "us-east-1" and create["recipientAccountId"] == "000000000000"
        assert create["userIdentity"]["arn"] == "arn:aws:iam::000000000000:root"
        assert create["userIdentity"]["accessKeyId"] == "test"
        assert create["requestParameters"]["Name"] == "audited"
        assert create["requestParameters"]["Description"] == "d"
        assert "SecretString" not in create["requestParameters"]
        assert create["responseElements"] == {"ARN": created["ARN"], "Name": "audited", "VersionId": created["VersionId"]}
        assert create["readOnly"] is False and create["sourceIPAddress"] == "127.0.0.1"
        assert "Botocore" in create["userAgent"] or "boto3" in create["userAgent"]
        assert len(create["eventID"]) == 36 and create["requestID"]

        get = [r for r in records(proc) if r["eventName"] == "GetSecretValue"]
        assert [r.get("errorCode") for r in get] == [None, "ResourceNotFoundException"]
        assert get[0]["readOnly"] is True
        assert get[1]["errorMessage"] == "Secrets Manager can't find the specified secret."
        refused = [r for r in records(proc) if r["eventName"] == "ListSecrets"][0]
        assert refused["errorCode"] == "InvalidSignatureException"
        assert refused["userIdentity"] == {"type": "Unknown"}

        rotated = wait_for_records(proc, lambda r: r["eventName"] == "RotationSucceeded")[0]
        started = [r for r in records(proc) if r["eventName"] == "RotationStarted"][0]
        assert rotated["eventType"] == "AwsServiceEvent"
        assert rotated["userIdentity"] == {"invokedBy": "secretsmanager.amazonaws.com"}
        assert rotated["serviceEventDetails"]["SecretId"] == created["ARN"]
        assert rotated["serviceEventDetails"]["versionId"] == started["serviceEventDetails"]["versionId"]
        # The rotation function's own calls are audited too (PutSecretValue of the new value).
        assert any(r["eventName"] == "PutSecretValue" for r in records(proc))
        assert records(proc, since="2999-01-01T00:00:00Z") == []
        password = sm.get_random_password()["RandomPassword"]
    finally:
        proc.stop()
    files = list((tmp_path / "data" / "audit").glob("*.jsonl"))
    assert [f.name for f in files] == [time.strftime("%Y-%m-%d.jsonl", time.gmtime())]
    text = files[0].read_text()
    assert marker not in text and password not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) >= 10 and all(line["eventSource"] == "secretsmanager.amazonaws.com" for line in lines)
