"""Raw HTTP against the release binary, signed with botocore's own SigV4 signer: what SDKs never
send, auth failures, and the wire details SDKs depend on (docs/aws-behaviour.md §1, §6)."""

import datetime
import json
import uuid

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def signed(server, target, body, key="test", secret="test", when=None, extra_headers=None, service="secretsmanager", region="us-east-1"):
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = f"secretsmanager.{target}"
    headers.update(extra_headers or {})
    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers=headers)
    signer = SigV4Auth(Credentials(key, secret), service, region)
    if when is not None:
        # botocore stamps X-Amz-Date from the clock; sign as of another moment.
        import botocore.auth

        original = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda: when
        try:
            signer.add_auth(request)
        finally:
            botocore.auth.get_current_datetime = original
    else:
        signer.add_auth(request)
    prepared = request.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=10)


def test_missing_authorization(server):
    r = requests.post(server.url + "/", data="{}", headers={"X-Amz-Target": "secretsmanager.ListSecrets"}, timeout=10)
    assert r.status_code == 400
    assert r.json() == {"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}
    assert r.headers["Content-Type"] == "application/x-amz-json-1.1"


def test_garbled_authorization(server):
    r = requests.post(
        server.url + "/",
        data="{}",
        headers={"Authorization": "AWS4-HMAC-SHA256 garbage", "X-Amz-Date": "20260101T000000Z", "X-Amz-Target": "secretsmanager.GetRandomPassword"},
        timeout=10,
    )
    assert r.status_code == 400
    body = r.json()
    assert body["__type"] == "IncompleteSignatureException"
    assert body["message"] == "'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 garbage'."


def test_wrong_secret_key_is_invalid_signature(server):
    r = signed(server, "GetRandomPassword", "{}", secret="not-test")
    assert r.status_code == 400
    body = r.json()
    assert body["__type"] == "InvalidSignatureException"
    assert body["message"].startswith("The request signature we calculated does not match the signature you provided.")
    assert "The Canonical String for this request should have been" in body["message"]


def test_stale_date_is_signature_expired(server):
    old = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    r = signed(server, "GetRandomPassword", "{}", when=old)
    assert r.status_code == 400
    assert r.json()["__type"] == "InvalidSignatureException"
    assert r.json()["message"].startswith(f"Signature expired: {old.strftime('%Y%m%dT%H%M%SZ')} is now earlier than ")
    assert r.json()["message"].endswith(" - 5 min.)")


def test_signed_request_succeeds_with_awss_headers(server):
    r = signed(server, "GetRandomPassword", "{}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/x-amz-json-1.1"
    uuid.UUID(r.headers["x-amzn-RequestId"])
    assert r.headers["Date"].endswith(" GMT")
    assert len(r.json()["RandomPassword"]) == 32


def test_timestamps_are_numbers_and_nothing_is_null(server):
    token = str(uuid.uuid4())
    r = signed(server, "CreateSecret", json.dumps({"Name": "w", "SecretString": "x", "ClientRequestToken": token}))
    assert r.status_code == 200, r.text
    r = signed(server, "DescribeSecret", json.dumps({"SecretId": "w"}))
    body = r.json()
    assert isinstance(body["CreatedDate"], (int, float)) and isinstance(body["LastChangedDate"], (int, float))
    assert "null" not in r.text
    r = signed(server, "GetSecretValue", json.dumps({"SecretId": "w"}))
    assert isinstance(r.json()["CreatedDate"], (int, float))


def test_missing_client_request_token_on_raw_writes(server):
    expected = {"__type": "InvalidRequestException", "Message": "You must provide a ClientRequestToken value. We recommend a UUID-type value."}
    r = signed(server, "CreateSecret", json.dumps({"Name": "t", "SecretString": "x"}))
    assert (r.status_code, r.json()) == (400, expected)
    signed(server, "CreateSecret", json.dumps({"Name": "t2"}))
    r = signed(server, "PutSecretValue", json.dumps({"SecretId": "t2", "SecretString": "x"}))
    assert (r.status_code, r.json()) == (400, expected)
    r = signed(server, "UpdateSecret", json.dumps({"SecretId": "t2", "SecretString": "x"}))
    assert (r.status_code, r.json()) == (400, expected)


def test_unknown_target(server):
    r = signed(server, "NoSuchOperation", "{}")
    assert r.status_code == 400
    assert r.json() == {"__type": "UnknownOperationException"}


def test_bad_bodies_change_nothing(server):
    token = str(uuid.uuid4())
    signed(server, "CreateSecret", json.dumps({"Name": "keep", "SecretString": "original", "ClientRequestToken": token}))
    for body in ["{", "not json", "[]", json.dumps({"SecretId": "keep", "SecretString": 5, "ClientRequestToken": str(uuid.uuid4())})]:
        r = signed(server, "PutSecretValue", body)
        assert r.status_code == 400, body
        assert r.json()["__type"] == "SerializationException"
    r = signed(server, "PutSecretValue", b"\xff\xfe")
    assert r.status_code == 400 and r.json()["__type"] == "SerializationException"
    r = signed(server, "GetSecretValue", json.dumps({"SecretId": "keep", "SomethingNew": {"a": 1}}))
    assert r.status_code == 200 and r.json()["SecretString"] == "original"


def test_oversized_body_is_413(server):
    import socket

    # Announce 2 MiB, send only the start, then read: the server answers from the length alone
    # and closes (a client still writing could see that as a broken pipe instead).
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            b"POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-amz-json-1.1\r\n"
            b"x-amz-target: secretsmanager.CreateSecret\r\n"
            b"authorization: AWS4-HMAC-SHA256 Credential=AKIAFAKE/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n"
            b"x-amz-date: 20260101T000000Z\r\n"
            + f"content-length: {2 * 1024 * 1024}\r\n\r\n".encode()
            + b"x" * 1024
        )
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b'"__type":"RequestEntityTooLargeException"' in answer
    assert signed(server, "GetRandomPassword", "{}").status_code == 200


def test_unknown_access_key_is_trusted_in_open_mode(server):
    r = signed(server, "GetRandomPassword", "{}", key="AKIAIOSFODNN7EXAMPLE", secret="anything")
    assert r.status_code == 200


def test_admin_endpoints(server):
    r = requests.get(server.url + "/_secretsd/health", timeout=10)
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["version"]
    token = str(uuid.uuid4())
    signed(server, "CreateSecret", json.dumps({"Name": "gone", "SecretString": "x", "ClientRequestToken": token}))
    assert requests.post(server.url + "/moto-api/reset", timeout=10).status_code == 200
    r = signed(server, "DescribeSecret", json.dumps({"SecretId": "gone"}))
    assert r.json()["__type"] == "ResourceNotFoundException"


def no_nulls(value, path="$"):
    """Every member in a response has a value: no JSON null anywhere."""
    assert value is not None, path
    if isinstance(value, dict):
        for key, item in value.items():
            no_nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            no_nulls(item, f"{path}[{i}]")


def ok(server, target, **params):
    r = signed(server, target, json.dumps(params))
    assert r.status_code == 200, (target, r.text)
    assert r.headers["Content-Type"] == "application/x-amz-json-1.1"
    body = r.json()
    no_nulls(body, target)
    return body


def assert_service_error(r, code, message):
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/x-amz-json-1.1"
    uuid.UUID(r.headers["x-amzn-RequestId"])
    assert r.headers["Date"].endswith(" GMT")
    assert r.json() == {"__type": code, "Message": message}


def test_future_date_is_signature_not_yet_current(server):
    ahead = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=10)
    r = signed(server, "GetRandomPassword", "{}", when=ahead)
    assert r.status_code == 400
    assert r.json()["__type"] == "InvalidSignatureException"
    assert r.json()["message"].startswith(f"Signature not yet current: {ahead.strftime('%Y%m%dT%H%M%SZ')} is still later than ")
    assert r.json()["message"].endswith(" + 5 min.)")


def test_four_minutes_of_skew_is_accepted(server):
    for minutes in (-4, 4):
        when = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=minutes)
        r = signed(server, "GetRandomPassword", "{}", when=when)
        assert r.status_code == 200, (minutes, r.text)


def test_wrong_service_in_credential_scope(server):
    r = signed(server, "GetRandomPassword", "{}", service="s3")
    assert r.status_code == 400
    assert r.json() == {"__type": "InvalidSignatureException", "message": "Credential should be scoped to correct service: 'secretsmanager'. "}


def test_authorization_missing_parts_is_incomplete_signature(server):
    raw = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request"
    r = requests.post(
        server.url + "/",
        data="{}",
        headers={"Authorization": raw, "X-Amz-Date": "20260101T000000Z", "X-Amz-Target": "secretsmanager.GetRandomPassword"},
        timeout=10,
    )
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"__type", "message"}
    assert body["__type"] == "IncompleteSignatureException"
    assert "Authorization header requires 'Signature' parameter." in body["message"]
    assert "Authorization header requires 'SignedHeaders' parameter." in body["message"]
    assert "Authorization header requires 'Credential' parameter." not in body["message"]


def test_tampered_body_is_invalid_signature(server):
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetRandomPassword"}
    request = AWSRequest(method="POST", url=server.url + "/", data='{"PasswordLength": 10}', headers=headers)
    SigV4Auth(Credentials("test", "test"), "secretsmanager", "us-east-1").add_auth(request)
    prepared = request.prepare()
    r = requests.post(prepared.url, data='{"PasswordLength": 11}', headers=dict(prepared.headers), timeout=10)
    assert r.status_code == 400
    assert r.json()["__type"] == "InvalidSignatureException"
    assert r.json()["message"].startswith("The request signature we calculated does not match")


def test_service_errors_use_capital_message_and_standard_headers(server):
    r = signed(server, "DescribeSecret", json.dumps({"SecretId": "missing"}))
    assert_service_error(r, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    r = signed(server, "GetSecretValue", json.dumps({"SecretId": "bad name"}))
    assert_service_error(
        r,
        "ValidationException",
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
    )


def test_short_client_request_token_sent_raw_is_a_validation_error(server):
    r = signed(server, "CreateSecret", json.dumps({"Name": "short", "SecretString": "x", "ClientRequestToken": "too-short"}))
    assert r.status_code == 400
    body = r.json()
    assert body["__type"] == "ValidationException"
    assert body["Message"].startswith("1 validation error detected: ")
    assert "'clientRequestToken'" in body["Message"]
    r = signed(server, "DescribeSecret", json.dumps({"SecretId": "short"}))
    assert r.json()["__type"] == "ResourceNotFoundException"


def test_overlong_secret_id_sent_raw(server):
    long_id = "a" * 2049
    r = signed(server, "DescribeSecret", json.dumps({"SecretId": long_id}))
    assert r.status_code == 400
    body = r.json()
    assert body["__type"] == "ValidationException"
    assert body["Message"] == (
        f"1 validation error detected: Value '{long_id}' at 'secretId' failed to satisfy constraint: "
        "Member must have length less than or equal to 2048"
    )


def test_binary_values_are_base64_on_the_wire(server):
    created = ok(server, "CreateSecret", Name="b64", SecretBinary="Zm9vdGVzdA==", ClientRequestToken=str(uuid.uuid4()))
    body = ok(server, "GetSecretValue", SecretId=created["ARN"])
    assert body["SecretBinary"] == "Zm9vdGVzdA=="
    assert "SecretString" not in body


def test_no_nulls_and_numeric_timestamps_across_operations(server):
    token = str(uuid.uuid4())
    created = ok(server, "CreateSecret", Name="nn", SecretString="x", ClientRequestToken=token)
    ok(server, "PutSecretValue", SecretId="nn", SecretString="y", ClientRequestToken=str(uuid.uuid4()))
    got = ok(server, "GetSecretValue", SecretId="nn")
    assert isinstance(got["CreatedDate"], (int, float))
    versions = ok(server, "ListSecretVersionIds", SecretId="nn", IncludeDeprecated=True)
    for entry in versions["Versions"]:
        assert isinstance(entry["CreatedDate"], (int, float))
        assert "LastAccessedDate" not in entry or isinstance(entry["LastAccessedDate"], (int, float))
    accessed = [e["LastAccessedDate"] for e in versions["Versions"] if "LastAccessedDate" in e]
    assert accessed and all(ts % 86400 == 0 for ts in accessed)
    deleted = ok(server, "DeleteSecret", SecretId="nn", RecoveryWindowInDays=7)
    assert isinstance(deleted["DeletionDate"], (int, float))
    described = ok(server, "DescribeSecret", SecretId=created["ARN"])
    for member in ("CreatedDate", "LastChangedDate", "LastAccessedDate", "DeletedDate"):
        assert isinstance(described[member], (int, float)), member
    assert described["LastAccessedDate"] % 86400 == 0
    ok(server, "RestoreSecret", SecretId="nn")
    empty = ok(server, "CreateSecret", Name="nn-empty", ClientRequestToken=str(uuid.uuid4()))
    assert set(empty) == {"ARN", "Name"}
    assert set(ok(server, "DescribeSecret", SecretId="nn-empty")) == {"ARN", "Name", "CreatedDate", "LastChangedDate"}


def test_wrong_member_types_are_serialization_errors(server):
    ok(server, "CreateSecret", Name="types", SecretString="x", ClientRequestToken=str(uuid.uuid4()))
    for target, body in [
        ("DeleteSecret", {"SecretId": "types", "RecoveryWindowInDays": "seven"}),
        ("DeleteSecret", {"SecretId": "types", "ForceDeleteWithoutRecovery": "yes"}),
        ("PutSecretValue", {"SecretId": "types", "SecretString": "y", "ClientRequestToken": str(uuid.uuid4()), "VersionStages": "AWSCURRENT"}),
        ("DescribeSecret", {"SecretId": ["types"]}),
        ("GetRandomPassword", {"PasswordLength": "10"}),
    ]:
        r = signed(server, target, json.dumps(body))
        assert r.status_code == 400, (target, body)
        assert r.json()["__type"] == "SerializationException", (target, body, r.text)
    # None of them changed anything.
    assert "DeletedDate" not in ok(server, "DescribeSecret", SecretId="types")
    assert ok(server, "GetSecretValue", SecretId="types")["SecretString"] == "x"


def test_missing_target_is_unknown_operation(server):
    r = signed(server, None, "{}")
    assert r.status_code == 400
    assert r.json()["__type"] == "UnknownOperationException"
    r = signed(server, None, "{}", extra_headers={"X-Amz-Target": "kms.ListKeys"})
    assert r.status_code == 400
    assert r.json()["__type"] == "UnknownOperationException"


def test_explicit_false_and_empty_optional_members_are_accepted(server):
    ok(server, "CreateSecret", Name="opt", SecretString="x", ClientRequestToken=str(uuid.uuid4()), Description="", Tags=[])
    versions = ok(server, "ListSecretVersionIds", SecretId="opt", IncludeDeprecated=False)
    assert len(versions["Versions"]) == 1
    assert "Description" not in ok(server, "DescribeSecret", SecretId="opt")
    deleted = ok(server, "DeleteSecret", SecretId="opt", ForceDeleteWithoutRecovery=False)
    assert "DeletionDate" in deleted
