"""Runs the AWS JS SDK v3 suite (compat-tests/js, node --test) against the release binary."""

import os
import pathlib
import subprocess

JS = pathlib.Path(__file__).resolve().parent / "js"


def test_js_sdk_v3_suite(server):
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "secrets.test.mjs"],
        cwd=JS,
        env=dict(os.environ, SECRETSD_URL=server.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ℹ fail 0" in result.stdout
    assert "ℹ pass 6" in result.stdout
