"""``report history``: one contact's score over time, or the score distribution over time.

Both read ``score_steps``. For one contact: every change of its score in the range, with the
segment it put the contact in. For everyone: at each sample instant (every ``every`` from
``since`` to ``at``), how many contacts existed, their mean score, and how many were in each
segment: at each sample one aggregate query (an index seek per contact), not one evaluation
of every ledger.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from acsync.core.durations import Duration
from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.timefmt import iso
from acsync.reports.past import Contact, start_value, values_at
from acsync.reports.table import Report


def contact_history(
    conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, who: Contact, since: datetime, at: datetime
) -> Report:
    first = values_at(conn, sdef, iso(since), [who.id]).get(who.id, start_value(sdef))
    points: list[tuple[str, int]] = [(iso(since), first)]
    points += conn.execute(
        "SELECT at, value FROM score_steps "
        "WHERE contact = ? AND score = ? AND at > ? AND at <= ? ORDER BY at",
        [who.id, sdef.name, iso(since), iso(at)],
    ).fetchall()
    rows: list[dict[str, object]] = [
        {
            "at": t,
            "score": value,
            "change": None if i == 0 else value - points[i - 1][1],
            "segment": ruleset.segment_of(sdef.name, value),
        }
        for i, (t, value) in enumerate(points)
    ]
    headers = ["at", "score", "change", "segment"]
    return Report(f"{sdef.name} of {who.label}, {iso(since)} to {iso(at)}", headers, rows)


def samples(since: datetime, at: datetime, every: Duration) -> list[datetime]:
    out: list[datetime] = []
    t = since
    while t < at and len(out) < 1000:
        out.append(t)
        t = every.after(t)
    return [*out, at]


_AT_EACH = """
    SELECT v, count(*) FROM (
        SELECT (SELECT value FROM score_steps s WHERE s.contact = c.id AND s.score = :score AND s.at <= :t
                ORDER BY s.at DESC LIMIT 1) AS v
        FROM contacts c
        WHERE coalesce(c.created_at, (SELECT min(at) FROM events WHERE contact = c.id)) <= :t
    ) GROUP BY v
"""


def distribution(
    conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, since: datetime, at: datetime, every: Duration
) -> Report:
    """At each sample: one aggregate query, a seek per contact, nothing per contact in Python."""
    mine = [s for s in ruleset.segments if s.score == sdef.name]
    bands = [b.name for b in sorted(mine, key=lambda s: -s.min)]
    start = start_value(sdef)
    rows = []
    for t in (iso(x) for x in samples(since, at, every)):
        values: dict[int, int] = {}
        for v, n in conn.execute(_AT_EACH, {"score": sdef.name, "t": t}):
            value = start if v is None else int(v)  # no step yet: the score it starts with
            values[value] = values.get(value, 0) + n
        total = sum(values.values())
        per_band = dict.fromkeys(bands, 0)
        for v, n in values.items():
            band = ruleset.segment_of(sdef.name, v)
            if band is not None:
                per_band[band] += n
        mean = sum(v * n for v, n in values.items()) / total if total else 0.0
        rows.append({"at": t, "contacts": total, "mean_score": round(mean, 2), **per_band})
    headers = ["at", "contacts", "mean_score", *bands]
    title = f"{sdef.name} distribution every {every}, {rows[0]['at']} to {rows[-1]['at']}"
    return Report(title, headers, rows)
