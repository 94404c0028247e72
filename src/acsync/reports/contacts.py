"""``acsync report contacts``: every contact with its scores, wanted tags and segment.

Without ``--at`` it shows the stored state (what ``acsync score`` computed and push writes to
AC); with ``--at`` it evaluates at that instant the ledger of every contact there then (created
in AC, or active, by then), as the other reports at an instant count them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from acsync.core.rules import Ruleset
from acsync.core.scoring import evaluate
from acsync.iters import batched
from acsync.reports.past import existing
from acsync.store.events import ledger_by_contact
from acsync.store.read import all_contacts


@dataclass
class ContactRow:
    contact_id: str | None
    email: str | None
    scores: dict[str, int]
    tags: list[str]
    segment: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "email": self.email,
            "scores": self.scores,
            "tags": self.tags,
            "segment": self.segment,
        }


def contacts_report(conn: sqlite3.Connection, ruleset: Ruleset, at: datetime | None) -> list[ContactRow]:
    main = ruleset.scores[0].name
    rows: list[ContactRow] = []
    if at is None:
        scores: dict[int, dict[str, tuple[int, str | None]]] = {}
        for c, name, rounded, segment in conn.execute(
            "SELECT contact, score, rounded, segment FROM scores ORDER BY contact, score"
        ):
            scores.setdefault(c, {})[name] = (rounded, segment)
        tags: dict[int, list[str]] = {}
        for c, tag in conn.execute("SELECT contact, tag FROM tag_state ORDER BY contact, tag"):
            tags.setdefault(c, []).append(tag)
        for info in all_contacts(conn):
            mine = scores.get(info.id, {})
            rows.append(
                ContactRow(
                    info.ac_id,
                    info.email,
                    {s.name: mine[s.name][0] for s in ruleset.scores if s.name in mine},
                    tags.get(info.id, []),
                    mine.get(main, (0, None))[1],
                )
            )
        return rows
    there = existing(conn, at)
    for batch in batched([c for c in all_contacts(conn) if c.id in there], 2000):
        ledgers = dict(ledger_by_contact(conn, [c.id for c in batch]))
        for info in batch:
            state = evaluate(ledgers.get(info.id, []), ruleset, at)
            rows.append(
                ContactRow(info.ac_id, info.email, state.rounded, sorted(state.tags), state.segments[main])
            )
    return rows
