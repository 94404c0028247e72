"""``acsync explain``: every ledger entry behind a contact's scores, what it is worth now, and why.

Each entry has a ``status`` and a ``reason`` in words: it counts (until when; decayed to what),
it expired on …, it was wiped by the reset of … on …, it is pending until …; and every event a
rule matched but a limit refused (``once``, ``once_per``, ``max``) is listed as ``over_limit``,
with the awards that used the limit up. ``totals`` says what the entries add up to and whether
a floor or a cap changed that into the score.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from acsync.core.event import Event
from acsync.core.ledger import AWARD, DYNAMIC_RESET, FLAG, PENALTY, RESET, Entry, wipes
from acsync.core.rules import Rule, Ruleset
from acsync.core.scoring import clamp, contributions, evaluate, raw_score, round_score
from acsync.core.timefmt import human, iso, iso_or_none
from acsync.output import duration, fixed, number
from acsync.store.events import events_by_contact
from acsync.store.read import ContactInfo, stored_ledger

COUNTS, EXPIRED, WIPED, PENDING, OVER_LIMIT, ENDED = (
    "counts",
    "expired",
    "reset",
    "pending",
    "over_limit",
    "ended",
)


def explain(conn: sqlite3.Connection, ruleset: Ruleset, contact: ContactInfo, at: datetime) -> dict[str, Any]:
    """The DESIGN §7 shape (contact, instant, scores, entries) with each entry's status and
    reason, the refused events, the totals per score and the wanted tags (names, and why)."""
    entries = sorted(stored_ledger(conn, contact.id), key=lambda e: (e.awarded_at, e.score, e.rule, e.ref))
    state = evaluate(entries, ruleset, at)
    events = next((evs for _, evs in events_by_contact(conn, [contact.id])), [])
    about = {e.key: about_event(e) for e in events}
    resets = _resets(entries, at)
    rows: list[dict[str, Any]] = []
    for e, (counts, value) in zip(entries, contributions(entries, at), strict=True):
        status, reason = _why(e, counts, value, at, resets.get(e.score, []))
        rows.append(
            {
                "score": e.score,
                "rule": e.rule,
                "kind": e.kind,
                "event": e.event,
                "points": e.points,
                "value": round(value, 4),
                "awarded_at": iso(e.awarded_at),
                "expires_at": iso_or_none(e.expires_at),
                "counts": counts,
                "about": about.get(e.event or "", ""),
                "status": status,
                "reason": reason,
                "used_up_by": [],
            }
        )
    rows.extend(_refused(events, entries, ruleset, at, about))
    rows.sort(key=lambda r: (r["awarded_at"], r["score"], r["rule"], r["event"] or ""))
    return {
        "contact_id": contact.ac_id,
        "email": contact.email,
        "at": iso(at),
        "scores": state.rounded,
        "segment": state.segments[ruleset.scores[0].name],
        "tags": sorted(state.tags),
        "tag_details": [
            {"tag": tag, "since": iso(w.since), "rules": w.reasons} for tag, w in sorted(state.tags.items())
        ],
        "totals": _totals(entries, ruleset, at),
        "entries": rows,
    }


def _resets(entries: Sequence[Entry], at: datetime) -> dict[str, list[Entry]]:
    """Per score, the resets at or before ``at``."""
    out: dict[str, list[Entry]] = {}
    for e in entries:
        if e.kind == RESET and e.awarded_at <= at:
            out.setdefault(e.score, []).append(e)
    return out


def _wiped_by(e: Entry, resets: Sequence[Entry]) -> Entry | None:
    """The reset that ended ``e``: the first one after it that wipes it, if that came before its
    expiry (an award that expired first was not wiped: it had stopped counting already)."""
    by = min((r for r in resets if wipes(r, e)), key=lambda r: r.awarded_at, default=None)
    if by is None or (e.expires_at is not None and e.expires_at <= by.awarded_at):
        return None
    return by


def _why(e: Entry, counts: bool, value: float, at: datetime, resets: list[Entry]) -> tuple[str, str]:
    """(status, reason in words) of one ledger entry at ``at``."""
    if e.awarded_at > at:
        if e.kind == AWARD:
            return PENDING, f"pending until {human(e.awarded_at)}"
        return PENDING, f"pending until {human(e.awarded_at)}, when the inactivity episode starts"
    if e.kind == RESET:
        if e.ends_at is not None and e.ends_at <= at:
            return (
                ENDED,
                f"reset on {human(e.awarded_at)}; the episode ended on {human(e.ends_at)} "
                "(what it wiped stays wiped)",
            )
        if e.ref == DYNAMIC_RESET:
            return (
                COUNTS,
                f"reset on {human(e.awarded_at)}: points that expire or decay, awarded before it, "
                "no longer count",
            )
        return COUNTS, f"reset on {human(e.awarded_at)}: everything awarded before it no longer counts"
    if e.kind == FLAG:
        if e.ends_at is not None and e.ends_at <= at:
            return ENDED, f"tag only; the episode ended on {human(e.ends_at)}"
        return COUNTS, f"tag only: {e.tag} wanted while the episode lasts" if e.tag else "tag only"
    by = _wiped_by(e, resets) if not counts else None
    if by is not None:
        return WIPED, f"wiped by the reset of {by.rule} on {human(by.awarded_at)}"
    if e.expires_at is not None and e.expires_at <= at:
        if e.kind == PENALTY and e.ends_at is not None and e.expires_at == e.ends_at:
            return EXPIRED, f"the episode ended on {human(e.ends_at)}"
        return EXPIRED, f"expired on {human(e.expires_at)}"
    if e.kind == PENALTY and e.expires_at is not None:
        return COUNTS, f"counts while the episode lasts, until {human(e.expires_at)}"
    if e.kind == PENALTY:
        return COUNTS, "counts until the next qualifying activity ends the episode"
    parts = ["counts"]
    if e.half_life:
        parts.append(
            f"decayed to {fixed(value, 1)} of {number(e.points)} (half-life {duration(e.half_life)})"
        )
    if e.expires_at is not None:
        parts.append(f"until {human(e.expires_at)}")
    return COUNTS, ", ".join(parts)


def _refused(
    events: Sequence[Event], entries: Sequence[Entry], ruleset: Ruleset, at: datetime, about: dict[str, str]
) -> list[dict[str, Any]]:
    """Events a limited rule matched and refused, up to ``at``, with the awards that used it up."""
    out: list[dict[str, Any]] = []
    awarded: dict[str, list[tuple[datetime, str, str | None]]] = {}  # rule → (at, event key, once_per value)
    keys = {(e.rule, e.event) for e in entries if e.kind == AWARD}
    by_key = {e.key: e for e in events}
    for e in entries:
        if e.kind == AWARD and e.event in by_key:
            rule = next((r for r in ruleset.rules if r.name == e.rule), None)
            per = getattr(by_key[e.event], rule.once_per) if rule is not None and rule.once_per else None
            awarded.setdefault(e.rule, []).append((e.awarded_at, e.event, per))
    for rule in ruleset.rules:
        if not rule.limited:
            continue
        mine = sorted(awarded.get(rule.name, []))
        for ev in events:
            if ev.at > at or ev.type not in rule.on or not (rule.match.always or rule.match(ev)):
                continue
            if (rule.name, ev.key) in keys:
                continue
            reason, used = _limit(rule, ev, mine)
            out.append(
                {
                    "score": rule.score,
                    "rule": rule.name,
                    "kind": AWARD,
                    "event": ev.key,
                    "points": rule.points,
                    "value": 0.0,
                    "awarded_at": iso(ev.at),
                    "expires_at": None,
                    "counts": False,
                    "about": about.get(ev.key, ""),
                    "status": OVER_LIMIT,
                    "reason": reason,
                    "used_up_by": used,
                }
            )
    return out


def _limit(rule: Rule, ev: Event, awarded: list[tuple[datetime, str, str | None]]) -> tuple[str, list[str]]:
    """Which limit refused ``ev``, in words, and the event keys of the awards that used it up."""
    before = [a for a in awarded if (a[0], a[1]) <= (ev.at, ev.key)]
    if rule.once and awarded:
        first = awarded[0]
        return f"over the limit: once per contact, used up by the award of {human(first[0])}", [first[1]]
    if rule.once_per is not None:
        value = getattr(ev, rule.once_per)
        same = [a for a in before if a[2] == value]
        if same:
            return (
                f"over the limit: once per {rule.once_per} ({value}), "
                f"used up by the award of {human(same[0][0])}",
                [same[0][1]],
            )
    if rule.max_count is not None and rule.max_within is not None:
        start = rule.max_within.before(ev.at)
        window = [a for a in before if a[0] > start]
        dates = ", ".join(human(a[0]) for a in window)
        return (
            f"over the max limit: {rule.max_count} within {rule.max_within}, "
            f"used up by the awards of {dates}",
            [a[1] for a in window],
        )
    return "over a limit of the rule (the ledger may be behind: run `acsync score`)", []


def _totals(entries: Sequence[Entry], ruleset: Ruleset, at: datetime) -> dict[str, dict[str, Any]]:
    """Per score: what its counting entries add up to, and whether a floor or cap changed that."""
    out: dict[str, dict[str, Any]] = {}
    for sdef in ruleset.scores:
        mine = entries if len(ruleset.scores) == 1 else [e for e in entries if e.score == sdef.name]
        raw = raw_score(mine, at)
        out[sdef.name] = {
            "entries": round(raw, 4),
            "floor": sdef.floor,
            "cap": sdef.cap,
            "floor_applied": sdef.floor is not None and raw < sdef.floor,
            "cap_applied": sdef.cap is not None and raw > sdef.cap,
            "score": round_score(clamp(raw, sdef)),
        }
    return out


def about_event(e: Event) -> str:
    """An event's attributes in words (campaign 7, https://…, tag VIP, 49.9)."""
    parts = [
        f"campaign {e.campaign}" if e.campaign else "",
        e.url or "",
        f"tag {e.tag}" if e.tag else "",
        f"form {e.form}" if e.form else "",
        f"list {e.list}" if e.list else "",
        e.name or "",
        number(e.value) if e.value is not None else "",
    ]
    return " ".join(p for p in parts if p)
