"""Webhook receiver benchmark (issue: webhook receiver).

    python benchmarks/bench_webhooks.py [--requests 4000] [--threads 8]

Runs, each in its own process on 127.0.0.1 with the same waitress threads: a bare "hello world"
WSGI app (the baseline) and the acsync receiver (token check, raw body committed to SQLite in
WAL mode before the 200). A bounded load generator in this process (keep-alive connections,
one per client thread) measures:
  - durable webhooks per second beside the bare server's rate, as a ratio (target >= 0.6);
  - latency at a paced 500 requests/s for 5 s: p50 / p99 (target p99 <= 50 ms).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

TOKEN = "bench-token-0123456789abcdef"
PATH = f"/webhooks/activecampaign/{TOKEN}"
BODY = (
    b"type=open&date_time=2026-11-20T06%3A00%3A00-05%3A00&initiated_from=public&initiated_by=public"
    b"&list=0&contact%5Bid%5D=42&contact%5Bemail%5D=ann%40example.com&contact%5Bfirst_name%5D=Ann"
    b"&contact%5Blast_name%5D=Meyer&contact%5Btags%5D=Customer&campaign%5Bid%5D=7&campaign%5Bname%5D=Nov"
)
HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]


def serve(kind: str, port: int, threads: int, db: str) -> None:
    from acsync.serving import Server
    from acsync.webhook.app import WebhookApp

    app: Any = hello if kind == "bare" else WebhookApp(Path(db), TOKEN)
    Server(app, port, threads).run()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str, threads: int, db: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            kind,
            "--port",
            str(port),
            "--threads",
            str(threads),
            "--db",
            db,
        ]
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the {kind} server did not start")


def post(conn: http.client.HTTPConnection) -> float:
    t0 = time.perf_counter()
    conn.request("POST", PATH, BODY, HEADERS)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"status {response.status}")
    return time.perf_counter() - t0


def throughput(port: int, total: int, clients: int) -> float:
    """Closed loop: ``clients`` connections post ``total`` webhooks between them as fast as they can."""
    counts = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    def work(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(n):
            post(conn)
        conn.close()

    workers = [threading.Thread(target=work, args=(n,)) for n in counts]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return total / (time.perf_counter() - t0)


def paced(port: int, rate: float, seconds: float, clients: int) -> list[float]:
    """Open loop: request k is due at k / rate; latencies are measured from when it was due."""
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    latencies: list[float] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        for k in range(offset, total, clients):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            post(conn)
            mine.append(time.perf_counter() - due)
        conn.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sorted(latencies)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--threads", type=int, default=8, help="waitress threads, and client connections")
    p.add_argument("--serve", choices=["bare", "webhook"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.threads, args.db)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "hooks.db")
        rates = {}
        for kind in ("bare", "webhook"):
            proc, port = start(kind, args.threads, db)
            try:
                throughput(port, 200, args.threads)  # warm up
                rates[kind] = throughput(port, args.requests, args.threads)
                if kind == "webhook":
                    lat = paced(port, 500, 5.0, args.threads)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
        with closing(sqlite3.connect(db)) as conn:
            stored = conn.execute("SELECT count(*) FROM inbox").fetchone()[0]
    ratio = rates["webhook"] / rates["bare"]
    p50, p99 = statistics.quantiles(lat, n=100)[49], statistics.quantiles(lat, n=100)[98]
    print(f"{'bare waitress hello world (baseline)':<46} {rates['bare']:8.0f} req/s")
    label = "durable webhooks (stored before the 200)"
    print(f"{label:<46} {rates['webhook']:8.0f} req/s  = {ratio:4.2f} x baseline (target >= 0.6)")
    print(f"{'latency at 500 req/s for 5 s: p50':<46} {p50 * 1000:8.1f} ms")
    print(f"{'latency at 500 req/s for 5 s: p99':<46} {p99 * 1000:8.1f} ms     (target <= 50 ms)")
    print(f"{'webhooks in the inbox afterwards':<46} {stored:8d}")


if __name__ == "__main__":
    main()
