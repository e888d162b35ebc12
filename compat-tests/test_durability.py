"""Durability of the release binary: a restart, and a kill -9 right after acknowledged writes,
lose nothing (docs/architecture.md, invariant 3)."""

import base64
import concurrent.futures
import uuid

from conftest import SecretsdProcess, client, error_of


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
    try:
        sm = client(proc.url)
        for i in range(8):
            sm.create_secret(Name=f"k{i}", SecretString="0")
    except BaseException:
        proc.kill9()
        raise

    def writer(w):
        c = client(proc.url)
        mine = {}
        for n in range(25):
            value = f"{w}-{n}-{uuid.uuid4()}"
            out = c.put_secret_value(SecretId=f"k{w}", SecretString=value)
            mine[out["VersionId"]] = (f"k{w}", value)
        return mine

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for result in pool.map(writer, range(8)):
                acknowledged.update(result)
    finally:
        proc.kill9()
    assert len(acknowledged) == 8 * 25

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


def test_kill_9_keeps_every_kind_of_acknowledged_change(tmp_path):
    proc = SecretsdProcess(tmp_path / "data").start()
    try:
        east = client(proc.url)
        west = client(proc.url, region="eu-west-1")
        other = client(proc.url, key="111111111111", secret="x")
        t1, t2 = "1" * 32, "2" * 32
        arns = {}
        for i in range(50):
            name = f"bulk/{i:03d}"
            if i % 2:
                arns[name] = east.create_secret(Name=name, SecretBinary=bytes([i]) * (i + 1))["ARN"]
            else:
                arns[name] = east.create_secret(Name=name, SecretString=f"value-{i}")["ARN"]
        east.create_secret(Name="meta", SecretString="v1", ClientRequestToken=t1, Description="before")
        east.update_secret(SecretId="meta", Description="after", KmsKeyId="alias/custom")
        east.put_secret_value(SecretId="meta", SecretString="v2", ClientRequestToken=t2, VersionStages=["STAGED"])
        east.update_secret_version_stage(SecretId="meta", VersionStage="AWSCURRENT", MoveToVersionId=t2, RemoveFromVersionId=t1)
        east.create_secret(Name="scheduled", SecretString="x")
        east.delete_secret(SecretId="scheduled", RecoveryWindowInDays=7)
        east.create_secret(Name="purged", SecretString="x")
        east.delete_secret(SecretId="purged", ForceDeleteWithoutRecovery=True)
        east.create_secret(Name="restored", SecretString="back")
        east.delete_secret(SecretId="restored")
        east.restore_secret(SecretId="restored")
        west_arn = west.create_secret(Name="bulk/000", SecretString="west")["ARN"]
        other_arn = other.create_secret(Name="bulk/000", SecretString="other account")["ARN"]
    finally:
        proc.kill9()

    proc.start()
    try:
        east = client(proc.url)
        west = client(proc.url, region="eu-west-1")
        other = client(proc.url, key="111111111111", secret="x")
        for i in range(50):
            name = f"bulk/{i:03d}"
            got = east.get_secret_value(SecretId=arns[name])
            if i % 2:
                assert got["SecretBinary"] == bytes([i]) * (i + 1)
            else:
                assert got["SecretString"] == f"value-{i}"
        d = east.describe_secret(SecretId="meta")
        assert d["Description"] == "after" and d["KmsKeyId"] == "alias/custom"
        assert d["VersionIdsToStages"] == {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT", "STAGED"]}
        assert east.get_secret_value(SecretId="meta")["SecretString"] == "v2"
        assert "DeletedDate" in east.describe_secret(SecretId="scheduled")
        assert error_of(east.describe_secret, SecretId="purged")[0] == "ResourceNotFoundException"
        assert "DeletedDate" not in east.describe_secret(SecretId="restored")
        assert east.get_secret_value(SecretId="restored")["SecretString"] == "back"
        assert west.get_secret_value(SecretId=west_arn)["SecretString"] == "west"
        assert other.get_secret_value(SecretId=other_arn)["SecretString"] == "other account"
    finally:
        proc.stop()


def encodings(marker: bytes):
    """The marker as it could sit in a file: raw, hex, and base64 at each of the three byte
    alignments (a base64 run inside a longer value only contains the aligned middle part)."""
    forms = {"raw": marker, "hex": marker.hex().encode(), "HEX": marker.hex().upper().encode()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + marker)
        forms[f"base64+{shift}"] = encoded[4:-4]
    return forms


def test_markers_reach_neither_the_disk_nor_the_logs_in_any_encoding(tmp_path):
    markers = {
        "string": ("marker-string-" + uuid.uuid4().hex).encode(),
        "binary": b"\x01marker-binary-" + uuid.uuid4().hex.encode() + b"\xff",
        "put": ("marker-put-" + uuid.uuid4().hex).encode(),
        "update": ("marker-update-" + uuid.uuid4().hex).encode(),
    }
    proc = SecretsdProcess(tmp_path / "data", ["--log-level", "trace"]).start()
    try:
        sm = client(proc.url)
        sm.create_secret(Name="m/string", SecretString=markers["string"].decode())
        sm.create_secret(Name="m/binary", SecretBinary=markers["binary"])
        sm.put_secret_value(SecretId="m/string", SecretString=markers["put"].decode())
        sm.update_secret(SecretId="m/binary", SecretString=markers["update"].decode())
        for name in ("m/string", "m/binary"):
            sm.get_secret_value(SecretId=name)
        sm.batch_get_secret_value(SecretIdList=["m/string", "m/binary"])
        password = sm.get_random_password()["RandomPassword"].encode()
    finally:
        proc.stop()
    markers["random password"] = password
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()] + [proc.log_path]
    assert proc.log_path.stat().st_size > 1000, "the trace log should have recorded the calls"
    for path in files:
        content = path.read_bytes()
        for what, marker in markers.items():
            for form, needle in encodings(marker).items():
                assert needle not in content, f"{what} found as {form} in {path}"
