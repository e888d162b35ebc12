"""Rotation with boto3 against the release binary, with a Lambda-shaped Python function
(rotators/lambda_function.py) run by the `exec` and the `python` executors (docs/aws-behaviour.md §3.3,
docs/aws-behaviour.md §R6)."""

import json
import pathlib
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import SecretsdProcess, client, error_of

ROTATOR = pathlib.Path(__file__).resolve().parent / "rotators" / "lambda_function.py"
OK = "arn:aws:lambda:us-east-1:000000000000:function:rotate-ok"
FAILS = "arn:aws:lambda:us-east-1:000000000000:function:rotate-fails-set"
PYTHON = "arn:aws:lambda:us-east-1:000000000000:function:rotate-python"


@pytest.fixture(scope="module")
def rotating(tmp_path_factory):
    d = tmp_path_factory.mktemp("rotation")
    state = d / "server-password"
    config = d / "secretsd.toml"
    config.write_text(
        f"""
[functions.rotate-ok]
kind = "exec"
command = [{json.dumps(sys.executable)}, {json.dumps(str(ROTATOR))}]
env = {{ ROTATOR_STATE_FILE = {json.dumps(str(state))} }}

[functions.rotate-python]
kind = "python"
python = {json.dumps(sys.executable)}
handler = {json.dumps(str(ROTATOR.with_suffix("")) + ".lambda_handler")}
env = {{ ROTATOR_STATE_FILE = {json.dumps(str(state))} }}

[functions.rotate-fails-set]
kind = "exec"
command = [{json.dumps(sys.executable)}, {json.dumps(str(ROTATOR))}]
env = {{ ROTATOR_FAIL_STEP = "setSecret" }}

[functions.rotate-flaky-test]
kind = "python"
python = {json.dumps(sys.executable)}
handler = {json.dumps(str(ROTATOR.with_suffix("")) + ".lambda_handler")}
env = {{ ROTATOR_STATE_FILE = {json.dumps(str(state))}, ROTATOR_FAIL_STEP = "testSecret", ROTATOR_FAIL_FLAG = {json.dumps(str(d / "fail-test"))} }}

[functions.rotate-no-finish]
kind = "exec"
command = [{json.dumps(sys.executable)}, {json.dumps(str(ROTATOR))}]
env = {{ ROTATOR_SKIP_FINISH = "1" }}
"""
    )
    proc = SecretsdProcess(d / "data", ["--config", str(config)]).start()
    proc.state = state
    proc.fail_test_flag = d / "fail-test"
    yield proc
    proc.stop()


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def admin(server, path, body=None):
    request = urllib.request.Request(server.url + path, data=body, method="POST" if body else "GET")
    return json.loads(urllib.request.urlopen(request).read())


def test_rotate_immediately_runs_the_four_steps(rotating):
    sm = client(rotating.url)
    created = sm.create_secret(Name="db/app", SecretString=json.dumps({"username": "app", "password": "initial"}))
    out = sm.rotate_secret(SecretId="db/app", RotationLambdaARN=OK, RotationRules={"AutomaticallyAfterDays": 30})
    token = out["VersionId"]
    assert (out["ARN"], out["Name"]) == (created["ARN"], "db/app")
    wait_for(lambda: sm.get_secret_value(SecretId="db/app")["VersionId"] == token)
    current = json.loads(sm.get_secret_value(SecretId="db/app")["SecretString"])
    assert current["username"] == "app" and current["password"] != "initial"
    assert json.loads(rotating.state.read_text())[created["ARN"]] == current["password"]
    previous = json.loads(sm.get_secret_value(SecretId="db/app", VersionStage="AWSPREVIOUS")["SecretString"])
    assert previous["password"] == "initial"
    d = wait_for(lambda: (lambda d: d if "LastRotatedDate" in d else None)(sm.describe_secret(SecretId="db/app")))
    assert d["RotationEnabled"] is True
    assert d["RotationLambdaARN"] == OK
    assert d["RotationRules"] == {"AutomaticallyAfterDays": 30}
    assert d["VersionIdsToStages"] == {token: ["AWSCURRENT"], created["VersionId"]: ["AWSPREVIOUS"]}
    # NextRotationDate: the end of the UTC day 30 days after the rotation.
    assert d["NextRotationDate"].hour == 23 and d["NextRotationDate"].minute == 59
    assert (d["NextRotationDate"] - d["LastRotatedDate"]).days in (29, 30)
    events = admin(rotating, "/_secretsd/rotations?secret=" + urllib.parse.quote(created["ARN"]))["events"]
    assert [e["event"] for e in events] == ["RotationStarted", "RotationSucceeded"]
    # A second rotation reuses the stored function and rules.
    wait_for(lambda: "AWSPENDING" not in str(sm.describe_secret(SecretId="db/app")["VersionIdsToStages"]))
    again = sm.rotate_secret(SecretId="db/app")["VersionId"]
    wait_for(lambda: sm.get_secret_value(SecretId="db/app")["VersionId"] == again)


def test_python_executor_calls_the_handler_like_lambda(rotating):
    sm = client(rotating.url)
    created = sm.create_secret(Name="db/py", SecretString=json.dumps({"username": "py", "password": "initial"}))
    token = sm.rotate_secret(SecretId="db/py", RotationLambdaARN=PYTHON)["VersionId"]
    wait_for(lambda: "LastRotatedDate" in sm.describe_secret(SecretId="db/py"))
    current = json.loads(sm.get_secret_value(SecretId="db/py")["SecretString"])
    assert sm.get_secret_value(SecretId="db/py")["VersionId"] == token
    assert json.loads(rotating.state.read_text())[created["ARN"]] == current["password"] != "initial"


def test_failed_rotation_keeps_pending_and_blocks_the_next(rotating):
    sm = client(rotating.url)
    arn = sm.create_secret(Name="db/fails", SecretString=json.dumps({"username": "u", "password": "p"}))["ARN"]
    token = sm.rotate_secret(SecretId="db/fails", RotationLambdaARN=FAILS)["VersionId"]
    status = wait_for(lambda: (lambda s: s if s["job"] and s["job"]["attempts"] >= 1 else None)(
        admin(rotating, "/_secretsd/rotations?secret=" + urllib.parse.quote(arn))))
    assert "during setSecret step" in status["job"]["last_error"]
    assert "refusing setSecret on purpose" in status["job"]["last_error"]
    assert status["events"][-1]["event"] == "RotationFailed"
    stages = sm.describe_secret(SecretId="db/fails")["VersionIdsToStages"]
    assert stages[token] == ["AWSPENDING"]
    pending = sm.get_secret_value(SecretId="db/fails", VersionId=token, VersionStage="AWSPENDING")
    assert json.loads(pending["SecretString"])["password"] != "p"  # createSecret had run
    assert json.loads(sm.get_secret_value(SecretId="db/fails")["SecretString"])["password"] == "p"
    assert error_of(sm.rotate_secret, SecretId="db/fails") == (
        "InvalidRequestException",
        "A previous rotation isn't complete. That rotation will be reattempted.",
        400,
    )
    # A manual new value abandons the rotation.
    sm.put_secret_value(SecretId="db/fails", SecretString=json.dumps({"username": "u", "password": "manual"}))
    stages = sm.describe_secret(SecretId="db/fails")["VersionIdsToStages"]
    assert all("AWSPENDING" not in s for s in stages.values())
    events = admin(rotating, "/_secretsd/rotations?secret=" + urllib.parse.quote(arn))["events"]
    assert events[-1]["event"] == "RotationAbandoned"


def test_rotate_immediately_false_only_tests(rotating):
    sm = client(rotating.url)
    created = sm.create_secret(Name="db/test-only", SecretString=json.dumps({"username": "t", "password": "same"}))
    sm.rotate_secret(SecretId="db/test-only", RotationLambdaARN=OK, RotationRules={"ScheduleExpression": "rate(10 days)"}, RotateImmediately=False)
    arn = created["ARN"]
    status = wait_for(lambda: (lambda s: s if s["job"] is None and len(s["events"]) >= 2 else None)(
        admin(rotating, "/_secretsd/rotations?secret=" + urllib.parse.quote(arn))))
    assert [e["event"] for e in status["events"]] == ["TestRotationStarted", "TestRotationSucceeded"]
    d = sm.describe_secret(SecretId="db/test-only")
    assert d["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}
    assert d["RotationRules"] == {"ScheduleExpression": "rate(10 days)"}
    assert "LastRotatedDate" not in d and "NextRotationDate" in d


def test_schedule_fires_when_the_clock_reaches_the_window(rotating):
    sm = client(rotating.url)
    sm.create_secret(Name="db/scheduled", SecretString=json.dumps({"username": "s", "password": "p0"}))
    first = sm.rotate_secret(SecretId="db/scheduled", RotationLambdaARN=OK, RotationRules={"AutomaticallyAfterDays": 2})["VersionId"]
    # The rotation is over when the engine has recorded it (finishSecret moves AWSCURRENT a
    # moment before).
    wait_for(lambda: "LastRotatedDate" in sm.describe_secret(SecretId="db/scheduled"))
    assert sm.get_secret_value(SecretId="db/scheduled")["VersionId"] == first
    admin(rotating, "/_secretsd/clock", json.dumps({"advance_seconds": 3 * 86400}).encode())
    try:
        wait_for(lambda: sm.get_secret_value(SecretId="db/scheduled")["VersionId"] != first)
        assert "AWSPREVIOUS" in sm.describe_secret(SecretId="db/scheduled")["VersionIdsToStages"][first]
    finally:
        admin(rotating, "/_secretsd/clock", json.dumps({"advance_seconds": -3 * 86400}).encode())


def test_cancel_keeps_configuration_visible(rotating):
    sm = client(rotating.url)
    sm.create_secret(Name="db/cancel", SecretString=json.dumps({"username": "c", "password": "p"}))
    token = sm.rotate_secret(SecretId="db/cancel", RotationLambdaARN=OK, RotationRules={"AutomaticallyAfterDays": 7})["VersionId"]
    wait_for(lambda: "LastRotatedDate" in sm.describe_secret(SecretId="db/cancel"))
    assert sm.get_secret_value(SecretId="db/cancel")["VersionId"] == token
    out = sm.cancel_rotate_secret(SecretId="db/cancel")
    assert out["Name"] == "db/cancel" and "VersionId" not in out
    d = sm.describe_secret(SecretId="db/cancel")
    assert d["RotationEnabled"] is False
    assert d["RotationLambdaARN"] == OK and d["RotationRules"] == {"AutomaticallyAfterDays": 7}
    assert "NextRotationDate" not in d


def test_rotation_errors(rotating):
    sm = client(rotating.url)
    sm.create_secret(Name="db/errors", SecretString="{}")
    assert error_of(sm.rotate_secret, SecretId="db/errors") == (
        "InvalidRequestException",
        "No Lambda rotation function ARN is associated with this secret.",
        400,
    )
    assert error_of(sm.rotate_secret, SecretId="db/errors", RotationLambdaARN="arn:aws:lambda:us-east-1:000000000000:function:nope") == (
        "AccessDeniedException",
        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.",
        400,
    )
    assert "RotationEnabled" not in sm.describe_secret(SecretId="db/errors")  # nothing stored
    assert error_of(sm.rotate_secret, SecretId="db/errors", RotationLambdaARN=OK, RotationRules={"AutomaticallyAfterDays": 1, "ScheduleExpression": "rate(1 day)"}) == (
        "InvalidParameterException",
        "You cannot specify both rotation frequency and schedule expression together.",
        400,
    )
    assert error_of(sm.rotate_secret, SecretId="db/errors", RotationLambdaARN=OK, RotationRules={"AutomaticallyAfterDays": 1001})[0] == "ValidationException"
    assert error_of(sm.cancel_rotate_secret, SecretId="db/errors")[0] == "InvalidRequestException"
    assert error_of(sm.rotate_secret, SecretId="db/none", RotationLambdaARN=OK)[0] == "ResourceNotFoundException"


def test_external_rotation_members_are_stored_and_echoed(rotating):
    sm = client(rotating.url)
    sm.create_secret(Name="db/external", SecretString=json.dumps({"username": "e", "password": "p"}))
    role = "arn:aws:iam::000000000000:role/partner-rotation"
    sm.rotate_secret(
        SecretId="db/external",
        RotationLambdaARN=OK,
        RotateImmediately=False,
        ExternalSecretRotationMetadata=[{"Key": "partner", "Value": "acme"}],
        ExternalSecretRotationRoleArn=role,
    )
    d = sm.describe_secret(SecretId="db/external")
    assert d["ExternalSecretRotationMetadata"] == [{"Key": "partner", "Value": "acme"}]
    assert d["ExternalSecretRotationRoleArn"] == role


FLAKY_TEST = "arn:aws:lambda:us-east-1:000000000000:function:rotate-flaky-test"
NO_FINISH = "arn:aws:lambda:us-east-1:000000000000:function:rotate-no-finish"
INCOMPLETE = ("InvalidRequestException", "A previous rotation isn't complete. That rotation will be reattempted.", 400)


def rotation_status(server, arn):
    return admin(server, "/_secretsd/rotations?secret=" + urllib.parse.quote(arn))


def test_a_failed_test_step_after_set_is_resumed_with_the_same_token(rotating):
    """docs/aws-behaviour.md §R7.2 #7: setSecret changed the server, testSecret failed."""
    sm = client(rotating.url)
    arn = sm.create_secret(Name="db/flaky-test", SecretString=json.dumps({"username": "u", "password": "p"}))["ARN"]
    rotating.fail_test_flag.write_text("")
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=FLAKY_TEST)["VersionId"]
    status = wait_for(lambda: (lambda s: s if s["job"] and s["job"]["attempts"] >= 1 else None)(rotation_status(rotating, arn)))
    assert "Error when executing lambda " + FLAKY_TEST + " during testSecret step" in status["job"]["last_error"]
    assert "refusing testSecret on purpose" in status["job"]["last_error"]
    # The "server" already has the pending password; AWSCURRENT still holds the old one.
    pending = json.loads(sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"])
    assert json.loads(rotating.state.read_text())[arn] == pending["password"]
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"] == "p"
    assert sm.describe_secret(SecretId=arn)["VersionIdsToStages"][token] == ["AWSPENDING"]
    # Fixed: the next RotateSecret is refused, and reattempts the same rotation, which completes.
    rotating.fail_test_flag.unlink()
    assert error_of(sm.rotate_secret, SecretId=arn) == INCOMPLETE
    wait_for(lambda: rotation_status(rotating, arn)["events"][-1]["event"] == "RotationSucceeded")
    events = rotation_status(rotating, arn)["events"]
    assert [e["event"] for e in events] == ["RotationStarted", "RotationFailed", "RotationSucceeded"]
    assert {e["token"] for e in events} == {token}
    current = sm.get_secret_value(SecretId=arn)
    assert current["VersionId"] == token and json.loads(current["SecretString"]) == pending


def test_a_finish_step_that_does_not_move_awscurrent_fails_the_rotation(rotating):
    """docs/aws-behaviour.md §R7.2 #8: finishSecret answered OK but AWSCURRENT stayed."""
    sm = client(rotating.url)
    arn = sm.create_secret(Name="db/no-finish", SecretString=json.dumps({"username": "u", "password": "p"}))["ARN"]
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=NO_FINISH)["VersionId"]
    status = wait_for(lambda: (lambda s: s if s["job"] and s["job"]["attempts"] >= 1 else None)(rotation_status(rotating, arn)))
    assert status["job"]["last_error"] == "finishSecret returned without moving AWSCURRENT to the pending version"
    assert status["events"][-1]["event"] == "RotationFailed"
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages[token] == ["AWSPENDING"]
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"] == "p"
    assert error_of(sm.rotate_secret, SecretId=arn) == INCOMPLETE
