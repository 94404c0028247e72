"""``acsync simulate``: replay the stored events under another ruleset; write nothing."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from acsync.core.rules import Ruleset
from acsync.core.scoring import evaluate
from acsync.store.read import all_contacts, replayed_ledgers


@dataclass
class Change:
    contact_id: str | None
    email: str | None
    scores: dict[str, tuple[int, int]]  # name → (now, would be); only those that differ
    segment: tuple[str | None, str | None] | None
    tags_added: list[str]
    tags_removed: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "email": self.email,
            "scores": {k: {"current": a, "simulated": b} for k, (a, b) in self.scores.items()},
            "segment": None
            if self.segment is None
            else {"current": self.segment[0], "simulated": self.segment[1]},
            "tags_added": self.tags_added,
            "tags_removed": self.tags_removed,
        }


@dataclass
class Simulation:
    contacts: int = 0
    score_changes: int = 0
    segment_changes: int = 0
    tag_changes: int = 0
    changes: list[Change] = field(default_factory=list)


def simulate(conn: sqlite3.Connection, current: Ruleset, other: Ruleset, at: datetime) -> Simulation:
    """Both rulesets replayed from the same stored events at ``at``, so the comparison does not
    depend on when ``acsync score`` last ran."""
    sim = Simulation()
    main_now, main_sim = current.scores[0].name, other.scores[0].name
    for info, (mine, theirs) in replayed_ledgers(conn, all_contacts(conn), [current, other]):
        sim.contacts += 1
        a, b = evaluate(mine, current, at), evaluate(theirs, other, at)
        names = sorted(a.rounded.keys() | b.rounded.keys())
        scores = {
            n: (a.rounded.get(n, 0), b.rounded.get(n, 0))
            for n in names
            if a.rounded.get(n, 0) != b.rounded.get(n, 0)
        }
        seg = (a.segments.get(main_now), b.segments.get(main_sim))
        added, removed = sorted(b.tags.keys() - a.tags.keys()), sorted(a.tags.keys() - b.tags.keys())
        if scores or seg[0] != seg[1] or added or removed:
            sim.score_changes += bool(scores)
            sim.segment_changes += seg[0] != seg[1]
            sim.tag_changes += bool(added or removed)
            sim.changes.append(
                Change(info.ac_id, info.email, scores, seg if seg[0] != seg[1] else None, added, removed)
            )
    return sim
