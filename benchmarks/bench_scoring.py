"""Scoring benchmark (issue: scoring engine): 1,000,000 events over 100,000 contacts.

    make bench                       # or: python benchmarks/bench_scoring.py [--contacts N --events N]

Prints, each beside a baseline measured in the same run (SQLite's own plain sum of points
GROUP BY contact over the same events table), as a ratio:
  - full rescoring (read every event, write every ledger and score), and its peak memory;
  - rescoring 1,000 changed contacts.
Targets: full ≤ 20 s and ≤ 500 MB; 1,000 changed ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from acsync.config import load_config
from acsync.core.event import derive_key
from acsync.core.timefmt import iso
from acsync.jobs.ingest import ingest_lines
from acsync.jobs.score import score
from acsync.store import Store

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.example.toml"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
START = NOW - timedelta(days=365)
PAGES = [
    "https://www.example.com/blog/a",
    "https://www.example.com/webinar/x",
    "https://www.example.com/pricing",
]
POINTS_SQL = (
    "SELECT contact, sum(CASE type WHEN 'open' THEN 5 WHEN 'click' THEN 10 WHEN 'site_visit' THEN 10 "
    "WHEN 'subscribe' THEN 5 WHEN 'order' THEN 50 ELSE 0 END) FROM events GROUP BY contact"
)


def populate(path: Path, contacts: int, events: int, seed: int = 1) -> None:
    """Write contacts and events straight into the schema (ingest is not what is measured)."""
    rng = random.Random(seed)
    span = int((NOW - START).total_seconds())
    with Store.open(path) as store, store.db.atomic():
        store.conn.executemany(
            "INSERT INTO contacts (id, ac_id, email, created_at, dirty) VALUES (?, ?, ?, ?, 1)",
            ((c, str(c), f"c{c}@example.com", iso(START)) for c in range(1, contacts + 1)),
        )
        rows = []
        for n in range(events):
            c = rng.randint(1, contacts)
            t = START + timedelta(seconds=rng.randrange(span))
            kind = rng.choices(["open", "click", "site_visit", "subscribe", "order"], [45, 20, 30, 3, 2])[0]
            attrs: dict[str, str | None] = {
                "campaign": str(rng.randrange(60)) if kind in ("open", "click") else None,
                "url": rng.choice(PAGES) if kind in ("click", "site_visit") else None,
                "list": "1" if kind == "subscribe" else None,
                "name": f"o{n}" if kind == "order" else None,
            }
            key = derive_key(kind, str(c), t, attrs)
            rows.append((c, iso(t), key, kind, attrs["campaign"], attrs["url"], attrs["list"], attrs["name"]))
            if len(rows) == 100_000:
                _insert(store, rows)
                rows = []
        _insert(store, rows)


def _insert(store: Store, rows: list[tuple[object, ...]]) -> None:
    store.conn.executemany(
        "INSERT OR IGNORE INTO events (contact, at, key, type, campaign, url, list, name, source, "
        "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'bench', '2026-11-21T00:00:00Z')",
        rows,
    )


def baseline(path: Path) -> float:
    with Store.open(path, readonly=True) as store:
        t0 = time.perf_counter()
        store.conn.execute(POINTS_SQL).fetchall()
        return time.perf_counter() - t0


def full_rescore(path: Path, workers: int | None) -> dict[str, float]:
    """Run in a child process, so its peak memory is its own (plus its workers')."""
    settings = load_config(CONFIG)
    with Store.open(path) as store:
        t0 = time.perf_counter()
        report = score(store, settings.ruleset(), settings.fingerprints(), NOW, full=True, workers=workers)
        elapsed = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker
    used = report.workers
    return {"seconds": elapsed, "peak_mb": own + used * worker, "contacts": report.evaluated, "workers": used}


def changed_rescore(path: Path, changed: int, seed: int = 2) -> float:
    settings = load_config(CONFIG)
    rng = random.Random(seed)
    with Store.open(path) as store:
        total = store.conn.execute("SELECT max(id) FROM contacts").fetchone()[0]
        who = rng.sample(range(1, total + 1), changed)
        new = [
            json.dumps(
                {"type": "click", "contact_id": str(c), "at": iso(NOW), "campaign": "999", "url": PAGES[0]}
            )
            for c in who
        ]
        ingest_lines(store, new, "bench", NOW)
        t0 = time.perf_counter()
        report = score(store, settings.ruleset(), settings.fingerprints(), NOW)
        elapsed = time.perf_counter() - t0
        assert report.rebuilt == changed, report
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--changed", type=int, default=1_000)
    p.add_argument("--child-full", metavar="DB", help=argparse.SUPPRESS)
    p.add_argument("--child-workers", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_full:
        print(json.dumps(full_rescore(Path(args.child_full), args.child_workers)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        populate(db, args.contacts, args.events)
        elapsed = time.perf_counter() - t0
        print(f"generated {args.events:,} events over {args.contacts:,} contacts in {elapsed:.1f} s")
        base = min(baseline(db) for _ in range(3))
        full, serial = (
            json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--child-full", str(db), *extra],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for extra in ([], ["--child-workers", "0"])
        )
        changed = changed_rescore(db, args.changed)
        base_after = min(baseline(db) for _ in range(3))
    base = min(base, base_after)
    rows = [
        ("baseline: SQLite sum of points GROUP BY contact", f"{base:8.3f} s", ""),
        (
            f"full rescoring, {full['contacts']:,} contacts, {full['workers']} worker processes",
            f"{full['seconds']:8.3f} s",
            f"= {full['seconds'] / base:6.1f} x baseline (target <= 20 s)",
        ),
        ("  its peak memory, all processes", f"{full['peak_mb']:8.0f} MB", "(target <= 500 MB)"),
        (
            "full rescoring in one process",
            f"{serial['seconds']:8.3f} s",
            f"= {serial['seconds'] / base:6.1f} x baseline, {serial['peak_mb']:.0f} MB",
        ),
        (
            f"rescoring {args.changed:,} changed contacts",
            f"{changed:8.3f} s",
            f"= {changed / base:6.2f} x baseline (target <= 0.5 s)",
        ),
    ]
    for label, figure, note in rows:
        print(f"{label:<58} {figure:>12}  {note}")


if __name__ == "__main__":
    main()
