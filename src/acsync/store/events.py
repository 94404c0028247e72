"""Writing events and reading them (and ledgers) back per contact, in the core's shapes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from acsync.core.event import Event
from acsync.core.ledger import Entry
from acsync.core.timefmt import from_iso, iso

_INSERT = """
INSERT OR IGNORE INTO events (contact, at, key, type, campaign, url, tag, form, list, name,
                              value, source, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
NEW, EARLIER, DUPLICATE = "new", "earlier", "duplicate"


def insert_event(conn: sqlite3.Connection, contact: int, e: Event, source: str, received_at: str) -> str:
    """Store the event. Returns NEW, DUPLICATE, or EARLIER: a known event seen earlier than
    first recorded, whose ``at`` moves back (the first sighting wins)."""
    at = iso(e.at)
    cur = conn.execute(
        _INSERT,
        [
            contact,
            at,
            e.key,
            e.type,
            e.campaign,
            e.url,
            e.tag,
            e.form,
            e.list,
            e.name,
            e.value,
            source,
            received_at,
        ],
    )
    if cur.rowcount > 0:
        return NEW
    cur = conn.execute("UPDATE events SET at = ? WHERE key = ? AND at > ?", [at, e.key, at])
    return EARLIER if cur.rowcount > 0 else DUPLICATE


def mark_dirty(conn: sqlite3.Connection, contacts: Sequence[int]) -> None:
    conn.execute(
        "UPDATE contacts SET dirty = 1 WHERE id IN (SELECT value FROM json_each(?))",
        [json.dumps(list(contacts))],
    )


_EVENT_COLUMNS = "contact, key, type, at, campaign, url, tag, form, list, name, value"


def _event(row: Any) -> Event:
    _c, key, type_, at, campaign, url, tag, form, list_, name, value = row
    return Event(
        key,
        type_,
        from_iso(at),
        None,
        None,
        campaign,
        url,
        tag,
        form,
        list_,
        name,
        value,
    )


def events_by_contact(
    conn: sqlite3.Connection, contacts: Sequence[int] | None = None
) -> Iterator[tuple[int, list[Event]]]:
    """(contact, its events sorted by (at, key)) for the given contacts, or all, by contact id."""
    if contacts is None:
        cur = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY contact, at, key")
    else:
        cur = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events "
            "WHERE contact IN (SELECT value FROM json_each(?)) ORDER BY contact, at, key",
            [json.dumps(list(contacts))],
        )
    for contact, rows in groupby(cur, key=lambda r: r[0]):
        yield int(contact), [_event(r) for r in rows]


_LEDGER_COLUMNS = (
    "contact, score, rule, kind, ref, points, awarded_at, expires_at, half_life, event, tag, ends_at"
)


def _opt(text: str | None) -> datetime | None:
    return None if text is None else from_iso(text)


def ledger_by_contact(conn: sqlite3.Connection, contacts: Sequence[int]) -> Iterator[tuple[int, list[Entry]]]:
    """(contact, its stored ledger) for the given contacts, by contact id."""
    cur = conn.execute(
        f"SELECT {_LEDGER_COLUMNS} FROM ledger "
        "WHERE contact IN (SELECT value FROM json_each(?)) ORDER BY contact",
        [json.dumps(list(contacts))],
    )
    for contact, rows in groupby(cur, key=lambda r: r[0]):
        yield (
            int(contact),
            [
                Entry(
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    from_iso(r[6]),
                    _opt(r[7]),
                    r[8],
                    r[9],
                    r[10],
                    _opt(r[11]),
                )
                for r in rows
            ],
        )


def ledger_rows(contact: int, entries: Sequence[Entry]) -> Iterator[tuple[object, ...]]:
    for e in entries:
        yield (
            contact,
            e.score,
            e.rule,
            e.ref,
            e.kind,
            e.points,
            iso(e.awarded_at),
            None if e.expires_at is None else iso(e.expires_at),
            e.half_life,
            e.event,
            e.tag,
            None if e.ends_at is None else iso(e.ends_at),
        )


def write_ledgers(conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO ledger (contact, score, rule, ref, kind, points, awarded_at, expires_at, "
        "half_life, event, tag, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
