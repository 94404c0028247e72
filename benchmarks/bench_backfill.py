"""Backfill benchmark (issue: pull from AC): a sandbox account of 10,000 and 50,000 contacts.

    python benchmarks/bench_backfill.py [--sizes 10000 50000] [--rate 100]

The sandbox runs as `acsync sandbox` in its own process with its rate limit raised to --rate
requests/s (at AC's real 5/s a 10,000-contact backfill takes over half an hour); the backfill runs
in a child process at the same rate, so its peak memory is its own. For each size it prints:
  - requests made beside the minimum the design needs, computed from the sandbox's own data
    (contact pages + campaign list + each campaign's links + each link's hit pages + one
    trackingLogs call per contact + order, tag and contactTag pages), as a ratio (target <= 1.05);
  - wall time beside requests / rate limit, as a ratio (target <= 1.1: the pipe is kept full);
  - peak memory (target <= 300 MB at every size).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from sandbox_proc import sandbox_process  # noqa: E402


def pages(n: int, size: int = 100) -> int:
    """Offset/keyset pages needed for n items: a short (possibly empty) last page ends it."""
    return n // size + 1


def minimum(stats: dict[str, object]) -> int:
    hits: list[int] = stats["hits_per_link"]  # type: ignore[assignment]
    logs: list[int] = stats["tracking_logs_per_contact"]  # type: ignore[assignment]
    return (
        pages(int(stats["contacts"]))  # type: ignore[call-overload]
        + pages(int(stats["campaigns"]))  # type: ignore[call-overload]
        + int(stats["campaigns"])  # type: ignore[call-overload]
        + sum(pages(h) for h in hits)
        + sum(max(1, pages(n) if n >= 100 else 1) for n in logs)
        + pages(int(stats["orders"]))  # type: ignore[call-overload]
        + pages(int(stats["tags"]))  # type: ignore[call-overload]
        + pages(int(stats["contact_tags"]))  # type: ignore[call-overload]
    )


def child(url: str, db: str, rate: float) -> None:
    from acsync.ac import AcClient
    from acsync.clock import utcnow
    from acsync.jobs.pull import backfill
    from acsync.store import Store

    client = AcClient(url, "sandbox", requests_per_second=rate)
    with Store.open(db) as store:
        t0 = time.perf_counter()
        report = backfill(store, client, utcnow())
        elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "requests": sum(report.requests.values()),
                "peak_mb": peak,
                "events": report.new,
            }
        )
    )


def run(size: int, rate: float) -> dict[str, float]:
    with sandbox_process(size, rate) as url:
        stats = requests.get(f"{url}/__sandbox/stats", timeout=30).json()
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, os.path.join(tmp, "b.db"), str(rate)],
                check=True,
                capture_output=True,
                text=True,
            )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        journal = requests.get(f"{url}/__sandbox/journal", timeout=30).json()
    result["minimum"] = minimum(stats)
    result["throttled"] = journal["statuses"].get("429", 0)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--child", nargs=3, metavar=("URL", "DB", "RATE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], args.child[1], float(args.child[2]))
        return
    for size in args.sizes:
        r = run(size, args.rate)
        paced = r["requests"] / args.rate
        print(f"backfill of {size:,} contacts ({r['events']:,} events), sandbox limit {args.rate:g} req/s")
        extra, slow = r["requests"] / r["minimum"], r["seconds"] / paced
        print(f"  requests      {r['requests']:9,.0f}  minimum {r['minimum']:9,}  = {extra:5.3f} x (<= 1.05)")
        print(
            f"  wall time     {r['seconds']:9.1f} s  requests/rate {paced:7.1f} s  = {slow:5.3f} x (<= 1.1)"
        )
        print(f"  peak memory   {r['peak_mb']:9.0f} MB (target <= 300 MB); 429s met: {r['throttled']}")


if __name__ == "__main__":
    main()
