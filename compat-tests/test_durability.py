"""Durability of the release binary: a restart, and a kill -9 right after acknowledged writes,
lose nothing (ARCHITECTURE invariant 3)."""

import concurrent.futures
import uuid

from conftest import SecretsdProcess, client


def test_restart_keeps_everything(tmp_path):
    proc = SecretsdProcess(tmp_path / "data").start()
    try:
        sm = client(proc.url)
        arn = sm.create_secret(Name="keep", SecretString="v1", Tags=[{"Key": "k", "Value": "v"}])["ARN"]
        sm.put_secret_value(SecretId="keep", SecretString="v2")
        sm.create_secret(Name="bin", SecretBinary=b"\x00\x01\x02")
        sm.create_secret(Name="doomed", SecretString="x")
        sm.delete_secret(SecretId="doomed", RecoveryWindowInDays=7)
    finally:
        proc.stop()
    proc.start()
    try:
        sm = client(proc.url)
        assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v2"
        assert sm.get_secret_value(SecretId="keep", VersionStage="AWSPREVIOUS")["SecretString"] == "v1"
        assert sm.describe_secret(SecretId="keep")["Tags"] == [{"Key": "k", "Value": "v"}]
        assert sm.get_secret_value(SecretId="bin")["SecretBinary"] == b"\x00\x01\x02"
        assert "DeletedDate" in sm.describe_secret(SecretId="doomed")
    finally:
        proc.stop()


def test_kill_9_loses_no_acknowledged_write(tmp_path):
    proc = SecretsdProcess(tmp_path / "data").start()
    acknowledged = {}
    sm = client(proc.url)
    for i in range(8):
        sm.create_secret(Name=f"k{i}", SecretString="0")

    def writer(w):
        c = client(proc.url)
        mine = {}
        for n in range(25):
            value = f"{w}-{n}-{uuid.uuid4()}"
            out = c.put_secret_value(SecretId=f"k{w}", SecretString=value)
            mine[out["VersionId"]] = (f"k{w}", value)
        return mine

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for result in pool.map(writer, range(8)):
            acknowledged.update(result)
    proc.kill9()

    proc.start()
    try:
        sm = client(proc.url)
        for version_id, (name, value) in acknowledged.items():
            got = sm.get_secret_value(SecretId=name, VersionId=version_id)
            assert got["SecretString"] == value
        for i in range(8):
            stages = sm.describe_secret(SecretId=f"k{i}")["VersionIdsToStages"]
            labels = [label for labels in stages.values() for label in labels]
            assert labels.count("AWSCURRENT") == 1
            assert labels.count("AWSPREVIOUS") == 1
    finally:
        proc.stop()


def test_values_never_reach_the_disk_in_plaintext(tmp_path):
    marker = "plaintext-marker-" + uuid.uuid4().hex
    proc = SecretsdProcess(tmp_path / "data").start()
    try:
        sm = client(proc.url)
        sm.create_secret(Name="hidden", SecretString=marker)
        sm.get_secret_value(SecretId="hidden")
    finally:
        proc.stop()
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert marker.encode() not in path.read_bytes(), path
    assert (tmp_path / "data" / "master.key").stat().st_mode & 0o777 == 0o600
