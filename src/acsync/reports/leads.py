"""``report top``, ``report segments`` and ``report inactive``.

Without an instant they read the stored state (what ``acsync score`` computed and push writes
to AC); at an instant they read each contact's score from ``score_steps``, and evaluate the
ledger only for the few contacts shown.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.scoring import evaluate
from acsync.core.timefmt import from_iso, human, iso
from acsync.output import SHARE, count, signed
from acsync.reports.past import as_of, contacts, existing, start_value, values_at
from acsync.reports.table import Report, share
from acsync.store.events import ledger_by_contact

_IN = "IN (SELECT value FROM json_each(?))"


def top(
    conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, at: datetime | None, limit: int
) -> Report:
    """The ``limit`` best contacts: score, segment, wanted tags, last activity."""
    if at is None:
        best = conn.execute(
            "SELECT contact, rounded FROM scores WHERE score = ? ORDER BY rounded DESC, contact LIMIT ?",
            [sdef.name, limit],
        ).fetchall()
        tags: dict[int, list[str]] = {}
        for c, tag in conn.execute(
            f"SELECT contact, tag FROM tag_state WHERE contact {_IN} ORDER BY tag",
            [json.dumps([c for c, _ in best])],
        ):
            tags.setdefault(c, []).append(tag)
    else:
        there = existing(conn, at)
        values = {c: v for c, v in values_at(conn, sdef, iso(at)).items() if c in there}
        best = sorted(values.items(), key=lambda cv: (-cv[1], cv[0]))[:limit]
        ledgers = dict(ledger_by_contact(conn, [c for c, _ in best]))
        tags = {c: sorted(evaluate(ledgers.get(c, []), ruleset, at).tags) for c, _ in best}
    info = {
        c: (ac_id, email)
        for c, ac_id, email in conn.execute(
            f"SELECT id, ac_id, email FROM contacts WHERE id {_IN}", [json.dumps([c for c, _ in best])]
        )
    }
    until = iso(at) if at is not None else "9999"
    rows = []
    for rank, (c, value) in enumerate(best, 1):
        last = conn.execute(
            "SELECT max(at) FROM events WHERE contact = ? AND at <= ?", [c, until]
        ).fetchone()[0]
        rows.append(
            {
                "rank": rank,
                "contact_id": info[c][0],
                "email": info[c][1],
                "score": value,
                "segment": ruleset.segment_of(sdef.name, value),
                "tags": tags.get(c, []),
                "last_activity": last,
            }
        )
    when = as_of(conn, at)
    headers = ["rank", "contact_id", "email", "score", "segment", "tags", "last_activity"]
    return Report(f"top {len(rows)} by {sdef.name}, {when}", headers, rows, limit=limit)


def segments(
    conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, at: datetime, stored: bool, days: int
) -> Report:
    """Contacts and share per band, against ``days`` earlier."""
    then = at - timedelta(days=days)
    people = contacts(conn)
    if stored:
        rounded = dict(
            conn.execute("SELECT contact, rounded FROM scores WHERE score = ?", [sdef.name]).fetchall()
        )
        start = start_value(sdef)
        now_values = {p.id: rounded.get(p.id, start) for p in people}
    else:
        current = values_at(conn, sdef, iso(at))
        now_values = {p.id: current[p.id] for p in people if p.exists_at(at)}
    earlier = values_at(conn, sdef, iso(then))
    then_values = {p.id: earlier[p.id] for p in people if p.exists_at(then)}
    bands = sorted((s for s in ruleset.segments if s.score == sdef.name), key=lambda s: -s.min)
    names = [b.name for b in bands]

    def tally(values: dict[int, int]) -> dict[str | None, int]:
        out: dict[str | None, int] = dict.fromkeys([*names, None], 0)
        for v in values.values():
            out[ruleset.segment_of(sdef.name, v)] += 1
        return out

    now_counts, then_counts = tally(now_values), tally(then_values)
    rows = []
    for name, low in [*((b.name, b.min) for b in bands), (None, None)]:
        if name is None and not now_counts[None] and not then_counts[None]:
            continue
        rows.append(
            {
                "segment": name or "(below every band)",
                "min": int(low) if low is not None and float(low).is_integer() else low,  # 30, not 30.0
                "contacts": now_counts[name],
                "share": share(now_counts[name], len(now_values)),
                f"contacts_{days}d_ago": then_counts[name],
                "change": now_counts[name] - then_counts[name],
            }
        )
    when = as_of(conn, None if stored else at)
    headers = ["segment", "min", "contacts", "share", f"contacts_{days}d_ago", "change"]
    title = f"segments of {sdef.name}, {when}, against {count(days, 'day')} earlier"
    return Report(title, headers, rows, kinds={"share": SHARE})


def inactive(conn: sqlite3.Connection, at: datetime) -> Report:
    """Contacts in an inactivity episode at ``at``: since when, which rule, whether AC has the tag."""
    t = iso(at)
    rows = []
    people: set[int] = set()
    for c, ac_id, email, rule, since, tag, kind, points, in_ac, queued in conn.execute(
        """
        SELECT l.contact, c.ac_id, c.email, l.rule, l.awarded_at, l.tag, l.kind, l.points,
               (SELECT value FROM ac_state s
                WHERE s.contact = l.contact AND s.kind = 'tag' AND s.name = l.tag),
               (SELECT value FROM outbox o WHERE o.contact = l.contact AND o.kind = 'tag' AND o.name = l.tag)
        FROM ledger l JOIN contacts c ON c.id = l.contact
        WHERE l.kind != 'award' AND l.awarded_at <= ? AND (l.ends_at IS NULL OR l.ends_at > ?)
        ORDER BY l.awarded_at, l.contact
        """,
        [t, t],
    ):
        people.add(c)
        if tag is None:
            tag_in_ac = ""
        elif queued is not None:
            tag_in_ac = f"pending {queued}"
        else:
            tag_in_ac = "yes" if in_ac else "no"
        rows.append(
            {
                "contact_id": ac_id,
                "email": email,
                "rule": rule,
                "since": since,
                "days": (at - from_iso(since)).days,
                "effect": {"penalty": signed(points), "reset": "reset"}.get(kind, "tag only"),
                "tag": tag,
                "tag_in_ac": tag_in_ac,
            }
        )
    headers = ["contact_id", "email", "rule", "since", "days", "effect", "tag", "tag_in_ac"]
    title = f"{count(len(people), 'inactive contact')} at {human(at)}, in {count(len(rows), 'episode')}"
    return Report(title, headers, rows)
