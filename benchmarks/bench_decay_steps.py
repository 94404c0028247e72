"""Exact decay steps (issue 16): what a step at every whole-point change costs.

    python benchmarks/bench_decay_steps.py [--contacts 2000] [--events 40]

The same seeded events for ``--contacts`` contacts are scored two ways: with the example-like
rules whose awards expire (a step function: its steps are exact by construction, the baseline),
and with the same rules decaying (``half_life`` instead of ``expires_after``), whose steps are
now solved at every whole second the rounded score changes. Prints, for each: the time to build
every ledger and its steps, the steps per contact, and the ratio decaying / expiring.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acsync.config import validate  # noqa: E402
from acsync.core.event import Event, parse_event  # noqa: E402
from acsync.core.ledger import build_ledger  # noqa: E402
from acsync.core.scoring import steps  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rules(decay: bool) -> dict[str, object]:
    life = {"half_life": "14d"} if decay else {"expires_after": "90d"}
    return {
        "scores": [{"name": "lead_score", "floor": 0}],
        "rules": [
            {"name": "Open", "on": "open", "points": 5, **life},
            {"name": "Click", "on": "click", "points": 10, **life},
            {"name": "Visit", "on": "site_visit", "points": 10, **life},
            {"name": "Order", "on": "order", "points": 50},
        ],
        "inactivity": [{"name": "Quiet", "without": ["open", "click"], "for": "60d", "points": -50}],
    }


def events(rng: random.Random, n: int, contact: int) -> list[Event]:
    out = []
    for i in range(n):
        kind = rng.choice(["open", "open", "click", "site_visit", "order"])
        at = (T0 + timedelta(minutes=rng.randrange(300 * 24 * 60))).isoformat()
        d: dict[str, object] = {"type": kind, "contact_id": str(contact), "at": at}
        d.update({"campaign": str(i)} if kind in ("open", "click") else {})
        d.update({"url": f"https://x/{i}"} if kind in ("click", "site_visit") else {})
        d.update({"name": f"o{i}"} if kind == "order" else {})
        out.append(parse_event(d))
    return sorted(out, key=lambda e: (e.at, e.key))


def run(decay: bool, people: list[list[Event]]) -> tuple[float, float]:
    rs = validate(rules(decay), {}).ruleset()
    start = time.perf_counter()
    total = 0
    for evs in people:
        total += len(steps(build_ledger(evs, rs, T0), rs))
    return time.perf_counter() - start, total / len(people)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--events", type=int, default=40)
    args = parser.parse_args()
    rng = random.Random(16)
    people = [events(rng, args.events, c) for c in range(args.contacts)]
    base, base_steps = run(False, people)
    dec, dec_steps = run(True, people)
    print(f"ledgers + steps of {args.contacts} contacts, {args.events} events each")
    print(f"  expiring (baseline): {base:.2f} s, {base_steps:.1f} steps/contact")
    print(f"  decaying (exact)   : {dec:.2f} s, {dec_steps:.1f} steps/contact")
    print(f"  ratio decaying/expiring: time {dec / base:.2f}, steps {dec_steps / base_steps:.2f}")


if __name__ == "__main__":
    main()
