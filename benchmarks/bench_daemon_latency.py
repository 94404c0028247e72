"""Daemon benchmark (issue 15): webhook-to-event latency while a 10,000-contact sync runs.

    python benchmarks/bench_daemon_latency.py [--contacts 10000] [--webhooks 60]

Two runs of `acsync run`, each against its own sandbox process at AC's 5 requests/s with the
default [schedule] (ingest every 5 s):
  - baseline: an idle daemon (a 30-contact account whose first sync is done);
  - busy: a daemon whose first sync of a 10,000-contact account is in progress (one
    trackingLogs call per contact at 5/s: over half an hour) for the whole measurement.
Webhooks are posted one every 0.25 s; a reader polls the inbox (read-only, every 20 ms) for the
moment each one is ingested. Prints p50 / p99 of received → ingested, busy beside idle as a
ratio. Target: the same figure (ratio ≈ 1; the ingest interval bounds both): no webhook waits
for the sync. Before, jobs ran one at a time, so a webhook waited for the whole sync.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon_proc import Daemon, acsync_env
from sandbox_proc import sandbox_process

RATE = 5.0


def body(i: int) -> bytes:
    return (
        f"type=open&date_time=2026-11-20T06%3A00%3A00-05%3A00&initiated_from=public&initiated_by=public"
        f"&list=0&contact%5Bid%5D={i + 1}&contact%5Bemail%5D=bench{i}%40example.com"
        f"&campaign%5Bid%5D=1&campaign%5Bname%5D=Nov"
    ).encode()


def latencies(db: Path, url: str, count: int) -> list[float]:
    """Post ``count`` webhooks 0.25 s apart; seconds from each 200 to its row leaving 'new'."""
    uri = f"{db.resolve().as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=30) as conn:
        first = conn.execute("SELECT coalesce(max(id), 0) FROM inbox").fetchone()[0]
    posted: dict[int, float] = {}
    done: dict[int, float] = {}
    finished = threading.Event()

    def watch() -> None:
        conn = sqlite3.connect(uri, uri=True, timeout=30)  # its own: connections stay in their thread
        deadline = time.monotonic() + count * 0.25 + 60
        while time.monotonic() < deadline and not (finished.is_set() and len(done) >= len(posted)):
            now = time.monotonic()
            for (row_id,) in conn.execute("SELECT id FROM inbox WHERE id > ? AND status != 'new'", [first]):
                done.setdefault(row_id, now)
            time.sleep(0.02)
        conn.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    with requests.Session() as session:
        for i in range(count):
            r = session.post(
                url, data=body(i), headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10
            )
            r.raise_for_status()
            posted[first + i + 1] = time.monotonic()
            time.sleep(0.25)
    finished.set()
    watcher.join()
    missing = set(posted) - set(done)
    if missing:
        raise RuntimeError(f"{len(missing)} webhooks never ingested")
    return [done[k] - posted[k] for k in posted]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(contacts: int, count: int, busy: bool, workdir: Path) -> tuple[list[float], bool]:
    db = workdir / f"{'busy' if busy else 'idle'}.db"
    with sandbox_process(contacts, RATE) as url:
        daemon = Daemon(db, acsync_env(url, RATE))
        try:
            if busy:
                time.sleep(5)  # the sync is well under way
            else:
                daemon.wait_for(lambda line: line.get("job") == "sync" and line.get("msg") == "sync ok", 300)
            figures = latencies(db, daemon.hook_url, count)
            syncing = not daemon.logged(lambda line: line.get("job") == "sync")
        finally:
            took = daemon.stop()
        print(f"  {'busy' if busy else 'idle'}: stopped in {took:.1f} s after SIGTERM")
    return figures, syncing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--webhooks", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        idle, _ = run(30, args.webhooks, False, Path(tmp))
        busy, syncing = run(args.contacts, args.webhooks, True, Path(tmp))
    print(f"webhook → ingested, {args.webhooks} webhooks, ingest every 5 s, AC at {RATE:g} requests/s")
    for name, q in (("p50", 50), ("p99", 99)):
        a, b = pct(idle, q), pct(busy, q)
        during = f"during a {args.contacts:,}-contact sync"
        print(f"  {name}: idle {a:.2f} s   {during} {b:.2f} s   ratio {b / a:.2f}")
    print(f"  the sync was still running at the end: {'yes' if syncing else 'NO (measurement invalid)'}")


if __name__ == "__main__":
    main()
