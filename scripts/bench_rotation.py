"""Rotation latency (issue 4's benchmark): the time from RotateSecret to AWSCURRENT on the new
version, for the native PostgreSQL single-user rotator and for the python executor running a
Lambda-shaped function (compat-tests/rotators/db_single_user.py; or AWS's own template when
AWS_TEMPLATES_DIR points at a checkout of aws-samples/aws-secrets-manager-rotation-lambdas and
AWS_TEMPLATES_PYTHON at a Python with boto3 and PyGreSQL). Run by `scripts/bench rotation`,
which starts the private PostgreSQL and the release binary."""

import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import psycopg

REPO = pathlib.Path(__file__).resolve().parent.parent
BIN = REPO / "target" / "release" / "secretsd"
PG_PORT = int(os.environ["SECRETSD_TEST_PG_PORT"])
PG_PASSWORD = os.environ["SECRETSD_TEST_PG_PASSWORD"]
ROUNDS = int(os.environ.get("ROTATION_ROUNDS", "30"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def functions():
    py = {"kind": "python", "python": sys.executable,
          "handler": str(REPO / "compat-tests" / "rotators" / "db_single_user.lambda_handler")}
    out = {"python-own": py}
    templates = os.environ.get("AWS_TEMPLATES_DIR")
    if templates:
        out["python-aws-template"] = {
            "kind": "python", "python": os.environ.get("AWS_TEMPLATES_PYTHON", sys.executable),
            "handler": f"{templates}/SecretsManagerRDSPostgreSQLRotationSingleUser/lambda_function.lambda_handler"}
    return out


def main():
    work = tempfile.mkdtemp()
    config = pathlib.Path(work) / "secretsd.toml"
    # The private CA of scripts/testdb, so the native rotator can log in over verified TLS.
    config.write_text(f"rotation_ca_file = {json.dumps(os.environ['SECRETSD_TEST_CA_FILE'])}\n" + "".join(
        f"[functions.{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in f.items()) + "\n"
        for name, f in functions().items()))
    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", f"{work}/data",
                             "--config", str(config), "--log-level", "warn"], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    url = f"http://127.0.0.1:{port}"
    sm = boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    master = psycopg.connect(host="127.0.0.1", port=PG_PORT, user="master", password=PG_PASSWORD,
                             dbname="postgres", autocommit=True)

    def secret(ssl=False):
        user = "bench_" + uuid.uuid4().hex[:10]
        master.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'initial-pw'")
        return sm.create_secret(Name=f"db/{user}", SecretString=json.dumps(
            {"engine": "postgres", "host": "127.0.0.1", "port": PG_PORT, "username": user,
             "password": "initial-pw", "ssl": ssl}))["ARN"]

    def rotate_once(arn, function):
        start = time.perf_counter()
        token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=f"arn:aws:lambda:us-east-1:000000000000:function:{function}")["VersionId"]
        status_url = url + "/_secretsd/rotations?secret=" + urllib.parse.quote(arn)
        while True:
            events = json.loads(urllib.request.urlopen(status_url).read())["events"]
            done = [e for e in events if e["token"] == token and e["event"] in ("RotationSucceeded", "RotationFailed")]
            if done:
                if done[-1]["event"] != "RotationSucceeded":
                    raise SystemExit(f"rotation failed: {done[-1]}")
                return (time.perf_counter() - start) * 1000
            time.sleep(0.0005)

    results = {}
    try:
        native = "SecretsManagerRDSPostgreSQLRotationSingleUser"
        runs = [("native PostgreSQL single user", native, ROUNDS, False),
                ("native, over verified TLS (ssl: true)", native, ROUNDS, True)]
        runs += [(f"{name} (python executor)", name, max(3, ROUNDS // 6), False) for name in functions()]
        for label, function, rounds, ssl in runs:
            arn = secret(ssl)
            times = [rotate_once(arn, function) for _ in range(rounds)]
            results[label] = times
            times.sort()
            print(f"{label:<45} median {statistics.median(times):7.1f} ms  p90 {times[int(len(times) * 0.9) - 1]:7.1f} ms  ({rounds} rotations)")
    finally:
        proc.terminate()
        proc.wait()
    native = statistics.median(results["native PostgreSQL single user"])
    print(f"native median {native:.1f} ms (target <= 100 ms)")


main()
