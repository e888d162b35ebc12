"""The AWS CLI (PyPI awscli, same venv) against the release binary: a scripted session."""

import json
import os
import subprocess
import sys


def aws(server, *args, check=True):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1")
    env.pop("AWS_PROFILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "awscli", "--endpoint-url", server.url, "--output", "json", "secretsmanager", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
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
