"""Two secretsd processes on one PostgreSQL database (--store postgres://…) behave as one Secrets
Manager, even when one is killed: sixteen writers spread over both nodes put values with known
tokens, one node is killed with SIGKILL in the middle and started again, and afterwards every
acknowledged write reads back exactly, from either node, with the stage invariants intact.
Needs scripts/testdb's PostgreSQL (SECRETSD_TEST_PG_PORT, SECRETSD_TEST_PG_PASSWORD)."""

import base64
import os
import random
import shlex
import subprocess
import threading
import time
import uuid

import psycopg
from botocore.exceptions import ClientError

from conftest import SecretsdProcess, client
from test_crash import CUT, check_invariants

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
