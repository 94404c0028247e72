"""Write-back: the outbox filled by scoring, and push against the sandbox (faults on)."""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import requests

from acsync.ac import AcClient
from acsync.config import Settings, validate
from acsync.core.desired import Target, desired, diff
from acsync.jobs.pull import backfill
from acsync.jobs.push import PushReport, plan, push
from acsync.jobs.score import score
from acsync.jobs.setup import setup
from acsync.sandbox import Sandbox
from acsync.sandbox.app import IN_PROCESS_URL
from acsync.sandbox.readback import ac_holds, acsync_wants
from acsync.store import Store
from acsync.store.outbox import listing, retry_dead
from tests.conftest import ROOT, ruleset
from tests.sandbox_helpers import NOW, FakeClock, sandbox_and_client

LATER = NOW + timedelta(hours=1)


def example_settings(**push: Any) -> Settings:
    data = tomllib.loads((ROOT / "config.example.toml").read_text())
    data["scores"][0]["segment_field"] = "Lead Segment"
    data["push"] = {"retry_after": "1min", **push}
    return validate(data, {})


# --- the pure part -------------------------------------------------------------------------------
def test_desired_state_and_diff() -> None:
    rs = ruleset(
        scores=[{"name": "lead", "field": "Lead Score", "segment_field": "Segment"}, {"name": "other"}],
        thresholds=[{"name": "hot", "score": "lead", "at_least": 100, "tag": "Hot Lead"}],
        inactivity=[{"name": "idle", "score": "lead", "without": "open", "for": "60d", "tag": "Inaktiv"}],
    )
    target = Target.of(rs)
    want = desired(target, {"lead": 120, "other": 3}, {"lead": "hot"}, {"Hot Lead": object()})
    assert want == {("field", "Lead Score"): "120", ("field", "Segment"): "hot", ("tag", "Hot Lead"): "add"}
    known = {
        ("field", "Lead Score"): "120",
        ("tag", "Inaktiv"): "add",
        ("tag", "Customer"): "add",  # not acsync's: never touched
        ("field", "Old Score"): "5",  # no longer written: left alone
    }
    assert diff(target, want, known) == {
        ("field", "Segment"): "hot",
        ("tag", "Hot Lead"): "add",
        ("tag", "Inaktiv"): "remove",
    }
    assert diff(target, want, want) == {}
    assert desired(target, {}, {}, {}) == {("field", "Lead Score"): "0", ("field", "Segment"): ""}


# --- against the sandbox -------------------------------------------------------------------------
class World:
    """A sandbox account, a store filled from it by backfill, scored and set up."""

    def __init__(self, store: Store, contacts: int = 60, **push: Any) -> None:
        self.sb, self.client, self.clock = sandbox_and_client(contacts, rate=None)
        self.store = store
        self.settings = example_settings(**push)
        setup(store, self.client, self.settings, dry_run=False)
        backfill(store, self.client, NOW)
        self.rescore(NOW)

    def rescore(self, at: Any) -> None:
        score(self.store, self.settings.ruleset(), self.settings.fingerprints(), at)

    def push(self, at: Any = NOW, client: AcClient | None = None) -> PushReport:
        return push(
            self.store,
            client or self.client,
            self.settings.push,
            at,
            sleep=self.clock.sleep,
            clock=self.clock,
        )

    def push_until_done(self, at: Any = NOW, rounds: int = 12) -> list[PushReport]:
        reports = []
        for _ in range(rounds):
            reports.append(self.push(at))
            if not self.pending():
                return reports
            at += timedelta(days=1)  # past every backoff
        raise AssertionError(f"outbox not empty after {rounds} pushes: {self.pending()}")

    def pending(self) -> int:
        return int(self.store.conn.execute("SELECT count(*) FROM outbox WHERE dead = 0").fetchone()[0])

    def desired_in_ac(self) -> dict[str, dict[str, str]]:
        """What acsync wants, per AC contact id, in AC's terms."""
        return acsync_wants(self.store.conn, self.settings)

    def actual_in_ac(self) -> dict[str, dict[str, str]]:
        """The same, read back from the sandbox's account."""
        return ac_holds(self.sb.account, self.settings)


@pytest.mark.parametrize("bulk_from", [1, 1000])
def test_push_makes_ac_equal_the_desired_state_despite_faults(store: Store, bulk_from: int) -> None:
    w = World(store, contacts=80, bulk_from=bulk_from, batch_size=10)
    assert w.pending() > 0
    for kind in ("429", "503", "500", "timeout", "403"):
        w.sb.faults.set(kind, rate=0.05)
    w.sb.faults.set("bulk_item", rate=0.05)
    reports = w.push_until_done()
    assert (reports[0].batches >= 5) == (bulk_from == 1)
    assert w.actual_in_ac() == w.desired_in_ac()
    fired = {k: v["fired"] for k, v in w.sb.faults.as_json().items()}  # type: ignore[attr-defined]
    assert sum(fired.values()) >= 3, fired
    assert not any(r.created for r in reports)

    w.sb.faults.clear()
    before = w.sb.journal.as_json()["total"]
    again = w.push(LATER)
    assert sum(again.requests.values()) == 0
    assert w.sb.journal.as_json()["total"] == before  # a second push with nothing changed: no request


def test_push_one_by_one_when_few_contacts_are_due_or_bulk_is_off(store: Store) -> None:
    w = World(store, contacts=30, bulk_from=1000)
    due = w.pending()
    reports = w.push_until_done()
    assert reports[0].batches == 0
    assert w.actual_in_ac() == w.desired_in_ac()
    counts = Counter(w.sb.journal.as_json()["counts"])
    assert counts["POST import/bulk_import"] == 0
    assert counts["PUT contacts/{id}"] >= 30
    assert due > 0


def test_score_changes_queue_only_differences_and_push_removes_tags(store: Store) -> None:
    w = World(store, contacts=40)
    w.push_until_done()
    assert w.pending() == 0
    # Months later every dynamic award has expired: scores drop, tags change.
    much_later = NOW + timedelta(days=200)
    w.rescore(much_later)
    changed = w.pending()
    assert changed > 0
    removals = store.conn.execute("SELECT count(*) FROM outbox WHERE value = 'remove'").fetchone()[0]
    planned = [r for r in plan(store, w.settings.push, much_later) if r["kind"] == "tag"]
    assert removals
    assert len([r for r in planned if r["will"] == "remove the tag"]) == removals
    # a dry-run says what AC holds now and what will happen, not "from add to remove"
    assert {(r["in_ac"], r["route"]) for r in planned if r["will"] == "remove the tag"} == {
        ("has the tag", "DELETE contactTag")
    }
    fields = [r for r in plan(store, w.settings.push, much_later) if r["kind"] == "field"]
    assert fields
    assert all(r["will"].startswith("set to ") and r["in_ac"] != "not known" for r in fields)
    w.push_until_done(much_later)
    assert w.actual_in_ac() == w.desired_in_ac()
    counts = Counter(w.sb.journal.as_json()["counts"])
    assert counts["DELETE contactTags/{id}"] >= removals


def test_a_contact_deleted_in_ac_is_never_recreated(store: Store) -> None:
    w = World(store, contacts=30, bulk_from=1)
    w.push_until_done()
    acct = w.sb.account
    victim = 7
    email = acct.contacts[victim]["email"]
    acct.delete_contact(victim)
    count = len(acct.contacts)
    # Two days on, AC has not shown the contact within push.seen_within: no bulk import for it.
    later = NOW + timedelta(days=2)
    store.conn.execute("UPDATE ac_state SET value = 'stale' WHERE kind = 'field'")  # everything is due
    w.rescore(later + timedelta(seconds=1))
    store.conn.execute("UPDATE contacts SET dirty = 1")
    w.settings = example_settings(bulk_from=1)
    score(store, w.settings.ruleset(), w.settings.fingerprints(), later, full=True)
    report = w.push(later)
    assert report.deleted == 1
    assert report.created == []
    assert len(acct.contacts) == count
    assert acct.contact_by_email(email) is None
    local = store.conn.execute(
        "SELECT id, deleted_in_ac_at FROM contacts WHERE ac_id = ?", [str(victim)]
    ).fetchone()
    assert local[1] is not None
    # Nothing is queued for it again, whatever its score does.
    score(store, w.settings.ruleset(), w.settings.fingerprints(), later + timedelta(days=100))
    assert store.conn.execute("SELECT count(*) FROM outbox WHERE contact = ?", [local[0]]).fetchone()[0] == 0


def test_a_contact_deleted_within_seen_within_is_found_before_the_bulk_import(store: Store) -> None:
    w = World(store, contacts=30, bulk_from=1)
    acct = w.sb.account
    email = acct.contacts[3]["email"]
    acct.delete_contact(3)  # deleted after the pull saw it: still inside push.seen_within
    report = w.push(NOW)
    assert report.deleted == 1
    assert report.created == []
    assert acct.contact_by_email(email) is None  # not re-created
    assert store.conn.execute("SELECT deleted_in_ac_at FROM contacts WHERE ac_id = '3'").fetchone()[0]
    assert report.requests["GET contacts?ids"] == 1  # one page of ids[] for the one import of 30


class Killed(BaseException):
    """The process dies: nothing after this request runs."""


class _Killing(requests.adapters.BaseAdapter):
    """Forwards to the sandbox; dies right after AC answered the ``at``-th matching write."""

    def __init__(self, inner: Any, endpoint: str, at: int) -> None:
        super().__init__()
        self.inner, self.endpoint, self.at, self.seen = inner, endpoint, at, 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        response = self.inner.send(request, *args, **kw)
        if f"{request.method} {request.path_url.split('?')[0]}".startswith(self.endpoint):
            self.seen += 1
            if self.seen == self.at and response.status_code < 300:
                raise Killed
        return response

    def close(self) -> None:
        pass


def killing_client(w: World, endpoint: str, at: int) -> AcClient:
    session = w.sb.session()
    session.mount(IN_PROCESS_URL, _Killing(session.get_adapter(IN_PROCESS_URL), endpoint, at))
    return AcClient(IN_PROCESS_URL, "sandbox", session=session, clock=w.clock, sleep=w.clock.sleep)


@pytest.mark.parametrize(
    ("endpoint", "bulk_from"),
    [
        ("GET /api/3/import/info", 1),
        ("POST /api/3/import/bulk_import", 1),
        ("POST /api/3/contactTags", 1000),
        ("PUT /api/3/contacts", 1000),
    ],
)
def test_a_killed_push_resumes_without_writing_twice(store: Store, endpoint: str, bulk_from: int) -> None:
    """Killed right after AC answered a write, before acsync could record the answer."""
    w = World(store, contacts=80, bulk_from=bulk_from, batch_size=20)
    with pytest.raises(Killed):
        w.push(NOW, killing_client(w, endpoint, 2))
    w.push_until_done()
    assert w.actual_in_ac() == w.desired_in_ac()
    counts = Counter(w.sb.journal.as_json()["counts"])
    contacts = len(w.desired_in_ac())
    batches = -(-contacts // 20)
    if endpoint.endswith("info"):  # every batch id was recorded: the resumed push polls them
        assert counts["POST import/bulk_import"] == batches
    elif bulk_from == 1:  # AC queued it, its id was lost with the process: read back, never resent
        assert counts["POST import/bulk_import"] == batches
        assert 0 < counts["GET contacts/{id}/fieldValues"] <= 20  # the lost import's contacts, at most
    else:
        tags = sum(1 for row in w.desired_in_ac().values() for k in row if k.startswith("tag "))
        assert counts["POST contactTags"] == tags  # no tag added twice
        assert counts["PUT contacts/{id}"] <= contacts + 1  # at most the one in flight again


def test_dry_run_lists_the_diff_and_writes_nothing(store: Store) -> None:

    w = World(store, contacts=20)
    before = w.sb.journal.as_json()["total"]
    rows = plan(store, w.settings.push, NOW)
    assert len(rows) == w.pending() > 0
    assert {r["route"] for r in rows} <= {
        "bulk import",
        "PUT contact",
        "POST contactTag",
        "DELETE contactTag",
    }
    assert {"contact", "email", "kind", "name", "in_ac", "will", "route"} <= rows[0].keys()
    assert w.sb.journal.as_json()["total"] == before


def test_refused_writes_are_dead_lettered_with_acs_words_and_can_be_retried(store: Store) -> None:
    w = World(store, contacts=12, bulk_from=1000)
    fid = int(store.conn.execute("SELECT ac_id FROM ac_ids WHERE name = 'Lead Score'").fetchone()[0])
    del w.sb.account.fields[fid]  # someone deleted the field in AC
    report = w.push(NOW)
    assert report.dead > 0
    dead = listing(store.conn, dead=True)
    errors = store.conn.execute("SELECT DISTINCT last_error FROM outbox WHERE dead = 1").fetchall()
    assert dead
    assert any("Field id is not valid" in e[0] for e in errors)
    # The fix: run setup again (it creates the field anew), then retry the dead letters.
    setup(store, w.client, w.settings, dry_run=False)
    with store.write() as conn:
        assert retry_dead(conn) == len(dead)
    w.push_until_done()
    assert w.actual_in_ac() == w.desired_in_ac()


def test_a_contact_known_only_by_email_is_looked_up_never_created(store: Store) -> None:
    sb, client, clock = sandbox_and_client(5, rate=None)
    settings = example_settings()
    setup(store, client, settings, dry_run=False)
    from acsync.jobs.ingest import ingest_lines

    known = sb.account.contacts[2]["email"]
    lines = [
        f'{{"type": "order", "email": "{known}", "at": "2026-11-01T10:00:00Z"}}',
        '{"type": "order", "email": "stranger@example.com", "at": "2026-11-01T10:00:00Z"}',
    ]
    ingest_lines(store, lines, "file", NOW)
    score(store, settings.ruleset(), settings.fingerprints(), NOW)
    count = len(sb.account.contacts)
    report = push(store, client, settings.push, NOW, sleep=clock.sleep, clock=clock)
    assert report.fields == 1
    assert report.dead >= 1
    assert len(sb.account.contacts) == count
    assert sb.account.field_values[2]
    dead = store.conn.execute("SELECT last_error FROM outbox WHERE dead = 1").fetchall()
    assert all("never creates" in d[0] for d in dead)


def test_push_without_setup_names_the_fix(store: Store) -> None:
    from acsync.errors import ConfigError

    _sb, client, clock = sandbox_and_client(5, rate=None)
    settings = example_settings()
    backfill(store, client, NOW)
    score(store, settings.ruleset(), settings.fingerprints(), NOW)
    with pytest.raises(ConfigError, match="acsync setup"):
        push(store, client, settings.push, NOW, sleep=clock.sleep, clock=clock)


def test_sandbox_clock_is_shared(store: Store) -> None:
    """Polling waits on the fake clock, never for real: a push of many batches takes no real time."""
    w = World(store, contacts=60, batch_size=10)
    start = w.clock.now
    report = w.push(NOW)
    assert report.batches == 6
    assert w.clock.now - start >= w.settings.push.poll_interval
    assert isinstance(w.sb, Sandbox)
    assert isinstance(w.clock, FakeClock)


def test_a_tag_deleted_in_ac_is_a_dead_letter_not_a_deleted_contact(store: Store) -> None:
    w = World(store, contacts=20, bulk_from=1000)
    hot = int(store.conn.execute("SELECT ac_id FROM ac_ids WHERE name = 'Inaktiv'").fetchone()[0])
    del w.sb.account.tags[hot]
    report = w.push(NOW)
    assert report.deleted == 0
    assert report.dead > 0
    errors = {e for (e,) in store.conn.execute("SELECT last_error FROM outbox WHERE dead = 1")}
    assert all("run `acsync setup`" in e and "Tag not found" in e for e in errors), errors


def test_a_write_in_flight_is_never_dropped_so_a_late_import_cannot_win(store: Store) -> None:
    from acsync.store.outbox import due, mark_sent, queue, written

    rs = ruleset(scores=[{"name": "lead", "field": "Lead Score"}])
    target = Target.of(rs)
    at = "2026-11-20T12:00:00Z"
    with store.write() as conn:
        conn.execute("INSERT INTO contacts (id, ac_id, email) VALUES (1, '11', 'a@example.com')")
        conn.execute(
            "INSERT INTO ac_state (contact, kind, name, value, written_at) "
            "VALUES (1, 'field', 'Lead Score', '50', ?)",
            [at],
        )
        assert queue(conn, target, {1: {("field", "Lead Score"): "60"}}, at) == 1
        (row,) = due(conn, at)
        mark_sent(conn, [row], "batch-1", at=at, bulk=True)  # the import carrying 60 is on its way
        # The score goes back to 50 = what AC held: the row stays, now saying "end with 50".
        assert queue(conn, target, {1: {("field", "Lead Score"): "50"}}, at) == 1
        (left,) = conn.execute("SELECT value, sent_value, batch FROM outbox").fetchall()
        assert left == ("50", "60", "batch-1")
        # The import lands: AC holds 60 now; the row survives to bring it back to 50.
        written(conn, row._replace(batch="batch-1", sent_value="60"), at, value="60")
        assert conn.execute("SELECT value FROM ac_state").fetchone() == ("60",)
        assert conn.execute("SELECT value, sent_value, batch FROM outbox").fetchall() == [("50", None, None)]
        # Without a write in flight, a change that returns to the known value simply drops the row.
        assert queue(conn, target, {1: {("field", "Lead Score"): "60"}}, at) == 0
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
