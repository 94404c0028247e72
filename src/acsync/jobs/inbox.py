"""``acsync ingest --inbox``: turn stored webhook bodies into events.

Rows are processed in batches, one transaction each; every row ends ``ingested``, ``ignored``
(a known type that scores nothing: deals, SMS, automations), ``unknown`` (a type AC never
documented: kept and counted) or ``rejected`` (with the reason). Nothing is deleted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from acsync.core.timefmt import from_iso, iso
from acsync.core.webhook_decode import WebhookError, decode_body, to_events
from acsync.store import Store
from acsync.store.contacts import Contacts
from acsync.store.events import DUPLICATE, NEW, insert_event, mark_dirty

BATCH = 500


@dataclass
class InboxReport:
    rows: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # ingested, ignored, unknown, rejected
    types: Counter[str] = field(default_factory=Counter)  # AC webhook types seen
    new: int = 0  # events stored
    duplicate: int = 0  # events already known (from a poll or an earlier delivery)


def ingest_inbox(store: Store, now: datetime, batch: int = BATCH) -> InboxReport:
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
                    decoded = to_events(decode_body(content_type, bytes(body)), from_iso(received_at))
                except WebhookError as e:
                    status, reason = "rejected", str(e)
                else:
                    status, type_ = decoded.status, decoded.type
                    if decoded.contact_id and decoded.email:
                        seen = contacts.resolve(decoded.contact_id, decoded.email)
                        # AC posted about this contact: it existed then (push may bulk-import it)
                        conn.execute(
                            "UPDATE contacts SET seen_in_ac_at = max(coalesce(seen_in_ac_at, ''), ?) "
                            "WHERE id = ?",
                            [received_at, seen],
                        )
                    for event in decoded.events:
                        contact = contacts.resolve(event.contact_id, event.email)
                        outcome = insert_event(conn, contact, event, "webhook", received_at)
                        report.new += outcome == NEW
                        report.duplicate += outcome != NEW
                        if outcome != DUPLICATE:
                            touched.add(contact)
                conn.execute(
                    "UPDATE inbox SET status = ?, type = ?, reason = ?, processed_at = ? WHERE id = ?",
                    [status, type_, reason, processed_at, row_id],
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
