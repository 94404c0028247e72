"""``acsync backfill`` and ``acsync sync``: pull activity from ActiveCampaign into the store.

Backfill runs its phases in order — contacts (keyset), campaign opens and clicks, site visits
and tracked events (one trackingLogs call per contact), orders, tags — and checkpoints after
every page: the events of a page and the cursor that says "done up to here" are one transaction.
A killed backfill resumes at its cursor; a finished one starts a fresh pass, which adds nothing
(events are deduplicated by identity). Opens and clicks come from the source chosen for the
account (``jobs/sources.py``: AC's campaign reports, else each link's hits).

Sync is one incremental cycle whose cost follows what changed, not the account's history; its
cursors survive between cycles:

- contacts changed since the last cycle (``filters[updated_after]``, overlapping a day: AC
  documents it as a date, perhaps read in the account's zone); a contact's trackingLogs are read
  only when its ``udate`` moved and the move was not acsync's own write (push records the window
  in which it wrote each contact);
- campaigns sent in the last 30 days whose counters (``opens``, ``linkclicks``…) moved since
  the last read, or were last read a day ago; the opens report is ordered by the last open,
  newest first, and is read until it passes the campaign's cursor;
- orders by update time, newest first, until they pass the cursor (less a day);
- a sweep of trackingLogs within a budget (``activecampaign.sweep_share`` of the rate limit),
  contacts with recent activity first, because site visits move no ``udate`` and have no
  webhook: every contact is revisited within contacts ÷ (budget per cycle) cycles.

A 404 on a contact's trackingLogs marks the contact deleted in AC once its own ``GET /contacts/{id}``
answers 404 too; the pull goes on.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice, pairwise
from typing import Any

from acsync.ac.client import AcClient
from acsync.ac.errors import AcNotFound
from acsync.config import ActiveCampaignConfig
from acsync.core import ac_mapping
from acsync.core.ac_values import ac_time, as_id
from acsync.core.event import Event
from acsync.core.timefmt import from_iso, iso
from acsync.jobs import pull_lists, sources
from acsync.progress import Reporter, Silent
from acsync.store import Store
from acsync.store.contacts import Contacts
from acsync.store.events import DUPLICATE, NEW, insert_event, mark_dirty

log = logging.getLogger(__name__)

PHASES = ("contacts", "campaigns", "tracking", "orders", "tags", "lists")
PREFETCH = 2  # trackingLogs requests in flight while a page is written
SYNC_OVERLAP = timedelta(days=1)  # filters[updated_after] is a date, maybe in the account's zone
REPORT_OVERLAP = timedelta(hours=1)  # opens recorded late, just behind the newest one seen
RECENT_CAMPAIGNS = timedelta(days=30)  # opens and clicks trickle in for weeks
CAMPAIGN_REFRESH = timedelta(days=1)  # a recent campaign is re-read this often, counters or not
OWN_WRITE_SLACK = timedelta(minutes=1)  # between acsync's clock and AC's
RECENTLY_ACTIVE = timedelta(days=30)  # the sweep's first half goes to these contacts


@dataclass
class PullReport:
    contacts: int = 0
    events: Counter[str] = field(default_factory=Counter)  # new events by type
    duplicate: int = 0
    deleted: int = 0  # contacts AC answered 404 for
    own_writes: int = 0  # changed contacts whose only change was acsync's own write
    swept: int = 0  # trackingLogs read by the sweep
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
        self.sources: dict[str, sources.Choice] = {}

    def finish(self) -> PullReport:
        self.report.requests = Counter(self.client.requests) - self._requests_before
        return self.report

    def source_of(self, phase: str) -> sources.Choice:
        if not self.sources:
            self.sources = sources.ensure(self.store, self.client, self.now)
        return self.sources[phase]

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
        udates: dict[str, str] | None = None,
    ) -> None:
        """Contacts, events, the cursor of one page and the ``udate`` each contact was read at
        (``udates``: AC id → udate), in one transaction."""
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
            if udates:
                conn.executemany(
                    "UPDATE contacts SET ac_udate = ? WHERE ac_id = ?", [(u, i) for i, u in udates.items()]
                )
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


# --- contacts ---------------------------------------------------------------------------------------
def _contacts(
    p: Puller, progress: Reporter, updated_after: str | None = None, name: str = "backfill:contacts"
) -> dict[str, str]:
    """Contacts page by page. A backfill reads every contact's trackingLogs anyway; a sync returns
    the contacts whose ``udate`` moved by something other than acsync's own write (AC id → udate)."""
    progress.start("contacts", None)
    after = int(p.cursor(name) or 0)
    changed: dict[str, str] = {}
    for page in p.client.contact_pages(after, updated_after=updated_after):
        records = [r for r in map(ac_mapping.contact_record, page) if r is not None]
        udates = {
            str(as_id(c.get("id"))): str(c.get("udate"))
            for c in page
            if as_id(c.get("id")) and c.get("udate")
        }
        last = max(int(r.ac_id) for r in records) if records else after
        moved = udates if updated_after is None else _moved(p, udates)
        changed.update({i: u for i, u in moved.items() if updated_after is not None})
        # A sync records a moved udate once its trackingLogs are in (see _tracking).
        settled = udates if updated_after is None else {i: u for i, u in udates.items() if i not in moved}
        p.save((), (name, str(last)), records, settled)
        progress.advance("contacts", len(records))
    return changed


def _moved(p: Puller, udates: dict[str, str]) -> dict[str, str]:
    """The contacts whose udate moved since the last pull, less those whose new udate lies in the
    window of acsync's own last write to them (a push moves udate: that is no activity)."""
    if not udates:
        return {}
    known = {
        str(r[0]): r[1:]
        for r in p.store.conn.execute(
            "SELECT ac_id, ac_udate, own_write_from, own_write_until FROM contacts "
            "WHERE ac_id IN (SELECT value FROM json_each(?))",
            [json.dumps(list(udates))],
        )
    }
    moved: dict[str, str] = {}
    for ac_id, udate in udates.items():
        before, start, until = known.get(ac_id, (None, None, None))
        if before == udate:
            continue
        at = ac_time(udate)
        if at is not None and start and until and _within(at, start, until):
            p.report.own_writes += 1
            continue
        moved[ac_id] = udate
    return moved


def _within(at: datetime, start: str, until: str) -> bool:
    return from_iso(start) - OWN_WRITE_SLACK <= at <= from_iso(until) + OWN_WRITE_SLACK


def record_own_write(conn: Any, contact: int, start: datetime, until: datetime) -> None:
    """Push's hook: acsync wrote this contact in AC between ``start`` and ``until``; the udate
    the write gives it lies in that window, so the next sync does not take it for activity."""
    conn.execute(
        "UPDATE contacts SET own_write_from = ?, own_write_until = ? WHERE id = ?",
        [iso(start), iso(until), contact],
    )


# --- campaigns: opens and clicks ----------------------------------------------------------------
def _campaigns(p: Puller, progress: Reporter, recent_only: bool = False) -> None:
    """Opens and clicks of each campaign, from the account's chosen sources. A sync reads only the
    recent campaigns whose counters moved (or that were last read a day ago)."""
    if recent_only:
        cutoff = p.now - RECENT_CAMPAIGNS
        campaigns = []
        for page in p.client.recent_campaign_pages():
            campaigns += [c for c in page if (ac_time(c.get("sdate")) or p.now) >= cutoff]
            if any((ac_time(c.get("sdate")) or p.now) < cutoff for c in page):
                break  # the last sent come first: the rest are older still
    else:
        campaigns = [c for page in p.client.campaign_pages() for c in page]
        if p.since is not None:
            start = p.since - timedelta(days=30)
            campaigns = [c for c in campaigns if (ac_time(c.get("sdate")) or p.now) >= start]
    campaigns = [c for c in campaigns if ac_time(c.get("sdate")) is not None]  # unsent: nothing yet
    campaigns.sort(key=lambda c: int(as_id(c.get("id")) or 0))
    done = 0 if recent_only else int(p.cursor("backfill:campaigns") or 0)
    progress.start("campaigns", len(campaigns))
    for camp in campaigns:
        cid = int(as_id(camp.get("id")) or 0)
        if cid <= done:
            progress.advance("campaigns")
            continue
        name = f"campaign:{cid}"
        state: dict[str, Any] = json.loads(p.cursor(name) or "{}")
        counters = "|".join(
            str(camp.get(k)) for k in ("opens", "uniqueopens", "linkclicks", "uniquelinkclicks")
        )
        fresh = state.get("read_at") is not None and from_iso(state["read_at"]) > p.now - CAMPAIGN_REFRESH
        if recent_only and state.get("counters") == counters and fresh:
            progress.advance("campaigns")
            continue
        _read_campaign(p, str(cid), state, name)
        state.update(counters=counters, read_at=iso(p.now))
        with p.store.write():
            p._set_cursor(name, json.dumps(state))
            if not recent_only:
                p._set_cursor("backfill:campaigns", str(cid))
        progress.advance("campaigns")


def _read_campaign(p: Puller, cid: str, state: dict[str, Any], name: str) -> None:
    opens, clicks = p.source_of("opens"), p.source_of("clicks")
    links: list[dict[str, Any]] | None = None
    if "linkdata" in (opens.source, clicks.source):
        links = sorted(p.client.campaign_links(cid), key=lambda link: int(as_id(link.get("id")) or 0))
    if opens.source == "v3-report":
        state["last_open"] = _report_opens(p, opens.detail, cid, state.get("last_open"))
    if clicks.source == "v3-report":
        for page in p.client.report_pages(clicks.detail, cid):
            p.save(
                ac_mapping.report_click(row, link, cid)
                for link in page
                if link.get("link") != ac_mapping.OPEN_LINK
                for row in _nested(link)
            )
    for link in links or []:
        is_open = link.get("link") == ac_mapping.OPEN_LINK
        if (opens if is_open else clicks).source != "linkdata":
            continue
        lid = str(as_id(link.get("id")))
        offsets = state.setdefault("offsets", {})
        for page in p.client.link_data_pages(lid, start=int(offsets.get(lid, 0))):
            offsets[lid] = int(offsets.get(lid, 0)) + len(page)
            p.save((ac_mapping.link_hit(hit, link) for hit in page), (name, json.dumps(state)))


def _report_opens(p: Puller, template: str, cid: str, last_open: str | None) -> str | None:
    """The opens report, newest last open first: read until a row is older than the campaign's
    cursor (less an hour), unless AC answered out of order (then to the end)."""
    stop = None if last_open is None else from_iso(last_open) - REPORT_OVERLAP
    newest = None if last_open is None else from_iso(last_open)
    for page in p.client.report_pages(template, cid):
        p.save(ac_mapping.report_open(row, cid) for row in page)
        times = [t for t in (ac_time(row.get("tstamp")) for row in page) if t is not None]
        if times:
            newest = max([*times, *([newest] if newest else [])])
        in_order = all(a >= b for a, b in pairwise(times))
        if stop is not None and in_order and times and times[-1] < stop:
            break
    return None if newest is None else iso(min(newest, p.now))


def _nested(link: dict[str, Any]) -> list[dict[str, Any]]:
    """The contacts under a link of the link-clicks report (``info`` in v1's words)."""
    rows = link.get("info", link.get("contacts"))
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


# --- site visits and tracked events ----------------------------------------------------------------
def _tracking(
    p: Puller,
    progress: Reporter,
    only: list[str] | None = None,
    name: str = "backfill:tracking",
    udates: dict[str, str] | None = None,
) -> None:
    """One trackingLogs call per contact; a 404 marks the contact deleted in AC once its own
    ``GET /contacts/{id}`` answers 404 too."""
    if only is None:
        rows = p.store.conn.execute(
            "SELECT ac_id FROM contacts WHERE ac_id IS NOT NULL AND deleted_in_ac_at IS NULL"
        ).fetchall()
        ids = sorted(int(r[0]) for r in rows if str(r[0]).isdigit())
    else:
        ids = sorted({int(i) for i in only if i.isdigit()})
    done = int(p.cursor(name) or 0)
    todo = [i for i in ids if i > done]
    progress.start("tracking", len(todo))

    def fetch(ac_id: int) -> list[dict[str, Any]] | None:
        try:
            return [log for page in p.client.tracking_log_pages(str(ac_id)) for log in page]
        except AcNotFound as e:
            try:  # deleted only on proof: the contact's own GET /contacts/{id} answering 404
                p.client.contact(str(ac_id))
            except AcNotFound:
                return None
            log.warning("contact #%s: trackingLogs answered 404 (%s) but the contact is there", ac_id, e)
            return []

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
                if logs is None:
                    _gone(p, str(ac_id), (name, str(ac_id)))
                else:
                    moved = {str(ac_id): udates[str(ac_id)]} if udates and str(ac_id) in udates else None
                    p.save((ac_mapping.tracking_log(log) for log in logs), (name, str(ac_id)), udates=moved)
                progress.advance("tracking")
        finally:
            for _, future in ahead:
                future.cancel()


def _gone(p: Puller, ac_id: str, cursor: tuple[str, str]) -> None:
    log.warning("contact #%s is gone from ActiveCampaign (404): marked deleted, the pull goes on", ac_id)
    p.report.deleted += 1
    with p.store.write() as conn:
        conn.execute(
            "UPDATE contacts SET deleted_in_ac_at = COALESCE(deleted_in_ac_at, ?) WHERE ac_id = ?",
            [iso(p.now), ac_id],
        )
        p._set_cursor(*cursor)


def _sweep(p: Puller, budget: int, exclude: set[str]) -> list[str]:
    """Up to ``budget`` contacts to re-read: half from those with activity in the last 30 days,
    the rest from all, each in a round that resumes where the last cycle's stopped."""
    chosen: list[str] = []
    since = iso(p.now - RECENTLY_ACTIVE)
    for part, recent in (("recent", True), ("all", False)):
        want = budget - budget // 2 if recent else budget - len(chosen)
        start = int(p.cursor(f"sweep:{part}") or 0)
        for lap in (start, 0) if start else (0,):  # from the cursor, then a new round from the start
            if want <= 0:
                break
            skip = exclude | set(chosen)
            rows = p.store.conn.execute(
                "SELECT ac_id FROM contacts c WHERE ac_id IS NOT NULL AND deleted_in_ac_at IS NULL "
                "AND CAST(ac_id AS INTEGER) > ? "
                + (
                    "AND EXISTS (SELECT 1 FROM events e WHERE e.contact = c.id AND e.at >= ?) "
                    if recent
                    else ""
                )
                + "ORDER BY CAST(ac_id AS INTEGER) LIMIT ?",
                [lap, since, want + len(skip)] if recent else [lap, want + len(skip)],
            ).fetchall()
            picked = [str(r[0]) for r in rows if str(r[0]) not in skip][:want]
            chosen += picked
            want -= len(picked)
            with p.store.write():  # where the next cycle's part of the round starts
                p._set_cursor(f"sweep:{part}", picked[-1] if picked and want <= 0 else "0")
    return chosen


def sweep_budget(cfg: ActiveCampaignConfig, cycle_seconds: float) -> int:
    """trackingLogs requests a sync cycle may spend on the sweep: ``sweep_share`` of the rate
    limit over the cycle's length."""
    return int(cfg.sweep_share * cfg.requests_per_second * cycle_seconds)


# --- account-wide lists ---------------------------------------------------------------------------
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


def _orders_since(p: Puller, progress: Reporter, since: datetime | None) -> None:
    """Orders updated since ``since`` (less a day), the last updated first; every page when AC
    does not keep that order."""
    progress.start("orders", None)
    by_update = p.source_of("orders").source == "by-update"
    stop = None if since is None else since - SYNC_OVERLAP
    pages: Iterator[list[dict[str, Any]]] = (
        p.client.ecom_orders_by_update() if by_update else p.client.ecom_order_pages()
    )
    for page in pages:
        p.save(ac_mapping.order(o) for o in page)
        progress.advance("orders", len(page))
        times = [t for t in (ac_time(o.get("updatedDate")) for o in page) if t is not None]
        in_order = all(a >= b for a, b in pairwise(times))
        if by_update and stop is not None and in_order and times and times[-1] < stop:
            break


def _tags(p: Puller, progress: Reporter) -> None:
    names = {
        as_id(t.get("id")) or "": str(t.get("tag"))
        for page in p.client.offset_pages("tags", "tags")
        for t in page
    }
    _offset_phase(
        p, progress, "tags", p.client.contact_tag_pages, lambda ct: ac_mapping.contact_tag(ct, names)
    )


# --- sync -----------------------------------------------------------------------------------------------
def sync(
    store: Store,
    client: AcClient,
    now: datetime,
    *,
    progress: Reporter | None = None,
    sweep: int = 0,
) -> PullReport:
    """One incremental cycle (``sweep``: trackingLogs to spend on the sweep, see ``sweep_budget``).
    Each cursor moves to this cycle's start, never past it. A cycle that was stopped (a kill, a
    restart of the daemon) resumes at its last page: its resume points (``sync:contacts``,
    ``sync:tracking``) go only when it completes. A contact whose udate moved on a page read
    before the stop has its trackingLogs read by the next cycle (its udate is recorded only
    once they are in)."""
    p = Puller(store, client, now, "sync")
    progress = progress or Silent()
    last = p.cursor("sync:updated_after") or store.get_meta("backfill_started_at")
    updated_after = None if last is None else iso(datetime.fromisoformat(last) - SYNC_OVERLAP)
    changed = _contacts(p, progress, updated_after or "1970-01-01T00:00:00+00:00", "sync:contacts")
    _campaigns(p, progress, recent_only=True)
    swept = _sweep(p, sweep, set(changed))
    p.report.swept = len(swept)
    _tracking(p, progress, [*changed, *swept], "sync:tracking", changed)
    orders_since = p.cursor("sync:orders") or last
    _orders_since(p, progress, None if orders_since is None else from_iso(orders_since))
    pull_lists.sync_lists(p, progress)
    with store.write():  # the cycle is done: its resume points go, its cursors move
        store.conn.execute("DELETE FROM cursors WHERE name IN ('sync:contacts', 'sync:tracking')")
        p._set_cursor("sync:updated_after", iso(now))
        p._set_cursor("sync:orders", iso(now))
    progress.close()
    return p.finish()
