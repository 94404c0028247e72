"""``acsync ingest``: JSON Lines events into the store.

A bad line is reported with its line number and reason and never stops the good ones. Lines are
committed in batches, so a killed ingest keeps every batch it finished and a re-run adds nothing
twice (events are deduplicated by identity).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from acsync.core.event import EventError, parse_event
from acsync.core.timefmt import iso
from acsync.iters import batched
from acsync.store import Store
from acsync.store.contacts import Contacts
from acsync.store.events import DUPLICATE, NEW, insert_event, mark_dirty

BATCH = 2000


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


def ingest_lines(store: Store, lines: Iterable[str], source: str, now: datetime) -> IngestReport:
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
                    event = parse_event(json.loads(line))
                except json.JSONDecodeError as e:
                    report.rejected.append(Rejection(number, f"not JSON: {e.msg} at column {e.colno}"))
                    continue
                except EventError as e:
                    report.rejected.append(Rejection(number, str(e)))
                    continue
                contact = contacts.resolve(event.contact_id, event.email)
                outcome = insert_event(store.conn, contact, event, source, received_at)
                if outcome == NEW:
                    report.new += 1
                else:
                    report.duplicate += 1
                if outcome != DUPLICATE:
                    touched.add(contact)
            if touched:
                mark_dirty(store.conn, sorted(touched))
    return report
