"""ListSecrets with boto3 (including its built-in paginator) and the AWS CLI (docs/aws-behaviour.md §3.1)."""

import json
import urllib.request

from conftest import error_of
from test_cli import aws


def advance(server, seconds):
    request = urllib.request.Request(server.url + "/_secretsd/clock", data=json.dumps({"advance_seconds": seconds}).encode(), method="POST")
    urllib.request.urlopen(request).read()


def names(pages):
    return [s["Name"] for page in pages for s in page["SecretList"]]


def test_paginator_walks_every_secret_once_in_creation_order(server, sm):
    created = []
    for i in range(25):
        name = f"app/{(i * 7) % 25:02d}"
        sm.create_secret(Name=name, SecretString="x")
        created.append(name)
        advance(server, 1)
    paginator = sm.get_paginator("list_secrets")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 10}))
    assert [len(p["SecretList"]) for p in pages] == [10, 10, 5]
    assert names(pages) == created
    assert names(paginator.paginate(SortBy="name")) == sorted(created)
    assert names(paginator.paginate(SortOrder="desc", PaginationConfig={"PageSize": 7})) == created[::-1]


def test_entries_have_describe_fields_and_secret_versions_to_stages(sm):
    sm.create_secret(Name="e", Description="desc", SecretString="x", Tags=[{"Key": "k", "Value": "v"}])
    entry = sm.list_secrets()["SecretList"][0]
    assert entry["Name"] == "e"
    assert entry["Description"] == "desc"
    assert entry["Tags"] == [{"Key": "k", "Value": "v"}]
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
    assert "VersionIdsToStages" not in entry
    assert "NextToken" not in sm.list_secrets()


def test_filters(sm):
    for name, description in [("testing1/one", "a secret"), ("/testing2/two", "an secret"), ("testing3/three", "asecret"), ("/testing4/four", "thesecret")]:
        sm.create_secret(Name=name, Description=description, SecretString="x")

    def listed(*filters):
        return sorted(s["Name"] for s in sm.list_secrets(Filters=list(filters))["SecretList"])

    assert listed({"Key": "name", "Values": ["/"]}) == ["/testing2/two", "/testing4/four"]
    assert listed({"Key": "name", "Values": ["!/"]}) == ["testing1/one", "testing3/three"]
    assert listed({"Key": "name", "Values": ["testing1 one"]}) == []
    assert listed({"Key": "description", "Values": ["a"]}) == ["/testing2/two", "testing1/one", "testing3/three"]
    assert listed({"Key": "description", "Values": ["!a"]}) == ["/testing4/four"]
    assert listed({"Key": "description", "Values": ["!c"]}) == ["/testing2/two", "/testing4/four", "testing1/one", "testing3/three"]
    assert listed({"Key": "description", "Values": ["a secret"]}) == ["/testing2/two", "testing1/one"]
    assert listed({"Key": "description", "Values": ["a"]}, {"Key": "name", "Values": ["secret"]}) == []
    assert listed({"Key": "all", "Values": ["three"]}) == ["testing3/three"]


def test_planned_deletion(sm):
    sm.create_secret(Name="live", SecretString="x")
    sm.create_secret(Name="dying", SecretString="x")
    sm.delete_secret(SecretId="dying", RecoveryWindowInDays=7)
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["live"]
    listed = {s["Name"]: s for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]}
    assert set(listed) == {"live", "dying"}
    assert "DeletedDate" in listed["dying"] and "DeletedDate" not in listed["live"]


def test_bad_requests(sm):
    assert error_of(sm.list_secrets, NextToken="forged")[:1] == ("InvalidNextTokenException",)
    code, message, status = error_of(sm.list_secrets, Filters=[{"Key": "invalid", "Values": ["x"]}])
    assert (code, status) == ("ValidationException", 400)
    assert message == "1 validation error detected: Value 'invalid' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [description, name, tag-key, tag-value, primary-region, owning-service, all]"
    assert error_of(sm.list_secrets, MaxResults=101)[0] == "ValidationException"
    assert error_of(sm.list_secrets, SortBy="size")[0] == "ValidationException"


def test_cli_list_with_filter(server, sm):
    sm.create_secret(Name="cli/a", SecretString="x")
    sm.create_secret(Name="other", SecretString="x")
    out = aws(server, "list-secrets", "--filters", "Key=name,Values=cli/")
    assert [s["Name"] for s in out["SecretList"]] == ["cli/a"]
