"""``acsync explain``: every ledger entry behind a contact's scores, and what it is worth now."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from acsync.core.rules import Ruleset
from acsync.core.scoring import contributions, evaluate
from acsync.core.timefmt import iso, iso_or_none
from acsync.store.read import ContactInfo, stored_ledger


def explain(conn: sqlite3.Connection, ruleset: Ruleset, contact: ContactInfo, at: datetime) -> dict[str, Any]:
    """The DESIGN §7 shape: contact, instant, scores and entries (plus wanted tags)."""
    entries = sorted(stored_ledger(conn, contact.id), key=lambda e: (e.awarded_at, e.score, e.rule, e.ref))
    state = evaluate(entries, ruleset, at)
    about = _what_events_were_about(conn, contact.id)
    return {
        "contact_id": contact.ac_id,
        "email": contact.email,
        "at": iso(at),
        "scores": state.rounded,
        "segment": state.segments[ruleset.scores[0].name],
        "tags": {tag: {"since": iso(w.since), "rules": w.reasons} for tag, w in sorted(state.tags.items())},
        "entries": [
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
            }
            for e, (counts, value) in zip(entries, contributions(entries, at), strict=True)
        ],
    }


def _what_events_were_about(conn: sqlite3.Connection, contact: int) -> dict[str, str]:
    """Event key → its attributes in words (campaign 7, https://…, tag VIP, 49.9)."""
    out = {}
    for key, campaign, url, tag, form, list_, name, value in conn.execute(
        "SELECT key, campaign, url, tag, form, list, name, value FROM events WHERE contact = ?", [contact]
    ):
        parts = [
            f"campaign {campaign}" if campaign else "",
            url or "",
            f"tag {tag}" if tag else "",
            f"form {form}" if form else "",
            f"list {list_}" if list_ else "",
            name or "",
            f"{value:g}" if value is not None else "",
        ]
        out[key] = " ".join(p for p in parts if p)
    return out
