"""boto3 against the release binary: values, versions and staging labels (docs/aws-behaviour.md §2.4, §3.2)."""

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



def test_default_put_drops_pending_from_the_old_current(sm):
    sm.create_secret(Name="cp", SecretString="v1", ClientRequestToken=T1)
    sm.update_secret_version_stage(SecretId="cp", VersionStage="AWSPENDING", MoveToVersionId=T1)
    assert stages(sm, "cp") == {T1: ["AWSCURRENT", "AWSPENDING"]}
    sm.put_secret_value(SecretId="cp", SecretString="v2", ClientRequestToken=T2)
    assert stages(sm, "cp") == {T1: ["AWSPREVIOUS"], T2: ["AWSCURRENT"]}


def test_update_secret_value_shuffles_labels_like_put(sm):
    sm.create_secret(Name="us", SecretString="v1", ClientRequestToken=T1)
    sm.update_secret(SecretId="us", SecretString="v2", ClientRequestToken=T2)
    sm.update_secret(SecretId="us", SecretBinary=b"\x00v3", ClientRequestToken=T3)
    assert stages(sm, "us") == {T2: ["AWSPREVIOUS"], T3: ["AWSCURRENT"]}
    got = sm.get_secret_value(SecretId="us")
    assert got["SecretBinary"] == b"\x00v3" and "SecretString" not in got
    assert sm.get_secret_value(SecretId="us", VersionStage="AWSPREVIOUS")["SecretString"] == "v2"


def test_get_by_matching_version_id_and_stage(sm):
    sm.create_secret(Name="m", SecretString="v1", ClientRequestToken=T1)
    sm.put_secret_value(SecretId="m", SecretString="v2", ClientRequestToken=T2)
    got = sm.get_secret_value(SecretId="m", VersionId=T1, VersionStage="AWSPREVIOUS")
    assert (got["VersionId"], got["SecretString"], got["VersionStages"]) == (T1, "v1", ["AWSPREVIOUS"])
    got = sm.get_secret_value(SecretId="m", VersionId=T2)
    assert (got["SecretString"], got["VersionStages"]) == ("v2", ["AWSCURRENT"])
    got = sm.get_secret_value(SecretId="m", VersionStage="AWSCURRENT")
    assert got["VersionId"] == T2


def test_version_created_date_is_the_versions_own(sm, server):
    import urllib.request

    sm.create_secret(Name="vc", SecretString="v1", ClientRequestToken=T1)
    request = urllib.request.Request(server.url + "/_secretsd/clock", data=b'{"advance_seconds": 3600}', method="POST")
    urllib.request.urlopen(request).read()
    sm.put_secret_value(SecretId="vc", SecretString="v2", ClientRequestToken=T2)
    first = sm.get_secret_value(SecretId="vc", VersionId=T1)["CreatedDate"]
    second = sm.get_secret_value(SecretId="vc", VersionId=T2)["CreatedDate"]
    assert (second - first).total_seconds() >= 3600
    listed = {v["VersionId"]: v["CreatedDate"] for v in sm.list_secret_version_ids(SecretId="vc")["Versions"]}
    assert listed == {T1: first, T2: second}


def test_stage_lists_are_sorted(sm):
    sm.create_secret(Name="so", SecretString="v1", ClientRequestToken=T1)
    out = sm.put_secret_value(SecretId="so", SecretString="v2", ClientRequestToken=T2, VersionStages=["zeta", "AWSPENDING", "alpha", "Beta"])
    assert out["VersionStages"] == ["AWSPENDING", "Beta", "alpha", "zeta"]
    assert sm.get_secret_value(SecretId="so", VersionId=T2)["VersionStages"] == ["AWSPENDING", "Beta", "alpha", "zeta"]
    assert stages(sm, "so")[T2] == ["AWSPENDING", "Beta", "alpha", "zeta"]
    listed = {v["VersionId"]: v["VersionStages"] for v in sm.list_secret_version_ids(SecretId="so")["Versions"]}
    assert listed[T2] == ["AWSPENDING", "Beta", "alpha", "zeta"]


def test_list_versions_entry_shape(sm):
    created = sm.create_secret(Name="ls", SecretString="v1", ClientRequestToken=T1)
    out = sm.list_secret_version_ids(SecretId="ls")
    assert (out["ARN"], out["Name"]) == (created["ARN"], "ls")
    assert "NextToken" not in out
    [entry] = out["Versions"]
    assert set(entry) == {"VersionId", "VersionStages", "CreatedDate", "KmsKeyIds"}
    assert entry["KmsKeyIds"] == ["DefaultEncryptionKey"]
    assert entry["VersionStages"] == ["AWSCURRENT"]
    # By ARN and partial ARN too.
    assert sm.list_secret_version_ids(SecretId=created["ARN"])["Versions"][0]["VersionId"] == T1
    assert sm.list_secret_version_ids(SecretId=created["ARN"][:-7])["Versions"][0]["VersionId"] == T1


def test_list_versions_of_a_secret_without_value_is_empty(sm):
    sm.create_secret(Name="nv")
    out = sm.list_secret_version_ids(SecretId="nv", IncludeDeprecated=True)
    assert out["Name"] == "nv"
    assert out.get("Versions", []) == []


def test_values_on_unknown_secrets(sm):
    not_found = ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.", 400)
    assert error_of(sm.list_secret_version_ids, SecretId="missing") == not_found
    assert error_of(sm.put_secret_value, SecretId="missing", SecretString="x") == not_found
    assert error_of(sm.update_secret_version_stage, SecretId="missing", VersionStage="X", MoveToVersionId=T1) == not_found


def test_remove_last_label_deprecates_but_keeps_the_version(sm):
    sm.create_secret(Name="dp", SecretString="v1", ClientRequestToken=T1)
    sm.put_secret_value(SecretId="dp", SecretString="v2", ClientRequestToken=T2, VersionStages=["PENDING"])
    sm.update_secret_version_stage(SecretId="dp", VersionStage="PENDING", RemoveFromVersionId=T2)
    assert stages(sm, "dp") == {T1: ["AWSCURRENT"]}
    assert [v["VersionId"] for v in sm.list_secret_version_ids(SecretId="dp")["Versions"]] == [T1]
    everything = sm.list_secret_version_ids(SecretId="dp", IncludeDeprecated=True)["Versions"]
    assert [v["VersionId"] for v in everything] == [T1, T2]
    assert "VersionStages" not in everything[1]
    assert sm.get_secret_value(SecretId="dp", VersionId=T2)["SecretString"] == "v2"
    assert error_of(sm.get_secret_value, SecretId="dp", VersionStage="PENDING") == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: PENDING",
        400,
    )


def test_attach_unattached_label_with_move_only(sm):
    sm.create_secret(Name="at", SecretString="v1", ClientRequestToken=T1)
    sm.put_secret_value(SecretId="at", SecretString="v2", ClientRequestToken=T2)
    sm.update_secret_version_stage(SecretId="at", VersionStage="BLUE", MoveToVersionId=T1)
    assert stages(sm, "at") == {T1: ["AWSPREVIOUS", "BLUE"], T2: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="at", VersionStage="BLUE")["SecretString"] == "v1"


def test_move_custom_label_requires_remove_from(sm):
    sm.create_secret(Name="mv", SecretString="v1", ClientRequestToken=T1)
    sm.put_secret_value(SecretId="mv", SecretString="v2", ClientRequestToken=T2, VersionStages=["GREEN"])
    assert error_of(sm.update_secret_version_stage, SecretId="mv", VersionStage="GREEN", MoveToVersionId=T1) == (
        "InvalidParameterException",
        f"The parameter RemoveFromVersionId can't be empty. Staging label GREEN is currently attached to version {T2}, so you must explicitly reference that version in RemoveFromVersionId.",
        400,
    )
    assert error_of(sm.update_secret_version_stage, SecretId="mv", VersionStage="GREEN", MoveToVersionId=T2, RemoveFromVersionId=T1) == (
        "InvalidParameterException",
        "When you move staging label GREEN, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label GREEN.",
        400,
    )
    assert error_of(sm.update_secret_version_stage, SecretId="mv", VersionStage="GREEN", MoveToVersionId=T1, RemoveFromVersionId=T3) == (
        "InvalidParameterException",
        f"Not a valid version: {T3}",
        400,
    )
    # Nothing changed by the failures.
    assert stages(sm, "mv") == {T1: ["AWSCURRENT"], T2: ["GREEN"]}
    sm.update_secret_version_stage(SecretId="mv", VersionStage="GREEN", MoveToVersionId=T1, RemoveFromVersionId=T2)
    # T2 lost its only label: deprecated, gone from the map.
    assert stages(sm, "mv") == {T1: ["AWSCURRENT", "GREEN"]}


def test_moving_current_back_demotes_and_clears_previous(sm):
    sm.create_secret(Name="bk", SecretString="v1", ClientRequestToken=T1)
    sm.put_secret_value(SecretId="bk", SecretString="v2", ClientRequestToken=T2)
    sm.put_secret_value(SecretId="bk", SecretString="v3", ClientRequestToken=T3, VersionStages=["KEEP"])
    sm.update_secret_version_stage(SecretId="bk", VersionStage="AWSCURRENT", MoveToVersionId=T3, RemoveFromVersionId=T2)
    # T2 left AWSCURRENT and became AWSPREVIOUS; T1 lost AWSPREVIOUS; custom labels stay.
    assert stages(sm, "bk") == {T2: ["AWSPREVIOUS"], T3: ["AWSCURRENT", "KEEP"]}
    assert sm.get_secret_value(SecretId="bk")["SecretString"] == "v3"
    everything = sm.list_secret_version_ids(SecretId="bk", IncludeDeprecated=True)["Versions"]
    assert [(v["VersionId"], v.get("VersionStages")) for v in everything] == [
        (T1, None),
        (T2, ["AWSPREVIOUS"]),
        (T3, ["AWSCURRENT", "KEEP"]),
    ]


def test_binary_value_limits_and_versions(sm):
    sm.create_secret(Name="bl", SecretBinary=b"\xff" * 65536, ClientRequestToken=T1)
    assert sm.get_secret_value(SecretId="bl")["SecretBinary"] == b"\xff" * 65536
    code, message, status = error_of(sm.put_secret_value, SecretId="bl", SecretBinary=b"\x00" * 65537)
    assert (code, status) == ("ValidationException", 400)
    assert message == "1 validation error detected: Value at 'secretBinary' failed to satisfy constraint: Member must have length less than or equal to 65536"
    sm.put_secret_value(SecretId="bl", SecretString="now text", ClientRequestToken=T2)
    got = sm.get_secret_value(SecretId="bl")
    assert got["SecretString"] == "now text" and "SecretBinary" not in got
    old = sm.get_secret_value(SecretId="bl", VersionStage="AWSPREVIOUS")
    assert old["SecretBinary"] == b"\xff" * 65536 and "SecretString" not in old


def test_put_binary_token_replay(sm):
    arn = sm.create_secret(Name="br", SecretBinary=b"\x01", ClientRequestToken=T1)["ARN"]
    sm.put_secret_value(SecretId="br", SecretBinary=b"\x02", ClientRequestToken=T2)
    replay = sm.put_secret_value(SecretId="br", SecretBinary=b"\x02", ClientRequestToken=T2)
    assert (replay["VersionId"], replay["VersionStages"]) == (T2, ["AWSCURRENT"])
    assert len(sm.list_secret_version_ids(SecretId="br", IncludeDeprecated=True)["Versions"]) == 2
    assert error_of(sm.put_secret_value, SecretId="br", SecretString="\x02", ClientRequestToken=T2) == (
        "ResourceExistsException",
        f"You can't use ClientRequestToken {T2} because that value is already in use for a version of secret {arn}.",
        400,
    )


def test_put_to_empty_secret_then_describe(sm):
    sm.create_secret(Name="pe")
    out = sm.put_secret_value(SecretId="pe", SecretString="first", ClientRequestToken=T1)
    assert (out["VersionId"], out["VersionStages"]) == (T1, ["AWSCURRENT"])
    assert stages(sm, "pe") == {T1: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="pe")["SecretString"] == "first"


def test_list_versions_works_while_scheduled_for_deletion(sm):
    sm.create_secret(Name="ld", SecretString="v1", ClientRequestToken=T1)
    sm.put_secret_value(SecretId="ld", SecretString="v2", ClientRequestToken=T2)
    sm.delete_secret(SecretId="ld", RecoveryWindowInDays=7)
    out = sm.list_secret_version_ids(SecretId="ld")
    assert [(v["VersionId"], v["VersionStages"]) for v in out["Versions"]] == [(T1, ["AWSPREVIOUS"]), (T2, ["AWSCURRENT"])]
    assert error_of(sm.update_secret_version_stage, SecretId="ld", VersionStage="AWSCURRENT", MoveToVersionId=T1, RemoveFromVersionId=T2) == (
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
        400,
    )
