"""``acsync push``: write the outbox to ActiveCampaign.

Field values of many contacts go through bulk import (≤ ``batch_size`` contacts and ≤ 400 kB a
request, its own 100/min limit), with the wanted tags by name; the batch status is polled and
each contact's outcome recorded. Bulk import upserts by e-mail, so it would re-create a contact
AC deleted: only contacts AC showed within ``seen_within`` go that way, and they are confirmed
right before (below). The others, and every push of fewer than
``bulk_from`` contacts, use ``PUT /contacts/{id}`` (a 404 marks the contact deleted: nothing is
written for it again) and ``POST /contactTags``. Tags are removed with ``DELETE
/contactTags/{id}``, with the stored or looked-up contactTag id.

One push at a time per database (``one_pusher``: an OS file lock beside the database, which
dies with its process); a second one says who holds it and ends (``PushBusy``).

Every write is marked in the outbox before it is sent. A write whose answer was lost (a read
timeout, a dropped connection, a 5xx, a killed push) keeps its mark, and the next push reads AC
back before sending it again: a contact's tags before a tag is added, its field values before
they are PUT again, the fields and tags of the contacts a bulk import carried (once AC has no
import outstanding: until then the import may still land). Settling an import settles every
row it carried, whatever the row wants now. Before a bulk import its contacts are confirmed in
AC (``GET /contacts?ids[]=…``, 100 a request), and the import carries the e-mail AC holds (an
e-mail changed in AC is taken locally: AC is its source of truth). A contact is marked deleted
only on proof: its own ``GET /contacts/{id}`` answering 404. A contact an import creates all the
same is deleted again at once and reported; the local contact it was meant for is then looked
up by id: gone (404) it is marked deleted, alive its e-mail is taken from AC and its values are
written again by id.
A 422 is dead-lettered with AC's words; other failures are retried by later pushes with
exponential backoff until ``max_attempts``, then dead-lettered too.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path

from acsync.ac.client import AcClient
from acsync.ac.errors import AcError, AcMaybeSent, AcNotFound, AcRetriableError, AcValidationError
from acsync.config import PushConfig
from acsync.core.ac_values import as_id
from acsync.core.desired import ADD, REMOVE
from acsync.core.timefmt import iso
from acsync.errors import AcsyncError, ConfigError
from acsync.jobs.pull import record_own_write
from acsync.progress import Reporter, Silent
from acsync.store import Store
from acsync.store.outbox import Row, contact_gone, due, failed, mark_sent, not_written, written

log = logging.getLogger(__name__)

BULK_MAX_BYTES = 400_000
BULK_SAFETY = 2_000  # bytes kept free for the envelope
DONE, FAILED = "completed", ("failed", "interrupted")
IMPORT_PATIENCE = timedelta(hours=1)  # how long a lost import may stay queued in AC before we look


class SetupNeeded(ConfigError):
    """The AC ids of fields or tags acsync writes are unknown: ``acsync setup`` finds them."""


class PushBusy(AcsyncError):
    """Another process (or thread) is pushing from this database right now."""


@contextmanager
def one_pusher(db: Path, now: datetime) -> Iterator[None]:
    """Hold the database's push lock, or raise ``PushBusy`` naming who holds it.

    An OS lock (``flock``) on ``<database>.push-lock``: the kernel releases it when its holder
    ends, however it ends (kill -9 included), so a stale lock cannot exist and nothing expires
    or needs a heartbeat. SQLite's WAL already requires every process of a database to share one
    host, which is all a host lock needs. Each holder writes its pid and start time into the file
    for the one-line message of the next one.
    """
    path = db.with_name(db.name + ".push-lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise AcsyncError(
            f"cannot create the push lock {path} ({e.strerror}): push needs to write beside the database"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "pid unknown"
            raise PushBusy(
                f"another push is running ({holder}) from this database: it writes the outbox; "
                "run `acsync push` again when it has ended"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {iso(now)}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


@dataclass
class PushReport:
    fields: int = 0  # contacts whose fields AC now holds
    tags_added: int = 0
    tags_removed: int = 0
    batches: int = 0  # bulk imports sent
    retry: int = 0  # writes that failed and wait for a later push
    maybe_sent: int = 0  # … of those, the ones whose answer was lost: the next push looks in AC first
    dead: int = 0  # writes given up: `acsync outbox --dead`
    deleted: int = 0  # contacts AC answered 404 for
    waiting: int = 0  # writes in bulk imports still running: the next push polls them
    created: list[str] = field(default_factory=list)  # AC contact ids a bulk import created
    undone: list[str] = field(default_factory=list)  # … of those, the ones acsync deleted again at once
    checked: int = 0  # writes whose answer was lost, looked up in AC before anything was sent again
    requests: Counter[str] = field(default_factory=Counter)

    def problems(self) -> list[str]:
        """What was not written, in words (empty: every write went through)."""
        out = []
        if failed := self.retry - self.maybe_sent:
            out.append(f"{failed:,} failed (the next push tries again)")
        if self.maybe_sent:
            out.append(f"{self.maybe_sent:,} may have been sent (the next push looks in AC first)")
        if self.dead:
            out.append(f"{self.dead:,} refused (acsync outbox --dead)")
        if self.waiting:
            out.append(f"{self.waiting:,} in imports still running (the next push polls them)")
        return out


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
    """Write every due outbox row. Nothing due: no request at all. ``PushBusy`` when another
    push from this database is running."""
    pusher = _Pusher(store, client, cfg, now, sleep, clock, progress or Silent())
    with one_pusher(store.path, now):
        ended = False
        try:
            pusher.run()
            ended = True
        finally:
            pusher.report.requests = Counter(client.requests) - pusher.requests_before
            pusher.progress.finish("push", pusher.report.problems() if ended else ["stopped before the end"])
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
            elif r.lost:
                route = "look in AC first (the answer was lost)"
            elif r.value == REMOVE:
                route = "DELETE contactTag"
            elif c in bulk:
                route = "bulk import"
            else:
                route = "PUT contact" if r.kind == "field" else "POST contactTag"
            now_in_ac, will = _in_words(r.kind, r.known, r.value)
            out.append(
                {
                    "contact": r.ac_id or "",
                    "email": r.email or "",
                    "kind": r.kind,
                    "name": r.name,
                    "in_ac": now_in_ac,
                    "will": will,
                    "route": route,
                }
            )
    return out


def _in_words(kind: str, known: str | None, value: str) -> tuple[str, str]:
    """What AC holds now, as acsync last wrote or read it, and what the push will do there."""
    if kind == "tag":
        held = {ADD: "has the tag", REMOVE: "no tag"}.get(known or "", "not known")
        return held, "remove the tag" if value == REMOVE else "add the tag"
    held = "not known" if known is None else (repr(known) if known == "" else known)
    return held, f"set to {value!r}" if value == "" else f"set to {value}"


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
        self.progress.start("push", len(_grouped(rows)))
        started: dict[str, list[Contact]] = {}
        for c, rs in _grouped(rows):
            for batch in sorted({r.batch for r in rs if r.batch}):
                # sent by a push that stopped (or stopped waiting) before the batch completed
                started.setdefault(batch, []).append((c, [r for r in rs if r.batch == batch]))
        if started:
            self._poll(started)
        later = self._look_up_lost([(c, rs) for c, rs in _grouped(rows) if any(r.lost for r in rs)])
        if started or later is not None:  # what settled or was read back may leave rows to write
            rows = due(self.store.conn, self.at)
        fresh = [
            (c, rest)
            for c, rs in _grouped(rows)
            if c not in (later or set()) and (rest := [r for r in rs if not r.batch and not r.lost])
        ]
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
            elif (removes := [r for r in rs if r.kind == "tag" and r.value == REMOVE]) and self._alive(c):
                self._one(c, removes, count=False)  # bulk import cannot remove tags
        if sent:
            self._poll(sent)

    def _alive(self, c: int) -> bool:
        row = self.store.conn.execute("SELECT deleted_in_ac_at FROM contacts WHERE id = ?", [c]).fetchone()
        return row is not None and row[0] is None

    # --- writes whose answer was lost ------------------------------------------------------------------
    def _look_up_lost(self, contacts: list[Contact]) -> set[int] | None:
        """Read AC back for writes whose answer was lost, before anything is sent again.

        Returns the contacts left for a later push (an import may still be queued in AC), or None
        when there was nothing to look up. A bulk import is read back only once AC has no import
        outstanding (or after ``IMPORT_PATIENCE``): until then it may still land. Each contact
        costs one ``GET /contacts/{id}/fieldValues`` and/or ``…/contactTags``: only after a lost
        answer, and far cheaper than a field or tag written twice (automations fire on tags).
        """
        if not contacts:
            return None
        later: set[int] = set()
        if any(r.sent_bulk for _, rs in contacts for r in rs if r.lost):
            queued = self._imports_queued()
            patience = iso(self.now - IMPORT_PATIENCE)
            if queued:
                for c, rs in contacts:
                    lost = [r for r in rs if r.lost and r.sent_bulk]
                    if lost and min(str(r.sent_at or "") for r in lost) > patience:
                        later.add(c)
                if later:
                    self.report.waiting += sum(len(rs) for c, rs in contacts if c in later)
                    log.info("%d contacts wait for bulk imports still queued in AC", len(later))
        todo = [(c, [r for r in rs if r.lost]) for c, rs in contacts if c not in later]
        for c, rs in todo:
            try:
                self._read_back(c, rs)
            except AcNotFound as e:
                if not self._confirm_gone(c, rs, e, maybe_sent=True):
                    later.add(c)
            except AcRetriableError as e:
                self._retry(rs, f"could not look up a write whose answer was lost: {e}", maybe_sent=True)
                later.add(c)
        return later

    def _imports_queued(self) -> bool:
        """Has AC imports waiting or running (any integration's)? Unknown counts as yes."""
        try:
            info = self.client.import_overview()
        except AcError as e:
            log.info("bulk import overview not available (%s): lost imports wait", e)
            return True
        outstanding = info.get("outstanding")
        if not isinstance(outstanding, list):
            return True
        return any(
            _count(day.get("batches")) or _count(day.get("contacts"))
            for day in outstanding
            if isinstance(day, dict)
        )

    def _read_back(self, c: int, rows: list[Row]) -> None:
        """One contact's lost writes: what AC holds is recorded, the rest is written again."""
        if rows[0].ac_id is None:  # nothing reaches AC without its id: nothing to look up
            with self._write():
                not_written(self.store.conn, rows)
            return
        ac_id = str(rows[0].ac_id)
        held: list[Row] = []
        fields: dict[str, str] = {}
        if any(r.kind == "field" for r in rows):
            for fv in self.client.contact_field_values(ac_id):
                fields[str(fv.get("field"))] = str(fv.get("value") or "")
        links: dict[str, str] = {}
        if any(r.kind == "tag" for r in rows):
            links = {str(ct.get("tag")): str(ct.get("id")) for ct in self.client.contact_tags(ac_id)}
            self.links[ac_id] = links
        for r in rows:
            if r.kind == "field":
                has = fields.get(self.ids[("field", r.name)], "") == r.sent_value
            else:
                has = (self.ids[("tag", r.name)] in links) == (r.sent_value == ADD)
            if has:
                held.append(r)
        self.report.checked += len(rows)
        with self._write():
            for r in held:
                link = self.links.get(ac_id, {}).get(self.ids.get(("tag", r.name), ""))
                written(
                    self.store.conn,
                    r,
                    self.at,
                    contact_tag=link if r.kind == "tag" else None,
                    value=r.sent_value,
                )
            not_written(self.store.conn, [r for r in rows if r not in held])

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
                    mark_sent(self.store.conn, fields, at=self.at)
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
        except AcNotFound as e:
            self._confirm_gone(c, todo, e)
        except AcValidationError as e:
            self._dead(todo, str(e))
        except AcRetriableError as e:
            self._retry(todo, str(e), maybe_sent=isinstance(e, AcMaybeSent))
        if count:
            self.progress.advance("push")

    def _confirm_gone(self, c: int, rows: list[Row], error: AcError, *, maybe_sent: bool = False) -> bool:
        """A 404 on a write or a read about the contact: it is marked deleted only when its own
        ``GET /contacts/{id}`` answers 404 too; otherwise its rows are tried again later.
        True when the contact was marked deleted."""
        ac_id = str(rows[0].ac_id) if rows else None
        if ac_id is None:
            return False
        if self._exists(ac_id, quiet=True) is False:
            self._gone(c, ac_id)
            return True
        self._retry(rows, f"AC answered 404 ({error}) but contact #{ac_id} is there", maybe_sent=maybe_sent)
        return False

    def _take_email(self, c: int, ac_id: str, email: str) -> None:
        """AC holds another e-mail for the contact (changed there): it is the contact's e-mail now,
        here too; another local contact that had it, with its own AC id, loses it."""
        email = email.lower()
        with self._write():
            self.store.conn.execute(
                "UPDATE contacts SET email = NULL WHERE email = ? AND id != ? AND ac_id IS NOT NULL",
                [email, c],
            )
            self.store.conn.execute("UPDATE contacts SET email = ? WHERE id = ?", [email, c])
        log.warning(
            "contact #%s has another e-mail in ActiveCampaign: taken locally (AC's is the truth)", ac_id
        )

    def _gone(self, c: int, ac_id: str | None) -> None:
        with self._write():
            contact_gone(self.store.conn, c, self.at)
        self.report.deleted += 1
        log.warning("contact #%s is gone from ActiveCampaign: nothing more is written for it", ac_id)

    def _tag(self, ac_id: str, row: Row) -> None:
        tag_id = self.ids[("tag", row.name)]
        if row.value == ADD:
            link = self._link(ac_id, tag_id) if row.sent_value is not None else None
            if link is None:  # not added by an earlier, interrupted push
                with self._write():
                    mark_sent(self.store.conn, [row], at=self.at)
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
            group = self._still_in_ac(group)
            if not group:
                continue
            rows = [r for _, rs in group for r in _imported(rs)]
            with self._write():
                mark_sent(self.store.conn, rows, at=self.at, bulk=True)
            try:
                batch = self.client.bulk_import([self._item(rs) for _, rs in group])
            except AcValidationError as e:  # the whole batch refused: find the culprits one by one
                log.warning("bulk import refused (%s): writing its %d contacts one by one", e, len(group))
                with self._write():
                    not_written(self.store.conn, rows)  # AC queued nothing
                for c, rs in group:
                    self._one(c, _imported(rs))
                continue
            except AcRetriableError as e:
                self._retry(rows, str(e), maybe_sent=isinstance(e, AcMaybeSent))
                self.progress.advance("push", len(group))
                continue
            with self._write():
                mark_sent(self.store.conn, rows, batch, at=self.at, bulk=True)
            self.report.batches += 1
            sent[batch], checked[batch] = group, self.clock()
            oldest = next(iter(sent))
            if self.clock() - checked[oldest] >= self.cfg.poll_interval:
                checked[oldest] = self.clock()
                if self._check(oldest, sent[oldest]):
                    del sent[oldest]
        return sent

    def _still_in_ac(self, group: list[Contact]) -> list[Contact]:
        """The group's contacts AC still holds, asked right before the import (100 a request).

        Bulk import upserts by e-mail: a contact deleted in AC would come back. Missing ones are
        marked deleted. Should AC's answer hold a contact not asked for (the filter ignored), the
        group goes one by one instead (``PUT /contacts/{id}`` never creates a contact)."""
        ids = [str(rs[0].ac_id) for _, rs in group]
        there: dict[str, str] = {}  # AC contact id → the e-mail AC holds for it
        try:
            for i in range(0, len(ids), 100):
                asked = ids[i : i + 100]
                found = {
                    str(as_id(x.get("id"))): str(x.get("email") or "")
                    for x in self.client.contacts_by_ids(asked)
                }
                if found.keys() - set(asked):
                    log.warning("AC ignored ids[] when listing contacts: these contacts go one by one")
                    for c, rs in group:
                        self._one(c, _imported(rs))
                    return []
                there |= found
        except AcRetriableError as e:
            self._retry([r for _, rs in group for r in _imported(rs)], f"could not confirm the contacts: {e}")
            self.progress.advance("push", len(group))
            return []
        kept: list[Contact] = []
        for c, rs in group:
            ac_id = str(rs[0].ac_id)
            exists, email = (True, there[ac_id]) if ac_id in there else self._fetch(ac_id)
            if exists:
                if email and email.lower() != str(rs[0].email or "").lower():
                    self._take_email(c, ac_id, email)  # else the import would create a contact
                    rs = [r._replace(email=email.lower()) for r in rs]
                kept.append((c, rs))
            elif exists is None:
                self._retry(_imported(rs), f"could not confirm contact #{rs[0].ac_id} in AC")
                self.progress.advance("push")
            else:
                self._gone(c, rs[0].ac_id)
                self.progress.advance("push")
        return kept

    def _exists(self, ac_id: str, *, quiet: bool = False) -> bool | None:
        """Marked deleted only on its own 404 (``GET /contacts/{id}``), so a list that under-reports,
        or a 404 about something else, can never mark a live contact deleted. None: unknown."""
        return self._fetch(ac_id, quiet=quiet)[0]

    def _fetch(self, ac_id: str, *, quiet: bool = False) -> tuple[bool | None, str]:
        """``GET /contacts/{id}``: does AC hold the contact (None: unknown), and its e-mail there."""
        try:
            record = self.client.contact(ac_id).get("contact")
        except AcNotFound:
            return False, ""
        except AcRetriableError as e:
            log.info("contact #%s: could not confirm it (%s); not written now", ac_id, e)
            return None, ""
        if not quiet:
            log.warning("contact #%s exists but GET /contacts?ids[] left it out", ac_id)
        return True, str(record.get("email") or "") if isinstance(record, dict) else ""

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
            self._retry([r for _, rs in group for r in _carried(rs, batch)], f"bulk import {batch} {status}")
        else:
            return False
        self.progress.advance("push", len(group))
        return True

    def _settle(self, batch: str, group: list[Contact], info: dict[str, object]) -> None:
        """Record the outcome of every row the import carried, whatever the row wants now (a tag
        that flipped to remove while the import ran is recorded as added, and stays to be
        removed)."""
        success = {str(x) for x in (as_id(x) for x in _list(info.get("success"))) if x is not None}
        failure = {str(x).lower() for x in _list(info.get("failure"))}
        retry: list[Row] = []
        missed: list[Contact] = []
        with self._write():
            for c, rs in group:
                rows = _carried(rs, batch)
                if rs[0].ac_id in success:
                    for r in rows:  # a row may want something else by now: AC holds what was sent
                        written(self.store.conn, r, self.at, value=r.sent_value if r.batch else r.value)
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
                missed.append((c, rows))
                log.info("bulk import %s: contact #%s %s", batch, rs[0].ac_id, why)
        handled = self._undo_created(batch, success, group, missed)
        retry = [r._replace(batch=None) for c, rows in missed if c not in handled for r in rows]
        if retry:
            self._retry(retry, f"bulk import {batch} did not write this contact")

    def _undo_created(
        self, batch: str, success: set[str], group: list[Contact], missed: list[Contact]
    ) -> set[int]:
        """A contact the import created (upserted by an e-mail AC had for no contact) is deleted
        again at once. The local contact it was meant for is looked up by id: a 404 marks it
        deleted; alive, it has another e-mail in AC, which is taken, and its values are written
        again by id. Returns the local contacts so settled (their rows are not retried)."""
        ours = {str(rs[0].ac_id) for _, rs in group}
        unknown = sorted(success - ours, key=lambda x: (len(x), x))
        if not unknown:
            return set()
        known = {
            a
            for (a,) in self.store.conn.execute(
                "SELECT ac_id FROM contacts WHERE ac_id IN (SELECT value FROM json_each(?))",
                [json.dumps(unknown)],
            )
        }
        emails = {str(rs[0].email).lower(): (c, rs) for c, rs in missed}
        handled: set[int] = set()
        for new_id in [x for x in unknown if x not in known]:
            self.report.created.append(new_id)
            try:
                contact = self.client.contact(new_id).get("contact") or {}
            except AcNotFound:
                log.warning("bulk import %s created contact #%s, already deleted in AC", batch, new_id)
                continue
            except AcError as e:
                log.error(
                    "bulk import %s CREATED contact #%s in ActiveCampaign and reading it failed (%s): "
                    "check it in AC and delete it",
                    batch,
                    new_id,
                    e,
                )
                continue
            email = str(contact.get("email", "")).lower() if isinstance(contact, dict) else ""
            if email not in emails:
                log.error(
                    "bulk import %s touched AC contact #%s, not one it carried: check it", batch, new_id
                )
                continue
            try:
                self.client.delete_contact(new_id)
            except AcNotFound:
                pass  # already gone
            except AcError as e:
                log.error(
                    "bulk import %s CREATED contact #%s in ActiveCampaign and deleting it failed (%s): "
                    "delete it in AC",
                    batch,
                    new_id,
                    e,
                )
            else:
                self.report.undone.append(new_id)
                log.warning("bulk import %s created contact #%s: deleted it again", batch, new_id)
            c, rows = emails[email]
            if self._meant_for(c, rows):
                handled.add(c)
        return handled

    def _meant_for(self, c: int, rows: list[Row]) -> bool:
        """The local contact an import's created contact was meant for, looked up by id. True when
        settled: gone from AC (404, marked deleted), or alive (its e-mail in AC taken, its values
        written by id). False: unknown, its rows are retried."""
        ac_id = str(rows[0].ac_id)
        exists, email = self._fetch(ac_id, quiet=True)
        if exists is None:
            return False
        if not exists:
            self._gone(c, ac_id)
            return True
        if email:
            self._take_email(c, ac_id, email)
        with self._write():
            not_written(self.store.conn, rows)  # the import wrote them to the contact it created
        again = [r._replace(batch=None, sent_value=None, sent_at=None, sent_bulk=0) for r in rows]
        self._one(c, again, count=False)
        return True

    def _own_write(self, c: int) -> None:
        """The contact's udate in AC now lies between this push's start and now: the next sync
        must not read that as activity (see jobs/pull.py)."""
        until = self.now + timedelta(seconds=max(0.0, self.clock() - self.started))
        record_own_write(self.store.conn, c, self.now, until)

    # --- failures ------------------------------------------------------------------------------------
    def _retry(self, rows: Sequence[Row], error: str, *, maybe_sent: bool = False) -> None:
        """Try again later. ``maybe_sent``: the answer was lost, AC may hold the write: the rows
        keep their mark and the next push reads AC back before sending them again."""
        with self._write():
            for r in rows:
                backoff = (self.cfg.retry_after.after(self.now) - self.now) * 2 ** min(r.attempts, 10)
                retry_at = iso(self.now + min(backoff, timedelta(days=1)))
                if failed(
                    self.store.conn,
                    r,
                    error,
                    retry_at,
                    max_attempts=self.cfg.max_attempts,
                    maybe_sent=maybe_sent,
                ):
                    self.report.dead += 1
                else:
                    self.report.retry += 1
                    self.report.maybe_sent += maybe_sent

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


def _grouped(rows: list[Row]) -> list[Contact]:
    return [(c, list(rs)) for c, rs in groupby(rows, key=lambda r: r.contact)]


def _carried(rows: Sequence[Row], batch: str) -> list[Row]:
    """The rows an import carried: for one sent by this push its field values and added tags,
    for one found running, every row still marked with it (whatever the row wants now)."""
    return [r for r in rows if r.batch == batch] or _imported(rows)


def _count(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


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
