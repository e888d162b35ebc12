"""Shared fixtures: the release binary of secretsd started on a free port, and stock clients
(boto3, the AWS CLI, raw signed HTTP) pointed at it with the built-in test/test credential."""

import os
import pathlib
import select
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

REPO = pathlib.Path(__file__).resolve().parent.parent
BIN = os.environ.get("SECRETSD_BIN", str(REPO / "target" / "release" / "secretsd"))
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SecretsdProcess:
    """One secretsd process on a data dir; restartable on the same dir."""

    def __init__(self, data_dir, extra_args=(), listen_host="127.0.0.1", env=None):
        self.data_dir = str(data_dir)
        self.listen_host = listen_host
        self.env = env
        # The server's log goes to a file beside the data dir, not to a pipe nobody drains
        # (a full pipe would block the server).
        self.log_path = pathlib.Path(self.data_dir + ".log")
        self.extra_args = list(extra_args)
        self.proc = None
        self.url = None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def start(self, timeout=10.0):
        if not os.access(BIN, os.X_OK):
            raise RuntimeError(f"secretsd binary not found at {BIN} (build it, or set SECRETSD_BIN)")
        port = free_port()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [BIN, "serve", "--listen", f"{self.listen_host}:{port}", "--data-dir", self.data_dir,
                 *([] if "--log-level" in self.extra_args else ["--log-level", "warn"]), *self.extra_args],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=self.env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                line = self.proc.stdout.readline()
                if not line:  # it exited before it was ready
                    self.proc.wait(timeout=10)
                    raise RuntimeError(f"secretsd exited with {self.proc.returncode}: {self.log()}")
                tls = "--tls" in self.extra_args or "--tls-cert" in self.extra_args
                scheme = "https" if tls else "http"
                self.url = f"{scheme}://{self.listen_host}:{port}"
                self.trust_file = None
                given = self.extra_args[self.extra_args.index("--store") + 1] if "--store" in self.extra_args else None
                store = given or (self.env or os.environ).get("SECRETSD_STORE") or "redb"
                store = "postgres" if store.startswith(("postgres://", "postgresql://")) else store
                expected = f"secretsd listening on {self.url} (data: {self.data_dir}; store: {store}"
                assert line.strip().startswith(expected), line
                if tls:
                    # ... (data: DIR; store: ENGINE; clients trust FILE)
                    self.trust_file = line.strip().rsplit("clients trust ", 1)[1].rstrip(")")
                else:
                    assert line.strip() == expected + ")", line
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"secretsd exited with {self.proc.returncode}: {self.log()}")
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError(f"secretsd did not print its ready line within {timeout} s: {self.log()}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def client(url, region=REGION, key="test", secret="test"):
    return boto3.client(
        "secretsmanager",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory() as d:
        proc = SecretsdProcess(pathlib.Path(d) / "data").start()
        yield proc
        proc.stop()


@pytest.fixture(autouse=True)
def fresh_state(request):
    """Every test starts from an empty server."""
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        with urllib.request.urlopen(urllib.request.Request(srv.url + "/_secretsd/reset", method="POST")) as response:
            assert response.status == 200
    yield


@pytest.fixture
def sm(server):
    return client(server.url)


def error_of(call, *args, **kwargs):
    """Runs a boto3 call that must fail; returns (code, message, http status)."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]
