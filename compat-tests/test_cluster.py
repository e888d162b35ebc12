"""Two secretsd processes on one PostgreSQL database (--store postgres://…) behave as one Secrets
Manager, even when one is killed: sixteen writers spread over both nodes put values with known
tokens, one node is killed with SIGKILL in the middle and started again, and afterwards every
acknowledged write reads back exactly, from either node, with the stage invariants intact.
Needs scripts/testdb's PostgreSQL (SECRETSD_TEST_PG_PORT, SECRETSD_TEST_PG_PASSWORD)."""

import base64
import json
import os
import pathlib
import random
import shlex
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

import psycopg
from botocore.exceptions import ClientError

from conftest import SecretsdProcess, client
from test_crash import CUT, check_invariants
from test_rotation import wait_for

WRITERS = 16
SECRETS = 400


def fresh_database():
    port, password = os.environ["SECRETSD_TEST_PG_PORT"], os.environ["SECRETSD_TEST_PG_PASSWORD"]
    name = "secretsd_" + uuid.uuid4().hex
    with psycopg.connect(host="127.0.0.1", port=port, user="master", password=password,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgres://master:{password}@127.0.0.1:{port}/{name}?sslmode=disable"


def test_kill_9_of_one_node_loses_no_acknowledged_write(tmp_path):
    url = fresh_database()
    # The nodes share the master key, as a team deployment's do.
    env = {k: v for k, v in os.environ.items() if k != "SECRETSD_STORE"}
    env["SECRETSD_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    nodes = [SecretsdProcess(tmp_path / f"node{i}", ["--store", url], env=env).start() for i in range(2)]
    names = [f"team/s{i:03d}" for i in range(SECRETS)]
    first = client(nodes[0].url)
    for name in names:
        first.create_secret(Name=name, SecretString="initial")

    acknowledged = {}  # version id -> (secret name, value)
    cut = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w):
        rng = random.Random(w)
        clients = {}
        while not stop.is_set():
            node = nodes[w % 2]
            url = node.url
            if url not in clients:
                clients[url] = client(url)
            name = rng.choice(names)
            token, value = str(uuid.uuid4()), f"{w}-{uuid.uuid4().hex}"
            try:
                clients[url].put_secret_value(SecretId=name, ClientRequestToken=token, SecretString=value)
                with lock:
                    acknowledged[token] = (name, value)
            except CUT:
                # The node is down: wait for it to come back on its new port.
                with lock:
                    cut[0] += 1
                time.sleep(0.05)
            except ClientError as e:
                # A request in flight when the node died may have reached the database or not.
                assert e.response["Error"]["Code"] in ("InternalServiceError",), e.response
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    time.sleep(2)
    with lock:
        before_kill = len(acknowledged)
    nodes[0].kill9()
    time.sleep(1)
    nodes[0].start()
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert before_kill > 0 and len(acknowledged) > before_kill, (before_kill, len(acknowledged))
    assert cut[0] > 0, "no writer saw the node go down"

    readers = [client(n.url) for n in nodes]
    for i, (token, (name, value)) in enumerate(sorted(acknowledged.items())):
        got = readers[i % 2].get_secret_value(SecretId=name, VersionId=token)
        assert got["SecretString"] == value, (name, token)
    for i, name in enumerate(names):
        check_invariants(readers[i % 2], name)
    for n in nodes:
        n.stop()


def test_the_database_restarted_under_load_loses_nothing_acknowledged(tmp_path):
    """PostgreSQL restarts (fast shutdown: every connection cut) while eight writers put values:
    calls fail as InternalServiceError while it is down, succeed again once it is back, and every
    acknowledged write is there afterwards."""
    url = fresh_database()
    node = SecretsdProcess(tmp_path / "node", ["--store", url],
                           env={k: v for k, v in os.environ.items() if k != "SECRETSD_STORE"}).start()
    sm = client(node.url)
    names = [f"restart/s{i:02d}" for i in range(80)]
    for name in names:
        sm.create_secret(Name=name, SecretString="initial")
    acknowledged, failed = {}, []
    after_restart = threading.Event()
    acked_after = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w):
        c, rng = client(node.url), random.Random(w)
        while not stop.is_set():
            name = rng.choice(names)
            token, value = str(uuid.uuid4()), f"{w}-{uuid.uuid4().hex}"
            try:
                c.put_secret_value(SecretId=name, ClientRequestToken=token, SecretString=value)
                with lock:
                    acknowledged[token] = (name, value)
                    if after_restart.is_set():
                        acked_after[0] += 1
            except ClientError as e:
                with lock:
                    failed.append(e.response["Error"]["Code"])
                time.sleep(0.02)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    subprocess.run(shlex.split(os.environ["SECRETSD_TEST_PG_CTL"]) + ["restart", "-m", "fast", "-w", "-t", "30"],
                   check=True, stdout=subprocess.DEVNULL)
    after_restart.set()
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert failed, "no call failed: the restart did not meet the load"
    assert set(failed) == {"InternalServiceError"}, set(failed)
    assert acked_after[0] > 0, "no write succeeded after the restart"
    for token, (name, value) in acknowledged.items():
        assert sm.get_secret_value(SecretId=name, VersionId=token)["SecretString"] == value
    for name in names:
        check_invariants(sm, name)
    node.stop()


ROTATOR = pathlib.Path(__file__).resolve().parent / "rotators" / "lambda_function.py"
ROTATE = "arn:aws:lambda:us-east-1:000000000000:function:rotate"


def rotating_nodes(tmp_path, pause_step=None):
    """Two nodes on a fresh database, with a rotation function that logs every step it runs
    (and, with `pause_step`, waits in that step while tmp_path/pause exists)."""
    env_of_function = {"ROTATOR_LOG": str(tmp_path / "steps.log")}
    if pause_step:
        env_of_function |= {"ROTATOR_PAUSE_STEP": pause_step, "ROTATOR_PAUSE_FILE": str(tmp_path / "pause")}
    config = tmp_path / "secretsd.toml"
    config.write_text(
        f"""
[functions.rotate]
kind = "exec"
command = [{json.dumps(sys.executable)}, {json.dumps(str(ROTATOR))}]
timeout_s = 4
env = {{ {", ".join(f"{k} = {json.dumps(v)}" for k, v in env_of_function.items())} }}
"""
    )
    url = fresh_database()
    env = {k: v for k, v in os.environ.items() if k != "SECRETSD_STORE"}
    env["SECRETSD_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    return [SecretsdProcess(tmp_path / f"node{i}", ["--store", url, "--config", str(config)], env=env).start()
            for i in range(2)]


def admin(node, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(node.url + path, data=data, method="POST" if data else "GET")
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def rotation_state(node, arn):
    return admin(node, "/_secretsd/rotations?secret=" + urllib.parse.quote(arn))


def steps_run(tmp_path, token):
    lines = (tmp_path / "steps.log").read_text().splitlines() if (tmp_path / "steps.log").exists() else []
    return [line.split()[0] for line in lines if line.split()[1] == token]


def test_the_test_clock_is_one_clock_for_every_node(tmp_path):
    nodes = rotating_nodes(tmp_path)
    first, second = (client(n.url) for n in nodes)
    arn = first.create_secret(Name="clock/doomed", SecretString="v")["ARN"]
    second.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    moved = admin(nodes[0], "/_secretsd/clock", {"advance_seconds": 8 * 86400})
    seen = admin(nodes[1], "/_secretsd/clock")
    assert abs(seen["offset_seconds"] - moved["offset_seconds"]) < 1, (moved, seen)
    assert seen["offset_seconds"] >= 8 * 86400 - 1
    # The recovery window ended for the whole cluster: the secret is gone on the other node.
    code = None
    try:
        second.describe_secret(SecretId=arn)
    except ClientError as e:
        code = e.response["Error"]["Code"]
    assert code == "ResourceNotFoundException"
    admin(nodes[1], "/_secretsd/reset", {})
    assert abs(admin(nodes[0], "/_secretsd/clock")["offset_seconds"]) < 1
    for n in nodes:
        n.stop()


def test_a_scheduled_rotation_with_two_nodes_runs_once(tmp_path):
    nodes = rotating_nodes(tmp_path)
    sm = client(nodes[0].url)
    arn = sm.create_secret(Name="cluster/scheduled", SecretString=json.dumps({"username": "app", "password": "p0"}))["ARN"]
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=ROTATE, RotationRules={"AutomaticallyAfterDays": 1},
                     RotateImmediately=False)
    wait_for(lambda: rotation_state(nodes[0], arn)["job"] is None, 30)
    # Both nodes move to the same moment at once, and both look for due rotations at once.
    target = time.time() + 2 * 86400
    movers = [threading.Thread(target=admin, args=(n, "/_secretsd/clock", {"epoch_seconds": target})) for n in nodes]
    for t in movers:
        t.start()
    for t in movers:
        t.join()
    state = wait_for(lambda: (s := rotation_state(nodes[1], arn)) and any(e["event"] == "RotationSucceeded" for e in s["events"]) and s, 40)
    # Past another scheduler tick of each node: nothing more happens.
    time.sleep(6)
    state = rotation_state(nodes[1], arn)
    succeeded = [e for e in state["events"] if e["event"] == "RotationSucceeded"]
    started = [e for e in state["events"] if e["event"] == "RotationStarted"]
    assert len(succeeded) == 1 and len(started) == 1, state["events"]
    token = succeeded[0]["token"]
    assert steps_run(tmp_path, token) == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    versions = client(nodes[1].url).list_secret_version_ids(SecretId=arn)["Versions"]
    assert len(versions) == 2, versions
    assert {tuple(v["VersionStages"]) for v in versions} == {("AWSCURRENT",), ("AWSPREVIOUS",)}
    assert [v for v in versions if "AWSCURRENT" in v["VersionStages"]][0]["VersionId"] == token
    for n in nodes:
        n.stop()


def test_a_node_killed_during_set_secret_leaves_the_rotation_to_the_other(tmp_path):
    nodes = rotating_nodes(tmp_path, pause_step="setSecret")
    pause = tmp_path / "pause"
    pause.touch()
    sm = client(nodes[0].url)
    arn = sm.create_secret(Name="cluster/taken-over", SecretString=json.dumps({"username": "app", "password": "p0"}))["ARN"]
    token = str(uuid.uuid4())
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=ROTATE, RotationRules={"AutomaticallyAfterDays": 30},
                     ClientRequestToken=token)
    wait_for(lambda: pathlib.Path(str(pause) + ".reached").exists(), 30)
    lease = rotation_state(nodes[1], arn)["job"]["lease"]
    assert lease is not None and lease["until"] > time.time(), lease
    nodes[0].kill9()
    pause.unlink()
    # The lease lapses (the step's 4 s timeout and the grace), then the other node runs the
    # job again from its first step, with the same token.
    state = wait_for(lambda: (s := rotation_state(nodes[1], arn)) and s["job"] is None and s, 40)
    events = [(e["event"], e["token"]) for e in state["events"]]
    assert events.count(("RotationSucceeded", token)) == 1, events
    assert not [e for e in events if e[0] == "RotationFailed"], events
    steps = steps_run(tmp_path, token)
    assert steps.count("setSecret") == 2 and steps[-3:] == ["setSecret", "testSecret", "finishSecret"], steps
    other = client(nodes[1].url)
    current = other.get_secret_value(SecretId=arn)
    assert current["VersionId"] == token and json.loads(current["SecretString"])["password"] != "p0"
    nodes[1].stop()
