"""Scores at any instant, read from ``score_steps`` (each score's value over all time, written
with the ledger): one index seek per contact, no ledger evaluated.

A contact counts at an instant once it exists then: from its creation in AC, or else from its
first event.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.scoring import clamp, round_score
from acsync.core.timefmt import from_iso, human, iso


def as_of(conn: sqlite3.Connection, at: datetime | None) -> str:
    """A report's instant in words: ``at 2026-03-01 09:30 UTC``, or for the stored state (``at``
    None) ``as last scored, 2026-03-01 09:30 UTC`` (the last ``acsync score``)."""
    if at is not None:
        return f"at {human(at)}"
    row = conn.execute("SELECT value FROM meta WHERE key = 'scored_at'").fetchone()
    return (
        "as stored (never scored: run `acsync score`)"
        if row is None
        else f"as last scored, {human(from_iso(row[0]))}"
    )


@dataclass(frozen=True)
class Contact:
    id: int
    ac_id: str | None
    email: str | None
    since: str | None  # when it started to exist for acsync: created in AC, or its first event

    @property
    def label(self) -> str:
        return self.email or self.ac_id or f"#{self.id}"

    def exists_at(self, at: datetime) -> bool:
        """Whether the contact is there at ``at``: created in AC by then, or active by then."""
        return self.since is not None and self.since <= iso(at)


def contacts(conn: sqlite3.Connection) -> list[Contact]:
    rows = conn.execute(
        "SELECT id, ac_id, email, coalesce(created_at, (SELECT min(at) FROM events WHERE contact = c.id)) "
        "FROM contacts c ORDER BY id"
    )
    return [Contact(*r) for r in rows]


def existing(conn: sqlite3.Connection, at: datetime) -> set[int]:
    """The contacts there at ``at`` (a report at a past instant leaves the others out)."""
    return {c.id for c in contacts(conn) if c.exists_at(at)}


def score_def(ruleset: Ruleset, name: str | None) -> ScoreDef:
    """The named score, or the first; ValueError naming the choices."""
    if name is None:
        return ruleset.scores[0]
    for s in ruleset.scores:
        if s.name == name:
            return s
    raise ValueError(f"no score {name!r}; scores: {', '.join(s.name for s in ruleset.scores)}")


def start_value(sdef: ScoreDef) -> int:
    """A score before anything happened to the contact."""
    return round_score(clamp(0.0, sdef))


def values_at(
    conn: sqlite3.Connection, sdef: ScoreDef, at: str, ids: Iterable[int] | None = None
) -> dict[int, int]:
    """The rounded score of every contact (or of ``ids``) at ``at``."""
    seek = "SELECT value FROM score_steps WHERE contact = c.id AND score = ? AND at <= ? ORDER BY at DESC LIMIT 1"  # noqa: E501
    if ids is None:
        rows = conn.execute(f"SELECT c.id, ({seek}) FROM contacts c", [sdef.name, at])
    else:
        rows = conn.execute(
            f"SELECT c.id, ({seek}) FROM contacts c WHERE c.id IN (SELECT value FROM json_each(?))",
            [sdef.name, at, json.dumps(list(ids))],
        )
    start = start_value(sdef)
    return {c: start if v is None else int(v) for c, v in rows}


def value_before(conn: sqlite3.Connection, sdef: ScoreDef, contact: int, at: str) -> int:
    row = conn.execute(
        "SELECT value FROM score_steps WHERE contact = ? AND score = ? AND at < ? ORDER BY at DESC LIMIT 1",
        [contact, sdef.name, at],
    ).fetchone()
    return start_value(sdef) if row is None else int(row[0])
