"""``acsync ingest``: JSON Lines events into the store.

A bad line is reported with its line number and reason and never stops the good ones: a line
that is not UTF-8 (a Latin-1 file), not JSON (or nested too deeply), not a valid event (a time
outside the supported range, an unknown type, text UTF-8 cannot encode) or that the store
refuses is rejected alone, in its own savepoint. Lines are committed in batches, so a killed
ingest keeps every batch it finished and a re-run adds nothing twice (events are deduplicated by
identity). Only a failure of the database itself (a full disk) stops the ingest.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from acsync.core.event import Event, EventError, parse_event, printable
from acsync.core.timefmt import iso
from acsync.iters import batched
from acsync.store import Store
from acsync.store.contacts import Contacts
from acsync.store.events import DUPLICATE, NEW, insert_event, mark_dirty

BATCH = 2000
REASON_CHARS = 300


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class IngestReport:
    read: int = 0
    new: int = 0
    duplicate: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def parse_line(line: str | bytes, number: int = 0) -> Event:
    """One line as an event; EventError says why not, whatever is wrong with it."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as e:
            raise EventError(
                f"not UTF-8 text (byte 0x{line[e.start]:02x} at column {e.start + 1}); "
                "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
            ) from None
    try:
        obj = json.loads(line.removeprefix("\ufeff"))
    except json.JSONDecodeError as e:
        raise EventError(f"not JSON: {e.msg} at column {e.colno}") from None
    except RecursionError:
        raise EventError("not JSON this acsync can read: nested too deeply") from None
    try:
        return parse_event(obj)
    except EventError:
        raise
    except Exception as e:  # the parser is pure: whatever it trips on is in this line
        raise EventError(_why(e)) from None


def ingest_lines(store: Store, lines: Iterable[str | bytes], source: str, now: datetime) -> IngestReport:
    """``lines``: text, or bytes read in binary mode (each decoded alone, so one bad line stays one)."""
    report = IngestReport()
    received_at = iso(now)
    numbered = ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
    for batch in batched(numbered, BATCH):
        with store.write():
            contacts = Contacts(store.conn)
            touched: set[int] = set()
            for number, line in batch:
                report.read += 1
                try:
                    event = parse_line(line, number)
                except EventError as e:
                    report.rejected.append(Rejection(number, printable(str(e))))
                    continue
                store.conn.execute("SAVEPOINT ingest_line")
                try:
                    contact = contacts.resolve(event.contact_id, event.email)
                    outcome = insert_event(store.conn, contact, event, source, received_at)
                except (ValueError, OverflowError, sqlite3.IntegrityError, sqlite3.InterfaceError) as e:
                    store.conn.execute("ROLLBACK TO ingest_line")
                    store.conn.execute("RELEASE ingest_line")
                    contacts = Contacts(store.conn)  # its cache may hold a row rolled back
                    report.rejected.append(Rejection(number, printable(f"cannot be stored: {_why(e)}")))
                    continue
                store.conn.execute("RELEASE ingest_line")
                if outcome == NEW:
                    report.new += 1
                else:
                    report.duplicate += 1
                if outcome != DUPLICATE:
                    touched.add(contact)
            if touched:
                mark_dirty(store.conn, sorted(touched))
    return report


def _why(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"
