"""The outbox: what push must write to ActiveCampaign, kept equal to desired − known.

Scoring calls ``queue`` in the transaction that changes a contact's scores or tags, so a change
and the write it needs are committed together. One row per (contact, field or tag) holds the
value AC must end with; a newer change replaces it. A row whose write may already be in AC
(``sent_value``, and ``batch`` for a bulk import) is never dropped by scoring: when the write
completes, push records it in ``ac_state`` and drops the row only if the value is still the one
it sent, so an import that lands late can never leave AC with a stale value.

A row with ``sent_value`` but no ``batch`` when a push starts (one push runs at a time) is a
write whose answer was lost: a read timeout, a dropped connection, a process killed while AC
answered. ``lost`` lists them; push reads AC back before it sends any of them again, and a
failure that may have reached AC keeps the mark (``failed(maybe_sent=True)``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from acsync.core.desired import REMOVE, Key, State, Target, diff

_IN = "IN (SELECT value FROM json_each(?))"


def queue(conn: sqlite3.Connection, target: Target, wanted: Mapping[int, State], at: str) -> int:
    """Bring these contacts' outbox rows to their desired state minus ``ac_state``; returns the
    number of rows inserted or changed. Contacts AC deleted get none."""
    if not wanted or (not target.fields and not target.tags):
        return 0
    ids = [json.dumps(list(wanted))]
    known: dict[int, dict[Key, str]] = {}
    for c, kind, name, value in conn.execute(
        f"SELECT contact, kind, name, value FROM ac_state WHERE contact {_IN}", ids
    ):
        known.setdefault(c, {})[(kind, name)] = value
    queued: dict[int, dict[Key, tuple[str, bool]]] = {}
    for c, kind, name, value, sent in conn.execute(
        f"SELECT contact, kind, name, value, sent_value FROM outbox WHERE contact {_IN}", ids
    ):
        queued.setdefault(c, {})[(kind, name)] = (value, sent is not None)
    gone = {
        c
        for (c,) in conn.execute(
            f"SELECT id FROM contacts WHERE id {_IN} AND deleted_in_ac_at IS NOT NULL", ids
        )
    }
    inserts: list[tuple[object, ...]] = []
    updates: list[tuple[object, ...]] = []
    deletes: list[tuple[object, ...]] = []
    for c, want in wanted.items():
        if c in gone:
            continue
        changes = diff(target, want, known.get(c, {}))
        rows = queued.get(c, {})
        for key, value in changes.items():
            old = rows.get(key)
            if old is None:
                inserts.append((c, *key, value, at))
            elif old[0] != value:
                updates.append((value, at, c, *key))
        for key, (value, in_flight) in rows.items():
            if key in changes:
                continue
            final = want.get(key, REMOVE if key[0] == "tag" else None)
            if not in_flight or final is None:
                deletes.append((c, *key))
            elif value != final:  # a write in flight may still land: make sure AC ends with `final`
                updates.append((final, at, c, *key))
    conn.executemany(
        "INSERT INTO outbox (contact, kind, name, value, queued_at) VALUES (?, ?, ?, ?, ?)", inserts
    )
    conn.executemany(
        "UPDATE outbox SET value = ?, queued_at = ?, attempts = 0, next_attempt_at = NULL, "
        "last_error = NULL, dead = 0 WHERE contact = ? AND kind = ? AND name = ?",
        updates,
    )
    conn.executemany("DELETE FROM outbox WHERE contact = ? AND kind = ? AND name = ?", deletes)
    return len(inserts) + len(updates)


class Row(NamedTuple):
    """One queued write, with what push needs to know about its contact."""

    contact: int
    kind: str
    name: str
    value: str
    sent_value: str | None
    batch: str | None
    attempts: int
    ac_id: str | None
    email: str | None
    seen_in_ac_at: str | None
    known: str | None  # the value in ac_state
    contact_tag: str | None  # the tag's contactTag id in ac_state
    last_error: str | None
    next_attempt_at: str | None
    sent_at: str | None  # when the write of sent_value left
    sent_bulk: int  # 1: it left in a bulk import

    @property
    def lost(self) -> bool:
        """Sent, and no answer recorded: AC may hold ``sent_value`` (no push is running now)."""
        return self.sent_value is not None and not self.batch


_ROWS = """
    SELECT o.contact, o.kind, o.name, o.value, o.sent_value, o.batch, o.attempts,
           c.ac_id, c.email, c.seen_in_ac_at, s.value, s.contact_tag, o.last_error, o.next_attempt_at,
           o.sent_at, o.sent_bulk
    FROM outbox o
    JOIN contacts c ON c.id = o.contact
    LEFT JOIN ac_state s ON s.contact = o.contact AND s.kind = o.kind AND s.name = o.name
"""


def due(conn: sqlite3.Connection, at: str) -> list[Row]:
    """Live rows whose time has come, by contact."""
    sql = (
        _ROWS + "WHERE o.dead = 0 AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?) ORDER BY 1, 2, 3"
    )
    return [Row(*r) for r in conn.execute(sql, [at])]


def listing(conn: sqlite3.Connection, *, dead: bool) -> list[Row]:
    return [Row(*r) for r in conn.execute(_ROWS + "WHERE o.dead = ? ORDER BY 1, 2, 3", [int(dead)])]


# --- what push records --------------------------------------------------------------------------
def mark_sent(
    conn: sqlite3.Connection, rows: Iterable[Row], batch: str | None = None, *, at: str, bulk: bool = False
) -> None:
    """Before a write that may reach AC (and, for a bulk import, once its batch id is known)."""
    conn.executemany(
        "UPDATE outbox SET sent_value = ?, batch = ?, sent_at = ?, sent_bulk = ? "
        "WHERE contact = ? AND kind = ? AND name = ?",
        [(r.value, batch, at, int(bulk), r.contact, r.kind, r.name) for r in rows],
    )


def not_written(conn: sqlite3.Connection, rows: Iterable[Row]) -> None:
    """AC was read back and does not hold what a lost write sent: the row is an ordinary one again."""
    conn.executemany(
        "UPDATE outbox SET sent_value = NULL, batch = NULL, sent_at = NULL, sent_bulk = 0 "
        "WHERE contact = ? AND kind = ? AND name = ?",
        [(r.contact, r.kind, r.name) for r in rows],
    )


def written(
    conn: sqlite3.Connection, row: Row, at: str, contact_tag: str | None = None, value: str | None = None
) -> None:
    """AC now holds ``value`` (default: the row's value): record it, and drop the row unless a
    newer value was queued meanwhile."""
    value = row.value if value is None else value
    if row.kind == "tag" and value == REMOVE:
        conn.execute(
            "DELETE FROM ac_state WHERE contact = ? AND kind = 'tag' AND name = ?", [row.contact, row.name]
        )
    else:
        conn.execute(
            "INSERT INTO ac_state (contact, kind, name, value, contact_tag, written_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contact, kind, name) DO UPDATE SET "
            "value = excluded.value, contact_tag = coalesce(excluded.contact_tag, contact_tag), "
            "written_at = excluded.written_at",
            [row.contact, row.kind, row.name, value, contact_tag, at],
        )
    key = [row.contact, row.kind, row.name]
    conn.execute(
        "DELETE FROM outbox WHERE contact = ? AND kind = ? AND name = ? AND value = ?", [*key, value]
    )
    conn.execute(
        "UPDATE outbox SET sent_value = NULL, batch = NULL, sent_at = NULL, sent_bulk = 0 "
        "WHERE contact = ? AND kind = ? AND name = ?",
        key,
    )


def failed(
    conn: sqlite3.Connection,
    row: Row,
    error: str,
    retry_at: str | None,
    *,
    max_attempts: int,
    maybe_sent: bool = False,
) -> bool:
    """A write that failed; dead-lettered when ``retry_at`` is None or attempts run out.
    ``maybe_sent``: its answer was lost, so AC may hold it: the mark stays (the next push reads AC
    back first). Otherwise it certainly did not happen. Returns True when the row is now dead."""
    dead = retry_at is None or row.attempts + 1 >= max_attempts
    keep = "" if maybe_sent else ", sent_value = NULL, sent_at = NULL, sent_bulk = 0"
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, dead = ?, "
        f"batch = NULL{keep} WHERE contact = ? AND kind = ? AND name = ?",
        [error[:1000], None if dead else retry_at, int(dead), row.contact, row.kind, row.name],
    )
    return dead


def contact_gone(conn: sqlite3.Connection, contact: int, at: str) -> None:
    """AC answered 404 for the contact: it was deleted there. Nothing more is written for it."""
    conn.execute("UPDATE contacts SET deleted_in_ac_at = ? WHERE id = ?", [at, contact])
    conn.execute("DELETE FROM outbox WHERE contact = ?", [contact])


def retry_dead(conn: sqlite3.Connection) -> int:
    """Revive dead rows and make waiting ones due now: ``acsync outbox --retry``."""
    cur = conn.execute(
        "UPDATE outbox SET dead = 0, attempts = 0, next_attempt_at = NULL "
        "WHERE dead = 1 OR next_attempt_at IS NOT NULL"
    )
    return cur.rowcount
