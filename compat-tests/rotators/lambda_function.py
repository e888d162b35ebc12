"""A Lambda-shaped rotation function. secretsd runs it two ways: with the `python` executor, which
calls `lambda_handler(event, context)` as Lambda does, and with the `exec` executor, which runs
this file with the event as JSON on stdin. The endpoint and credentials come from the
environment. It rotates a JSON secret's
`password` the way AWS's single-user templates do, against a "server" that is a state file
(ROTATOR_STATE_FILE, JSON: secret ARN -> the password the "server" accepts), so tests can
see the credential really change. ROTATOR_FAIL_STEP makes
one step fail, to test failure handling (only while the file ROTATOR_FAIL_FLAG exists, if that
is set); ROTATOR_SKIP_FINISH makes finishSecret return without moving AWSCURRENT.
ROTATOR_LOG appends "<step> <token>" for every call; ROTATOR_PAUSE_STEP makes that step wait
while the file ROTATOR_PAUSE_FILE exists, after creating "<that file>.reached"."""

import json
import os
import sys
import time

import boto3
from botocore.exceptions import ClientError


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def lambda_handler(event, context):
    step, arn, token = event["Step"], event["SecretId"], event["ClientRequestToken"]
    if os.environ.get("ROTATOR_LOG"):
        with open(os.environ["ROTATOR_LOG"], "a") as f:
            f.write(f"{step} {token}\n")
    pause = os.environ.get("ROTATOR_PAUSE_FILE")
    if os.environ.get("ROTATOR_PAUSE_STEP") == step and pause and os.path.exists(pause):
        open(pause + ".reached", "w").close()
        deadline = time.monotonic() + 60
        while os.path.exists(pause) and time.monotonic() < deadline:
            time.sleep(0.05)
    flag = os.environ.get("ROTATOR_FAIL_FLAG")
    if os.environ.get("ROTATOR_FAIL_STEP") == step and (not flag or os.path.exists(flag)):
        raise RuntimeError(f"refusing {step} on purpose")
    sm = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    metadata = sm.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled") and step != "testSecret":
        raise ValueError(f"rotation is not enabled for {arn}")
    stages = metadata["VersionIdsToStages"].get(token)
    if stages is None or ("AWSPENDING" not in stages and "AWSCURRENT" not in stages):
        raise ValueError(f"version {token} is not set as AWSPENDING")
    state = os.environ.get("ROTATOR_STATE_FILE")

    if step == "createSecret":
        current = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
        try:
            sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            current["password"] = sm.get_random_password(ExcludeCharacters="/@\"'\\")["RandomPassword"]
            sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current), VersionStages=["AWSPENDING"])
    elif step == "setSecret":
        pending = json.loads(sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"])
        if state:
            accepted = load(state)
            accepted[arn] = pending["password"]
            with open(state, "w") as f:
                json.dump(accepted, f)
    elif step == "testSecret":
        pending = json.loads(sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"])
        # "Log in" with the pending password: a server that knows this secret must accept it.
        accepted = load(state).get(arn) if state else None
        if accepted is not None and accepted != pending["password"]:
            raise ValueError("the server does not accept the pending password")
    elif step == "finishSecret":
        if os.environ.get("ROTATOR_SKIP_FINISH"):
            return
        current = next(v for v, s in metadata["VersionIdsToStages"].items() if "AWSCURRENT" in s)
        if current != token:
            sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current)
    else:
        raise ValueError(f"unknown step {step}")


if __name__ == "__main__":
    lambda_handler(json.load(sys.stdin), None)
