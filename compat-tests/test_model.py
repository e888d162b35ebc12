"""Model conformance: the botocore service model installed in the venv (not vendored) against
what secretsd routes and answers. Fails when a new botocore adds an operation nobody handles, or
when secretsd answers a member the model does not define."""

import json
import uuid

import botocore.loaders

from test_wire import signed

MODEL = botocore.loaders.Loader().load_service_model("secretsmanager", "service-2")

# Operations still to build; each would answer UnknownOperationException saying so. Empty: every
# operation of the installed model is answered. This list only shrinks.
NOT_YET: set = set()


def test_every_model_operation_is_routed_or_listed_as_not_yet(server):
    for op in MODEL["operations"]:
        r = signed(server, op, "{}")
        body = r.json() if r.content else {}
        unknown = body.get("__type") == "UnknownOperationException"
        if op in NOT_YET:
            assert unknown and "does not implement" in body.get("Message", ""), op
        else:
            assert not unknown, op
    assert NOT_YET <= set(MODEL["operations"])


POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})


def check_members(shape_name, value, path):
    """Every member of `value` is defined by the model's shape, recursively."""
    shape = MODEL["shapes"][shape_name]
    kind = shape["type"]
    if kind == "structure":
        assert isinstance(value, dict), path
        for key, item in value.items():
            assert key in shape["members"], f"{path}.{key} is not in the model"
            check_members(shape["members"][key]["shape"], item, f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), path
        for i, item in enumerate(value):
            check_members(shape["member"]["shape"], item, f"{path}[{i}]")
    elif kind == "map":
        assert isinstance(value, dict), path
        for key, item in value.items():
            check_members(shape["value"]["shape"], item, f"{path}[{key}]")
    elif kind == "timestamp":
        assert isinstance(value, (int, float)), f"{path} must be an epoch-seconds number"
    elif kind == "boolean":
        assert isinstance(value, bool), path
    elif kind in ("integer", "long"):
        assert isinstance(value, int), path
    else:
        assert isinstance(value, str), path


def call(server, op, **params):
    r = signed(server, op, json.dumps(params))
    assert r.status_code == 200, (op, r.text)
    return r.json() if r.content else None


def test_responses_use_only_model_members(server):
    token = lambda: str(uuid.uuid4())  # noqa: E731
    created = call(server, "CreateSecret", Name="model/a", SecretString="x", Description="d", KmsKeyId="alias/k", Tags=[{"Key": "t", "Value": "v"}], ClientRequestToken=token())
    call(server, "PutSecretValue", SecretId="model/a", SecretString="y", ClientRequestToken=token(), VersionStages=["CUSTOM"])
    call(server, "GetSecretValue", SecretId="model/a")
    call(server, "DeleteSecret", SecretId=created["ARN"], RecoveryWindowInDays=7)
    responses = {
        "CreateSecret": created,
        "DescribeSecret": call(server, "DescribeSecret", SecretId="model/a"),
        "ListSecrets": call(server, "ListSecrets", IncludePlannedDeletion=True),
        "ListSecretVersionIds": call(server, "ListSecretVersionIds", SecretId="model/a", IncludeDeprecated=True),
        "RestoreSecret": call(server, "RestoreSecret", SecretId="model/a"),
        "GetSecretValue": call(server, "GetSecretValue", SecretId="model/a"),
        "BatchGetSecretValue": call(server, "BatchGetSecretValue", SecretIdList=["model/a", "model/missing"]),
        "UpdateSecret": call(server, "UpdateSecret", SecretId="model/a", SecretString="z", ClientRequestToken=token()),
        "UpdateSecretVersionStage": call(server, "UpdateSecretVersionStage", SecretId="model/a", VersionStage="CUSTOM", RemoveFromVersionId=call(server, "GetSecretValue", SecretId="model/a", VersionStage="CUSTOM")["VersionId"]),
        "GetRandomPassword": call(server, "GetRandomPassword"),
        "PutResourcePolicy": call(server, "PutResourcePolicy", SecretId="model/a", ResourcePolicy=POLICY),
        "GetResourcePolicy": call(server, "GetResourcePolicy", SecretId="model/a"),
        "ListResourcePolicies": call(server, "ListResourcePolicies", SecretId="model/a"),
        "ValidateResourcePolicy": call(server, "ValidateResourcePolicy", ResourcePolicy=POLICY),
        "DeleteResourcePolicy": call(server, "DeleteResourcePolicy", SecretId="model/a"),
    }
    # No output shape: an empty body.
    assert call(server, "TagResource", SecretId="model/a", Tags=[{"Key": "a", "Value": "b"}]) is None
    assert call(server, "UntagResource", SecretId="model/a", TagKeys=["a"]) is None
    assert responses["ListResourcePolicies"] == {"ResourcePolicies": [{"PolicyName": "default"}]}
    responses["DeleteSecret"] = call(server, "DeleteSecret", SecretId="model/a", ForceDeleteWithoutRecovery=True)
    for op, body in responses.items():
        check_members(MODEL["operations"][op]["output"]["shape"], body, op)
    # Members that have a value are present (DescribeSecret after the calls above).
    described = responses["DescribeSecret"]
    for member in ("ARN", "Name", "Description", "KmsKeyId", "LastChangedDate", "LastAccessedDate", "DeletedDate", "Tags", "VersionIdsToStages", "CreatedDate"):
        assert member in described, member
