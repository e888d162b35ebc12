"""A full disk under the data dir (a small tmpfs the test mounts; needs root, as CI runs): changes
are refused at once with an InternalServiceError that names the cause, reads go on being answered,
/_secretsd/health answers 503 "degraded", and once the disk has room again the server takes
changes by itself, with nothing acknowledged lost (checked again after kill -9 and a restart)."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config

from conftest import SecretsdProcess, error_of

NO_SPACE = ("The change was not stored: no space is left on the disk that holds secretsd's data. "
            "Reads are still answered; free some space and try again.")
# Values large enough to fill 24 MB in a few hundred calls.
VALUE = "v" * 60_000

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def unretried(url):
    """A client that tries once: a refusal is seen as the server answered it."""
    return boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def health(url):
    try:
        with urllib.request.urlopen(url + "/_secretsd/health") as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_a_full_disk_refuses_changes_serves_reads_and_recovers_by_itself(small_disk):
    # Its log goes to the full disk too (data.log beside the data dir): a log line that cannot
    # be written must not fail the request that logged it.
    server = SecretsdProcess(small_disk / "data").start()
    try:
        sm = unretried(server.url)
        stored = []
        refused = None
        for i in range(2000):
            try:
                sm.create_secret(Name=f"fill/{i}", SecretString=f"{i}:{VALUE}")
                stored.append(i)
            except sm.exceptions.InternalServiceError as e:
                refused = e
                break
        assert refused is not None, "24 MB never filled up"
        assert refused.response["Error"]["Message"] == NO_SPACE
        assert len(stored) > 100

        # Changes are refused at once, and each refusal leaves the store as it was.
        for attempt in range(5):
            started = time.monotonic()
            assert error_of(sm.put_secret_value, SecretId="fill/0",
                            SecretString=f"refused {attempt}") == ("InternalServiceError", NO_SPACE, 500)
            assert time.monotonic() - started < 0.5
        assert error_of(sm.create_secret, Name="fill/refused", SecretString="x")[1] == NO_SPACE

        # Reads are answered from what is stored.
        for i in stored[:: max(1, len(stored) // 25)] + [stored[-1]]:
            assert sm.get_secret_value(SecretId=f"fill/{i}")["SecretString"] == f"{i}:{VALUE}"
        assert sm.describe_secret(SecretId="fill/0")["Name"] == "fill/0"
        assert len(sm.list_secrets(MaxResults=100)["SecretList"]) == 100
        status, body = health(server.url)
        assert (status, body["status"]) == (503, "degraded"), body
        assert body["reason"] == ("no space left on the disk that holds the data dir: "
                                  "changes are refused, reads are served")

        # Room again: within a few seconds, without a restart, changes are taken and the health
        # check is green.
        subprocess.run(["mount", "-o", "remount,size=96m", str(small_disk)], check=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                put = sm.put_secret_value(SecretId="fill/0", SecretString="after the disk had room")
                break
            except sm.exceptions.InternalServiceError:
                assert time.monotonic() < deadline, "changes are still refused with room on the disk"
                time.sleep(0.2)
        assert health(server.url) == (200, {"status": "ok", "version": body["version"]})
        assert sm.get_secret_value(SecretId="fill/0")["VersionId"] == put["VersionId"]
        sm.create_secret(Name="after/1", SecretString="one more")

        # Nothing acknowledged is lost, and nothing refused appears, after kill -9.
        server.kill9()
        server.start()
        sm = unretried(server.url)
        names = set()
        for page in sm.get_paginator("list_secrets").paginate():
            names.update(s["Name"] for s in page["SecretList"])
        assert names == {f"fill/{i}" for i in stored} | {"after/1"}
        for i in stored[1:]:
            assert sm.get_secret_value(SecretId=f"fill/{i}")["SecretString"] == f"{i}:{VALUE}"
        assert sm.get_secret_value(SecretId="fill/0")["SecretString"] == "after the disk had room"
        versions = sm.list_secret_version_ids(SecretId="fill/0")["Versions"]
        assert len(versions) == 2, "a refused put left a version behind"
    finally:
        server.stop()
