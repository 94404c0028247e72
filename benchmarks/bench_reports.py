"""Reports benchmark (issue: reports): each report on 100,000 contacts and 1,000,000 events.

    python benchmarks/bench_reports.py [--contacts N --events N]

Generates the scoring benchmark's dataset, scores it once, then times each report as the
command line runs it (database opened read-only), beside SQLite's plain `sum(points) GROUP BY
contact` over the same events table, measured in the same run. Target: each <= 2 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scoring import CONFIG, NOW, baseline, populate  # noqa: E402

from acsync.config import load_config  # noqa: E402
from acsync.core.durations import parse_duration  # noqa: E402
from acsync.jobs.score import score  # noqa: E402
from acsync.reports.content import content  # noqa: E402
from acsync.reports.dashboard import page  # noqa: E402
from acsync.reports.history import contact_history, distribution  # noqa: E402
from acsync.reports.leads import inactive, segments, top  # noqa: E402
from acsync.reports.past import contacts, score_def  # noqa: E402
from acsync.store import Store  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--events", type=int, default=1_000_000)
    args = p.parse_args()
    settings = load_config(CONFIG)
    rs = settings.ruleset()
    sdef = score_def(rs, None)
    month = parse_duration("1mo")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "reports.db"
        populate(db, args.contacts, args.events)
        with Store.open(db) as store:
            score(store, rs, settings.fingerprints(), NOW)
        base = min(baseline(db) for _ in range(3))
        with Store.open(db, readonly=True) as store:
            conn = store.conn
            year = NOW - timedelta(days=365)
            who = contacts(conn)[len(contacts(conn)) // 2]
            earlier = NOW - timedelta(days=40)
            cases: list[tuple[str, Callable[[], object]]] = [
                ("top 20 (stored)", lambda: top(conn, rs, sdef, None, 20)),
                ("top 20 --at 40 days ago", lambda: top(conn, rs, sdef, earlier, 20)),
                (
                    "segments (stored, against 30 days earlier)",
                    lambda: segments(conn, rs, sdef, NOW, True, 30),
                ),
                ("segments --at 40 days ago", lambda: segments(conn, rs, sdef, earlier, False, 30)),
                ("content (3 content types, 30-day change)", lambda: content(conn, rs, sdef, NOW, 30)),
                ("inactive", lambda: inactive(conn, NOW)),
                ("history of one contact", lambda: contact_history(conn, rs, sdef, who, year, NOW)),
                (
                    "history: distribution, monthly for a year",
                    lambda: distribution(conn, rs, sdef, year, NOW, month),
                ),
                (
                    "html (all of the above, concurrently, rendered)",
                    lambda: page(db, rs, sdef, None, NOW, title="bench"),
                ),
            ]
            print(f"reports on {args.contacts:,} contacts and {args.events:,} events")
            print(f"{'baseline: SQLite sum of points GROUP BY contact':<50} {base:8.3f} s")
            for label, fn in cases:
                seconds = timed(fn)
                print(f"{label:<50} {seconds:8.3f} s = {seconds / base:6.2f} x baseline (target <= 2 s)")


if __name__ == "__main__":
    main()
