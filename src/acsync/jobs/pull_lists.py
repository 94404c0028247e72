"""List sign-ups and form submissions: the account's list memberships, ``GET /contactLists``.

AC documents a contact's memberships (``GET /contacts/{id}/contactLists``: ``sdate``,
``status``, ``form``, one request per contact); the account-wide ``GET /contactLists`` is
undocumented but used by working connectors (singer-io/tap-activecampaign's ``contact_lists``
stream), with offset paging and no time filter. acsync reads the account-wide list: 100
memberships a request, so a backfill costs memberships / 100 requests, not one per contact.
Each membership becomes ``subscribe`` (list, at ``sdate``), ``form_submit`` (form, when it came
through one) and, once unsubscribed, ``unsubscribe`` (at ``udate``); see ``core.ac_mapping``.

**Sync reads only the tail.** New memberships get new, growing ids and AC lists them in id
order, so the sync keeps a cursor that survives between cycles (the offset read up to and the
last id there) and re-reads from the last row it saw: an idle cycle costs one request. When the
row at the cursor is no longer the one it saw (memberships before it were removed), it reads
them all again at once (events deduplicate). If a page is not in id order the account does not
list them as assumed: the cursor is set aside, the sync stops tailing and says so once, and
sign-ups then come from the ``subscribe`` webhook and each backfill. Changes to an existing
membership (an unsubscription, a re-subscription) are not in the tail: the ``unsubscribe`` and
``subscribe`` webhooks carry them, and the next backfill reads them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from acsync.core import ac_mapping
from acsync.core.ac_values import as_id
from acsync.core.event import Event
from acsync.progress import Reporter

if TYPE_CHECKING:
    from acsync.jobs.pull import Puller

log = logging.getLogger(__name__)
BACKFILL_CURSOR = "backfill:lists"
SYNC_CURSOR = "sync:lists"  # {"offset": rows read, "last": id of the last one, "unordered": bool}
PATH = "contactLists"
CONTACTS_CURSOR = "backfill:contacts"  # the contact phase's cursor: the last contact id it listed


def _events(page: Iterable[dict[str, Any]]) -> Iterable[Event]:
    for cl in page:
        yield from ac_mapping.contact_list(cl)


def _ids(page: list[dict[str, Any]]) -> list[int]:
    return [int(i) for i in (as_id(cl.get("id")) for cl in page) if i is not None and i.isdigit()]


def backfill_lists(p: Puller, progress: Reporter) -> None:
    """Every membership, page by page from the cursor's offset; then the sync starts after them.

    A membership of a contact the contact phase paged past without seeing is a deleted contact's
    (AC may keep its list history): it is left out rather than made a contact of its own."""
    state = json.loads(p.cursor(BACKFILL_CURSOR) or '{"offset": 0, "last": 0}')
    progress.start("lists", None)
    left_out = 0
    for page in p.client.offset_pages(PATH, PATH, start=state["offset"]):
        state = {"offset": state["offset"] + len(page), "last": max(_ids(page), default=state["last"])}
        gone = _deleted(p, page)
        left_out += sum(1 for cl in page if as_id(cl.get("contact")) in gone)
        p.save((e for e in _events(page) if e.contact_id not in gone), (BACKFILL_CURSOR, json.dumps(state)))
        progress.advance("lists", len(page))
    if left_out:
        log.info("%d list memberships of contacts deleted in ActiveCampaign were left out", left_out)
    p.save((), (SYNC_CURSOR, json.dumps({**state, "unordered": False})))


def _deleted(p: Puller, page: list[dict[str, Any]]) -> set[str]:
    """The page's contacts with an id the contact phase listed past, but unknown here."""
    listed = int(p.cursor(CONTACTS_CURSOR) or 0)
    ids = {c for c in (as_id(cl.get("contact")) for cl in page) if c and c.isdigit() and int(c) <= listed}
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = p.store.conn.execute(f"SELECT ac_id FROM contacts WHERE ac_id IN ({marks})", sorted(ids))
    return ids - {str(r[0]) for r in rows}


def sync_lists(p: Puller, progress: Reporter) -> None:
    """The memberships added since the last cycle: one request when there are none."""
    state = json.loads(p.cursor(SYNC_CURSOR) or '{"offset": 0, "last": 0}')
    if state.get("unordered"):
        return
    progress.start("lists", None)
    if not _tail(p, progress, state):
        log.info("list memberships moved since the last sync: reading them all again")
        _tail(p, progress, {"offset": 0, "last": 0})


def _tail(p: Puller, progress: Reporter, state: dict[str, Any]) -> bool:
    """Read from the last row seen; False when that row is not where it was."""
    start = max(0, int(state["offset"]) - 1)
    offset, last, anchored = start, int(state["last"]), start == 0
    for page in p.client.offset_pages(PATH, PATH, start=start):
        ids = _ids(page)
        if ids != sorted(ids) or (ids and ids[0] < last and anchored):
            log.warning(
                "ActiveCampaign lists memberships (GET /contactLists) out of id order: sync no "
                "longer reads new ones; list sign-ups come from the subscribe webhook and backfill"
            )
            p.save((), (SYNC_CURSOR, json.dumps({**state, "unordered": True})))
            return True
        if not anchored:
            if not ids or ids[0] != last:
                return False
            anchored = True
        new = [cl for cl in page if int(as_id(cl.get("id")) or 0) > last]
        offset, last = offset + len(page), max(ids, default=last)
        p.save(_events(new), (SYNC_CURSOR, json.dumps({"offset": offset, "last": last, "unordered": False})))
        progress.advance("lists", len(new))
    return anchored
