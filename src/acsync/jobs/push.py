"""``acsync push``: write the outbox to ActiveCampaign.

Field values of many contacts go through bulk import (≤ ``batch_size`` contacts and ≤ 400 kB a
request, its own 100/min limit), with the wanted tags by name; the batch status is polled and
each contact's outcome recorded. Bulk import upserts by e-mail, so it would re-create a contact
AC deleted: only contacts AC showed within ``seen_within`` go that way, and a status that names
an unknown contact id is reported loudly. The others, and every push of fewer than
``bulk_from`` contacts, use ``PUT /contacts/{id}`` (a 404 marks the contact deleted: nothing is
written for it again) and ``POST /contactTags``. Tags are removed with ``DELETE
/contactTags/{id}``, with the stored or looked-up contactTag id.

Every write is marked in the outbox before it is sent: a killed push resumes by polling the
batches it started and by checking a contact's tags before adding one again, so nothing is
written twice. A 422 is dead-lettered with AC's words; other failures are retried by later
pushes with exponential backoff until ``max_attempts``, then dead-lettered too.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from acsync.ac.client import AcClient
from acsync.ac.errors import AcNotFound, AcRetriableError, AcValidationError
from acsync.config import PushConfig
from acsync.core.ac_values import as_id
from acsync.core.desired import ADD, REMOVE
from acsync.core.timefmt import iso
from acsync.errors import ConfigError
from acsync.jobs.pull import record_own_write
from acsync.progress import Reporter, Silent
from acsync.store import Store
from acsync.store.outbox import Row, contact_gone, due, failed, mark_sent, written

log = logging.getLogger(__name__)

BULK_MAX_BYTES = 400_000
BULK_SAFETY = 2_000  # bytes kept free for the envelope
DONE, FAILED = "completed", ("failed", "interrupted")


class SetupNeeded(ConfigError):
    """The AC ids of fields or tags acsync writes are unknown: ``acsync setup`` finds them."""


@dataclass
class PushReport:
    fields: int = 0  # contacts whose fields AC now holds
    tags_added: int = 0
    tags_removed: int = 0
    batches: int = 0  # bulk imports sent
    retry: int = 0  # writes that failed and wait for a later push
    dead: int = 0  # writes given up: `acsync outbox --dead`
    deleted: int = 0  # contacts AC answered 404 for
    waiting: int = 0  # writes in bulk imports still running: the next push polls them
    created: list[str] = field(default_factory=list)  # AC contact ids a bulk import created
    requests: Counter[str] = field(default_factory=Counter)


Contact = tuple[int, list[Row]]  # local id, its due rows


def push(
    store: Store,
    client: AcClient,
    cfg: PushConfig,
    now: datetime,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Reporter | None = None,
) -> PushReport:
    """Write every due outbox row. Nothing due: no request at all."""
    pusher = _Pusher(store, client, cfg, now, sleep, clock, progress or Silent())
    try:
        pusher.run()
    finally:
        pusher.report.requests = Counter(client.requests) - pusher.requests_before
        pusher.progress.close()
    return pusher.report


def plan(store: Store, cfg: PushConfig, now: datetime) -> list[dict[str, object]]:
    """What ``push`` would write now, row by row, and how (``--dry-run``). Reads only."""
    rows = due(store.conn, iso(now))
    contacts = [(c, list(rs)) for c, rs in groupby(rows, key=lambda r: r.contact)]
    seen_after = iso(cfg.seen_within.before(now))
    bulk = {c for c, rs in contacts if _bulk_eligible(rs, seen_after)}
    if len(bulk) < cfg.bulk_from:
        bulk = set()
    out: list[dict[str, object]] = []
    for c, rs in contacts:
        for r in rs:
            if r.batch:
                route = "bulk import (polling)"
            elif r.value == REMOVE:
                route = "DELETE contactTag"
            elif c in bulk:
                route = "bulk import"
            else:
                route = "PUT contact" if r.kind == "field" else "POST contactTag"
            out.append(
                {
                    "contact": r.ac_id or "",
                    "email": r.email or "",
                    "kind": r.kind,
                    "name": r.name,
                    "from": r.known or "",
                    "to": r.value,
                    "route": route,
                }
            )
    return out


class _Pusher:
    def __init__(
        self,
        store: Store,
        client: AcClient,
        cfg: PushConfig,
        now: datetime,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        progress: Reporter,
    ) -> None:
        self.store, self.client, self.cfg, self.now = store, client, cfg, now
        self.sleep, self.clock, self.progress = sleep, clock, progress
        self.at = iso(now)
        self.report = PushReport()
        self.requests_before = Counter(client.requests)
        self.ids: dict[tuple[str, str], str] = {}
        self.links: dict[str, dict[str, str]] = {}  # AC contact id → tag id → contactTag id
        self.started = clock()  # with now: when this push's writes happened, for record_own_write

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self.store.write():
            yield

    # --- the plan ------------------------------------------------------------------------------------
    def run(self) -> None:
        rows = due(self.store.conn, self.at)
        if not rows:
            return
        self.ids = _ac_ids(self.store, {(r.kind, r.name) for r in rows})
        contacts = [(c, list(rs)) for c, rs in groupby(rows, key=lambda r: r.contact)]
        self.progress.start("push", len(contacts))
        started: dict[str, list[Contact]] = {}
        fresh: list[Contact] = []
        for c, rs in contacts:
            for batch in sorted({r.batch for r in rs if r.batch}):
                # sent by a push that stopped (or stopped waiting) before the batch completed
                started.setdefault(batch, []).append((c, [r for r in rs if r.batch == batch]))
            if rest := [r for r in rs if not r.batch]:
                fresh.append((c, rest))
        if started:
            self._poll(started)
        fresh = [x for x in (self._with_ac_id(c, rs) for c, rs in fresh) if x is not None]
        seen_after = iso(self.cfg.seen_within.before(self.now))
        bulk = [(c, rs) for c, rs in fresh if _bulk_eligible(rs, seen_after)]
        if len(bulk) < self.cfg.bulk_from:
            bulk = []
        chosen = {c for c, _ in bulk}
        sent = self._send_batches(bulk)
        for c, rs in fresh:
            if c not in chosen:
                self._one(c, rs)
            elif removes := [r for r in rs if r.kind == "tag" and r.value == REMOVE]:
                self._one(c, removes, count=False)  # bulk import cannot remove tags
        if sent:
            self._poll(sent)

    def _with_ac_id(self, c: int, rows: list[Row]) -> Contact | None:
        """A contact known only by e-mail is looked up in AC; acsync never creates one."""
        if rows[0].ac_id is not None:
            return c, rows
        email = rows[0].email
        try:
            found = self.client.contact_by_email(email) if email else None
        except AcRetriableError as e:
            self._retry(rows, str(e))
            return None
        if found is None:
            self._dead(
                rows, f"ActiveCampaign has no contact with the e-mail {email!r}; acsync never creates one"
            )
            self.progress.advance("push")
            return None
        ac_id = str(found["id"])
        with self._write():
            taken = self.store.conn.execute("SELECT id FROM contacts WHERE ac_id = ?", [ac_id]).fetchone()
            if taken is None:
                self.store.conn.execute(
                    "UPDATE contacts SET ac_id = ?, seen_in_ac_at = ? WHERE id = ?", [ac_id, self.at, c]
                )
        if taken is not None:  # two local records for one AC contact: the next pull merges them
            self._retry(rows, f"AC contact #{ac_id} is also stored as local contact {taken[0]}; run a sync")
            self.progress.advance("push")
            return None
        return c, [r._replace(ac_id=ac_id) for r in rows]

    # --- one contact at a time ---------------------------------------------------------------------
    def _one(self, c: int, rows: list[Row], *, count: bool = True) -> None:
        """PUT the fields, then add or remove the tags; each outcome recorded as it happens."""
        todo = list(rows)
        try:
            fields = [r for r in todo if r.kind == "field"]
            ac_id = str(rows[0].ac_id)
            if fields:
                with self._write():
                    mark_sent(self.store.conn, fields)
                self.client.update_contact_fields(
                    ac_id, {self.ids[("field", r.name)]: r.value for r in fields}
                )
                with self._write():
                    for r in fields:
                        written(self.store.conn, r, self.at)
                    _seen(self.store, c, self.at)
                self.report.fields += 1
                todo = [r for r in todo if r.kind != "field"]
            while todo:
                self._tag(ac_id, todo[0])
                todo.pop(0)
            with self._write():
                self._own_write(c)
        except AcNotFound:
            with self._write():
                contact_gone(self.store.conn, c, self.at)
            self.report.deleted += 1
            log.warning(
                "contact #%s is gone from ActiveCampaign: nothing more is written for it", rows[0].ac_id
            )
        except AcValidationError as e:
            self._dead(todo, str(e))
        except AcRetriableError as e:
            self._retry(todo, str(e))
        if count:
            self.progress.advance("push")

    def _tag(self, ac_id: str, row: Row) -> None:
        tag_id = self.ids[("tag", row.name)]
        if row.value == ADD:
            link = self._link(ac_id, tag_id) if row.sent_value is not None else None
            if link is None:  # not added by an earlier, interrupted push
                with self._write():
                    mark_sent(self.store.conn, [row])
                try:
                    link = as_id(self.client.add_contact_tag(ac_id, tag_id).get("id"))
                except AcNotFound as e:
                    if "tag not found" not in str(e).lower():  # AC's words when the tag is gone
                        raise
                    raise AcValidationError(  # the tag, not the contact, is gone: a dead letter
                        f"tag {row.name!r} (#{tag_id}) is not in ActiveCampaign: run `acsync setup` ({e})",
                        messages=[str(e)],
                    ) from None
            with self._write():
                written(self.store.conn, row, self.at, contact_tag=link)
            self.report.tags_added += 1
            return
        link = row.contact_tag or self._link(ac_id, tag_id)
        if link is not None:
            try:
                self.client.remove_contact_tag(link)
            except AcNotFound:  # a stale id: make sure no other link holds the tag
                self.links.pop(ac_id, None)
                if (again := self._link(ac_id, tag_id)) is not None:
                    self.client.remove_contact_tag(again)
        with self._write():
            written(self.store.conn, row, self.at)
        self.report.tags_removed += 1

    def _link(self, ac_id: str, tag_id: str) -> str | None:
        """The contactTag id linking the contact to the tag in AC, if any (one lookup a contact)."""
        if ac_id not in self.links:
            self.links[ac_id] = {
                str(ct.get("tag")): str(ct.get("id")) for ct in self.client.contact_tags(ac_id)
            }
        return self.links[ac_id].get(tag_id)

    # --- bulk import ---------------------------------------------------------------------------------
    def _send_batches(self, contacts: list[Contact]) -> dict[str, list[Contact]]:
        """Send the imports; returns the ones not finished yet. While an import waits for its slot
        (100 a minute), the oldest unfinished one is checked: the regular budget is idle then."""
        sent: dict[str, list[Contact]] = {}
        checked: dict[str, float] = {}  # batch → when it was sent or last polled
        for group in _batches(contacts, self._item, self.cfg.batch_size):
            rows = [r for _, rs in group for r in _imported(rs)]
            with self._write():
                mark_sent(self.store.conn, rows)
            try:
                batch = self.client.bulk_import([self._item(rs) for _, rs in group])
            except AcValidationError as e:  # the whole batch refused: find the culprits one by one
                log.warning("bulk import refused (%s): writing its %d contacts one by one", e, len(group))
                for c, rs in group:
                    self._one(c, _imported(rs))
                continue
            except AcRetriableError as e:
                self._retry(rows, str(e))
                self.progress.advance("push", len(group))
                continue
            with self._write():
                mark_sent(self.store.conn, rows, batch)
            self.report.batches += 1
            sent[batch], checked[batch] = group, self.clock()
            oldest = next(iter(sent))
            if self.clock() - checked[oldest] >= self.cfg.poll_interval:
                checked[oldest] = self.clock()
                if self._check(oldest, sent[oldest]):
                    del sent[oldest]
        return sent

    def _item(self, rows: Sequence[Row]) -> dict[str, object]:
        item: dict[str, object] = {"email": rows[0].email}
        fields = [
            {"id": int(self.ids[("field", r.name)]), "value": r.value} for r in rows if r.kind == "field"
        ]
        tags = [r.name for r in rows if r.kind == "tag" and r.value == ADD]
        if fields:
            item["fields"] = fields
        if tags:
            item["tags"] = tags
        return item

    def _poll(self, batches: dict[str, list[Contact]]) -> None:
        """Until every batch completes, or ``poll_timeout``: the rest is polled by the next push."""
        deadline = self.clock() + self.cfg.poll_timeout
        pending = dict(batches)
        while pending:
            self.sleep(self.cfg.poll_interval)
            for batch, group in list(pending.items()):
                if self._check(batch, group):
                    del pending[batch]
            if pending and self.clock() >= deadline:
                waiting = sum(len(_imported(rs)) for group in pending.values() for _, rs in group)
                self.report.waiting += waiting
                log.warning("%d bulk imports still running: the next push polls them", len(pending))
                return

    def _check(self, batch: str, group: list[Contact]) -> bool:
        """Poll one import; True when it has finished (and its outcome is recorded)."""
        try:
            info = self.client.import_info(batch)
        except AcNotFound:
            info = {"status": "failed"}
        except AcRetriableError as e:
            log.info("bulk import %s: status not available (%s); polling again later", batch, e)
            return False
        status = info.get("status")
        if status == DONE:
            self._settle(batch, group, info)
        elif status in FAILED:
            self._retry([r for _, rs in group for r in _imported(rs)], f"bulk import {batch} {status}")
        else:
            return False
        self.progress.advance("push", len(group))
        return True

    def _settle(self, batch: str, group: list[Contact], info: dict[str, object]) -> None:
        success = {as_id(x) for x in _list(info.get("success"))}
        failure = {str(x).lower() for x in _list(info.get("failure"))}
        created = sorted((success - {rs[0].ac_id for _, rs in group}) - {None}, key=str)
        if created:
            self.report.created += [str(x) for x in created]
            log.error(
                "bulk import %s CREATED contacts %s in ActiveCampaign: contacts deleted there were "
                "re-created by e-mail; check them in AC and lower push.seen_within",
                batch,
                ", ".join(map(str, created)),
            )
        retry: list[Row] = []
        with self._write():
            for c, rs in group:
                rows = _imported(rs)
                if rs[0].ac_id in success:
                    for r in rows:  # a batch from an earlier push wrote its sent_value
                        written(self.store.conn, r, self.at, value=r.sent_value if r.batch else None)
                    _seen(self.store, c, self.at)
                    self._own_write(c)
                    self.report.fields += any(r.kind == "field" for r in rows)
                    self.report.tags_added += sum(r.kind == "tag" for r in rows)
                    continue
                # Next time one by one: that tells a refused contact from one AC deleted.
                self.store.conn.execute("UPDATE contacts SET seen_in_ac_at = NULL WHERE id = ?", [c])
                why = (
                    "in the batch's failure list"
                    if str(rs[0].email).lower() in failure
                    else "not in its status"
                )
                retry += [r._replace(batch=None) for r in rows]
                log.info("bulk import %s: contact #%s %s", batch, rs[0].ac_id, why)
        if retry:
            self._retry(retry, f"bulk import {batch} did not write this contact")

    def _own_write(self, c: int) -> None:
        """The contact's udate in AC now lies between this push's start and now: the next sync
        must not read that as activity (see jobs/pull.py)."""
        until = self.now + timedelta(seconds=max(0.0, self.clock() - self.started))
        record_own_write(self.store.conn, c, self.now, until)

    # --- failures ------------------------------------------------------------------------------------
    def _retry(self, rows: Sequence[Row], error: str) -> None:
        with self._write():
            for r in rows:
                backoff = (self.cfg.retry_after.after(self.now) - self.now) * 2 ** min(r.attempts, 10)
                retry_at = iso(self.now + min(backoff, timedelta(days=1)))
                if failed(self.store.conn, r, error, retry_at, max_attempts=self.cfg.max_attempts):
                    self.report.dead += 1
                else:
                    self.report.retry += 1

    def _dead(self, rows: Sequence[Row], error: str) -> None:
        with self._write():
            for r in rows:
                failed(self.store.conn, r, error, None, max_attempts=self.cfg.max_attempts)
        self.report.dead += len(rows)


# --- helpers -----------------------------------------------------------------------------------------
def _ac_ids(store: Store, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    ids = {(k, n): i for k, n, i in store.conn.execute("SELECT kind, name, ac_id FROM ac_ids")}
    missing = sorted(wanted - ids.keys())
    if missing:
        raise SetupNeeded(
            "acsync does not know the AC ids of the fields and tags it writes: run `acsync setup` first",
            [f"{kind} {name!r}" for kind, name in missing],
        )
    return ids


def _bulk_eligible(rows: list[Row], seen_after: str) -> bool:
    r = rows[0]
    return (
        bool(r.email)
        and r.seen_in_ac_at is not None
        and r.seen_in_ac_at >= seen_after
        and bool(_imported(rows))
    )


def _imported(rows: Sequence[Row]) -> list[Row]:
    """What a bulk import carries: field values and added tags (it cannot remove tags)."""
    return [r for r in rows if r.kind == "field" or r.value == ADD]


def _batches(
    contacts: list[Contact], item: Callable[[Sequence[Row]], dict[str, object]], size: int
) -> Iterator[list[Contact]]:
    """Groups of ≤ ``size`` contacts whose encoded request stays under 400 kB."""
    group: list[Contact] = []
    used = 0
    for c, rows in contacts:
        n = len(json.dumps(item(rows))) + 2
        if group and (len(group) >= size or used + n > BULK_MAX_BYTES - BULK_SAFETY):
            yield group
            group, used = [], 0
        group.append((c, rows))
        used += n
    if group:
        yield group


def _seen(store: Store, contact: int, at: str) -> None:
    store.conn.execute("UPDATE contacts SET seen_in_ac_at = ? WHERE id = ?", [at, contact])


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []
