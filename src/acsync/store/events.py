"""Writing events and reading them (and ledgers) back per contact, in the core's shapes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import groupby
from operator import itemgetter

from acsync.core.event import Event
from acsync.core.ledger import AWARD, Entry
from acsync.core.timefmt import from_iso, iso

_INSERT = """
INSERT OR IGNORE INTO events (contact, at, key, type, campaign, url, tag, form, list, name,
                              value, source, received_at, bot)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
            e.bot,
        ],
    )
    if cur.rowcount > 0:
        return NEW
    cur = conn.execute("UPDATE events SET at = ? WHERE key = ? AND at > ?", [at, e.key, at])
    return EARLIER if cur.rowcount > 0 else DUPLICATE


def mark_dirty(conn: sqlite3.Connection, contacts: Sequence[int]) -> None:
    conn.execute(
        "UPDATE contacts SET dirty = dirty + 1 WHERE id IN (SELECT value FROM json_each(?))",
        [json.dumps(list(contacts))],
    )


# In Event's field order, with the instant as text (converted below) and the contact last.
_EVENT_COLUMNS = "key, type, at, NULL, NULL, campaign, url, tag, form, list, name, value, bot, contact"


def events_by_contact(
    conn: sqlite3.Connection, contacts: Sequence[int] | None = None, texts: dict[datetime, str] | None = None
) -> Iterator[tuple[int, list[Event]]]:
    """(contact, its events sorted by (at, key)) for the given contacts, or all, by contact id.

    ``texts``, when given, collects each instant's stored text (to write it back unformatted).
    This is the hot path of a full rescoring: rows become events with as few calls as possible.
    """
    if contacts is None:
        cur = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY contact, at, key")
    else:
        cur = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events "
            "WHERE contact IN (SELECT value FROM json_each(?)) ORDER BY contact, at, key",
            [json.dumps(list(contacts))],
        )
    new, parse = tuple.__new__, from_iso
    for contact, rows in groupby(cur, key=itemgetter(13)):
        events: list[Event] = []
        append = events.append
        for r in rows:
            at = parse(r[2])
            if texts is not None:
                texts[at] = r[2]
            append(
                new(Event, (r[0], r[1], at, None, None, r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12]))
            )
        yield contact, events


_LEDGER_COLUMNS = "contact, score, rule, kind, ref, points, awarded_at, expires_at, half_life, tag, ends_at"


def _opt(text: str | None) -> datetime | None:
    return None if text is None else from_iso(text)


def ledger_by_contact(conn: sqlite3.Connection, contacts: Sequence[int]) -> Iterator[tuple[int, list[Entry]]]:
    """(contact, its stored ledger) for the given contacts, by contact id."""
    cur = conn.execute(
        f"SELECT {_LEDGER_COLUMNS} FROM ledger "
        "WHERE contact IN (SELECT value FROM json_each(?)) ORDER BY contact",
        [json.dumps(list(contacts))],
    )
    for contact, rows in groupby(cur, key=itemgetter(0)):
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
                    r[4] if r[3] == AWARD else None,
                    r[9],
                    _opt(r[10]),
                )
                for r in rows
            ],
        )


def ledger_rows(
    contact: int, entries: Sequence[Entry], texts: dict[datetime, str]
) -> list[tuple[object, ...]]:
    """Rows for ``write_ledgers``. ``texts`` memoizes instants' stored text: it starts with the
    events' own instants, which are most of what a ledger holds (a hot path)."""

    def put(t: datetime) -> str:
        s = texts[t] = iso(t)
        return s

    get = texts.get
    rows: list[tuple[object, ...]] = []
    append = rows.append
    for e in entries:
        awarded, exp, ends = e.awarded_at, e.expires_at, e.ends_at
        append(
            (
                contact,
                e.score,
                e.rule,
                e.ref,
                e.kind,
                e.points,
                get(awarded) or put(awarded),
                exp and (get(exp) or put(exp)),
                e.half_life,
                e.tag,
                ends and (get(ends) or put(ends)),
            )
        )
    return rows


def write_ledgers(conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO ledger (contact, score, rule, ref, kind, points, awarded_at, expires_at, "
        "half_life, tag, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
