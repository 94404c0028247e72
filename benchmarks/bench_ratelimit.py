"""Rate-limit benchmark (issue: AC client and sandbox): 300 requests at the sandbox's 5/s limit.

    python benchmarks/bench_ratelimit.py [--requests 300] [--threads 3]

Three threads share one client (one token bucket) against the sandbox over HTTP on 127.0.0.1,
which answers 429 above 5 requests/s as AC does. Prints the rate achieved beside the allowed
rate (the baseline), as a ratio, and the 429s met. Target: no 429 and >= 95 % of the allowed
rate. For scale it also prints the sandbox's unthrottled rate, measured in the same run.
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import UTC, datetime

import requests

from acsync.ac import AcClient
from acsync.sandbox import Sandbox, seed_account
from acsync.sandbox.server import serve_sandbox

RATE = 5.0


def hammer(client: AcClient, total: int, threads: int) -> float:
    counter = iter(range(total))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            client.me()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--threads", type=int, default=3)
    args = p.parse_args()
    sandbox = Sandbox(seed_account(100, 1, datetime(2026, 11, 20, tzinfo=UTC)), rate_limit=None)
    with serve_sandbox(sandbox) as server:
        raw = AcClient(server.url, "sandbox", requests_per_second=10_000)
        unthrottled = hammer(raw, 200, args.threads)
        sandbox.set_rate_limit(RATE)
        time.sleep(1.0)  # let the sandbox's bucket refill
        sandbox.journal.reset()
        client = AcClient(server.url, "sandbox", requests_per_second=RATE)
        elapsed = hammer(client, args.requests, args.threads)
        journal = requests.get(f"{server.url}/__sandbox/journal", timeout=5).json()
    # n requests paced at RATE need (n - 1) / RATE seconds: the first one goes at once.
    achieved = (args.requests - 1) / elapsed
    too_many = journal["statuses"].get("429", 0)
    print(f"{'allowed rate (baseline)':<44} {RATE:8.2f} req/s")
    label = f"achieved, {args.requests} requests, {args.threads} threads"
    print(f"{label:<44} {achieved:8.2f} req/s  = {achieved / RATE:5.3f} x baseline (target >= 0.95)")
    print(f"{'429 answers':<44} {too_many:8d}        (target 0)")
    print(f"{'sandbox unthrottled, for scale':<44} {200 / unthrottled:8.1f} req/s")


if __name__ == "__main__":
    main()
