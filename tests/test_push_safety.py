"""Never write twice: lost answers after AC acted, two pushers at once, imports that settle late,
contacts deleted in AC at every step of a push.

AC's state is read back from the sandbox, and every write AC performs is counted per contact
(``WriteCounts``): no contact may get the same field value, or a tag, written twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from acsync.ac import AcClient
from acsync.core.timefmt import iso
from acsync.jobs.inbox import ingest_inbox
from acsync.jobs.push import PushBusy, PushReport, one_pusher, push
from acsync.sandbox.app import IN_PROCESS_URL
from acsync.sandbox.faults import lost_answer
from acsync.sandbox.state import Account
from acsync.store import Store
from acsync.webhook.app import WebhookApp
from tests.conftest import acsync_command
from tests.sandbox_helpers import NOW
from tests.test_push import World
from tests.test_webhook_app import TOKEN, URL, call
from tests.test_webhook_decode import form


class WriteCounts:
    """Every field value and tag the sandbox's account writes, per contact (after it is set up)."""

    def __init__(self, acct: Account) -> None:
        self.fields: Counter[tuple[int, int, str]] = Counter()
        self.tags: Counter[tuple[int, int]] = Counter()
        set_field_value, add_tag_to = acct.set_field_value, acct.add_tag_to

        def field_written(cid: int, field_id: int, value: str) -> dict[str, Any]:
            self.fields[(cid, field_id, value)] += 1
            return set_field_value(cid, field_id, value)

        def tag_added(cid: int, tag_id: int, at: Any = None) -> dict[str, Any]:
            self.tags[(cid, tag_id)] += 1
            return add_tag_to(cid, tag_id, at)

        acct.set_field_value = field_written  # type: ignore[method-assign]
        acct.add_tag_to = tag_added  # type: ignore[method-assign]

    def twice(self) -> list[object]:
        return [k for k, n in (*self.fields.items(), *self.tags.items()) if n > 1]


class _Losing(requests.adapters.BaseAdapter):
    """Forwards to the sandbox (which acts), then loses the answer of the ``at``-th matching
    request the way ``kind`` says (``drop``, ``late``)."""

    def __init__(self, inner: Any, endpoint: str, at: int, kind: str) -> None:
        super().__init__()
        self.inner, self.endpoint, self.at, self.kind, self.seen = inner, endpoint, at, kind, 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        response = self.inner.send(request, *args, **kw)
        if f"{request.method} {request.path_url.split('?')[0]}".startswith(self.endpoint):
            self.seen += 1
            if self.seen == self.at:
                raise lost_answer(self.kind, request)
        return response

    def close(self) -> None:
        pass


def losing_client(w: World, endpoint: str, kind: str, at: int = 1) -> AcClient:
    session = w.sb.session()
    session.mount(IN_PROCESS_URL, _Losing(session.get_adapter(IN_PROCESS_URL), endpoint, at, kind))
    return AcClient(IN_PROCESS_URL, "sandbox", session=session, clock=w.clock, sleep=w.clock.sleep)


def push_rounds(w: World, rounds: int = 12, client: AcClient | None = None) -> list[PushReport]:
    """Push until the outbox is empty; between pushes time passes for acsync and for AC alike."""
    at, reports = NOW, []
    for _ in range(rounds):
        reports.append(w.push(at, client))
        if not w.pending():
            return reports
        at += timedelta(days=1)
        w.clock.sleep(60)
    raise AssertionError(f"outbox not empty after {rounds} pushes: {w.pending()}")


# --- lost answers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["late", "drop"])
def test_a_tag_whose_answer_was_lost_is_looked_up_not_posted_again(store: Store, kind: str) -> None:
    w = World(store, contacts=30, bulk_from=1000)
    writes = WriteCounts(w.sb.account)
    report = w.push(NOW, losing_client(w, "POST /api/3/contactTags", kind))
    assert report.retry >= 1
    lost = store.conn.execute("SELECT count(*) FROM outbox WHERE sent_value IS NOT NULL").fetchone()[0]
    assert lost == 1  # the mark survived the failure
    reports = push_rounds(w)
    assert sum(r.checked for r in reports) == 1
    assert writes.twice() == []
    assert w.actual_in_ac() == w.desired_in_ac()


@pytest.mark.parametrize("kind", ["late", "drop"])
def test_a_bulk_import_whose_answer_was_lost_is_read_back_not_sent_again(store: Store, kind: str) -> None:
    w = World(store, contacts=40, bulk_from=1, batch_size=15)
    writes = WriteCounts(w.sb.account)
    push_rounds(w, client=losing_client(w, "POST /api/3/import/bulk_import", kind, at=2))
    counts = Counter(w.sb.journal.as_json()["counts"])
    assert counts["POST import/bulk_import"] == 3  # the lost one was never sent again
    assert counts["GET import/bulk_import"] >= 1  # ... once AC had no import outstanding
    assert writes.twice() == []
    assert w.actual_in_ac() == w.desired_in_ac()


def test_a_lost_import_waits_while_ac_still_has_imports_queued(store: Store) -> None:
    w = World(store, contacts=20, bulk_from=1, batch_size=20)
    w.sb.bulk_seconds = 10_000  # AC is slow today: the import stays queued
    first = w.push(NOW, losing_client(w, "POST /api/3/import/bulk_import", "late"))
    assert first.batches == 0
    second = w.push(NOW + timedelta(minutes=5))
    assert second.waiting > 0
    assert Counter(w.sb.journal.as_json()["counts"])["POST import/bulk_import"] == 1
    w.sb.bulk_seconds = 2.0
    w.clock.sleep(60)
    writes = WriteCounts(w.sb.account)
    push_rounds(w)
    assert Counter(w.sb.journal.as_json()["counts"])["POST import/bulk_import"] == 1
    assert writes.twice() == []
    assert w.actual_in_ac() == w.desired_in_ac()


@pytest.mark.parametrize("bulk_from", [1, 1000])
def test_lost_answers_everywhere_write_nothing_twice(store: Store, bulk_from: int) -> None:
    w = World(store, contacts=60, bulk_from=bulk_from, batch_size=10)
    writes = WriteCounts(w.sb.account)
    w.sb.faults.set("late", rate=0.1)
    w.sb.faults.set("drop", rate=0.1)
    w.sb.faults.set("500", rate=0.05)
    push_rounds(w, rounds=20)
    fired = w.sb.faults.as_json()
    assert fired["late"]["fired"] + fired["drop"]["fired"] >= 3, fired  # type: ignore[index]
    assert writes.twice() == []
    assert w.actual_in_ac() == w.desired_in_ac()


# --- settling an import ----------------------------------------------------------------------------
def test_a_tag_that_flips_while_its_import_runs_is_removed_and_nothing_is_reported_created(
    store: Store,
) -> None:
    w = World(store, contacts=30, bulk_from=1, poll_timeout=0.5)
    w.sb.bulk_seconds = 30
    first = w.push(NOW)
    assert first.waiting > 0  # the push stopped waiting; the import still runs
    # Scoring changes its mind while the import runs: the rows now want the tag removed (what
    # outbox.queue does to a row in flight), and still carry the batch.
    pairs = store.conn.execute(
        "SELECT c.ac_id, o.name FROM outbox o JOIN contacts c ON c.id = o.contact "
        "WHERE o.kind = 'tag' AND o.value = 'add' AND o.batch IS NOT NULL"
    ).fetchall()
    store.conn.execute("UPDATE outbox SET value = 'remove' WHERE kind = 'tag' AND batch IS NOT NULL")
    assert pairs
    w.clock.sleep(60)
    reports = push_rounds(w)
    assert all(r.created == [] for r in reports)  # no false "CREATED contacts 1, 10, 11"
    assert store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0  # no remove|add|<batch> left
    acct = w.sb.account
    for ac_id, tag in pairs:  # the import added it, then push removed it
        assert tag not in acct.tags_of(int(ac_id)), (ac_id, tag)
    assert sum(r.tags_removed for r in reports) == len(pairs)
    again = w.push(NOW + timedelta(days=30))
    assert again.created == []
    assert sum(again.requests.values()) == 0


# --- one push at a time ----------------------------------------------------------------------------
def test_two_pushers_at_once_write_each_change_once(store: Store, tmp_path: Path) -> None:
    w = World(store, contacts=60, bulk_from=1, batch_size=20)
    writes = WriteCounts(w.sb.account)
    inside, tried = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first_sleep(seconds: float) -> None:  # the first push, mid-way, lets the second one try
        inside.set()
        tried.wait(10)
        w.clock.sleep(seconds)

    def first() -> None:
        with Store.open(store.path) as mine:
            outcome["first"] = push(mine, w.client, w.settings.push, NOW, sleep=first_sleep, clock=w.clock)

    def second() -> None:
        inside.wait(10)
        with Store.open(store.path) as other:
            try:
                outcome["second"] = push(
                    other, w.client, w.settings.push, NOW, sleep=w.clock.sleep, clock=w.clock
                )
            except PushBusy as e:
                outcome["second"] = e
            finally:
                tried.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert isinstance(outcome["second"], PushBusy)
    assert "another push is running (pid" in str(outcome["second"])
    assert isinstance(outcome["first"], PushReport)
    push_rounds(w)
    assert writes.twice() == []
    assert Counter(w.sb.journal.as_json()["counts"])["POST import/bulk_import"] == 3
    assert w.actual_in_ac() == w.desired_in_ac()


def test_push_beside_a_running_push_says_one_line(tmp_path: Path) -> None:
    db = tmp_path / "acsync.db"
    Store.open(db).close()
    env = {
        **os.environ,
        "ACSYNC_ACTIVECAMPAIGN__URL": "http://127.0.0.1:9",
        "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "t",
    }
    with one_pusher(db, NOW):
        done = subprocess.run(
            acsync_command(db, "push", "--quiet"), capture_output=True, text=True, env=env, timeout=60
        )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"another push is running (pid {os.getpid()} since 2026-11-20T12:00:00Z)" in lines[0]


def test_a_push_lock_dies_with_its_process(tmp_path: Path) -> None:
    db = tmp_path / "acsync.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from acsync.jobs.push import one_pusher\n"
            "from tests.sandbox_helpers import NOW\n"
            f"with one_pusher(Path({str(db)!r}), NOW):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PushBusy, match=f"pid {holder.pid} since"), one_pusher(db, NOW):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        with one_pusher(db, NOW):  # the kernel released it: no expiry to wait for
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()


# --- contacts deleted in AC, at every step of a push -------------------------------------------------
class _DeleteBefore(requests.adapters.BaseAdapter):
    """Deletes a contact in the sandbox right before the ``at``-th request of the push reaches it."""

    def __init__(self, inner: Any, acct: Account, victim: int, at: int) -> None:
        super().__init__()
        self.inner, self.acct, self.victim, self.at, self.seen = inner, acct, victim, at, 0
        self.fired = False

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        self.seen += 1
        if self.seen == self.at:
            with self.acct.lock:
                if self.victim not in self.acct.deleted:
                    self.acct.delete_contact(self.victim)
                    self.fired = True
        return self.inner.send(request, *args, **kw)

    def close(self) -> None:
        pass


def test_a_contact_deleted_at_any_step_of_a_push_never_stays_re_created(tmp_path: Path) -> None:
    steps = None
    at = 0  # 0: no deletion, to count the requests of the first push
    undone = fired = 0
    while steps is None or at <= steps:
        with Store.open(tmp_path / f"step{at}.db") as store:
            w = World(store, contacts=10, bulk_from=1, batch_size=5)
            acct = w.sb.account
            victim = 8  # in the second import
            email = acct.contacts[victim]["email"]
            session = w.sb.session()
            hook = _DeleteBefore(session.get_adapter(IN_PROCESS_URL), acct, victim, at)
            session.mount(IN_PROCESS_URL, hook)
            client = AcClient(IN_PROCESS_URL, "sandbox", session=session, clock=w.clock, sleep=w.clock.sleep)
            reports = push_rounds(w, client=client)
            if steps is None:  # the requests of the first push: delete before each one in turn
                steps = sum(reports[0].requests.values())
            if not hook.fired:  # this timing's pushes ended sooner: nothing was deleted
                at += 1
                continue
            fired += 1
            assert acct.contact_by_email(email) is None, f"re-created when deleted before request {at}"
            assert all(set(r.created) <= set(r.undone) for r in reports)
            undone += sum(len(r.undone) for r in reports)
            gone, left = store.conn.execute(
                "SELECT c.deleted_in_ac_at, count(o.contact) FROM contacts c "
                "LEFT JOIN outbox o ON o.contact = c.id WHERE c.email = ?",
                [email.lower()],
            ).fetchone()
            assert gone or left == 0  # marked deleted, or deleted after its last write (a pull finds out)
        at += 1
    assert steps >= 6
    assert fired == steps
    assert undone >= 1  # some timing made AC re-create it, and acsync deleted it again


def test_extra_requests_to_confirm_contacts_are_one_per_hundred(store: Store) -> None:
    w = World(store, contacts=250, bulk_from=1, batch_size=250)
    report = w.push(NOW)
    assert report.batches == 1
    assert report.requests["GET contacts?ids"] == 3  # 250 contacts: 100 ids a request


def test_two_push_processes_at_once_write_each_change_once(tmp_path: Path) -> None:
    """Two `acsync push` processes on one database, against the sandbox over 127.0.0.1."""
    import tomllib

    from acsync.clock import utcnow
    from acsync.config import validate
    from acsync.jobs.pull import backfill
    from acsync.jobs.score import score
    from acsync.jobs.setup import setup
    from acsync.sandbox import Sandbox, seed_account
    from acsync.sandbox.readback import ac_holds, acsync_wants
    from acsync.sandbox.server import serve_sandbox
    from tests.conftest import ROOT

    settings = validate(tomllib.loads((ROOT / "config.example.toml").read_text()), {})
    sb = Sandbox(seed_account(60, 4, NOW), rate_limit=None, bulk_seconds=0.2)
    db = tmp_path / "two.db"
    with serve_sandbox(sb) as server:
        client = AcClient(server.url, "sandbox", requests_per_second=1000)  # the sandbox has no limit here
        now = utcnow()
        with Store.open(db) as store:
            setup(store, client, settings, dry_run=False)
            backfill(store, client, now)
            score(store, settings.ruleset(), settings.fingerprints(), now)
        writes = WriteCounts(sb.account)
        env = {
            **os.environ,
            "ACSYNC_ACTIVECAMPAIGN__URL": server.url,
            "ACSYNC_ACTIVECAMPAIGN__API_TOKEN": "sandbox",
        }
        procs = [
            subprocess.Popen(
                acsync_command(db, "push", "--quiet"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(2)
        ]
        outcomes = [p.communicate(timeout=120) for p in procs]
        codes = [p.returncode for p in procs]
        assert 0 in codes, outcomes
        for code, (_out, err) in zip(codes, outcomes, strict=True):
            assert code == 0 or "another push is running (pid" in err, err
        with Store.open(db) as store:
            left = store.conn.execute("SELECT count(*) FROM outbox WHERE dead = 0").fetchone()[0]
            assert left == 0
            assert ac_holds(sb.account, settings) == acsync_wants(store.conn, settings)
        assert writes.twice() == []
        assert sb.journal.counts["POST import/bulk_import"] == 1  # 60 contacts: one import, sent once


def test_the_daemons_push_waits_its_turn_beside_another_push(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from acsync.daemon import Daemon

    caplog.set_level(logging.INFO, logger="acsync")
    w = World(store, contacts=20, bulk_from=1000)  # one by one: no polling on the daemon's real sleep
    settings = w.settings.model_copy(update={"webhook": w.settings.webhook.model_copy(update={"port": 0})})
    daemon = Daemon(settings, store.path, "t" * 32, lambda sleep: w.client, clock=lambda: NOW)
    try:
        due = w.pending()
        with one_pusher(store.path, NOW):  # `acsync push` is running
            assert daemon.push() == {}
        assert "not pushing: another push is running" in caplog.text
        assert w.pending() == due  # nothing sent beside it
        assert daemon.push()["fields"] > 0  # its turn
    finally:
        daemon.server.close()


# --- a contact whose e-mail differs here and in AC (AC's is the truth) -----------------------------
def _webhook(w: World, fields: dict[str, object], at: datetime) -> None:
    """Post one webhook the way AC does, and ingest it (``acsync ingest --inbox``)."""
    app = WebhookApp(w.store.path, TOKEN, max_body=4096, clock=lambda: at)
    assert call(app, "POST", URL, form(fields))[0] == 200
    assert ingest_inbox(w.store, at).rows == 1


def _open(ac_id: int, at: datetime) -> dict[str, object]:
    return {"type": "open", "date_time": iso(at), "contact": {"id": str(ac_id)}, "campaign": {"id": "1"}}


def _left(w: World) -> int:
    """The writes the outbox holds for a later push: what the summary's figures must add up to."""
    return w.pending()


def _local(w: World, ac_id: int) -> tuple[str, str | None]:
    return w.store.conn.execute(
        "SELECT email, deleted_in_ac_at FROM contacts WHERE ac_id = ?", [str(ac_id)]
    ).fetchone()


class _BeforeImport(requests.adapters.BaseAdapter):
    """Runs ``act`` once, right before the first bulk import reaches the sandbox."""

    def __init__(self, inner: Any, act: Callable[[], None]) -> None:
        super().__init__()
        self.inner, self.act, self.fired = inner, act, False

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        if not self.fired and f"{request.method} {request.path_url}".startswith("POST /api/3/import/bulk"):
            self.fired = True
            self.act()
        return self.inner.send(request, *args, **kw)

    def close(self) -> None:
        pass


def test_a_webhooks_other_email_neither_marks_the_contact_deleted_nor_creates_one(store: Store) -> None:
    """The tester's case: a webhook names contact 3 with an e-mail AC does not hold for it."""
    w = World(store, contacts=30, bulk_from=1)
    acct = w.sb.account
    real = acct.contacts[3]["email"]
    before = set(acct.contacts)
    _webhook(w, {"type": "subscribe", "contact": {"id": "3", "email": "c@example.com"}}, NOW)
    assert _local(w, 3) == ("c@example.com", None)  # the webhook's e-mail was taken ...
    w.rescore(NOW)
    report = w.push(NOW)
    assert report.batches >= 1
    assert (report.deleted, report.created, report.undone) == (0, [], [])
    assert set(acct.contacts) == before
    assert not acct.deleted
    assert _local(w, 3) == (real.lower(), None)  # ... and AC's put back before the import
    assert report.retry + report.waiting == _left(w) == 0
    assert w.actual_in_ac() == w.desired_in_ac()
    assert w.actual_in_ac()["3"] == w.desired_in_ac()["3"] != {}


def test_a_contact_created_for_a_live_contact_is_deleted_and_the_contact_written_by_id(store: Store) -> None:
    """AC's e-mail of contact 3 changes between the confirmation and the import: the import creates
    a contact with the old e-mail. It is deleted again, 3 keeps living, takes its new e-mail and
    gets its values by id; the summary's figures are what the outbox holds."""
    w = World(store, contacts=30, bulk_from=1)
    acct = w.sb.account
    old = acct.contacts[3]["email"]
    session = w.sb.session()
    hook = _BeforeImport(
        session.get_adapter(IN_PROCESS_URL), lambda: acct.change_email(3, "New.3@Example.com")
    )
    session.mount(IN_PROCESS_URL, hook)
    client = AcClient(IN_PROCESS_URL, "sandbox", session=session, clock=w.clock, sleep=w.clock.sleep)
    writes = WriteCounts(acct)
    report = w.push(NOW, client)
    assert hook.fired
    assert len(report.created) == 1
    assert report.undone == report.created
    made = int(report.created[0])
    assert made in acct.deleted
    assert acct.contacts[made]["email"] == old
    assert report.deleted == 0
    assert not acct.deleted - {made}
    assert _local(w, 3) == ("new.3@example.com", None)
    assert report.retry + report.waiting == _left(w) == 0
    assert w.actual_in_ac() == w.desired_in_ac()
    assert w.actual_in_ac()["3"] != {}
    assert writes.twice() == []
    assert Counter(w.sb.journal.as_json()["counts"])["PUT contacts/{id}"] == 1  # 3's fields, by id
    assert w.push(NOW + timedelta(days=1)).requests.total() == 0  # nothing left, nothing re-sent


def test_an_email_changed_in_ac_between_two_pushes_is_taken_before_the_import(store: Store) -> None:
    w = World(store, contacts=30, bulk_from=1)
    acct = w.sb.account
    w.push_until_done()
    later = NOW + timedelta(days=1)
    acct.change_email(5, "Renamed.5@Example.com")
    _webhook(w, _open(5, later), later)  # activity by id only: contact 5 has a new score to write
    w.rescore(later)
    assert w.pending() > 0
    before = set(acct.contacts)
    report = w.push(later)
    assert report.batches == 1
    assert (report.deleted, report.created) == (0, [])
    assert set(acct.contacts) == before
    assert not acct.deleted
    assert _local(w, 5) == ("renamed.5@example.com", None)
    assert report.retry + report.waiting == _left(w) == 0
    assert w.actual_in_ac() == w.desired_in_ac()


class _NotFoundOnce(requests.adapters.BaseAdapter):
    """Answers 404 to the first request matching ``endpoint``, without passing it to the sandbox."""

    def __init__(self, inner: Any, endpoint: str) -> None:
        super().__init__()
        self.inner, self.endpoint, self.fired = inner, endpoint, False

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        if not self.fired and f"{request.method} {request.path_url.split('?')[0]}" == self.endpoint:
            self.fired = True
            answer = requests.Response()
            answer.status_code, answer.request, answer.url = 404, request, str(request.url)
            answer.headers["Content-Type"] = "application/json"
            answer._content = b'{"message": "No Result found for Subscriber with id 3"}'
            return answer
        return self.inner.send(request, *args, **kw)

    def close(self) -> None:
        pass


def test_a_404_on_a_write_marks_no_contact_deleted_while_its_own_get_finds_it(store: Store) -> None:
    w = World(store, contacts=30, bulk_from=1000)
    session = w.sb.session()
    hook = _NotFoundOnce(session.get_adapter(IN_PROCESS_URL), "PUT /api/3/contacts/3")
    session.mount(IN_PROCESS_URL, hook)
    client = AcClient(IN_PROCESS_URL, "sandbox", session=session, clock=w.clock, sleep=w.clock.sleep)
    first = w.push(NOW, client)
    assert hook.fired
    assert first.deleted == 0
    assert first.retry + first.waiting == _left(w) > 0  # contact 3's writes wait for the next push
    assert _local(w, 3)[1] is None
    push_rounds(w)
    assert w.actual_in_ac()["3"] == w.desired_in_ac()["3"] != {}


def test_a_404_on_a_write_marks_the_contact_deleted_when_its_own_get_answers_404(store: Store) -> None:
    w = World(store, contacts=30, bulk_from=1000)
    w.sb.account.delete_contact(3)
    report = w.push(NOW)
    assert report.deleted == 1
    assert _local(w, 3)[1] is not None
    assert report.retry + report.waiting == _left(w) == 0
