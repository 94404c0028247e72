"""``acsync ingest --inbox``: turn stored webhook bodies into events.

Rows are processed in batches, one transaction each, and each row in its own savepoint: every
row ends ``ingested``, ``ignored`` (a known type that scores nothing: deals, SMS, automations, a
``sent`` without a contact), ``unknown`` (a type AC never documented: kept and counted) or
``rejected`` (with the reason). A row that cannot be decoded or stored, whatever the cause (a
time past the end of the calendar, JSON nested thousands deep, text UTF-8 cannot encode), is
rejected alone: its savepoint is rolled back, the rows around it go on, and it never comes back
as ``new`` to fail the next run. Only a failure of the database itself (a full disk) stops the
batch, which then rolls back whole. Nothing is deleted.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from acsync.core.event import printable
from acsync.core.timefmt import from_iso, iso
from acsync.core.webhook_decode import Decoded, WebhookError, decode_body, to_events
from acsync.store import Store
from acsync.store.contacts import Contacts
from acsync.store.events import DUPLICATE, NEW, insert_event, mark_dirty

BATCH = 500
REASON_CHARS = 300  # a reason is one readable line, not a copy of the body


@dataclass
class InboxReport:
    rows: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # ingested, ignored, unknown, rejected
    types: Counter[str] = field(default_factory=Counter)  # AC webhook types seen
    new: int = 0  # events stored
    duplicate: int = 0  # events already known (from a poll or an earlier delivery)


def ingest_inbox(store: Store, now: datetime, batch: int = BATCH, zone: tzinfo = UTC) -> InboxReport:
    """``zone``: the account's time zone, for webhook times without an offset."""
    report = InboxReport()
    processed_at = iso(now)
    while True:
        rows = store.conn.execute(
            "SELECT id, received_at, content_type, body FROM inbox WHERE status = 'new' ORDER BY id LIMIT ?",
            [batch],
        ).fetchall()
        if not rows:
            break
        with store.write() as conn:
            contacts = Contacts(conn)
            touched: set[int] = set()
            for row_id, received_at, content_type, body in rows:
                type_, reason = None, None
                try:
                    decoded = decode(content_type, body, from_iso(received_at), zone)
                except WebhookError as e:
                    status, reason = "rejected", str(e)
                else:
                    status, type_ = decoded.status, decoded.type
                    conn.execute("SAVEPOINT inbox_row")
                    try:
                        new, duplicate, mine = _store(conn, contacts, decoded, received_at)
                    except (ValueError, OverflowError, sqlite3.IntegrityError, sqlite3.InterfaceError) as e:
                        conn.execute("ROLLBACK TO inbox_row")
                        contacts = Contacts(conn)  # its cache may hold a row rolled back
                        status, reason = "rejected", f"cannot be stored: {_why(e)}"
                    else:
                        report.new += new
                        report.duplicate += duplicate
                        touched |= mine
                    conn.execute("RELEASE inbox_row")
                type_ = None if type_ is None else printable(type_)
                conn.execute(
                    "UPDATE inbox SET status = ?, type = ?, reason = ?, processed_at = ? WHERE id = ?",
                    [status, type_, None if reason is None else printable(reason), processed_at, row_id],
                )
                report.rows += 1
                report.statuses[status] += 1
                if type_:
                    report.types[type_] += 1
            if touched:
                mark_dirty(conn, sorted(touched))
    with store.write():
        store.set_meta("last_job_ok_at", processed_at)
    return report


def decode(content_type: str, body: bytes, received_at: datetime, zone: tzinfo) -> Decoded:
    """One stored body's events. Any failure is the body's: it raises WebhookError with why."""
    try:
        return to_events(decode_body(content_type, bytes(body)), received_at, zone)
    except WebhookError:
        raise
    except Exception as e:  # the decoder is pure: whatever it trips on is in this body
        raise WebhookError(f"cannot be decoded: {_why(e)}") from None


def _store(
    conn: sqlite3.Connection, contacts: Contacts, decoded: Decoded, received_at: str
) -> tuple[int, int, set[int]]:
    """Store one webhook's events: (new, duplicate, contacts touched)."""
    new = duplicate = 0
    touched: set[int] = set()
    if decoded.contact_id and decoded.email:
        seen = contacts.resolve(decoded.contact_id, decoded.email)
        # AC posted about this contact: it existed then (push may bulk-import it)
        conn.execute(
            "UPDATE contacts SET seen_in_ac_at = max(coalesce(seen_in_ac_at, ''), ?) WHERE id = ?",
            [received_at, seen],
        )
    for event in decoded.events:
        contact = contacts.resolve(event.contact_id, event.email)
        outcome = insert_event(conn, contact, event, "webhook", received_at)
        new += outcome == NEW
        duplicate += outcome != NEW
        if outcome != DUPLICATE:
            touched.add(contact)
    return new, duplicate, touched


def _why(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"
