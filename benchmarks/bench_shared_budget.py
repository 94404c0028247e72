"""Shared rate budget benchmark (issue 15): setup and backfill beside a syncing daemon.

    python benchmarks/bench_shared_budget.py [--contacts 10000] [--seconds 40]

Against a sandbox process that enforces AC's 5 requests/s (429 + Retry-After beyond), with
every acsync process configured for 5 requests/s:
  - shared (acsync now): `acsync run` syncing a 10,000-contact account, then `acsync setup`
    and `acsync backfill` started beside it on the same database, so one budget (the token
    bucket file beside the database) paces all three;
  - baseline: the same three processes, setup and backfill on another database, so each
    process has its own budget (as every process had before).
For the window from setup's start, the sandbox's journal counts every request and every 429.
Prints the requests per second of all processes together beside the account's 5/s, as a ratio,
and the 429s. Target (shared): zero 429s, total within 5 % of 5/s, ≥ 90 % of the budget used.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon_proc import Daemon, acsync, acsync_env
from sandbox_proc import sandbox_process

RATE = 5.0


def window(url: str, workdir: Path, shared: bool, seconds: float, contacts: int) -> dict[str, Any]:
    daemon_db = workdir / ("shared.db" if shared else "daemon.db")
    other_db = daemon_db if shared else workdir / "other.db"
    env = acsync_env(url, RATE)
    daemon = Daemon(daemon_db, env)
    try:
        time.sleep(3)  # the daemon's first sync is under way
        requests.delete(f"{url}/__sandbox/journal", timeout=10)
        t0 = time.monotonic()
        out = subprocess.DEVNULL
        setup = subprocess.run(
            acsync(other_db, "setup"), env=env, stdout=out, stderr=subprocess.PIPE, text=True
        )
        backfill = subprocess.Popen(
            acsync(other_db, "backfill", "--quiet", "--no-push"), env=env, stdout=out, stderr=out
        )
        time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
        journal = requests.get(f"{url}/__sandbox/journal", timeout=10).json()
        elapsed = time.monotonic() - t0
        backfill.send_signal(signal.SIGINT)
        try:
            backfill.wait(timeout=30)
        except subprocess.TimeoutExpired:
            backfill.kill()
            backfill.wait(timeout=10)
    finally:
        daemon.stop()
    statuses = journal["statuses"]
    return {
        "rate": journal["total"] / elapsed,
        "429": statuses.get("429", 0),
        "setup": setup.returncode,
        "setup_error": setup.stderr.strip().splitlines()[-1:] if setup.returncode else [],
        "still_syncing": not daemon.logged(
            lambda line: line.get("job") == "sync" and line.get("msg") == "sync ok"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for shared in (True, False):
            with sandbox_process(args.contacts, RATE) as url:
                results[shared] = window(url, Path(tmp), shared, args.seconds, args.contacts)
    print(
        f"daemon syncing {args.contacts:,} contacts + `acsync setup` + `acsync backfill`, "
        f"{args.seconds:g} s window, AC allows {RATE:g} requests/s"
    )
    for shared, name in ((True, "one shared budget"), (False, "baseline: a budget per process")):
        r = results[shared]
        setup = "ok" if r["setup"] == 0 else f"failed ({' '.join(r['setup_error'])})"
        print(
            f"  {name}: {r['rate']:.2f} requests/s, ratio {r['rate'] / RATE:.3f} of the budget, "
            f"{r['429']} × 429, setup {setup}, daemon still syncing: {'yes' if r['still_syncing'] else 'no'}"
        )


if __name__ == "__main__":
    main()
