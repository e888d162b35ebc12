"""Raw HTTP against the release binary, signed with botocore's own SigV4 signer: what SDKs never
send, auth failures, and the wire details SDKs depend on (spec §1, §6)."""

import datetime
import json
import uuid

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def signed(server, target, body, key="test", secret="test", when=None, extra_headers=None):
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"secretsmanager.{target}"}
    headers.update(extra_headers or {})
    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers=headers)
    signer = SigV4Auth(Credentials(key, secret), "secretsmanager", "us-east-1")
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
    body = json.dumps({"Name": "big", "SecretString": "x" * (2 * 1024 * 1024)})
    r = signed(server, "CreateSecret", body)
    assert r.status_code == 413
    assert r.json()["__type"] == "RequestEntityTooLargeException"
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
