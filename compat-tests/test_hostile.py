"""Hostile clients against the release binary (issue 6): a thousand idle connections, slow-loris
headers, bodies that never end, 10,000 headers and a 100 MB body, all at once. The server keeps
answering an ordinary client throughout, its memory stays bounded, and every bad request gets a
4xx or is cut off by a timeout (30 s for headers and bodies)."""

import socket
import threading
import time

from conftest import SecretsdProcess, client

IDLE = 1000
SLOW = 40
CUT_OFF_WITHIN = 45  # seconds: the 30 s timeouts plus slack for a loaded CI machine


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def status_of(answer):
    """The HTTP status code at the start of `answer`, or None."""
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def slow_loris(address, cut, index):
    """Sends a request's headers one byte at a time until the server hangs up."""
    s = socket.create_connection(address)
    s.settimeout(2)
    start = time.monotonic()
    request = b"POST / HTTP/1.1\r\nhost: localhost\r\nx-amz-target: secretsmanager.ListSecrets\r\n" + b"x-pad: " + b"a" * 10_000
    try:
        for byte in request:
            s.send(bytes([byte]))
            try:
                if s.recv(1024) == b"":
                    break
            except socket.timeout:
                pass
    except OSError:
        pass
    cut[index] = time.monotonic() - start
    s.close()


def endless_body(address, cut, answers, index):
    """Announces a 1 MB body, sends ten bytes, then waits."""
    s = socket.create_connection(address)
    start = time.monotonic()
    s.sendall(b"POST / HTTP/1.1\r\nhost: localhost\r\nx-amz-target: secretsmanager.ListSecrets\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 1000000\r\n\r\n0123456789")
    s.settimeout(CUT_OFF_WITHIN + 5)
    answer = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    except OSError:
        pass
    cut[index] = time.monotonic() - start
    answers[index] = answer
    s.close()


def test_hostile_clients_do_not_stop_the_server(tmp_path):
    proc = SecretsdProcess(tmp_path / "data").start()
    try:
        sm = client(proc.url)
        sm.create_secret(Name="canary", SecretString="alive")
        address = ("127.0.0.1", int(proc.url.rsplit(":", 1)[1]))
        rss_before = rss_mb(proc.proc.pid)

        idle = [socket.create_connection(address) for _ in range(IDLE)]

        loris_cut, body_cut, body_answers = [None] * SLOW, [None] * SLOW, [None] * SLOW
        threads = [threading.Thread(target=slow_loris, args=(address, loris_cut, i)) for i in range(SLOW)]
        threads += [threading.Thread(target=endless_body, args=(address, body_cut, body_answers, i)) for i in range(SLOW)]
        for t in threads:
            t.start()

        # 10,000 headers: refused with a 4xx (or the connection is closed), not served.
        s = socket.create_connection(address)
        s.settimeout(10)
        headers = b"".join(b"x-h%d: v\r\n" % i for i in range(10_000))
        try:
            s.sendall(b"POST / HTTP/1.1\r\nhost: localhost\r\n" + headers + b"\r\n")
        except OSError:
            pass
        try:
            answer = s.recv(4096)
        except OSError:
            answer = b""
        assert answer == b"" or 400 <= status_of(answer) < 500, answer[:200]
        s.close()

        # A 100 MB body: answered 413 long before it is all sent.
        s = socket.create_connection(address)
        s.settimeout(10)
        s.sendall(b"POST / HTTP/1.1\r\nhost: localhost\r\nx-amz-target: secretsmanager.ListSecrets\r\ncontent-length: 104857600\r\n\r\n")
        sent, chunk = 0, b"x" * 65536
        answer = b""
        try:
            while sent < 104857600:
                sent += s.send(chunk)
        except OSError:
            pass
        try:
            answer = s.recv(4096)
        except OSError:
            pass
        assert status_of(answer) == 413 or answer == b"", answer[:200]
        assert sent < 104857600, "the server read a 100 MB body"
        s.close()

        # Meanwhile an ordinary client is served, promptly, again and again.
        slowest = 0.0
        for _ in range(50):
            t0 = time.monotonic()
            assert sm.get_secret_value(SecretId="canary")["SecretString"] == "alive"
            slowest = max(slowest, time.monotonic() - t0)
            time.sleep(0.05)
        assert slowest < 1.0, f"a read took {slowest:.2f} s under attack"
        rss_during = rss_mb(proc.proc.pid)
        assert rss_during < rss_before + 200, f"RSS grew from {rss_before:.0f} to {rss_during:.0f} MB"

        for t in threads:
            t.join(timeout=CUT_OFF_WITHIN + 15)
        assert all(c is not None and c < CUT_OFF_WITHIN for c in loris_cut), loris_cut
        assert all(c is not None and c < CUT_OFF_WITHIN for c in body_cut), body_cut
        for answer in body_answers:
            assert answer == b"" or 400 <= status_of(answer) < 500, answer[:200]
        print(f"hostile: slowest read {slowest * 1000:.0f} ms, RSS {rss_before:.1f} -> {rss_during:.1f} MB, "
              f"slow-loris cut after {max(loris_cut):.1f} s, stalled bodies after {max(body_cut):.1f} s")
        for s in idle:
            s.close()
        assert sm.get_secret_value(SecretId="canary")["SecretString"] == "alive"
    finally:
        proc.stop()
