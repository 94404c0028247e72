"""``acsync backfill`` and ``acsync sync``: pull activity from ActiveCampaign into the store.

Backfill runs its phases in order — contacts (keyset), campaign opens and clicks (each
campaign's links, then each link's hits), site visits and tracked events (one trackingLogs call
per contact), orders, tags — and checkpoints after every page: the events of a page and the
cursor that says "done up to here" are one transaction. A killed backfill resumes at its cursor;
a finished one starts a fresh pass, which adds nothing (events are deduplicated by identity).

Sync is one incremental cycle: contacts changed since the last cycle (``filters[updated_after]``
with an overlap window; the cursor never moves past the cycle's start), the campaigns sent
recently, the trackingLogs of the contacts that changed, orders, then the webhook inbox.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from acsync.ac.client import AcClient
from acsync.core import ac_mapping
from acsync.core.ac_values import ac_time, as_id
from acsync.core.event import Event
from acsync.core.timefmt import iso
from acsync.jobs import pull_lists
from acsync.progress import Reporter, Silent
from acsync.store import Store
from acsync.store.contacts import Contacts
from acsync.store.events import DUPLICATE, NEW, insert_event, mark_dirty

PHASES = ("contacts", "campaigns", "tracking", "orders", "tags", "lists")
PREFETCH = 2  # trackingLogs requests in flight while a page is written
SYNC_OVERLAP = timedelta(minutes=10)
RECENT_CAMPAIGNS = timedelta(days=30)  # opens and clicks trickle in for weeks


@dataclass
class PullReport:
    contacts: int = 0
    events: Counter[str] = field(default_factory=Counter)  # new events by type
    duplicate: int = 0
    requests: Counter[str] = field(default_factory=Counter)

    @property
    def new(self) -> int:
        return sum(self.events.values())


class Puller:
    """Pages from AC into the store, one transaction per page, cursor included."""

    def __init__(
        self, store: Store, client: AcClient, now: datetime, source: str, since: datetime | None = None
    ) -> None:
        self.store, self.client, self.now, self.source, self.since = store, client, now, source, since
        self.report = PullReport()
        self._requests_before = Counter(client.requests)

    def finish(self) -> PullReport:
        self.report.requests = Counter(self.client.requests) - self._requests_before
        return self.report

    # --- cursors ----------------------------------------------------------------------------------
    def cursor(self, name: str) -> str | None:
        row = self.store.conn.execute("SELECT value FROM cursors WHERE name = ?", [name]).fetchone()
        return None if row is None else str(row[0])

    def _set_cursor(self, name: str, value: str) -> None:
        self.store.conn.execute(
            "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            [name, value, iso(self.now)],
        )

    # --- one page ---------------------------------------------------------------------------------
    def save(
        self,
        events: Iterable[Event | None],
        cursor: tuple[str, str] | None = None,
        contacts: Iterable[ac_mapping.ContactRecord] = (),
    ) -> None:
        """Contacts, events and the cursor of one page, in one transaction."""
        received = iso(self.now)
        with self.store.write() as conn:
            resolver = Contacts(conn)
            touched: set[int] = set()
            for c in contacts:
                local = resolver.resolve(
                    c.ac_id, c.email, None if c.created_at is None else iso(c.created_at)
                )
                self.report.contacts += 1
                touched.add(local)
                conn.execute("UPDATE contacts SET seen_in_ac_at = ? WHERE id = ?", [received, local])
            for e in events:
                if e is None or (self.since is not None and e.at < self.since):
                    continue
                local = resolver.resolve(e.contact_id, e.email)
                outcome = insert_event(conn, local, e, self.source, received)
                if outcome == NEW:
                    self.report.events[e.type] += 1
                else:
                    self.report.duplicate += 1
                if outcome != DUPLICATE:
                    touched.add(local)
            if touched:
                mark_dirty(conn, sorted(touched))
            if cursor is not None:
                self._set_cursor(*cursor)


def backfill(
    store: Store,
    client: AcClient,
    now: datetime,
    *,
    since: datetime | None = None,
    progress: Reporter | None = None,
) -> PullReport:
    p = Puller(store, client, now, "backfill", since)
    progress = progress or Silent()
    phase = p.cursor("backfill:phase")
    if phase is None or phase == "done":  # a new pass
        with store.write():
            store.conn.execute("DELETE FROM cursors WHERE name LIKE 'backfill:%'")
            p._set_cursor("backfill:phase", PHASES[0])
            if store.get_meta("backfill_started_at") is None:  # where the first sync picks up
                store.set_meta("backfill_started_at", iso(now))
        phase = PHASES[0]
    steps: dict[str, Callable[[Puller, Reporter], object]] = {
        "contacts": _contacts,
        "campaigns": _campaigns,
        "tracking": _tracking,
        "orders": _orders,
        "tags": _tags,
        "lists": pull_lists.backfill_lists,  # list sign-ups and form submissions
    }
    for name in PHASES[PHASES.index(phase) :]:
        steps[name](p, progress)
        nxt = PHASES[PHASES.index(name) + 1] if name != PHASES[-1] else "done"
        with store.write():
            p._set_cursor("backfill:phase", nxt)
    progress.close()
    return p.finish()


def _contacts(
    p: Puller, progress: Reporter, updated_after: str | None = None, name: str = "backfill:contacts"
) -> list[str]:
    progress.start("contacts", None)
    after = int(p.cursor(name) or 0)
    seen: list[str] = []
    for page in p.client.contact_pages(after, updated_after=updated_after):
        records = [r for r in map(ac_mapping.contact_record, page) if r is not None]
        last = max(int(r.ac_id) for r in records) if records else after
        p.save((), (name, str(last)), records)
        seen += [r.ac_id for r in records]
        progress.advance("contacts", len(records))
    return seen


def _campaigns(p: Puller, progress: Reporter, recent_only: bool = False) -> None:
    """Opens and clicks: every campaign's links, then each link's hits, page by page."""
    name = "sync:links" if recent_only else "backfill:links"
    state = json.loads(p.cursor(name) or '{"campaign": 0, "link": 0, "offset": 0}')
    campaigns = [c for page in p.client.campaign_pages() for c in page]
    if recent_only:
        cutoff = p.now - RECENT_CAMPAIGNS
        campaigns = [c for c in campaigns if (ac_time(c.get("sdate")) or p.now) >= cutoff]
    elif p.since is not None:
        campaigns = [
            c for c in campaigns if (ac_time(c.get("sdate")) or p.now) >= p.since - timedelta(days=30)
        ]
    campaigns.sort(key=lambda c: int(as_id(c.get("id")) or 0))
    progress.start("campaigns", len(campaigns))
    for camp in campaigns:
        cid = int(as_id(camp.get("id")) or 0)
        if cid < state["campaign"]:
            progress.advance("campaigns")
            continue
        links = sorted(p.client.campaign_links(str(cid)), key=lambda link: int(as_id(link.get("id")) or 0))
        for link in links:
            lid = int(as_id(link.get("id")) or 0)
            if (cid, lid) < (state["campaign"], state["link"]):
                continue
            offset = state["offset"] if (cid, lid) == (state["campaign"], state["link"]) else 0
            for page in p.client.link_data_pages(str(lid), start=offset):
                offset += len(page)
                cursor = json.dumps({"campaign": cid, "link": lid, "offset": offset})
                p.save(
                    (ac_mapping.link_hit(hit, link) for hit in page),
                    (name, cursor),
                )
        state = {"campaign": cid + 1, "link": 0, "offset": 0}
        with p.store.write():
            p._set_cursor(name, json.dumps(state))
        progress.advance("campaigns")


def _tracking(
    p: Puller, progress: Reporter, only: list[str] | None = None, name: str = "backfill:tracking"
) -> None:
    """One trackingLogs call per contact (AC has no account-wide endpoint for them)."""
    if only is None:
        rows = p.store.conn.execute("SELECT ac_id FROM contacts WHERE ac_id IS NOT NULL").fetchall()
        ids = sorted(int(r[0]) for r in rows if str(r[0]).isdigit())
    else:
        ids = sorted(int(i) for i in only if i.isdigit())
    done = int(p.cursor(name) or 0)
    todo = [i for i in ids if i > done]
    progress.start("tracking", len(todo))

    def fetch(ac_id: int) -> list[dict[str, Any]]:
        return [log for page in p.client.tracking_log_pages(str(ac_id)) for log in page]

    # Fetch ahead while this thread writes, so the rate limit, not the database, sets the pace.
    # Results are written in contact order, so the cursor still means "done up to here".
    with ThreadPoolExecutor(max_workers=PREFETCH, thread_name_prefix="acsync-fetch") as pool:
        queue = iter(todo)
        ahead = deque((i, pool.submit(fetch, i)) for i in islice(queue, 2 * PREFETCH))
        try:
            while ahead:
                ac_id, future = ahead.popleft()
                logs = future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    ahead.append((nxt, pool.submit(fetch, nxt)))
                p.save((ac_mapping.tracking_log(log) for log in logs), (name, str(ac_id)))
                progress.advance("tracking")
        finally:
            for _, future in ahead:
                future.cancel()


def _offset_phase(
    p: Puller,
    progress: Reporter,
    phase: str,
    pages: Callable[[int], Iterable[list[dict[str, Any]]]],
    to_events: Callable[[dict[str, Any]], Event | None],
) -> None:
    """An account-wide list, page by page from the cursor's offset."""
    name = f"backfill:{phase}"
    offset = int(p.cursor(name) or 0)
    progress.start(phase, None)
    for page in pages(offset):
        offset += len(page)
        p.save((to_events(i) for i in page), (name, str(offset)))
        progress.advance(phase, len(page))


def _orders(p: Puller, progress: Reporter) -> None:
    _offset_phase(p, progress, "orders", p.client.ecom_order_pages, ac_mapping.order)


def _tags(p: Puller, progress: Reporter) -> None:
    names = {
        as_id(t.get("id")) or "": str(t.get("tag"))
        for page in p.client.offset_pages("tags", "tags")
        for t in page
    }
    _offset_phase(
        p, progress, "tags", p.client.contact_tag_pages, lambda ct: ac_mapping.contact_tag(ct, names)
    )


def sync(store: Store, client: AcClient, now: datetime, *, progress: Reporter | None = None) -> PullReport:
    """One incremental cycle. The cursor moves to this cycle's start, never past it."""
    p = Puller(store, client, now, "sync")
    progress = progress or Silent()
    last = p.cursor("sync:updated_after") or store.get_meta("backfill_started_at")
    updated_after = None if last is None else iso(datetime.fromisoformat(last) - SYNC_OVERLAP)
    with store.write():
        store.conn.execute(
            "DELETE FROM cursors WHERE name IN ('sync:contacts', 'sync:tracking', 'sync:links')"
        )
    changed = _contacts(p, progress, updated_after, "sync:contacts")
    _campaigns(p, progress, recent_only=True)
    _tracking(p, progress, changed, "sync:tracking")
    orders = [o for page in client.ecom_order_pages() for o in page]
    p.save(ac_mapping.order(o) for o in orders)
    pull_lists.sync_lists(p, progress)
    with store.write():
        p._set_cursor("sync:updated_after", iso(now))
    progress.close()
    return p.finish()
