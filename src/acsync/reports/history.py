"""``report history``: one contact's score over time, or the score distribution over time.

Both read ``score_steps``. For one contact: every change of its score in the range, with the
segment it put the contact in, its cause (which rule and event, or which expiry, reset,
episode or decay) and the changes of its wanted tags (``Hot Lead added``). For everyone: at
each sample instant (every ``every`` from
``since`` to ``at``), how many contacts existed, their mean score, and how many were in each
segment: at each sample one aggregate query (an index seek per contact), not one evaluation
of every ledger.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta

from acsync.core.durations import Duration
from acsync.core.ledger import AWARD, DYNAMIC_RESET, FLAG, PENALTY, RESET, Entry, wipes
from acsync.core.rules import Ruleset, ScoreDef
from acsync.core.scoring import raw_score, tags_over
from acsync.core.timefmt import from_iso, human, iso
from acsync.output import number, signed
from acsync.reports.explain import about_event
from acsync.reports.past import Contact, start_value, values_at
from acsync.reports.table import Report
from acsync.store.events import events_by_contact
from acsync.store.read import stored_ledger


def contact_history(
    conn: sqlite3.Connection, ruleset: Ruleset, sdef: ScoreDef, who: Contact, since: datetime, at: datetime
) -> Report:
    """Every change of the contact's score in ``(since, at]`` and of its wanted tags, each with
    its cause: the awards, expiries, penalties, resets and episodes of that instant, or decay,
    and whether the floor or the cap shaped the change."""
    first = values_at(conn, sdef, iso(since), [who.id]).get(who.id, start_value(sdef))
    stepped: dict[str, int] = dict(
        conn.execute(
            "SELECT at, value FROM score_steps "
            "WHERE contact = ? AND score = ? AND at > ? AND at <= ? ORDER BY at",
            [who.id, sdef.name, iso(since), iso(at)],
        ).fetchall()
    )
    entries = stored_ledger(conn, who.id)
    events = next((evs for _, evs in events_by_contact(conn, [who.id])), [])
    about = {e.key: about_event(e) for e in events}
    episodes = {t for e in entries if e.kind != AWARD for t in (e.awarded_at, e.ends_at) if t is not None}
    instants = sorted({iso(t) for t in episodes if since < t <= at} | stepped.keys())
    # the wanted tags at every row off one timeline: evaluating at each row is quadratic for a
    # long decay (a row at every point it decays through)
    tags, *tags_then = tags_over(entries, ruleset, [since, *(from_iso(t) for t in instants)])
    rows: list[dict[str, object]] = [
        {
            "at": iso(since),
            "score": first,
            "change": None,
            "segment": ruleset.segment_of(sdef.name, first),
            "cause": "the score at the start",
            "tags": sorted(tags),
        }
    ]
    value = first
    for t, now_tags in zip(instants, tags_then, strict=True):
        when = from_iso(t)
        changed = [f"{tag} added" for tag in sorted(now_tags - tags)]
        changed += [f"{tag} removed" for tag in sorted(tags - now_tags)]
        new = stepped.get(t, value)
        if new == value and not changed:
            continue
        causes = causes_at(entries, sdef, when, about, ruleset)
        if new == value:  # tags alone changed: what happened then, held by a floor or cap; no decay
            causes = [c for c in causes if not c.startswith("decay of ")]
        causes += [  # an episode the score's causes do not name: the rule behind a tag change
            c
            for rule, c in episode_changes(entries, when)
            if not any(x.startswith(f"{rule}: ") for x in causes)
        ]
        rows.append(
            {
                "at": t,
                "score": new,
                "change": new - value,
                "segment": ruleset.segment_of(sdef.name, new),
                "cause": "; ".join(causes + changed),
                "tags": sorted(now_tags),
            }
        )
        value, tags = new, now_tags
    headers = ["at", "score", "change", "segment", "cause", "tags"]
    return Report(f"{sdef.name} of {who.label}, {human(since)} to {human(at)}", headers, rows)


def causes_at(
    entries: Sequence[Entry], sdef: ScoreDef, t: datetime, about: dict[str, str], ruleset: Ruleset
) -> list[str]:
    """What changed the score at ``t``, in words: awards, expiries, penalties, resets, episode
    ends; or, when nothing starts or ends then, the decay of the awards that count; and, on the
    last of them, whether the floor or the cap shaped the change (``, capped at 100``)."""
    mine = entries if len(ruleset.scores) == 1 else [e for e in entries if e.score == sdef.name]
    resets = [e for e in mine if e.kind == RESET and e.awarded_at <= t]
    out: list[str] = []
    ends: list[str] = []  # said after what starts at the same instant
    for e in mine:
        what = f" ({about[e.event]})" if e.event and about.get(e.event) else ""
        if e.awarded_at == t:
            if e.kind == AWARD:
                out.append(f"{e.rule} {signed(e.points)}{what}")
            elif e.kind == PENALTY:
                out.append(f"{e.rule}: inactivity episode began, {signed(e.points)}")
            elif e.kind == RESET and e.ref == DYNAMIC_RESET:
                out.append(
                    f"{e.rule}: inactivity reset, earlier points that expire or decay wiped "
                    "(static points stay)"
                )
            elif e.kind == RESET:
                out.append(f"{e.rule}: inactivity reset, everything earlier wiped")
        elif e.expires_at == t and e.points and not _wiped_before(e, resets, t):
            if e.kind == PENALTY and e.ends_at == t:
                ends.append(
                    f"{e.rule}: episode ended by new activity, its {signed(e.points)} no longer counts"
                )
            else:
                ends.append(f"{e.rule} {signed(e.points)} of {iso(e.awarded_at)[:10]} expired{what}")
    out += ends
    if not out:
        decaying = sorted(
            {e.rule for e in mine if e.half_life and e.counts(t) and not _wiped_before(e, resets, t)}
        )
        if decaying:
            out.append(f"decay of {', '.join(decaying)}")
    bounds = _bounds(mine, sdef, t)
    if out and bounds:
        out[-1] += bounds
    return out


def _wiped_before(e: Entry, resets: Sequence[Entry], t: datetime) -> bool:
    """Did a reset before ``t`` wipe ``e`` (so that its expiry at ``t`` changes nothing)?"""
    return any(r.awarded_at < t and wipes(r, e) for r in resets)


def _bounds(mine: Sequence[Entry], sdef: ScoreDef, t: datetime) -> str:
    """How the floor or the cap shaped the change at ``t``, in words (``""``: they did not)."""
    if sdef.floor is None and sdef.cap is None:
        return ""
    after, before = raw_score(mine, t), raw_score(mine, t - _INSTANT)
    out = []
    if sdef.cap is not None and after > sdef.cap:
        out.append(f"capped at {number(sdef.cap)}")
    elif sdef.floor is not None and after < sdef.floor:
        out.append(f"floored at {number(sdef.floor)}")
    if sdef.cap is not None and before > sdef.cap and after <= sdef.cap:
        out.append(f"from the cap {number(sdef.cap)} (the points had added up to {number(before)})")
    elif sdef.floor is not None and before < sdef.floor and after >= sdef.floor:
        out.append(f"from the floor {number(sdef.floor)} (the points had added up to {number(before)})")
    return "".join(f", {x}" for x in out)


_INSTANT = timedelta(microseconds=1)  # the score just before an instant: entries count on [from, to)


def episode_changes(entries: Sequence[Entry], t: datetime) -> list[tuple[str, str]]:
    """(rule, in words) of each inactivity episode that begins or ends at ``t``, whatever the
    score did then: the rule behind a tag that comes or goes (a tag-only episode's, too)."""
    out = []
    for e in entries:
        if e.kind == AWARD:
            continue
        if e.awarded_at == t:
            only = " (tag only)" if e.kind == FLAG else ""
            out.append((e.rule, f"{e.rule}: inactivity episode began{only}"))
        elif e.ends_at == t:
            out.append((e.rule, f"{e.rule}: episode ended by new activity"))
    return out


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
    title = (
        f"{sdef.name} distribution every {every}, {human(str(rows[0]['at']))} to {human(str(rows[-1]['at']))}"
    )
    return Report(title, headers, rows)
