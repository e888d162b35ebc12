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
name = "admin"
account = "111111111111"
access_key_id = "AKIAADMINEXAMPLE0001"
secret_access_key = "admin-secret-key"
policies = ['{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}']

[[principals]]
name = "myapp-ec2-role"
account = "111111111111"
access_key_id = "AKIAMYAPPEXAMPLE0001"
secret_access_key = "myapp-secret-key"
policies = ['{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:secretsmanager:us-east-1:111111111111:secret:Applications/MyApp/MySQL-RDS-Database-??????"}}']

[[principals]]
name = "payments"
account = "111111111111"
access_key_id = "AKIAPAYMENTSEXAMPLE1"
secret_access_key = "payments-secret-key"
mfa = false
tags = { team = "payments" }
policies = ['''{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"], "Resource": "*",
   "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
  {"Effect": "Allow", "Action": "secretsmanager:Describe*", "Resource": "*",
   "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "payments"}}},
  {"Effect": "Deny", "Action": "secretsmanager:DeleteSecret", "Resource": "*",
   "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
]}''']

[[principals]]
name = "partner"
account = "222222222222"
access_key_id = "AKIAPARTNEREXAMPLE01"
secret_access_key = "partner-secret-key"
policies = ['''{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"],
   "Resource": "arn:aws:secretsmanager:us-east-1:111111111111:secret:shared/*"},
  {"Effect": "Allow", "Action": "secretsmanager:BatchGetSecretValue", "Resource": "*"}
]}''']

[[principals]]
name = "reader"
account = "111111111111"
access_key_id = "AKIAREADEREXAMPLE001"
secret_access_key = "reader-secret-key"

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
policies = ['{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "secretsmanager:List*", "Resource": "*"}}']
"""


ADMIN_TOKEN = "strict-suite-admin-token-01"


def admin_request(url):
    """Strict mode's admin endpoints need the admin token, from loopback too."""
    return urllib.request.Request(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    d = tmp_path_factory.mktemp("strict")
    (d / "secretsd.toml").write_text(CONFIG)
    (d / "admin.token").write_text(ADMIN_TOKEN + "\n")
    proc = SecretsdProcess(d / "data", ["--config", str(d / "secretsd.toml"), "--auth", "strict",
                                        "--admin-token-file", str(d / "admin.token")]).start()
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
        records = json.loads(urllib.request.urlopen(admin_request(strict.url + "/_secretsd/audit?since=0")).read())["Records"]
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


def as_(strict, who):
    keys = {"admin": ("AKIAADMINEXAMPLE0001", "admin-secret-key"), "myapp": ("AKIAMYAPPEXAMPLE0001", "myapp-secret-key"),
            "payments": ("AKIAPAYMENTSEXAMPLE1", "payments-secret-key"), "reader": ("AKIAREADEREXAMPLE001", "reader-secret-key"),
            "partner": ("AKIAPARTNEREXAMPLE01", "partner-secret-key")}
    return client(strict.url, key=keys[who][0], secret=keys[who][1])


def denied(call, *args, **kwargs):
    code, message, status = error_of(call, *args, **kwargs)
    assert (code, status) == ("AccessDeniedException", 400), (code, message)
    return message


def test_the_seed_article_application_reads_its_secret_and_nothing_else(strict):
    admin, app = as_(strict, "admin"), as_(strict, "myapp")
    arn = admin.create_secret(Name="Applications/MyApp/MySQL-RDS-Database", SecretString="db-password")["ARN"]
    other = admin.create_secret(Name="Applications/Other", SecretString="other")["ARN"]
    assert app.get_secret_value(SecretId="Applications/MyApp/MySQL-RDS-Database")["SecretString"] == "db-password"
    assert app.get_secret_value(SecretId=arn)["SecretString"] == "db-password"
    user = "arn:aws:iam::111111111111:user/myapp-ec2-role"
    assert denied(app.describe_secret, SecretId=arn) == (
        f"User: {user} is not authorized to perform: secretsmanager:DescribeSecret on resource: {arn} "
        "because no identity-based policy allows the secretsmanager:DescribeSecret action")
    assert denied(app.get_secret_value, SecretId="Applications/Other") == (
        f"User: {user} is not authorized to perform: secretsmanager:GetSecretValue on resource: {other} "
        "because no identity-based policy allows the secretsmanager:GetSecretValue action")
    assert "on resource: * because" in denied(app.list_secrets)
    denied(app.put_secret_value, SecretId=arn, SecretString="mine now")
    denied(app.create_secret, Name="Applications/MyApp/New", SecretString="x")
    # A secret that does not exist is denied too, named as the caller named it.
    assert "on resource: Applications/Missing because" in denied(app.get_secret_value, SecretId="Applications/Missing")
    assert admin.get_secret_value(SecretId=arn)["SecretString"] == "db-password"


def test_tag_and_mfa_conditions(strict):
    admin, payments = as_(strict, "admin"), as_(strict, "payments")
    mine = admin.create_secret(Name="pay/key", SecretString="p", Tags=[{"Key": "team", "Value": "payments"}])["ARN"]
    admin.create_secret(Name="hr/key", SecretString="h", Tags=[{"Key": "team", "Value": "hr"}])
    assert payments.describe_secret(SecretId=mine)["Name"] == "pay/key"
    denied(payments.describe_secret, SecretId="hr/key")
    # ${aws:PrincipalTag/team} is the caller's tag: payments may read payments' secrets only.
    assert payments.get_secret_value(SecretId="pay/key")["SecretString"] == "p"
    denied(payments.get_secret_value, SecretId="hr/key")
    assert denied(payments.delete_secret, SecretId="pay/key").endswith("with an explicit deny in an identity-based policy")


def test_a_resource_policy_grants_access_within_the_account(strict):
    admin, reader = as_(strict, "admin"), as_(strict, "reader")
    admin.create_secret(Name="shared/config", SecretString="shared")
    denied(reader.get_secret_value, SecretId="shared/config")
    admin.put_resource_policy(SecretId="shared/config", ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/reader"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    assert reader.get_secret_value(SecretId="shared/config")["SecretString"] == "shared"
    denied(reader.describe_secret, SecretId="shared/config")
    admin.put_resource_policy(SecretId="shared/config", ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": {"AWS": "111111111111"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    assert denied(admin.get_secret_value, SecretId="shared/config").endswith("with an explicit deny in a resource-based policy")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = json.loads(urllib.request.urlopen(admin_request(strict.url + "/_secretsd/audit?since=0")).read())["Records"]
        refusals = [r for r in records if r.get("errorCode") == "AccessDeniedException"]
        if refusals:
            break
        time.sleep(0.1)
    assert refusals and refusals[-1]["errorMessage"].startswith("User: arn:aws:iam::111111111111:user/")


def test_cross_account_access_needs_both_policies(strict):
    admin, partner = as_(strict, "admin"), as_(strict, "partner")
    arn = admin.create_secret(Name="shared/xacct", SecretString="for the partner", KmsKeyId="alias/shared")["ARN"]
    partner_arn = "arn:aws:iam::222222222222:user/partner"
    # The partner's own policy allows it, the secret's account does not (yet).
    assert denied(partner.get_secret_value, SecretId=arn) == (
        f"User: {partner_arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: {arn} "
        "because no resource-based policy allows the secretsmanager:GetSecretValue action")
    admin.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    assert partner.get_secret_value(SecretId=arn)["SecretString"] == "for the partner"
    # Only by full ARN: a name means the caller's own account, where its policy allows nothing.
    assert "on resource: shared/xacct because" in denied(partner.get_secret_value, SecretId="shared/xacct")
    # The resource policy grants GetSecretValue only.
    denied(partner.describe_secret, SecretId=arn)


def test_cross_account_values_need_a_customer_managed_key(strict):
    admin, partner = as_(strict, "admin"), as_(strict, "partner")
    grant = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Resource": "*",
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"]}]})
    default_arn = admin.create_secret(Name="shared/default-key", SecretString="owner only")["ARN"]
    admin.put_resource_policy(SecretId=default_arn, ResourcePolicy=grant)
    cmk_arn = admin.create_secret(Name="shared/cmk", SecretString="shared value",
                                  KmsKeyId="arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab")["ARN"]
    admin.put_resource_policy(SecretId=cmk_arn, ResourcePolicy=grant)

    # Both policies allow it, but the AWS managed key cannot be used from another account.
    kms_refusal = ("InvalidRequestException", "You can't access a secret from a different AWS account if you "
                   "encrypt the secret with the default KMS service key.", 400)
    assert error_of(partner.get_secret_value, SecretId=default_arn) == kms_refusal
    assert error_of(partner.put_secret_value, SecretId=default_arn, SecretString="overwritten") == kms_refusal
    # Metadata involves no key: DescribeSecret works.
    assert partner.describe_secret(SecretId=default_arn)["Name"] == "shared/default-key"
    batch = partner.batch_get_secret_value(SecretIdList=[default_arn, cmk_arn])
    assert [v["SecretString"] for v in batch["SecretValues"]] == ["shared value"]
    assert [(e["SecretId"], e["ErrorCode"], e["Message"]) for e in batch["Errors"]] == [
        (default_arn, kms_refusal[0], kms_refusal[1])]
    # Nothing was written by the refused put.
    assert admin.get_secret_value(SecretId=default_arn)["SecretString"] == "owner only"

    # With a customer managed key the partner reads and writes.
    assert partner.get_secret_value(SecretId=cmk_arn)["SecretString"] == "shared value"
    partner.put_secret_value(SecretId=cmk_arn, SecretString="from the partner")
    assert admin.get_secret_value(SecretId=cmk_arn)["SecretString"] == "from the partner"
    # Re-encrypting with the default key closes the door again.
    admin.update_secret(SecretId=cmk_arn, KmsKeyId="alias/aws/secretsmanager")
    assert error_of(partner.get_secret_value, SecretId=cmk_arn) == kms_refusal
