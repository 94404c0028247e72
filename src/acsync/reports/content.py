"""``report content``: how each content type (``[[content]]``) performs.

Per content type: matching events, the contacts behind them, the points those events were
awarded per event, and the mean change of those contacts' score over the ``days`` after their
first engagement with it (from the score just before that engagement): the seed's "average
lead score change by content type". Contacts whose window has not ended yet are left out of
the mean (``measured`` says how many were in).

The work runs inside SQLite, one aggregate query per content type. Globs are matched by the
engine's own matcher (SQLite's ``GLOB`` differs on case and on unclosed or negated sets), once
per distinct value, since pages and campaigns repeat across thousands of events.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from acsync.core.event import ATTRIBUTES
from acsync.core.rules import ContentType, Ruleset, ScoreDef
from acsync.core.timefmt import human, iso
from acsync.reports.parallel import summed
from acsync.reports.past import start_value
from acsync.reports.table import Report

_STEP = "SELECT value FROM score_steps s WHERE s.contact = f.contact AND s.score = :score AND s.at {op} {t} "
_STEP += "ORDER BY s.at DESC LIMIT 1"


def content(conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, at: datetime, days: int) -> Report:
    """One scan of the events for every content type at once: each event is matched against
    each type, its points looked up once, and each (contact, type) reduced to its first
    engagement; then two seeks in ``score_steps`` per (contact, type)."""
    headers = ["content", "events", "contacts", "points_per_event", f"score_change_{days}d", "measured"]
    types = ruleset.content
    if not types:
        return Report(f"content performance ({sdef.name}): no [[content]] in the config", headers, [])
    params: dict[str, object] = {"score": sdef.name, "at": iso(at), "start": start_value(sdef)}
    cache: dict[tuple[str, str], list[str]] = {}
    matches = []
    for i, ct in enumerate(types):
        where, args = where_clause(conn, ct, cache, suffix=str(i))
        matches.append(f"({where})")
        params.update(args)
    any_match = " OR ".join(f"m{i}" for i in range(len(types)))
    scope = ""
    if all(ct.on for ct in types):  # only the event types some content type looks at
        params["all_types"] = json.dumps(sorted(set().union(*(ct.on for ct in types))))
        scope = "AND +e.type IN (SELECT value FROM json_each(:all_types))"
    per_type = ",\n".join(
        f"min(CASE WHEN m{i} THEN at END) AS first{i}, sum(m{i}) AS n{i}, "
        f"sum(CASE WHEN m{i} THEN points END) AS p{i}, "
        f"strftime('%Y-%m-%dT%H:%M:%SZ', min(CASE WHEN m{i} THEN at END), '+{int(days)} days') AS end{i}"
        for i in range(len(types))
    )
    finals = []
    for i in range(len(types)):
        end = f"f.end{i}"
        before = f"coalesce(({_STEP.format(op='<', t=f'f.first{i}')}), :start)"
        after = f"coalesce(({_STEP.format(op='<=', t=end)}), :start)"
        finals.append(
            f"count(f.first{i}), coalesce(sum(f.n{i}), 0), coalesce(sum(f.p{i}), 0), "
            f"sum(CASE WHEN {end} <= :at THEN {after} - {before} END), "
            f"count(CASE WHEN {end} <= :at THEN 1 END)"
        )
    sql = f"""
        WITH m AS MATERIALIZED (  -- each event matched once, not once per use of its flags
            SELECT contact, at, key, {", ".join(f"{m} AS m{i}" for i, m in enumerate(matches))}
            FROM events e WHERE e.contact BETWEEN :lo AND :hi AND e.at <= :at {scope} AND ({any_match})
        ), p AS (
            SELECT m.*, (SELECT coalesce(sum(l.points), 0) FROM ledger l WHERE l.contact = m.contact
                         AND l.ref = m.key AND l.kind = 'award' AND l.score = :score) AS points
            FROM m
        ), f AS (
            SELECT contact, {per_type} FROM p GROUP BY contact
        )
        SELECT {", ".join(finals)} FROM f
    """
    row = summed(conn, sql, params)  # every column adds up across contact ranges
    rows = []
    for i, ct in enumerate(types):
        contacts, events, points, change, measured = row[5 * i : 5 * i + 5]
        rows.append(
            {
                "content": ct.name,
                "events": events,
                "contacts": contacts,
                "points_per_event": round(points / events, 2) if events else 0.0,
                f"score_change_{days}d": round(change / measured, 2) if measured else None,
                "measured": measured,
            }
        )
    return Report(f"content performance ({sdef.name}), up to {human(at)}", headers, rows)


def where_clause(
    conn: sqlite3.Connection,
    ct: ContentType,
    cache: dict[tuple[str, str], list[str]] | None = None,
    suffix: str = "",
) -> tuple[str, dict[str, object]]:
    """SQL (over ``events e``) and its named parameters (their names end in ``suffix``)
    selecting the content type's events.

    ``cache`` keeps the distinct values of an attribute across content types of one report."""
    cache = {} if cache is None else cache
    parts: list[str] = []
    args: dict[str, object] = {}
    types = json.dumps(sorted(ct.on)) if ct.on else None
    if types is not None:  # `+`: a scan of the events beats 500,000 lookups through the type index
        args[f"types{suffix}"] = types
        parts.append(f"+e.type IN (SELECT value FROM json_each(:types{suffix}))")
    for attr in sorted(ct.match.globs):
        if attr not in ATTRIBUTES:  # the config allows no other; a column name must never be free text
            raise ValueError(f"not an event attribute: {attr!r}")
        key = (attr, types or "")
        if key not in cache:
            scope = "WHERE +e.type IN (SELECT value FROM json_each(:types))" if types else ""
            found = conn.execute(f"SELECT DISTINCT e.{attr} FROM events e {scope}", {"types": types})
            cache[key] = [v for (v,) in found if v is not None]
        accepted = [v for v in cache[key] if ct.match.accepts(attr, v)]  # the engine's own matcher
        args[f"{attr}{suffix}"] = json.dumps(accepted)
        parts.append(f"e.{attr} IN (SELECT value FROM json_each(:{attr}{suffix}))")
    if ct.match.min_value is not None:
        args[f"min_value{suffix}"] = ct.match.min_value
        parts.append(f"e.value >= :min_value{suffix}")
    return (" AND ".join(parts) or "1"), args
