"""The AWS CLI (PyPI awscli v1, same venv) against the release binary: scripted sessions whose
JSON output is parsed, and the one-line error rendering of service errors."""

import base64
import json
import os
import subprocess
import sys


def cli_env():
    """The built-in test/test credential, us-east-1, one attempt, and no user config files."""
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_MAX_ATTEMPTS="1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        env.pop(name, None)
    return env


def run_cli(server, *args):
    return subprocess.run(
        [sys.executable, "-m", "awscli", "--endpoint-url", server.url, *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )


def aws(server, *args, check=True):
    result = run_cli(server, "--output", "json", "secretsmanager", *args)
    if check:
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else {}
    return result


def test_cli_session(server):
    created = aws(server, "create-secret", "--name", "cli/demo", "--secret-string", "s3cr3t", "--description", "from the CLI")
    assert created["Name"] == "cli/demo"
    assert created["ARN"].startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:cli/demo-")
    got = aws(server, "get-secret-value", "--secret-id", "cli/demo")
    assert got["SecretString"] == "s3cr3t"
    assert got["VersionStages"] == ["AWSCURRENT"]
    put = aws(server, "put-secret-value", "--secret-id", "cli/demo", "--secret-string", "second")
    assert put["VersionStages"] == ["AWSCURRENT"]
    described = aws(server, "describe-secret", "--secret-id", created["ARN"])
    assert described["Description"] == "from the CLI"
    assert sorted(map(tuple, described["VersionIdsToStages"].values())) == [("AWSCURRENT",), ("AWSPREVIOUS",)]
    aws(server, "tag-resource", "--secret-id", "cli/demo", "--tags", "Key=team,Value=payments")
    assert aws(server, "describe-secret", "--secret-id", "cli/demo")["Tags"] == [{"Key": "team", "Value": "payments"}]
    listed = aws(server, "list-secrets", "--filters", "Key=tag-value,Values=pay")
    assert [s["Name"] for s in listed["SecretList"]] == ["cli/demo"]
    versions = aws(server, "list-secret-version-ids", "--secret-id", "cli/demo")
    assert len(versions["Versions"]) == 2
    deleted = aws(server, "delete-secret", "--secret-id", "cli/demo", "--recovery-window-in-days", "7")
    assert "DeletionDate" in deleted
    failed = aws(server, "get-secret-value", "--secret-id", "cli/demo", check=False)
    assert failed.returncode != 0
    assert "InvalidRequestException" in failed.stderr
    assert "marked for deletion" in failed.stderr
    aws(server, "restore-secret", "--secret-id", "cli/demo")
    assert aws(server, "get-secret-value", "--secret-id", "cli/demo")["SecretString"] == "second"
    password = aws(server, "get-random-password", "--password-length", "40", "--exclude-punctuation")
    assert len(password["RandomPassword"]) == 40 and password["RandomPassword"].isalnum()
    missing = aws(server, "describe-secret", "--secret-id", "nope", check=False)
    assert "ResourceNotFoundException" in missing.stderr


def error_line(result):
    """The AWS CLI v1's one-line rendering of a service error (exit status 255)."""
    assert result.returncode == 255, (result.returncode, result.stdout, result.stderr)
    return result.stderr.strip().splitlines()[-1]


def test_cli_error_messages_are_the_services(server):
    aws(server, "create-secret", "--name", "cli/err", "--secret-string", "x")
    assert error_line(aws(server, "create-secret", "--name", "cli/err", "--secret-string", "x", check=False)) == (
        "An error occurred (ResourceExistsException) when calling the CreateSecret operation: "
        "The operation failed because the secret cli/err already exists."
    )
    assert error_line(aws(server, "get-secret-value", "--secret-id", "cli/none", check=False)) == (
        "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: "
        "Secrets Manager can't find the specified secret."
    )
    assert error_line(aws(server, "delete-secret", "--secret-id", "cli/err", "--recovery-window-in-days", "3", check=False)) == (
        "An error occurred (InvalidParameterException) when calling the DeleteSecret operation: "
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
    )
    aws(server, "delete-secret", "--secret-id", "cli/err")
    assert error_line(aws(server, "put-secret-value", "--secret-id", "cli/err", "--secret-string", "y", check=False)) == (
        "An error occurred (InvalidRequestException) when calling the PutSecretValue operation: "
        "You can't perform this operation on the secret because it was marked for deletion."
    )


def test_cli_binary_and_version_stages(server, tmp_path):
    blob = bytes(range(256))
    (tmp_path / "blob").write_bytes(blob)
    created = aws(server, "create-secret", "--name", "cli/bin", "--secret-binary", f"fileb://{tmp_path / 'blob'}")
    got = aws(server, "get-secret-value", "--secret-id", "cli/bin")
    assert base64.b64decode(got["SecretBinary"]) == blob
    put = aws(
        server, "put-secret-value", "--secret-id", "cli/bin", "--secret-string", "text now",
        "--version-stages", "NEXT", "BLUE",
    )
    assert put["VersionStages"] == ["BLUE", "NEXT"]
    aws(
        server, "update-secret-version-stage", "--secret-id", "cli/bin", "--version-stage", "AWSCURRENT",
        "--move-to-version-id", put["VersionId"], "--remove-from-version-id", created["VersionId"],
    )
    described = aws(server, "describe-secret", "--secret-id", "cli/bin")
    assert described["VersionIdsToStages"] == {
        created["VersionId"]: ["AWSPREVIOUS"],
        put["VersionId"]: ["AWSCURRENT", "BLUE", "NEXT"],
    }
    text = subprocess_text(server, "get-secret-value", "--secret-id", "cli/bin", "--query", "SecretString", "--output", "text")
    assert text == "text now"


def test_cli_update_secret_and_force_delete(server):
    aws(server, "create-secret", "--name", "cli/upd", "--secret-string", "one")
    meta = aws(server, "update-secret", "--secret-id", "cli/upd", "--description", "now described")
    assert set(meta) == {"ARN", "Name"}
    value = aws(server, "update-secret", "--secret-id", "cli/upd", "--secret-string", "two")
    assert set(value) == {"ARN", "Name", "VersionId"}
    versions = aws(server, "list-secret-version-ids", "--secret-id", "cli/upd", "--include-deprecated")["Versions"]
    assert [v["VersionStages"] for v in versions] == [["AWSPREVIOUS"], ["AWSCURRENT"]]
    assert versions[1]["VersionId"] == value["VersionId"]
    assert all(v["KmsKeyIds"] == ["DefaultEncryptionKey"] for v in versions)
    out = aws(server, "delete-secret", "--secret-id", "cli/upd", "--force-delete-without-recovery")
    assert out["Name"] == "cli/upd" and "DeletionDate" in out
    gone = aws(server, "describe-secret", "--secret-id", "cli/upd", check=False)
    assert "ResourceNotFoundException" in error_line(gone)



def subprocess_text(server, *args):
    result = run_cli(server, "secretsmanager", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.rstrip("\n")
