"""boto3 against the release binary: values, versions and staging labels (spec §2.4, §3.2, §3.7)."""

import datetime

from conftest import error_of

T1, T2, T3 = ("1" * 32, "2" * 32, "3" * 32)


def stages(sm, secret_id):
    return sm.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})


def test_default_put_moves_current_and_previous_and_deprecates(sm):
    sm.create_secret(Name="s", SecretString="v1", ClientRequestToken=T1)
    assert sm.put_secret_value(SecretId="s", SecretString="v2", ClientRequestToken=T2)["VersionStages"] == ["AWSCURRENT"]
    sm.put_secret_value(SecretId="s", SecretString="v3", ClientRequestToken=T3)
    assert stages(sm, "s") == {T2: ["AWSPREVIOUS"], T3: ["AWSCURRENT"]}
    listed = sm.list_secret_version_ids(SecretId="s")["Versions"]
    assert [v["VersionId"] for v in listed] == [T2, T3]
    everything = sm.list_secret_version_ids(SecretId="s", IncludeDeprecated=True)["Versions"]
    assert [v["VersionId"] for v in everything] == [T1, T2, T3]
    assert "VersionStages" not in everything[0]
    assert everything[0]["KmsKeyIds"] == ["DefaultEncryptionKey"]
    old = sm.get_secret_value(SecretId="s", VersionId=T1)
    assert old["SecretString"] == "v1" and "VersionStages" not in old


def test_get_returns_awss_fields(sm):
    created = sm.create_secret(Name="g", SecretString="v1", ClientRequestToken=T1)
    got = sm.get_secret_value(SecretId="g")
    assert {k for k in got if k != "ResponseMetadata"} == {"ARN", "Name", "VersionId", "SecretString", "VersionStages", "CreatedDate"}
    assert got["ARN"] == created["ARN"]
    assert got["VersionStages"] == ["AWSCURRENT"]


def test_custom_stages_leave_current_in_place(sm):
    sm.create_secret(Name="c", SecretString="v1", ClientRequestToken=T1)
    out = sm.put_secret_value(SecretId="c", SecretString="v2", ClientRequestToken=T2, VersionStages=["SAMPLESTAGE1", "SAMPLESTAGE0"])
    assert out["VersionStages"] == ["SAMPLESTAGE0", "SAMPLESTAGE1"]
    assert sm.get_secret_value(SecretId="c")["SecretString"] == "v1"
    assert sm.get_secret_value(SecretId="c", VersionStage="SAMPLESTAGE1")["SecretString"] == "v2"
    sm.put_secret_value(SecretId="c", SecretString="v3", ClientRequestToken=T3, VersionStages=["AWSPENDING"])
    assert sm.get_secret_value(SecretId="c")["SecretString"] == "v1"
    assert stages(sm, "c") == {T1: ["AWSCURRENT"], T2: ["SAMPLESTAGE0", "SAMPLESTAGE1"], T3: ["AWSPENDING"]}


def test_labels_move_away_leaving_remaining_ones(sm):
    sm.create_secret(Name="n", SecretString="v0")
    sm.put_secret_value(SecretId="n", SecretString="v1", ClientRequestToken=T1, VersionStages=["one", "two", "three"])
    sm.put_secret_value(SecretId="n", SecretString="v2", ClientRequestToken=T2, VersionStages=["one", "two", "four"])
    s = stages(sm, "n")
    assert s[T1] == ["three"]
    assert s[T2] == ["four", "one", "two"]


def test_current_label_listed_explicitly_shuffles_previous(sm):
    sm.create_secret(Name="p", SecretString="v1", ClientRequestToken=T1)
    sm.put_secret_value(SecretId="p", SecretString="v2", ClientRequestToken=T2, VersionStages=["AWSCURRENT", "PUT0"])
    assert stages(sm, "p") == {T1: ["AWSPREVIOUS"], T2: ["AWSCURRENT", "PUT0"]}


def test_first_value_of_empty_secret_is_current(sm):
    sm.create_secret(Name="e")
    out = sm.put_secret_value(SecretId="e", SecretString="v", VersionStages=["CUSTOM"])
    assert out["VersionStages"] == ["AWSCURRENT", "CUSTOM"]


def test_put_token_idempotency(sm):
    arn = sm.create_secret(Name="i", SecretString="v1", ClientRequestToken=T1)["ARN"]
    replay = sm.put_secret_value(SecretId="i", SecretString="v1", ClientRequestToken=T1)
    assert (replay["VersionId"], replay["VersionStages"]) == (T1, ["AWSCURRENT"])
    assert error_of(sm.put_secret_value, SecretId="i", SecretString="v2", ClientRequestToken=T1) == (
        "ResourceExistsException",
        f"You can't use ClientRequestToken {T1} because that value is already in use for a version of secret {arn}.",
        400,
    )


def test_put_requires_a_value(sm):
    sm.create_secret(Name="q", SecretString="x")
    assert error_of(sm.put_secret_value, SecretId="q") == (
        "InvalidRequestException",
        "You must provide either SecretString or SecretBinary.",
        400,
    )


def test_binary_secret_round_trip(sm):
    data = bytes(range(256))
    sm.create_secret(Name="bin", SecretBinary=data)
    got = sm.get_secret_value(SecretId="bin")
    assert got["SecretBinary"] == data and "SecretString" not in got
    sm.put_secret_value(SecretId="bin", SecretBinary=b"\x00")
    assert sm.get_secret_value(SecretId="bin")["SecretBinary"] == b"\x00"


def test_get_errors(sm):
    sm.create_secret(Name="ge", SecretString="v1", ClientRequestToken=T1)
    assert error_of(sm.get_secret_value, SecretId="ge", VersionStage="AWSPREVIOUS") == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
        400,
    )
    assert error_of(sm.get_secret_value, SecretId="ge", VersionId=T2) == (
        "ResourceNotFoundException",
        f"Secrets Manager can't find the specified secret value for VersionId: {T2}",
        400,
    )
    assert error_of(sm.get_secret_value, SecretId="ge", VersionId=T1, VersionStage="AWSPREVIOUS") == (
        "InvalidRequestException",
        "You provided a VersionStage that is not associated to the provided VersionId.",
        400,
    )
    assert error_of(sm.get_secret_value, SecretId="nope") == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
        400,
    )


def test_last_accessed_date_is_midnight_utc(sm):
    sm.create_secret(Name="a", SecretString="x")
    assert "LastAccessedDate" not in sm.describe_secret(SecretId="a")
    sm.get_secret_value(SecretId="a")
    sm.get_secret_value(SecretId="a")
    accessed = sm.describe_secret(SecretId="a")["LastAccessedDate"]
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    assert accessed == today
    assert sm.list_secret_version_ids(SecretId="a")["Versions"][0]["LastAccessedDate"] == today


def test_update_version_stage_rules(sm):
    sm.create_secret(Name="u", SecretString="v1", ClientRequestToken=T1)
    sm.put_secret_value(SecretId="u", SecretString="v2", ClientRequestToken=T2, VersionStages=["AWSPENDING"])
    assert error_of(sm.update_secret_version_stage, SecretId="u", VersionStage="AWSCURRENT", MoveToVersionId=T2) == (
        "InvalidParameterException",
        f"The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version {T1}, so you must explicitly reference that version in RemoveFromVersionId.",
        400,
    )
    out = sm.update_secret_version_stage(SecretId="u", VersionStage="AWSCURRENT", MoveToVersionId=T2, RemoveFromVersionId=T1)
    assert out["Name"] == "u" and "ARN" in out
    assert stages(sm, "u") == {T1: ["AWSPREVIOUS"], T2: ["AWSCURRENT", "AWSPENDING"]}
    sm.update_secret_version_stage(SecretId="u", VersionStage="AWSPENDING", RemoveFromVersionId=T2)
    assert stages(sm, "u") == {T1: ["AWSPREVIOUS"], T2: ["AWSCURRENT"]}
    assert error_of(sm.update_secret_version_stage, SecretId="u", VersionStage="AWSCURRENT", MoveToVersionId=T3, RemoveFromVersionId=T2) == (
        "InvalidParameterException",
        f"Not a valid version: {T3}",
        400,
    )
    assert error_of(sm.update_secret_version_stage, SecretId="u", VersionStage="AWSCURRENT", MoveToVersionId=T1, RemoveFromVersionId=T1) == (
        "InvalidParameterException",
        "When you move staging label AWSCURRENT, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label AWSCURRENT.",
        400,
    )
    assert error_of(sm.update_secret_version_stage, SecretId="missing", VersionStage="X", MoveToVersionId=T1)[0] == "ResourceNotFoundException"


def test_list_versions_with_botocore_paginator_shape(sm):
    sm.create_secret(Name="pg", SecretString="0")
    for i in range(1, 5):
        sm.put_secret_value(SecretId="pg", SecretString=str(i), VersionStages=[f"L{i}"])
    seen, token = [], None
    while True:
        kwargs = {"SecretId": "pg", "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sm.list_secret_version_ids(**kwargs)
        assert len(page["Versions"]) <= 2
        assert page["Name"] == "pg"
        seen += [v["VersionId"] for v in page["Versions"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(set(seen)) == 5
    assert error_of(sm.list_secret_version_ids, SecretId="pg", NextToken="forged")[0] == "InvalidNextTokenException"


def test_random_password(sm):
    assert len(sm.get_random_password()["RandomPassword"]) == 32
    p = sm.get_random_password(PasswordLength=120, ExcludeCharacters="xyzDje@?!.")["RandomPassword"]
    assert len(p) == 120 and not set(p) & set("xyzDje@?!.")
    p = sm.get_random_password(PasswordLength=50, ExcludePunctuation=True, ExcludeNumbers=True, ExcludeUppercase=True)["RandomPassword"]
    assert p.isalpha() and p.islower()
    assert " " in "".join(sm.get_random_password(PasswordLength=200, IncludeSpace=True)["RandomPassword"] for _ in range(3))
    assert error_of(sm.get_random_password, PasswordLength=2) == (
        "InvalidParameterException",
        "Password length is too short based on the required types.",
        400,
    )
    assert error_of(sm.get_random_password, PasswordLength=4097)[0] == "ValidationException"
