"""Push benchmark (issue: write-back): 10,000 changed scores written to the sandbox.

    python benchmarks/bench_push.py [--contacts 10000] [--one-by-one-rate 200]

Each run starts a sandbox of --contacts contacts in its own process, pulls its contacts (so AC
has "seen" them), gives every contact a purchase (+50, and the Hot Lead tag for some), scores,
runs `setup`, then times `push` alone:
  - with bulk import, at AC's real limits (5 requests/s, 100 imports a minute): requests per
    changed contact (target <= 0.01), and wall time beside what the limits allow: the imports
    paced at 100 a minute plus one settle-and-poll wait (target close to 1 x);
  - with bulk import switched off (bulk_from above the contact count), the sandbox's limit
    raised to --one-by-one-rate so it ends in minutes rather than the ~40 minutes AC's 5/s
    would take: requests per changed contact (>= 1), and wall time beside requests / rate.
Both runs read AC back and check it holds every contact's score.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from sandbox_proc import sandbox_process  # noqa: E402

from acsync.ac import AcClient  # noqa: E402
from acsync.clock import utcnow  # noqa: E402
from acsync.config import Settings, validate  # noqa: E402
from acsync.core.event import parse_event  # noqa: E402
from acsync.jobs.pull import Puller, _contacts  # noqa: E402
from acsync.jobs.push import push  # noqa: E402
from acsync.jobs.score import score  # noqa: E402
from acsync.jobs.setup import setup  # noqa: E402
from acsync.progress import Silent  # noqa: E402
from acsync.store import Store  # noqa: E402


@dataclass
class Result:
    changed: int
    requests: int
    seconds: float
    batches: int
    correct: bool


def settings(bulk_from: int) -> Settings:
    import tomllib

    data = tomllib.loads((ROOT / "config.example.toml").read_text())
    data["push"] = {"bulk_from": bulk_from}
    return validate(data, {})


def run(contacts: int, rate: float, bulk_from: int) -> Result:
    cfg = settings(bulk_from)
    now = utcnow()
    with sandbox_process(contacts, rate, seed=7) as url, tempfile.TemporaryDirectory() as tmp:
        client = AcClient(url, "sandbox", requests_per_second=rate)
        with Store.open(Path(tmp) / "push.db") as store:
            puller = Puller(store, client, now, "bench")
            _contacts(puller, Silent())
            ids = [r[0] for r in store.conn.execute("SELECT ac_id FROM contacts ORDER BY id")]
            events = [
                parse_event(
                    {
                        "type": "order",
                        "contact_id": ac_id,
                        "at": (now - timedelta(days=1 + i % 30)).isoformat(),
                        "value": 10 + i % 7,
                    }
                )
                for i, ac_id in enumerate(ids)
            ]
            events += [
                parse_event(
                    {
                        "type": "site_visit",
                        "contact_id": ac_id,
                        "at": (now - timedelta(days=d)).isoformat(),
                        "url": f"https://www.example.com/pricing/{d}",
                    }
                )
                for i, ac_id in enumerate(ids)
                if i % 4 == 0
                for d in range(1, 6)
            ]
            puller.save(events)
            score(store, cfg.ruleset(), cfg.fingerprints(), now)
            changed = store.conn.execute("SELECT count(DISTINCT contact) FROM outbox").fetchone()[0]
            setup(store, client, cfg, dry_run=False)
            time.sleep(1.0)  # a full bucket again
            before = sum(client.requests.values())
            t0 = time.perf_counter()
            report = push(store, client, cfg.push, now)
            seconds = time.perf_counter() - t0
            assert sum(client.requests.values()) - before == sum(report.requests.values())
            want = dict(
                store.conn.execute(
                    "SELECT c.ac_id, s.rounded FROM scores s JOIN contacts c ON c.id = s.contact"
                ).fetchall()
            )
        field = next(f["id"] for p in client.field_pages() for f in p if f["title"] == "Lead Score")
        sample = list(want.items())[:: max(1, len(want) // 50)]
        correct = all(_field_value(client, ac_id, field) == str(value) for ac_id, value in sample)
    return Result(changed, sum(report.requests.values()), seconds, report.batches, correct)


def _field_value(client: AcClient, ac_id: str, field: str) -> str | None:
    body = client.request("GET", f"contacts/{ac_id}/fieldValues", endpoint="contacts/{id}/fieldValues")
    return next((fv["value"] for fv in body["fieldValues"] if fv["field"] == field), None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=10_000)
    p.add_argument("--one-by-one-rate", type=float, default=200.0)
    args = p.parse_args()
    bulk = run(args.contacts, 5.0, bulk_from=10)
    single = run(args.contacts, args.one_by_one_rate, bulk_from=10**9)
    allowed = (bulk.batches - 1) * 60 / 100 + 2.0  # imports at 100/min, then the last one settles
    print(f"push of {bulk.changed:,} changed contacts to the sandbox")
    print(
        f"  bulk import   {bulk.requests:6,} requests = {bulk.requests / bulk.changed:.4f} per contact "
        f"(<= 0.01); {bulk.batches} imports; {bulk.seconds:6.1f} s vs limits {allowed:6.1f} s "
        f"= {bulk.seconds / allowed:.2f} x; AC read back ok: {bulk.correct}"
    )
    paced = single.requests / args.one_by_one_rate
    print(
        f"  one by one    {single.requests:6,} requests = {single.requests / single.changed:.4f} per contact "
        f"(>= 1); {single.seconds:6.1f} s vs requests/rate {paced:6.1f} s = {single.seconds / paced:.2f} x; "
        f"AC read back ok: {single.correct}"
    )
    print(f"  ratio         bulk uses {bulk.requests / single.requests:.4f} x the requests of one by one")


if __name__ == "__main__":
    main()
