"""Table benchmark (issue 16: large tables as quick as CSV): `report contacts` and `simulate`
on 100,000 contacts, as the command line runs them.

    make bench                       # or: python benchmarks/bench_tables.py [--contacts N --events N]

Builds the scoring benchmark's store (contacts and events written straight into the schema,
then a full rescoring), then runs each command in a child process with its output to a file,
the best of two runs: `report contacts` as a table against the same command as CSV (the
baseline), and `simulate` as a table against the same as JSON. A table shows its first 50 rows
and a note; before, it rendered every row through rich (46 s for `report contacts`, 42 s for
`simulate` on 100,000 contacts). Target: a table within 1.2 x its baseline.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scoring import CONFIG, full_rescore, populate  # noqa: E402


def timed(db: Path, args: list[str], out: Path, runs: int = 2) -> tuple[float, int]:
    """Best wall time of ``acsync --db DB ARGS > out`` (a whole process, as people run it), and
    the bytes it wrote."""
    best = float("inf")
    for _ in range(runs):
        with out.open("wb") as sink:
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "acsync", "--config", str(CONFIG), "--db", str(db), *args],
                check=True,
                stdout=sink,
                stderr=subprocess.DEVNULL,
            )
            best = min(best, time.perf_counter() - t0)
    return best, out.stat().st_size


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--events", type=int, default=200_000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        populate(db, args.contacts, args.events)
        full_rescore(db, None)
        built = time.perf_counter() - t0
        rules = Path(tmp) / "other.toml"  # purchases worth more: every buyer would change
        rules.write_text(CONFIG.read_text(encoding="utf-8").replace("points = 50\n", "points = 200\n"))
        out = Path(tmp) / "out"
        contacts = ["report", "contacts", "--format"]
        csv_s, csv_b = timed(db, [*contacts, "csv"], out)
        table_s, table_b = timed(db, [*contacts, "table"], out)
        simulate = ["simulate", "--rules", str(rules), "--format"]
        json_s, json_b = timed(db, [*simulate, "json"], out, runs=1)
        sim_s, sim_b = timed(db, [*simulate, "table"], out, runs=1)
    rows = [
        (f"store of {args.contacts:,} contacts, {args.events:,} events, scored", f"{built:8.2f} s", ""),
        ("baseline: report contacts --format csv", f"{csv_s:8.2f} s", f"{csv_b / 1e6:.1f} MB"),
        (
            "report contacts (table: 50 rows and a note)",
            f"{table_s:8.2f} s",
            f"= {table_s / csv_s:4.2f} x csv (target <= 1.2), {table_b / 1e3:.1f} kB",
        ),
        ("baseline: simulate --format json", f"{json_s:8.2f} s", f"{json_b / 1e6:.1f} MB"),
        (
            "simulate (table: 50 rows and a note)",
            f"{sim_s:8.2f} s",
            f"= {sim_s / json_s:4.2f} x json, {sim_b / 1e3:.1f} kB",
        ),
    ]
    for label, figure, note in rows:
        print(f"{label:<62} {figure:>12}  {note}")


if __name__ == "__main__":
    main()
