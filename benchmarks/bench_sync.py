"""Sync benchmark (issue 13: a sync whose cost grows with change, not history).

    python benchmarks/bench_sync.py [--sizes 1000 5000 20000] [--busy 100 1000] [--backfill 10000]

Requests are counted by the client (retries included); the sandbox runs without a rate limit.
It prints:
  - the requests of an idle sync cycle after a backfill, at each size, beside the smallest
    size's as the baseline (target: flat, <= 10), and the sweep's configured budget beside it;
  - the requests of a cycle after N new opens, clicks and site visits (each on N contacts), at
    the middle size, beside N (target: proportional to N);
  - a backfill of --backfill contacts against the sandbox in its own process: requests per
    contact beside the floor of one trackingLogs call per contact (target <= 1.1), and the
    backfill's peak memory beside an empty acsync process's in the same run.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from sandbox_proc import sandbox_process  # noqa: E402

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def world(size: int) -> tuple[object, object]:
    from acsync.ac import AcClient
    from acsync.sandbox import Sandbox, seed_account
    from acsync.sandbox.app import IN_PROCESS_URL

    sb = Sandbox(seed_account(size, 1, NOW), rate_limit=None)
    return sb, AcClient(IN_PROCESS_URL, "sandbox", session=sb.session(), requests_per_second=1e6)


def idle(size: int, db: str) -> dict[str, int]:
    from acsync.jobs.pull import backfill, sync
    from acsync.store import Store

    sb, client = world(size)
    with Store.open(db) as store:
        backfill(store, client, NOW)  # type: ignore[arg-type]
        sync(store, client, NOW + timedelta(minutes=5))  # type: ignore[arg-type]
        sb.account.now = NOW + timedelta(minutes=10)  # type: ignore[attr-defined]
        report = sync(store, client, NOW + timedelta(minutes=10))  # type: ignore[arg-type]
    return dict(report.requests)


def busy(size: int, n: int, db: str) -> tuple[int, dict[str, int], int]:
    from acsync.jobs.pull import backfill, sync
    from acsync.store import Store

    sb, client = world(size)
    acct = sb.account  # type: ignore[attr-defined]
    with Store.open(db) as store:
        backfill(store, client, NOW)  # type: ignore[arg-type]
        later = NOW + timedelta(minutes=5)
        acct.now = later
        camp = max(acct.campaigns)
        links = [i for i, link in acct.links.items() if link["campaignid"] == str(camp)]
        pixel = next(i for i in links if acct.links[i]["link"] == "open")
        target = next(i for i in links if acct.links[i]["link"] != "open")
        opened = {h["contact"] for i in links for h in acct.link_data[i]}
        fresh = [c for c in acct.contacts if str(c) not in opened][:n]
        for k, cid in enumerate(fresh):
            at = later - timedelta(seconds=k % 3000 + 1)
            acct.add_hit(cid, pixel, at)
            acct.add_hit(cid, target, at)
            acct.add_visit(cid, "https://www.example.com/pricing", at)
        report = sync(store, client, later)  # type: ignore[arg-type]
    found = report.events["open"] + report.events["click"] + report.events["site_visit"]
    return len(fresh), dict(report.requests), found


def child(url: str, db: str, mode: str) -> None:
    if mode == "backfill":
        from acsync.ac import AcClient
        from acsync.clock import utcnow
        from acsync.jobs.pull import backfill
        from acsync.store import Store

        client = AcClient(url, "sandbox", requests_per_second=1000)
        with Store.open(db) as store:
            t0 = time.perf_counter()
            report = backfill(store, client, utcnow())
            out = {"requests": sum(report.requests.values()), "seconds": time.perf_counter() - t0}
    else:  # the baseline: acsync imported, an empty store opened
        import acsync.jobs.pull  # noqa: F401  (what the backfill child imports)
        from acsync.store import Store

        with Store.open(db):
            out = {}
    out["peak_mb"] = peak_mb()
    print(json.dumps(out))


def peak_mb() -> float:
    """This process's peak resident memory. ``ru_maxrss`` survives exec on Linux (a child would
    report the parent's peak), so VmHWM of this address space where there is one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(url: str, db: str, mode: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", url, db, mode], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 20_000])
    p.add_argument("--busy", type=int, nargs="+", default=[100, 1_000])
    p.add_argument("--backfill", type=int, default=10_000)
    p.add_argument("--child", nargs=3, metavar=("URL", "DB", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    from acsync.config import ActiveCampaignConfig, ScheduleConfig
    from acsync.jobs.pull import sweep_budget

    budget = sweep_budget(ActiveCampaignConfig(), ScheduleConfig().sync)
    with tempfile.TemporaryDirectory() as tmp:
        print("idle sync cycle after a backfill (requests; sweep off)")
        base = None
        for size in args.sizes:
            req = idle(size, os.path.join(tmp, f"idle{size}.db"))
            total = sum(req.values())
            base = base or total
            detail = ", ".join(f"{k} {v}" for k, v in sorted(req.items()))
            ratio = total / base
            print(
                f"  {size:7,} contacts {total:3} requests = {ratio:4.2f} x {args.sizes[0]:,} (<= 10) {detail}"
            )
        print(f"  plus the sweep: {budget} trackingLogs a cycle with the defaults, at any size (configured)")
        middle = args.sizes[len(args.sizes) // 2]
        print(f"a cycle after N new opens, clicks and site visits, at {middle:,} contacts")
        for n in args.busy:
            got, req, found = busy(middle, n, os.path.join(tmp, f"busy{n}.db"))
            total = sum(req.values())
            logs, pages = req.get("GET contacts/{id}/trackingLogs", 0), req.get("GET contacts", 0)
            print(
                f"  N = {got:5,}  {total:6,} requests  = {total / got:5.3f} x N;  events found {found:,} "
                f"of {3 * got:,} [trackingLogs {logs:,}, contact pages {pages}, "
                f"opens pages {req.get('GET campaigns/{id}/opens', 0)}]"
            )
        with sandbox_process(args.backfill, 10_000.0) as url:
            empty = run_child(url, os.path.join(tmp, "empty.db"), "baseline")
            r = run_child(url, os.path.join(tmp, "backfill.db"), "backfill")
        per = r["requests"] / args.backfill
        print(f"backfill of {args.backfill:,} contacts (sources chosen by probing)")
        print(f"  requests {r['requests']:9,.0f}  = {per:5.3f} per contact, x the floor of 1 (<= 1.1)")
        mem, base_mem = r["peak_mb"], empty["peak_mb"]
        print(
            f"  peak memory {mem:5.0f} MB  empty acsync process {base_mem:4.0f} MB  = {mem / base_mem:4.2f} x"
        )
        print(f"  wall time {r['seconds']:.0f} s (sandbox without a rate limit)")


if __name__ == "__main__":
    main()
