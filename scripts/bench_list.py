"""ListSecrets' cost with many secrets stored: `scripts/bench list [secrets] [other-binary]`
fills a store with the load generator (`bench-N` names), then times pages of 100 through boto3
(median and slowest of 10 consecutive pages) with and without a name filter that matches every
secret, in creation and name order, and prints the server's RSS after them. With a second
binary, the same data dir is served by it too, for a before/after in one run."""

import socket
import subprocess
import sys
import tempfile
import time

import boto3

LOADGEN = "target/release/examples/loadgen"
LISTINGS = [
    ("name filter matching all, creation order", {"Filters": [{"Key": "name", "Values": ["bench-"]}]}),
    ("name filter matching all, name order", {"Filters": [{"Key": "name", "Values": ["bench-"]}], "SortBy": "name"}),
    ("no filter, creation order", {}),
]


def serve(binary, data):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                             "--log-level", "warn"], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    return proc, f"http://127.0.0.1:{port}"


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(next(l for l in status if l.startswith("VmRSS")).split()[1]) / 1024


def measure(binary, data, fill=None):
    proc, url = serve(binary, data)
    try:
        if fill:
            subprocess.run([LOADGEN, "--url", url, "--op", "create", "--secrets", str(fill),
                            "--connections", "16"], check=True, stdout=subprocess.DEVNULL)
        sm = boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        for label, args in LISTINGS:
            sm.list_secrets(MaxResults=100, **args)  # warm the connection
            times, token = [], None
            for _ in range(10):
                started = time.perf_counter()
                page = sm.list_secrets(MaxResults=100, **({"NextToken": token} if token else {}), **args)
                times.append((time.perf_counter() - started) * 1000)
                token = page.get("NextToken")
            times.sort()
            print(f"  {label:<44} median {times[5]:6.1f} ms, slowest {times[-1]:6.1f} ms "
                  f"(pages of {len(page['SecretList'])})")
        print(f"  server RSS after them: {rss_mb(proc.pid):.0f} MB")
    finally:
        proc.terminate()
        proc.wait()


def main():
    secrets = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    binaries = ["target/release/secretsd"] + sys.argv[2:3]
    with tempfile.TemporaryDirectory() as d:
        for n, binary in enumerate(binaries):
            print(f"{binary}, {secrets} secrets:")
            measure(binary, f"{d}/data", fill=secrets if n == 0 else None)


if __name__ == "__main__":
    main()
