"""Seeded synthetic activity: the bundled example dataset and the benchmarks' data.

    python benchmarks/datagen.py --contacts 50 --events 1000 > examples/events.jsonl

Contacts get a persona (engaged, fading, quiet) that shapes how much they do and when they stop.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

PAGES = [
    "https://www.example.com/blog/lead-scoring-101",
    "https://www.example.com/blog/email-deliverability",
    "https://www.example.com/webinar/spring-launch",
    "https://www.example.com/pricing",
    "https://www.example.com/",
]
START = datetime(2026, 5, 1, tzinfo=UTC)
END = datetime(2026, 11, 20, tzinfo=UTC)


def generate(
    contacts: int, events: int, seed: int = 7, start: datetime = START, end: datetime = END
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    personas = [rng.choices(["engaged", "fading", "quiet"], [3, 4, 3])[0] for _ in range(contacts)]
    stop = [
        span if p == "engaged" else span * rng.uniform(0.2, 0.7) if p == "fading" else span * 0.1
        for p in personas
    ]
    weights = [5 if p == "engaged" else 3 if p == "fading" else 1 for p in personas]
    campaigns = [str(100 + i) for i in range(max(3, events // max(contacts, 1) // 2))]
    who = rng.choices(range(contacts), weights, k=events)
    for n, c in enumerate(who):
        at = start + timedelta(seconds=int(rng.uniform(0, stop[c])))
        kind = rng.choices(
            ["open", "click", "site_visit", "subscribe", "form_submit", "order"], [40, 20, 30, 4, 3, 3]
        )[0]
        e: dict[str, Any] = {"type": kind, "contact_id": str(1000 + c), "at": at.isoformat()}
        if n % 7 == 0:
            e["email"] = f"contact{1000 + c}@example.com"
        if kind in ("open", "click"):
            e["campaign"] = rng.choice(campaigns)
        if kind in ("click", "site_visit"):
            e["url"] = rng.choice(PAGES)
        if kind == "subscribe":
            e["list"] = "1"
        if kind == "form_submit":
            e["form"] = "3"
        if kind == "order":
            e["name"] = f"order-{n}"
            e["value"] = round(rng.uniform(20, 400), 2)
        yield e


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--contacts", type=int, default=40)
    p.add_argument("--events", type=int, default=400)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    events = sorted(generate(args.contacts, args.events, args.seed), key=lambda e: e["at"])
    for e in events:
        sys.stdout.write(json.dumps(e) + "\n")


if __name__ == "__main__":
    main()
