"""The side doors are shut (issue 19), tried as an attacker would against the release binary:
a DNS-rebinding Host, cross-origin form posts from a web page, strict mode's admin surface, a
peer beyond loopback (from a network namespace of the test's own), and TLS with stock clients.
Every refused probe is followed by a look at the state it tried to change."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import pathlib

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conftest import BIN, SecretsdProcess, client
from test_cli import cli_env

VALUE = "the-victims-password"
TOKEN = "admin-token-for-the-side-door-tests"
JS = pathlib.Path(__file__).resolve().parent / "js"


def refusal(response):
    """The door's answer: 403 in the API's error shape; its message."""
    assert response.status_code == 403, (response.status_code, response.text)
    assert response.headers["x-amzn-errortype"] == "AccessDeniedException"
    body = response.json()
    assert set(body) == {"__type", "Message"}, body
    assert body["__type"] == "AccessDeniedException"
    assert VALUE not in response.text
    return body["Message"]


def foreign_host(host):
    return (f"secretsd does not answer for Host '{host}'. It answers for localhost, loopback addresses "
            "and the address it listens on; allow another name with --allowed-host NAME "
            "(or allowed_hosts in the config file).")


def foreign_origin(origin):
    return (f"secretsd does not answer requests from web pages of origin '{origin}'. Allow a browser "
            "app's origin with --allowed-origin ORIGIN (or allowed_origins in the config file).")


def cross_site(site):
    return (f"secretsd does not answer {site} requests from web pages. Allow a browser app's origin "
            "with --allowed-origin ORIGIN (or allowed_origins in the config file).")


TOKEN_REQUIRED = "This admin endpoint needs the admin token: send Authorization: Bearer <token>."
TOKEN_INVALID = "The admin token is not valid."
TOKEN_NOT_CONFIGURED = (
    "The admin endpoints need the admin token here (strict mode, or a client beyond loopback), and "
    "none is configured. Start secretsd with SECRETSD_ADMIN_TOKEN=<token> (or --admin-token-file "
    "FILE, or admin_token in the config file) and send Authorization: Bearer <token>.")


def signed(url, target, payload, host=None, key="test", secret="test", extra=None, verify=True):
    """A request signed by botocore's own SigV4 signer, with `host` as its (signed) Host."""
    body = json.dumps(payload)
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"secretsmanager.{target}"}
    if host:
        headers["Host"] = host
    request = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), "secretsmanager", "us-east-1").add_auth(request)
    return requests.post(url + "/", data=body, headers={**dict(request.headers), **(extra or {})},
                         timeout=10, verify=verify)


def unsigned(url, target, payload, host):
    """What a page on a rebinding name sends: a made-up key and no real signature."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = {
        "Host": host,
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"secretsmanager.{target}",
        "X-Amz-Date": stamp,
        "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDATTACKER/{stamp[:8]}/us-east-1/secretsmanager/aws4_request, "
                         f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}",
    }
    return requests.post(url + "/", data=json.dumps(payload), headers=headers, timeout=10)


def port_of(url):
    return url.rsplit(":", 1)[1]


def clock_offset(url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.get(url + "/_secretsd/clock", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["offset_seconds"]


def names(sm):
    return sorted(s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"])


def test_a_dns_rebinding_host_reads_and_writes_nothing(server, sm):
    sm.create_secret(Name="victim", SecretString=VALUE)
    port = port_of(server.url)
    for host in [f"attacker.example:{port}", "attacker.example", f"localhost.attacker.example:{port}",
                 f"127.0.0.1.nip.example:{port}"]:
        assert refusal(unsigned(server.url, "GetSecretValue", {"SecretId": "victim"}, host)) == foreign_host(host)
        assert refusal(signed(server.url, "GetSecretValue", {"SecretId": "victim"}, host)) == foreign_host(host)
        assert refusal(signed(server.url, "PutSecretValue", {"SecretId": "victim", "SecretString": "changed",
                                                             "ClientRequestToken": "a" * 32}, host)) == foreign_host(host)
        assert refusal(unsigned(server.url, "DeleteSecret", {"SecretId": "victim", "ForceDeleteWithoutRecovery": True},
                                host)) == foreign_host(host)
    # Nothing changed: one version, the same value.
    assert len(sm.list_secret_version_ids(SecretId="victim")["Versions"]) == 1
    assert sm.get_secret_value(SecretId="victim")["SecretString"] == VALUE
    # The same probes with the server's own names are answered: the Host is what stopped them.
    for host in [f"127.0.0.1:{port}", f"localhost:{port}"]:
        r = unsigned(server.url, "GetSecretValue", {"SecretId": "victim"}, host)
        assert r.status_code == 200 and r.json()["SecretString"] == VALUE


ADMIN_POSTS = [
    ("/_secretsd/reset", b""),
    ("/moto-api/reset", b""),
    ("/_secretsd/clock", b'{"advance_seconds": 315360000}'),
    ("/_secretsd/managed-secrets", b'{"name": "x", "engine": "postgres"}'),
]


def test_cross_origin_form_posts_to_the_admin_and_the_api_change_nothing(server, sm):
    sm.create_secret(Name="kept", SecretString=VALUE)
    sm.create_secret(Name="pending", SecretString="x")
    sm.delete_secret(SecretId="pending", RecoveryWindowInDays=7)
    before = names(sm)
    port = port_of(server.url)
    # What a plain HTML form or fetch(..., {mode: "no-cors"}) on another page sends.
    probes = [
        ({"Origin": "http://evil.example", "Content-Type": "text/plain"}, foreign_origin("http://evil.example")),
        ({"Origin": "null", "Content-Type": "text/plain"}, foreign_origin("null")),
        ({"Origin": f"http://localhost:{int(port) + 1}", "Content-Type": "application/x-www-form-urlencoded",
          "Sec-Fetch-Site": "same-site"}, foreign_origin(f"http://localhost:{int(port) + 1}")),
        ({"Origin": f"https://127.0.0.1:{port}", "Content-Type": "text/plain"}, foreign_origin(f"https://127.0.0.1:{port}")),
        ({"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}, cross_site("cross-site")),
        ({"Sec-Fetch-Site": "same-site", "Content-Type": "text/plain"}, cross_site("same-site")),
    ]
    for path, body in ADMIN_POSTS:
        for headers, message in probes:
            r = requests.post(server.url + path, data=body, headers=headers, timeout=10)
            assert refusal(r) == message, (path, headers)
    for path in ["/_secretsd/audit?since=0", "/_secretsd/clock", "/_secretsd/rotations?secret=x"]:
        r = requests.get(server.url + path, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, timeout=10)
        assert refusal(r) == cross_site("cross-site")
    # The API too: a signed request is refused when a foreign page sends it.
    r = signed(server.url, "CreateSecret", {"Name": "planted", "SecretString": "x"},
               extra={"Origin": "http://evil.example"})
    assert refusal(r) == foreign_origin("http://evil.example")
    r = signed(server.url, "GetSecretValue", {"SecretId": "kept"}, extra={"Sec-Fetch-Site": "cross-site"})
    assert refusal(r) == cross_site("cross-site")
    # Nothing changed: the same secrets (the one pending deletion too), the clock where it was.
    assert names(sm) == before
    assert sm.get_secret_value(SecretId="kept")["SecretString"] == VALUE
    assert clock_offset(server.url) == 0
    # The server's own pages (same origin) and tools that send no Origin are still served.
    r = requests.post(server.url + "/_secretsd/clock", data=b'{"advance_seconds": 5}',
                      headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert r.status_code == 200 and r.json()["offset_seconds"] == 5
    assert requests.post(server.url + "/moto-api/reset", timeout=10).status_code == 200
    assert names(sm) == []


def test_no_admin_endpoint_changes_state_on_get(server, sm):
    sm.create_secret(Name="kept", SecretString=VALUE)
    for path in ["/_secretsd/reset", "/moto-api/reset", "/_secretsd/managed-secrets"]:
        r = requests.get(server.url + path, timeout=10)
        assert r.status_code == 404, (path, r.text)
        assert r.json() == {"__type": "NotFound", "Message": f"No admin endpoint GET {path}."}
    r = requests.get(server.url + "/_secretsd/clock?advance_seconds=999999", timeout=10)
    assert r.status_code == 200 and r.json()["offset_seconds"] == 0
    assert names(sm) == ["kept"]


STRICT_CONFIG = """
auth = "strict"
[[principals]]
name = "admin"
access_key_id = "AKIASIDEDOORADMIN001"
secret_access_key = "side-door-admin-secret"
policies = ['{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}']
"""


def strict_server(tmp_path, env_token):
    config = tmp_path / "secretsd.toml"
    config.write_text(STRICT_CONFIG)
    env = dict(os.environ)
    env.pop("SECRETSD_ADMIN_TOKEN", None)
    if env_token:
        env["SECRETSD_ADMIN_TOKEN"] = env_token
    return SecretsdProcess(tmp_path / "data", ["--config", str(config)], env=env).start()


def admin_probe(url, method, path, body=b"", token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, url + path, data=body, headers=headers, timeout=10)


def test_strict_mode_admin_endpoints_need_the_admin_token(tmp_path):
    proc = strict_server(tmp_path, TOKEN)
    try:
        sm = client(proc.url, key="AKIASIDEDOORADMIN001", secret="side-door-admin-secret")
        arn = sm.create_secret(Name="kept", SecretString=VALUE)["ARN"]
        calls = [("POST", p, b) for p, b in ADMIN_POSTS] + [
            ("GET", "/_secretsd/audit?since=0", b""), ("GET", "/_secretsd/clock", b""),
            ("GET", f"/_secretsd/rotations?secret={arn}", b"")]
        for method, path, body in calls:
            assert refusal(admin_probe(proc.url, method, path, body)) == TOKEN_REQUIRED, path
            assert refusal(admin_probe(proc.url, method, path, body, token=TOKEN + "x")) == TOKEN_INVALID, path
            # Only the Bearer scheme carries the token.
            r = requests.request(method, proc.url + path, data=body, timeout=10, headers={"Authorization": TOKEN})
            assert refusal(r) == TOKEN_REQUIRED, path
        assert names(sm) == ["kept"]
        # The health check tells nothing but status and version, and needs nothing.
        health = requests.get(proc.url + "/_secretsd/health", timeout=10)
        assert health.status_code == 200 and set(health.json()) == {"status", "version"}
        # With the token: the trail reads, the clock moves, the reset wipes.
        audit = admin_probe(proc.url, "GET", "/_secretsd/audit?since=0", token=TOKEN)
        assert audit.status_code == 200
        assert [r["eventName"] for r in audit.json()["Records"]][:1] == ["CreateSecret"]
        assert VALUE not in audit.text
        moved = admin_probe(proc.url, "POST", "/_secretsd/clock", b'{"advance_seconds": 60}', token=TOKEN)
        assert moved.status_code == 200 and moved.json()["offset_seconds"] == 60
        assert clock_offset(proc.url, TOKEN) == 60
        wiped = admin_probe(proc.url, "POST", "/moto-api/reset", token=TOKEN)
        assert wiped.status_code == 200 and wiped.json() == {"status": "ok"}
        assert names(sm) == []
    finally:
        proc.stop()


def test_strict_mode_without_a_token_says_how_to_configure_one(tmp_path):
    proc = strict_server(tmp_path, None)
    try:
        sm = client(proc.url, key="AKIASIDEDOORADMIN001", secret="side-door-admin-secret")
        sm.create_secret(Name="kept", SecretString=VALUE)
        for path, body in ADMIN_POSTS:
            assert refusal(admin_probe(proc.url, "POST", path, body)) == TOKEN_NOT_CONFIGURED
            assert refusal(admin_probe(proc.url, "POST", path, body, token=TOKEN)) == TOKEN_INVALID
        assert names(sm) == ["kept"]
        assert requests.get(proc.url + "/_secretsd/health", timeout=10).status_code == 200
    finally:
        proc.stop()
    assert "strict mode without an admin token" in proc.log()


def test_a_short_admin_token_stops_start_up(tmp_path):
    result = subprocess.run([BIN, "--in-memory", "--listen", "127.0.0.1:0",
                             "--admin-token", "short"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == "secretsd: the admin token must be at least 16 characters long"


def test_allowed_hosts_and_origins(tmp_path):
    env = dict(os.environ, SECRETSD_ALLOWED_ORIGINS="http://localhost:3000,https://app.example")
    proc = SecretsdProcess(tmp_path / "data", ["--allowed-host", "secretsd.test", "--allowed-host", ".corp.example"],
                           env=env).start()
    try:
        sm = client(proc.url)
        sm.create_secret(Name="app", SecretString=VALUE)
        port = port_of(proc.url)
        for host in [f"secretsd.test:{port}", f"vault.corp.example:{port}", "corp.example"]:
            r = signed(proc.url, "GetSecretValue", {"SecretId": "app"}, host)
            assert r.status_code == 200 and r.json()["SecretString"] == VALUE, host
        for host in [f"secretsd.test.evil:{port}", f"evilcorp.example:{port}"]:
            assert refusal(signed(proc.url, "GetSecretValue", {"SecretId": "app"}, host)) == foreign_host(host)
        # A browser app on an allowed origin: its preflight is answered, then its call.
        preflight = requests.options(proc.url + "/", timeout=10, headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-target"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert preflight.headers["access-control-allow-methods"] == "GET, POST"
        assert preflight.headers["access-control-allow-headers"] == "authorization,content-type,x-amz-date,x-amz-target"
        r = signed(proc.url, "GetSecretValue", {"SecretId": "app"},
                   extra={"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"})
        assert r.status_code == 200 and r.json()["SecretString"] == VALUE
        assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert r.headers["vary"] == "Origin"
        assert "x-amzn-requestid" in r.headers["access-control-expose-headers"]
        r = signed(proc.url, "GetSecretValue", {"SecretId": "app"}, extra={"Origin": "https://app.example"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
        # Any other origin's preflight is refused, and a same-origin answer names no origin.
        bad = requests.options(proc.url + "/", timeout=10, headers={
            "Origin": "http://localhost:3001", "Access-Control-Request-Method": "POST"})
        assert refusal(bad) == foreign_origin("http://localhost:3001")
        r = signed(proc.url, "GetSecretValue", {"SecretId": "app"})
        assert "access-control-allow-origin" not in r.headers
    finally:
        proc.stop()
    star = SecretsdProcess(tmp_path / "star", ["--allowed-host", "*"]).start()
    try:
        r = signed(star.url, "ListSecrets", {}, "anything.example")
        assert r.status_code == 200 and r.json() == {"SecretList": []}
    finally:
        star.stop()
    assert "--allowed-host *: any Host is answered" in star.log()


# --- A peer beyond loopback: a network namespace of the test's own, joined to this one by a
# veth pair with addresses of the 198.18.0.0/15 benchmarking range (RFC 2544), never another.

PEER_SCRIPT = textwrap.dedent("""
    import json, sys, requests, boto3
    from botocore.config import Config
    url, token = sys.argv[1], sys.argv[2]
    def probe(method, path, body=b"", headers=None):
        r = requests.request(method, url + path, data=body, headers=headers or {}, timeout=10)
        return [r.status_code, r.text]
    out = {}
    out["health"] = probe("GET", "/_secretsd/health")
    out["reset"] = probe("POST", "/_secretsd/reset")
    out["moto_reset"] = probe("POST", "/moto-api/reset")
    out["clock"] = probe("POST", "/_secretsd/clock", b'{"advance_seconds": 315360000}')
    out["audit"] = probe("GET", "/_secretsd/audit?since=0")
    out["wrong_token"] = probe("POST", "/_secretsd/reset", headers={"Authorization": "Bearer " + token + "-wrong"})
    out["foreign_host"] = probe("GET", "/_secretsd/health", headers={"Host": "attacker.example"})
    sm = boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
    out["api_value"] = sm.get_secret_value(SecretId="kept")["SecretString"]
    if token != "-":
        out["clock_with_token"] = probe("POST", "/_secretsd/clock", b'{"advance_seconds": 60}',
                                        headers={"Authorization": "Bearer " + token})
        out["reset_with_token"] = probe("POST", "/_secretsd/reset", headers={"Authorization": "Bearer " + token})
    print(json.dumps(out))
""")


@pytest.fixture
def peer_namespace():
    """A network namespace whose address 198.18.N.2 reaches this namespace's 198.18.N.1."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        if os.environ.get("CI"):
            pytest.fail("the peer test needs root and iproute2 (ip) in CI")
        pytest.skip("needs root and iproute2 to make a network namespace")
    n = os.getpid() % 250 + 1
    ns, here, there = f"sd-peer-{n}", f"sdh{n}", f"sdp{n}"
    host_ip, peer_ip = f"198.18.{n}.1", f"198.18.{n}.2"

    def ip(*args, check=True):
        return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)

    ip("netns", "del", ns, check=False)
    ip("link", "del", here, check=False)
    ip("netns", "add", ns)
    try:
        ip("link", "add", here, "type", "veth", "peer", "name", there)
        ip("link", "set", there, "netns", ns)
        ip("addr", "add", f"{host_ip}/30", "dev", here)
        ip("link", "set", here, "up")
        ip("-n", ns, "addr", "add", f"{peer_ip}/30", "dev", there)
        ip("-n", ns, "link", "set", there, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        yield ns, host_ip
    finally:
        ip("link", "del", here, check=False)
        ip("netns", "del", ns, check=False)


def run_as_peer(ns, url, token):
    result = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", PEER_SCRIPT, url, token],
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, NO_PROXY="*"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_peer_beyond_loopback_needs_the_admin_token(tmp_path, peer_namespace):
    ns, host_ip = peer_namespace
    env = dict(os.environ, SECRETSD_ADMIN_TOKEN=TOKEN)
    proc = SecretsdProcess(tmp_path / "data", [], listen_host=host_ip, env=env).start()
    try:
        sm = client(proc.url)
        sm.create_secret(Name="kept", SecretString=VALUE)
        seen = run_as_peer(ns, proc.url, TOKEN)
        assert seen["health"][0] == 200
        for step in ["reset", "moto_reset", "clock", "audit"]:
            assert seen[step][0] == 403 and json.loads(seen[step][1])["Message"] == TOKEN_REQUIRED, step
        assert seen["wrong_token"][0] == 403 and json.loads(seen["wrong_token"][1])["Message"] == TOKEN_INVALID
        assert seen["foreign_host"][0] == 403
        assert json.loads(seen["foreign_host"][1])["Message"] == foreign_host("attacker.example")
        # The API answers the peer (open mode, documented), and the refused probes changed nothing
        # before the token was shown: the value was still there and the clock had not moved.
        assert seen["api_value"] == VALUE
        assert seen["clock_with_token"][0] == 200 and json.loads(seen["clock_with_token"][1])["offset_seconds"] == 60
        assert seen["reset_with_token"][0] == 200
        assert names(sm) == []
    finally:
        proc.stop()
    log = proc.log()
    assert f"listening on {host_ip}:" in log and "beyond loopback" in log
    assert "open mode beyond loopback" in log


def test_a_peer_beyond_loopback_without_a_configured_token_gets_nothing(tmp_path, peer_namespace):
    ns, host_ip = peer_namespace
    env = dict(os.environ)
    env.pop("SECRETSD_ADMIN_TOKEN", None)
    proc = SecretsdProcess(tmp_path / "data", [], listen_host=host_ip, env=env).start()
    try:
        sm = client(proc.url)
        sm.create_secret(Name="kept", SecretString=VALUE)
        seen = run_as_peer(ns, proc.url, "-")
        for step in ["reset", "moto_reset", "clock", "audit"]:
            assert seen[step][0] == 403 and json.loads(seen[step][1])["Message"] == TOKEN_NOT_CONFIGURED, step
        assert seen["api_value"] == VALUE
        assert names(sm) == ["kept"]
        assert clock_offset_as_api_sees(sm) == 0
    finally:
        proc.stop()
    assert "no admin token: the admin endpoints refuse every client beyond loopback" in proc.log()


def clock_offset_as_api_sees(sm):
    """The clock did not move: a secret created now is dated now, not years ahead."""
    created = sm.create_secret(Name="dated", SecretString="x")
    described = sm.describe_secret(SecretId=created["ARN"])
    return round(abs(described["CreatedDate"].timestamp() - time.time()) / 3600)


# --- TLS with stock clients.

def test_tls_self_signed_with_boto3_the_cli_and_the_js_sdk(tmp_path):
    proc = SecretsdProcess(tmp_path / "data", ["--tls", "self-signed"]).start()
    try:
        assert proc.url.startswith("https://127.0.0.1:")
        assert proc.trust_file == str(tmp_path / "data" / "tls" / "ca.pem")
        sm = boto3.client("secretsmanager", endpoint_url=proc.url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test", verify=proc.trust_file,
                          config=Config(retries={"max_attempts": 1}))
        sm.create_secret(Name="tls/db", SecretString=VALUE)
        assert sm.get_secret_value(SecretId="tls/db")["SecretString"] == VALUE
        # boto3 with only the public roots refuses the certificate.
        untrusting = boto3.client("secretsmanager", endpoint_url=proc.url, region_name="us-east-1",
                                  aws_access_key_id="test", aws_secret_access_key="test",
                                  config=Config(retries={"max_attempts": 1}))
        from botocore.exceptions import SSLError
        with pytest.raises(SSLError):
            untrusting.list_secrets()
        # The AWS CLI with --ca-bundle.
        result = subprocess.run(
            [sys.executable, "-m", "awscli", "--endpoint-url", proc.url, "--ca-bundle", proc.trust_file,
             "--output", "json", "secretsmanager", "get-secret-value", "--secret-id", "tls/db"],
            capture_output=True, text=True, env=cli_env(), timeout=60)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["SecretString"] == VALUE
        # The JS SDK v3's whole suite, trusting the CA through NODE_EXTRA_CA_CERTS.
        js = subprocess.run(["node", "--test", "--test-reporter=spec", "secrets.test.mjs"], cwd=JS,
                            env=dict(os.environ, SECRETSD_URL=proc.url, NODE_EXTRA_CA_CERTS=proc.trust_file),
                            capture_output=True, text=True, timeout=120)
        assert js.returncode == 0, js.stdout + js.stderr
        assert "ℹ fail 0" in js.stdout and "ℹ pass 6" in js.stdout
        # Plain HTTP to the TLS port gets no answer from the API.
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(proc.url.replace("https://", "http://") + "/", data="{}", timeout=10,
                          headers={"X-Amz-Target": "secretsmanager.ListSecrets"})
    finally:
        proc.stop()
    # A restart keeps the same CA, so clients keep trusting the same file.
    ca = pathlib.Path(proc.trust_file).read_bytes()
    again = SecretsdProcess(tmp_path / "data", ["--tls", "self-signed"]).start()
    try:
        assert pathlib.Path(again.trust_file).read_bytes() == ca
        sm = boto3.client("secretsmanager", endpoint_url=again.url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test", verify=again.trust_file)
        assert sm.get_secret_value(SecretId="tls/db")["SecretString"] == VALUE
    finally:
        again.stop()


def test_tls_with_a_given_certificate_and_key(tmp_path):
    # A certificate made by the self-signed setup, handed to another server as plain files.
    maker = SecretsdProcess(tmp_path / "maker", ["--tls", "self-signed"]).start()
    maker.stop()
    tls_dir = tmp_path / "maker" / "tls"
    proc = SecretsdProcess(tmp_path / "data", ["--tls-cert", str(tls_dir / "cert.pem"),
                                               "--tls-key", str(tls_dir / "key.pem")]).start()
    try:
        assert proc.trust_file == str(tls_dir / "cert.pem")
        sm = boto3.client("secretsmanager", endpoint_url=proc.url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test", verify=str(tls_dir / "ca.pem"))
        sm.create_secret(Name="given", SecretString=VALUE)
        assert sm.get_secret_value(SecretId="given")["SecretString"] == VALUE
    finally:
        proc.stop()
    bad = subprocess.run([BIN, "--in-memory", "--listen", "127.0.0.1:0",
                          "--tls-cert", str(tls_dir / "cert.pem")], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "--tls-key" in bad.stderr
