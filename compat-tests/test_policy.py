"""Resource policies with boto3 (docs/aws-behaviour.md §3.5): stored, validated, blocked when public."""

import json

from conftest import error_of

ALLOW_OTHER_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
}
PUBLIC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}


def test_put_get_list_delete(sm):
    arn = sm.create_secret(Name="p", SecretString="x")["ARN"]
    got = sm.get_resource_policy(SecretId="p")
    assert {k for k in got if k != "ResponseMetadata"} == {"ARN", "Name"}
    assert sm.list_resource_policies(SecretId="p")["ResourcePolicies"] == []
    out = sm.put_resource_policy(SecretId="p", ResourcePolicy=json.dumps(ALLOW_OTHER_ACCOUNT))
    assert (out["ARN"], out["Name"]) == (arn, "p")
    got = sm.get_resource_policy(SecretId=arn)
    assert json.loads(got["ResourcePolicy"]) == ALLOW_OTHER_ACCOUNT
    assert sm.list_resource_policies(SecretId="p")["ResourcePolicies"] == [{"PolicyName": "default"}]
    sm.delete_resource_policy(SecretId="p")
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId="p")
    sm.delete_resource_policy(SecretId="p")  # idempotent


def test_malformed_and_public_policies(sm):
    sm.create_secret(Name="m", SecretString="x")
    for bad in ["not json", json.dumps({"Version": "2019-10-19", "Statement": ALLOW_OTHER_ACCOUNT["Statement"]}), json.dumps({"Statement": [{"Effect": "Allow", "Action": "*"}]})]:
        assert error_of(sm.put_resource_policy, SecretId="m", ResourcePolicy=bad) == (
            "MalformedPolicyDocumentException",
            "This policy has invalid syntax.",
            400,
        )
    # Public policies are accepted unless blocked.
    sm.put_resource_policy(SecretId="m", ResourcePolicy=json.dumps(PUBLIC))
    code, _, status = error_of(sm.put_resource_policy, SecretId="m", ResourcePolicy=json.dumps(PUBLIC), BlockPublicPolicy=True)
    assert (code, status) == ("PublicPolicyException", 400)
    assert error_of(sm.put_resource_policy, SecretId="missing", ResourcePolicy=json.dumps(PUBLIC))[0] == "ResourceNotFoundException"


def test_validate_resource_policy(sm):
    ok = sm.validate_resource_policy(ResourcePolicy=json.dumps(ALLOW_OTHER_ACCOUNT))
    assert (ok["PolicyValidationPassed"], ok["ValidationErrors"]) == (True, [])
    broad = sm.validate_resource_policy(ResourcePolicy=json.dumps(PUBLIC))
    assert broad["PolicyValidationPassed"] is False
    assert broad["ValidationErrors"][0]["CheckName"] == "BROAD_ACCESS_CHECKING"
    bad = sm.validate_resource_policy(ResourcePolicy=json.dumps({"Statement": [{"Effect": "Perhaps", "Principal": "*", "Action": "*"}]}))
    assert bad["PolicyValidationPassed"] is False
    assert bad["ValidationErrors"][0]["CheckName"] == "SYNTAX_CHECKING"
    assert error_of(sm.validate_resource_policy, ResourcePolicy="{")[0] == "MalformedPolicyDocumentException"
    assert error_of(sm.validate_resource_policy, SecretId="Inv Name", ResourcePolicy="{}")[0] == "ValidationException"
    assert error_of(sm.validate_resource_policy, SecretId="missing", ResourcePolicy=json.dumps(ALLOW_OTHER_ACCOUNT))[0] == "ResourceNotFoundException"


def test_policy_name(sm):
    sm.create_secret(Name="n", SecretString="x")
    out = sm.put_resource_policy(SecretId="n", ResourcePolicy=json.dumps(ALLOW_OTHER_ACCOUNT), PolicyName="default")
    assert out["PolicyName"] == "default"
    assert error_of(sm.put_resource_policy, SecretId="n", ResourcePolicy=json.dumps(ALLOW_OTHER_ACCOUNT), PolicyName="other")[0] == "InvalidParameterException"
