"""boto3 against the release binary: the secret lifecycle (docs/aws-behaviour.md §2.1–§2.7, §3.1)."""

import datetime
import re
import urllib.request

from conftest import client, error_of

NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
INVALID_NAME = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"


def test_create_returns_arn_name_and_version(sm):
    out = sm.create_secret(Name="demo", SecretString="s3cr3t")
    assert re.fullmatch(r"arn:aws:secretsmanager:us-east-1:000000000000:secret:demo-[A-Za-z0-9]{6}", out["ARN"])
    assert out["Name"] == "demo"
    assert len(out["VersionId"]) == 36
    assert sm.get_secret_value(SecretId="demo")["SecretString"] == "s3cr3t"


def test_create_without_value_has_only_arn_and_name(sm):
    out = sm.create_secret(Name="empty")
    assert "VersionId" not in out
    described = sm.describe_secret(SecretId="empty")
    assert "VersionIdsToStages" not in described
    assert error_of(sm.get_secret_value, SecretId="empty") == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        400,
    )


def test_duplicate_name(sm):
    sm.create_secret(Name="dup", SecretString="a")
    assert error_of(sm.create_secret, Name="dup", SecretString="a") == (
        "ResourceExistsException",
        "The operation failed because the secret dup already exists.",
        400,
    )


def test_same_token_same_value_is_idempotent_other_value_conflicts(sm):
    token = "a" * 32
    first = sm.create_secret(Name="idem", SecretString="v", ClientRequestToken=token)
    again = sm.create_secret(Name="idem", SecretString="v", ClientRequestToken=token)
    assert (again["ARN"], again["VersionId"]) == (first["ARN"], token)
    assert error_of(sm.create_secret, Name="idem", SecretString="w", ClientRequestToken=token) == (
        "ResourceExistsException",
        f"You can't use ClientRequestToken {token} because that value is already in use for a version of secret {first['ARN']}.",
        400,
    )


def test_invalid_names_on_every_operation(sm):
    for name in ["Inv Name", " Inv Name", " Inv*Name? ", " Inv *?!]Name\\-"]:
        assert error_of(sm.create_secret, Name=name) == ("ValidationException", INVALID_NAME, 400)
        for op in (sm.describe_secret, sm.get_secret_value, sm.delete_secret, sm.list_secret_version_ids):
            assert error_of(op, SecretId=name)[:2] == ("ValidationException", INVALID_NAME)
        assert error_of(sm.update_secret, SecretId=name, Description="d")[0] == "ValidationException"
        assert error_of(sm.put_secret_value, SecretId=name, SecretString="x")[0] == "ValidationException"


def test_lookup_by_name_full_and_partial_arn(sm):
    for name in ["s-c64bdc03", "Valid/_+=.@-Name", "Valid/_+=.@-Name-a1b2", "Valid/_+=.@-Name-a1b2c3-", "/leading/slash"]:
        arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
        for secret_id in (name, arn, arn[:-7]):
            assert sm.get_secret_value(SecretId=secret_id)["Name"] == name


def test_partial_arn_of_suffix_like_name_is_not_found(sm):
    arn = sm.create_secret(Name="Invalid/_+=.@-Name-a1b2c3", SecretString="x")["ARN"]
    assert error_of(sm.get_secret_value, SecretId=arn[:-7]) == ("ResourceNotFoundException", NOT_FOUND, 400)


def test_regions_and_accounts_are_partitions(server, sm):
    arn = sm.create_secret(Name="iso", SecretString="x")["ARN"]
    west = client(server.url, region="eu-west-1")
    other = client(server.url, key="111111111111", secret="whatever")
    for c in (west, other):
        assert error_of(c.describe_secret, SecretId="iso")[0] == "ResourceNotFoundException"
        assert error_of(c.describe_secret, SecretId=arn)[0] == "ResourceNotFoundException"
    theirs = other.create_secret(Name="iso", SecretString="y")["ARN"]
    assert theirs.startswith("arn:aws:secretsmanager:us-east-1:111111111111:secret:iso-")
    assert west.create_secret(Name="iso", SecretString="z")["ARN"].startswith("arn:aws:secretsmanager:eu-west-1:")
    assert sm.get_secret_value(SecretId="iso")["SecretString"] == "x"


def test_describe_omits_members_without_value(sm):
    sm.create_secret(Name="d", Description="", SecretString="x", Tags=[{"Key": "team", "Value": "payments"}])
    d = sm.describe_secret(SecretId="d")
    for absent in ("Description", "KmsKeyId", "DeletedDate", "LastAccessedDate", "RotationEnabled", "RotationRules", "OwningService", "PrimaryRegion"):
        assert absent not in d, absent
    assert d["Tags"] == [{"Key": "team", "Value": "payments"}]
    assert list(d["VersionIdsToStages"].values()) == [["AWSCURRENT"]]
    assert isinstance(d["CreatedDate"], datetime.datetime)
    assert isinstance(d["LastChangedDate"], datetime.datetime)
    sm.create_secret(Name="k", KmsKeyId="alias/custom", SecretString="x")
    assert sm.describe_secret(SecretId="k")["KmsKeyId"] == "alias/custom"
    versions = sm.list_secret_version_ids(SecretId="k")["Versions"]
    assert versions[0]["KmsKeyIds"] == ["alias/custom"]


def test_update_metadata_then_value(sm):
    sm.create_secret(Name="u", SecretString="one")
    before = sm.describe_secret(SecretId="u")["LastChangedDate"]
    out = sm.update_secret(SecretId="u", Description="described")
    assert "VersionId" not in out
    out = sm.update_secret(SecretId="u", SecretString="two")
    assert sm.get_secret_value(SecretId="u")["VersionId"] == out["VersionId"]
    assert sm.get_secret_value(SecretId="u", VersionStage="AWSPREVIOUS")["SecretString"] == "one"
    d = sm.describe_secret(SecretId="u")
    assert d["Description"] == "described"
    assert d["LastChangedDate"] >= before


def test_update_with_same_token_and_value_replays(sm):
    sm.create_secret(Name="r", SecretString="one")
    token = "b" * 32
    first = sm.update_secret(SecretId="r", SecretString="two", ClientRequestToken=token)
    again = sm.update_secret(SecretId="r", SecretString="two", ClientRequestToken=token)
    assert first["VersionId"] == again["VersionId"] == token
    assert len(sm.list_secret_version_ids(SecretId="r", IncludeDeprecated=True)["Versions"]) == 2
    code, message, _ = error_of(sm.update_secret, SecretId="r", SecretString="three", ClientRequestToken=token)
    assert code == "ResourceExistsException"
    assert message.startswith(f"You can't use ClientRequestToken {token} because")


def test_both_value_kinds_are_rejected(sm):
    expected = ("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.", 400)
    assert error_of(sm.create_secret, Name="b", SecretString="a", SecretBinary=b"b") == expected
    sm.create_secret(Name="b2", SecretString="a")
    assert error_of(sm.update_secret, SecretId="b2", SecretString="a", SecretBinary=b"b") == expected
    assert error_of(sm.put_secret_value, SecretId="b2", SecretString="a", SecretBinary=b"b") == expected


def test_scheduled_deletion_and_restore(sm):
    sm.create_secret(Name="del", SecretString="x")
    out = sm.delete_secret(SecretId="del", RecoveryWindowInDays=7)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((out["DeletionDate"] - now - datetime.timedelta(days=7)).total_seconds()) < 60
    assert sm.describe_secret(SecretId="del")["DeletedDate"] == out["DeletionDate"]
    assert error_of(sm.get_secret_value, SecretId="del") == ("InvalidRequestException", MARKED, 400)
    assert error_of(sm.put_secret_value, SecretId="del", SecretString="y") == ("InvalidRequestException", MARKED, 400)
    assert error_of(sm.update_secret, SecretId="del", Description="d") == ("InvalidRequestException", MARKED, 400)
    current = next(iter(sm.describe_secret(SecretId="del")["VersionIdsToStages"]))
    assert error_of(sm.update_secret_version_stage, SecretId="del", VersionStage="X", MoveToVersionId=current) == ("InvalidRequestException", MARKED, 400)
    assert error_of(sm.create_secret, Name="del", SecretString="x") == (
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
        400,
    )
    assert error_of(sm.delete_secret, SecretId="del") == (
        "InvalidRequestException",
        "You tried to perform the operation on a secret that's currently marked deleted.",
        400,
    )
    # ListSecretVersionIds still answers.
    assert len(sm.list_secret_version_ids(SecretId="del")["Versions"]) == 1
    out = sm.restore_secret(SecretId="del")
    assert out["Name"] == "del"
    assert "DeletedDate" not in sm.describe_secret(SecretId="del")
    assert sm.get_secret_value(SecretId="del")["SecretString"] == "x"
    # Restoring a secret that is not deleted succeeds too.
    sm.restore_secret(SecretId="del")


def test_recovery_window_validation(sm):
    sm.create_secret(Name="w", SecretString="x")
    for days in (0, 6, 31):
        assert error_of(sm.delete_secret, SecretId="w", RecoveryWindowInDays=days) == (
            "InvalidParameterException",
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
            400,
        )
    assert error_of(sm.delete_secret, SecretId="w", RecoveryWindowInDays=0, ForceDeleteWithoutRecovery=True)[1] == (
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
    )
    assert error_of(sm.delete_secret, SecretId="w", RecoveryWindowInDays=10, ForceDeleteWithoutRecovery=True) == (
        "InvalidParameterException",
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        400,
    )
    out = sm.delete_secret(SecretId="w")
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((out["DeletionDate"] - now - datetime.timedelta(days=30)).total_seconds()) < 60


def test_force_delete_is_immediate_and_new_secret_gets_new_arn(sm):
    first = sm.create_secret(Name="f", SecretString="x")["ARN"]
    sm.delete_secret(SecretId="f", RecoveryWindowInDays=7)
    sm.delete_secret(SecretId="f", ForceDeleteWithoutRecovery=True)
    assert error_of(sm.describe_secret, SecretId="f") == ("ResourceNotFoundException", NOT_FOUND, 400)
    second = sm.create_secret(Name="f", SecretString="y")["ARN"]
    assert second != first
    assert error_of(sm.get_secret_value, SecretId=first)[0] == "ResourceNotFoundException"


def test_force_delete_of_missing_secret_answers_as_if_it_existed(sm):
    out = sm.delete_secret(SecretId="ghost", ForceDeleteWithoutRecovery=True)
    assert out["Name"] == "ghost"
    assert ":secret:ghost-" in out["ARN"]
    assert "DeletionDate" in out
    assert error_of(sm.delete_secret, SecretId="ghost") == ("ResourceNotFoundException", NOT_FOUND, 400)
    assert error_of(sm.restore_secret, SecretId="ghost") == ("ResourceNotFoundException", NOT_FOUND, 400)


def test_purge_after_recovery_window(server, sm):
    sm.create_secret(Name="gone", SecretString="x")
    sm.delete_secret(SecretId="gone", RecoveryWindowInDays=7)
    request = urllib.request.Request(
        server.url + "/_secretsd/clock", data=b'{"advance_seconds": 605000}', method="POST"
    )
    urllib.request.urlopen(request).read()
    assert error_of(sm.describe_secret, SecretId="gone") == ("ResourceNotFoundException", NOT_FOUND, 400)
    sm.create_secret(Name="gone", SecretString="new")
    assert sm.get_secret_value(SecretId="gone")["SecretString"] == "new"


def test_length_constraints_are_validation_errors(sm):
    code, message, status = error_of(sm.describe_secret, SecretId="x" * 2049)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("1 validation error detected: Value '")
    assert message.endswith("at 'secretId' failed to satisfy constraint: Member must have length less than or equal to 2048")
    code, message, _ = error_of(sm.create_secret, Name="big", SecretString="x" * 65537)
    assert message == "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536"
    code, message, _ = error_of(sm.create_secret, Name="d", Description="d" * 2049)
    assert code == "ValidationException" and "'description'" in message
    # The largest value AWS allows is accepted.
    sm.create_secret(Name="max", SecretString="x" * 65536)
    assert len(sm.get_secret_value(SecretId="max")["SecretString"]) == 65536


def test_names_are_case_sensitive(sm):
    sm.create_secret(Name="Case", SecretString="upper")
    assert error_of(sm.describe_secret, SecretId="case") == ("ResourceNotFoundException", NOT_FOUND, 400)
    sm.create_secret(Name="case", SecretString="lower")
    assert sm.get_secret_value(SecretId="Case")["SecretString"] == "upper"
    assert sm.get_secret_value(SecretId="case")["SecretString"] == "lower"


def test_every_lifecycle_operation_accepts_name_arn_and_partial_arn(sm):
    arn = sm.create_secret(Name="ops/x", SecretString="x")["ARN"]
    for secret_id in ("ops/x", arn, arn[:-7]):
        assert sm.describe_secret(SecretId=secret_id)["ARN"] == arn
        assert sm.update_secret(SecretId=secret_id, Description=f"via {secret_id}")["ARN"] == arn
        assert sm.describe_secret(SecretId="ops/x")["Description"] == f"via {secret_id}"
        deleted = sm.delete_secret(SecretId=secret_id, RecoveryWindowInDays=7)
        assert (deleted["ARN"], deleted["Name"]) == (arn, "ops/x")
        restored = sm.restore_secret(SecretId=secret_id)
        assert (restored["ARN"], restored["Name"]) == (arn, "ops/x")
        assert set(restored) - {"ResponseMetadata"} == {"ARN", "Name"}


def test_arn_with_wrong_suffix_region_or_account_is_not_found(sm):
    arn = sm.create_secret(Name="arnchk", SecretString="x")["ARN"]
    suffix = arn[-6:]
    wrong_suffix = arn[:-6] + ("AAAAAA" if suffix != "AAAAAA" else "BBBBBB")
    other_region = arn.replace(":us-east-1:", ":eu-west-1:")
    other_account = arn.replace(":000000000000:", ":111111111111:")
    for secret_id in (
        wrong_suffix,
        other_region,
        other_account,
        other_region[:-7],
        other_account[:-7],
        arn + "x",
    ):
        assert error_of(sm.get_secret_value, SecretId=secret_id) == ("ResourceNotFoundException", NOT_FOUND, 400), secret_id


def test_arn_suffix_is_six_alphanumerics_and_fresh_per_secret(sm):
    suffixes = set()
    for i in range(10):
        arn = sm.create_secret(Name=f"sfx{i}")["ARN"]
        prefix, _, suffix = arn.rpartition("-")
        assert prefix == f"arn:aws:secretsmanager:us-east-1:000000000000:secret:sfx{i}"
        assert re.fullmatch(r"[A-Za-z0-9]{6}", suffix)
        suffixes.add(suffix)
    assert len(suffixes) > 1


def test_unknown_non_numeric_access_key_lands_in_default_account(server):
    other = client(server.url, key="AKIAIOSFODNN7EXAMPLE", secret="anything")
    arn = other.create_secret(Name="dflt", SecretString="x")["ARN"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:dflt-")
    # Same account and region as test/test: the same secret.
    assert client(server.url).get_secret_value(SecretId="dflt")["SecretString"] == "x"


def test_numeric_access_key_accounts_are_separate_from_each_other(server):
    a = client(server.url, key="111111111111", secret="one")
    b = client(server.url, key="222222222222", secret="two")
    arn_a = a.create_secret(Name="acct", SecretString="a")["ARN"]
    arn_b = b.create_secret(Name="acct", SecretString="b")["ARN"]
    assert ":111111111111:secret:acct-" in arn_a and ":222222222222:secret:acct-" in arn_b
    assert a.get_secret_value(SecretId="acct")["SecretString"] == "a"
    assert b.get_secret_value(SecretId="acct")["SecretString"] == "b"
    assert error_of(b.get_secret_value, SecretId=arn_a)[0] == "ResourceNotFoundException"


def test_region_sees_none_of_another_regions_secrets(server, sm):
    west = client(server.url, region="eu-west-1")
    for i in range(3):
        sm.create_secret(Name=f"east{i}", SecretString="x")
    for i in range(3):
        assert error_of(west.get_secret_value, SecretId=f"east{i}") == ("ResourceNotFoundException", NOT_FOUND, 400)
    west.create_secret(Name="east0", SecretString="west value")
    west.delete_secret(SecretId="east0", ForceDeleteWithoutRecovery=True)
    # Deleting in eu-west-1 left us-east-1 alone.
    assert sm.get_secret_value(SecretId="east0")["SecretString"] == "x"


def test_create_response_members(sm):
    with_value = sm.create_secret(Name="cr1", SecretString="x", ClientRequestToken="c" * 32)
    assert set(with_value) - {"ResponseMetadata"} == {"ARN", "Name", "VersionId"}
    assert with_value["VersionId"] == "c" * 32
    without = sm.create_secret(Name="cr2", Description="no value yet")
    assert set(without) - {"ResponseMetadata"} == {"ARN", "Name"}
    d = sm.describe_secret(SecretId="cr2")
    assert set(d) - {"ResponseMetadata"} == {"ARN", "Name", "Description", "CreatedDate", "LastChangedDate"}


def test_describe_without_tags_or_kms_key_omits_them(sm):
    sm.create_secret(Name="plain", SecretString="x")
    d = sm.describe_secret(SecretId="plain")
    assert "Tags" not in d and "KmsKeyId" not in d and "Description" not in d


def test_create_without_token_when_name_exists_conflicts_even_with_same_value(sm):
    sm.create_secret(Name="twice", SecretString="same")
    assert error_of(sm.create_secret, Name="twice", SecretString="same") == (
        "ResourceExistsException",
        "The operation failed because the secret twice already exists.",
        400,
    )
    assert error_of(sm.create_secret, Name="twice") == (
        "ResourceExistsException",
        "The operation failed because the secret twice already exists.",
        400,
    )


def test_update_unknown_secret_is_not_found(sm):
    assert error_of(sm.update_secret, SecretId="nobody", Description="d") == ("ResourceNotFoundException", NOT_FOUND, 400)
    assert error_of(sm.update_secret, SecretId="nobody", SecretString="v") == ("ResourceNotFoundException", NOT_FOUND, 400)


def test_update_kms_key_and_revert_to_default(sm):
    sm.create_secret(Name="kms", SecretString="x")
    assert "VersionId" not in sm.update_secret(SecretId="kms", KmsKeyId="alias/mine")
    assert sm.describe_secret(SecretId="kms")["KmsKeyId"] == "alias/mine"
    sm.update_secret(SecretId="kms", KmsKeyId="")
    assert "KmsKeyId" not in sm.describe_secret(SecretId="kms")


def test_update_value_with_new_token_always_makes_a_new_version(server, sm):
    sm.create_secret(Name="same", SecretString="v", ClientRequestToken="1" * 32)
    changed = [sm.describe_secret(SecretId="same")["LastChangedDate"]]
    for token in ("2" * 32, "3" * 32):
        request = urllib.request.Request(server.url + "/_secretsd/clock", data=b'{"advance_seconds": 5}', method="POST")
        urllib.request.urlopen(request).read()
        out = sm.update_secret(SecretId="same", SecretString="v", ClientRequestToken=token)
        assert out["VersionId"] == token
        changed.append(sm.describe_secret(SecretId="same")["LastChangedDate"])
    assert changed[0] < changed[1] < changed[2]
    assert sm.describe_secret(SecretId="same")["VersionIdsToStages"] == {"2" * 32: ["AWSPREVIOUS"], "3" * 32: ["AWSCURRENT"]}


def test_update_description_keeps_value_and_versions(sm):
    sm.create_secret(Name="ud", SecretString="v", Description="old", ClientRequestToken="1" * 32)
    out = sm.update_secret(SecretId="ud", Description="new")
    assert set(out) - {"ResponseMetadata"} == {"ARN", "Name"}
    d = sm.describe_secret(SecretId="ud")
    assert d["Description"] == "new"
    assert d["VersionIdsToStages"] == {"1" * 32: ["AWSCURRENT"]}


def test_delete_response_and_explicit_false_force(sm):
    arn = sm.create_secret(Name="dr", SecretString="x")["ARN"]
    out = sm.delete_secret(SecretId="dr", RecoveryWindowInDays=30, ForceDeleteWithoutRecovery=False)
    assert set(out) - {"ResponseMetadata"} == {"ARN", "Name", "DeletionDate"}
    assert (out["ARN"], out["Name"]) == (arn, "dr")
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((out["DeletionDate"] - now - datetime.timedelta(days=30)).total_seconds()) < 60


def test_recovery_window_bounds_are_inclusive(sm):
    for days in (7, 30):
        sm.create_secret(Name=f"rw{days}", SecretString="x")
        out = sm.delete_secret(SecretId=f"rw{days}", RecoveryWindowInDays=days)
        now = datetime.datetime.now(datetime.timezone.utc)
        assert abs((out["DeletionDate"] - now - datetime.timedelta(days=days)).total_seconds()) < 60


def test_force_delete_of_scheduled_secret_frees_the_name(sm):
    sm.create_secret(Name="fs", SecretString="x")
    sm.delete_secret(SecretId="fs")
    out = sm.delete_secret(SecretId="fs", ForceDeleteWithoutRecovery=True)
    assert out["Name"] == "fs"
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((out["DeletionDate"] - now).total_seconds()) < 60
    assert error_of(sm.describe_secret, SecretId="fs") == ("ResourceNotFoundException", NOT_FOUND, 400)
    sm.create_secret(Name="fs", SecretString="again")
    assert sm.get_secret_value(SecretId="fs")["SecretString"] == "again"


def test_scheduled_secret_describe_keeps_its_metadata(sm):
    arn = sm.create_secret(Name="sd", Description="kept", SecretString="x", Tags=[{"Key": "k", "Value": "v"}])["ARN"]
    out = sm.delete_secret(SecretId="sd", RecoveryWindowInDays=7)
    d = sm.describe_secret(SecretId=arn)
    assert d["DeletedDate"] == out["DeletionDate"]
    assert d["Description"] == "kept"
    assert d["Tags"] == [{"Key": "k", "Value": "v"}]
    assert list(d["VersionIdsToStages"].values()) == [["AWSCURRENT"]]
    # Binary writes are refused too.
    assert error_of(sm.put_secret_value, SecretId="sd", SecretBinary=b"x") == ("InvalidRequestException", MARKED, 400)
    assert error_of(sm.update_secret, SecretId="sd", SecretString="y") == ("InvalidRequestException", MARKED, 400)


def test_restore_keeps_versions_and_labels(sm):
    sm.create_secret(Name="rk", SecretString="v1", ClientRequestToken="1" * 32)
    sm.put_secret_value(SecretId="rk", SecretString="v2", ClientRequestToken="2" * 32)
    sm.delete_secret(SecretId="rk", RecoveryWindowInDays=7)
    sm.restore_secret(SecretId="rk")
    assert sm.describe_secret(SecretId="rk")["VersionIdsToStages"] == {"1" * 32: ["AWSPREVIOUS"], "2" * 32: ["AWSCURRENT"]}
    sm.put_secret_value(SecretId="rk", SecretString="v3")
    assert sm.get_secret_value(SecretId="rk")["SecretString"] == "v3"


def test_more_constraint_violations(sm):
    code, message, status = error_of(sm.create_secret, Name="n" * 513)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("1 validation error detected: Value '")
    assert "at 'name' failed to satisfy constraint: Member must have length less than or equal to 512" in message
    sm.create_secret(Name="n" * 512)
    sm.create_secret(Name="desc", Description="d" * 2048)
    assert sm.describe_secret(SecretId="desc")["Description"] == "d" * 2048
    code, message, status = error_of(sm.update_secret, SecretId="desc", Description="d" * 2049)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("1 validation error detected: ")
    assert "at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048" in message
    code, message, _ = error_of(sm.put_secret_value, SecretId="desc", SecretString="s" * 65537)
    assert message == "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536"
    code, message, status = error_of(sm.get_secret_value, SecretId="x" * 2049)
    assert (code, status) == ("ValidationException", 400)
    assert "at 'secretId' failed to satisfy constraint" in message
