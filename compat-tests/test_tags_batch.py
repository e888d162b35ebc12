"""TagResource / UntagResource (empty body) and BatchGetSecretValue with boto3 (docs/aws-behaviour.md §3.2, §3.4)."""

import json
import uuid

from conftest import error_of
from test_wire import signed


def test_tag_untag_and_empty_bodies(server, sm):
    sm.create_secret(Name="t", SecretString="x")
    sm.tag_resource(SecretId="t", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.tag_resource(SecretId="t", Tags=[{"Key": "a", "Value": "one"}])
    assert sm.describe_secret(SecretId="t")["Tags"] == [{"Key": "a", "Value": "one"}, {"Key": "b", "Value": "2"}]
    sm.untag_resource(SecretId="t", TagKeys=["a", "b"])
    assert sm.describe_secret(SecretId="t")["Tags"] == []
    r = signed(server, "TagResource", json.dumps({"SecretId": "t", "Tags": [{"Key": "c", "Value": "3"}]}))
    assert (r.status_code, r.content) == (200, b"")
    assert r.headers["Content-Type"] == "application/x-amz-json-1.1"
    r = signed(server, "UntagResource", json.dumps({"SecretId": "t", "TagKeys": ["c"]}))
    assert (r.status_code, r.content) == (200, b"")


def test_system_tags_and_deleted_secrets(sm):
    sm.create_secret(Name="s", SecretString="x")
    assert error_of(sm.tag_resource, SecretId="s", Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "x"}]) == (
        "InvalidParameterException",
        "You can't modify system tags. Tag key: 'aws:cloudformation:stack-name'.",
        400,
    )
    sm.delete_secret(SecretId="s")
    marked = ("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.", 400)
    assert error_of(sm.tag_resource, SecretId="s", Tags=[{"Key": "k", "Value": "v"}]) == marked
    assert error_of(sm.untag_resource, SecretId="s", TagKeys=["k"]) == marked


def test_batch_get_by_id_list(sm):
    a = sm.create_secret(Name="a", SecretString="A")
    sm.create_secret(Name="b", SecretBinary=b"B")
    out = sm.batch_get_secret_value(SecretIdList=["a", "b", "missing"])
    values = {v["Name"]: v for v in out["SecretValues"]}
    assert values["a"]["SecretString"] == "A" and values["a"]["ARN"] == a["ARN"]
    assert values["b"]["SecretBinary"] == b"B"
    assert values["a"]["VersionStages"] == ["AWSCURRENT"]
    assert out["Errors"] == [{"SecretId": "missing", "ErrorCode": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret."}]
    assert "LastAccessedDate" in sm.describe_secret(SecretId="a")


def test_batch_get_by_filters_pages(sm):
    for i in range(7):
        sm.create_secret(Name=f"svc/{i}", SecretString=str(i))
    sm.create_secret(Name="unrelated", SecretString="u")
    pages, token = [], None
    while True:
        kwargs = {"Filters": [{"Key": "name", "Values": ["svc/"]}], "MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        pages.append(sm.batch_get_secret_value(**kwargs))
        token = pages[-1].get("NextToken")
        if not token:
            break
    assert [len(p["SecretValues"]) for p in pages] == [3, 3, 1]
    got = sorted(v["SecretString"] for p in pages for v in p["SecretValues"])
    assert got == [str(i) for i in range(7)]
    assert all(p["Errors"] == [] for p in pages)


def test_batch_get_argument_errors(sm):
    assert error_of(sm.batch_get_secret_value, SecretIdList=["a"], Filters=[{"Key": "name", "Values": ["a"]}])[0] == "InvalidParameterException"
    assert error_of(sm.batch_get_secret_value, SecretIdList=["a"], MaxResults=3)[0] == "InvalidParameterException"
    assert error_of(sm.batch_get_secret_value, SecretIdList=[f"s{i}" for i in range(21)])[0] == "ValidationException"
    assert error_of(sm.batch_get_secret_value, Filters=[{"Key": "name", "Values": ["a"]}], NextToken=str(uuid.uuid4()))[0] == "InvalidNextTokenException"
