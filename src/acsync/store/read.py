"""Read-side queries shared by reports, explain and simulate."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from acsync.core.ledger import Entry, build_ledger
from acsync.core.rules import Ruleset
from acsync.core.timefmt import from_iso, iso
from acsync.iters import batched
from acsync.store.events import events_by_contact, ledger_by_contact


@dataclass(frozen=True)
class ContactInfo:
    id: int
    ac_id: str | None
    email: str | None
    created_at: datetime | None

    @property
    def label(self) -> str:
        return self.email or self.ac_id or f"#{self.id}"


def _info(row: tuple[int, str | None, str | None, str | None]) -> ContactInfo:
    return ContactInfo(row[0], row[1], row[2], None if row[3] is None else from_iso(row[3]))


def all_contacts(conn: sqlite3.Connection) -> list[ContactInfo]:
    rows = conn.execute("SELECT id, ac_id, email, created_at FROM contacts ORDER BY id").fetchall()
    return [_info(r) for r in rows]


def find_contact(conn: sqlite3.Connection, ref: str) -> ContactInfo | None:
    """An e-mail (case-insensitive) or an AC contact id."""
    ref = ref.strip()
    column = "email" if "@" in ref else "ac_id"
    value = ref.lower() if column == "email" else ref
    row = conn.execute(
        f"SELECT id, ac_id, email, created_at FROM contacts WHERE {column} = ?", [value]
    ).fetchone()
    return None if row is None else _info(row)


def stale_contacts(conn: sqlite3.Connection, now: datetime) -> int:
    """Contacts whose stored scores are behind: new events, or a change due by ``now``."""
    row = conn.execute(
        "SELECT count(*) FROM contacts WHERE dirty > 0 OR next_change_at <= ?", [iso(now)]
    ).fetchone()
    return int(row[0])


def staleness(conn: sqlite3.Connection, now: datetime) -> tuple[int, int]:
    """(contacts with events not yet scored, others whose stored scores change by ``now``)."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE dirty > 0), count(*) FILTER (WHERE dirty = 0 AND next_change_at <= ?) "
        "FROM contacts",
        [iso(now)],
    ).fetchone()
    return int(row[0]), int(row[1])


def stored_ledger(conn: sqlite3.Connection, contact: int) -> list[Entry]:
    return next((entries for _, entries in ledger_by_contact(conn, [contact])), [])


def replayed_ledgers(
    conn: sqlite3.Connection, contacts: Sequence[ContactInfo], rulesets: Sequence[Ruleset], chunk: int = 2000
) -> Iterator[tuple[ContactInfo, list[list[Entry]]]]:
    """Each contact's ledger rebuilt from its stored events under each ruleset, in memory."""
    for batch in batched(contacts, chunk):
        events = dict(events_by_contact(conn, [c.id for c in batch]))
        for c in batch:
            mine = events.get(c.id, [])
            yield c, [build_ledger(mine, rs, c.created_at) for rs in rulesets]
